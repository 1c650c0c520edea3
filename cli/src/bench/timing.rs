//! How `ndgrad bench` times: one warm-up, then the median of `repeat` runs;
//! and the memcpy yardstick the CPU row is measured against.

use std::time::{Duration, Instant};

use ndgrad::Element;
use rayon::prelude::*;

/// The middle of `runs` (the upper middle for an even count).
fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Times `f` once to warm up, then `repeat` times; returns the median.
pub(super) fn time_median<R>(repeat: usize, mut f: impl FnMut() -> R) -> Duration {
    drop(f());
    median(
        (0..repeat)
            .map(|_| {
                let t = Instant::now();
                let r = f();
                let elapsed = t.elapsed();
                drop(r);
                elapsed
            })
            .collect(),
    )
}

/// A multi-threaded copy moving as many bytes as the gradient does: it reads
/// and writes `total / 2` elements, where `total` counts the input once and
/// each output once.
pub(super) fn memcpy_baseline<T: Element>(total: usize, repeat: usize) -> Duration {
    let half = (total / 2).max(1);
    let src = vec![T::from_f64(1.5); half];
    let mut dst = vec![T::from_f64(0.0); half];
    // rayon's pool is already running (the CPU backend uses it), so no thread
    // start-up is timed; 64 KiB pieces keep every thread busy.
    let chunk = (1 << 16) / std::mem::size_of::<T>();
    time_median(repeat, || {
        dst.par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(d, c)| d.copy_from_slice(c));
    })
}
