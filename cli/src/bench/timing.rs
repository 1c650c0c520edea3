//! How `ndgrad bench` times: one warm-up, then the median, fastest and
//! slowest of `repeat` runs; the memcpy yardstick the CPU rows are measured
//! against; and the cost of faulting in fresh output pages alone.

use std::time::{Duration, Instant};

use ndgrad::Element;
use rayon::prelude::*;

/// What the timed runs of one row took: the median, and the fastest and
/// slowest run beside it, so the spread of a noisy machine is visible.
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    /// The middle run (the upper middle for an even count).
    pub(super) median: Duration,
    /// The fastest run, when the runs themselves are known.
    pub(super) min: Option<Duration>,
    /// The slowest run, when the runs themselves are known.
    pub(super) max: Option<Duration>,
}

impl Times {
    /// A time known only as a median (e.g. reported by the GPU timer).
    pub(super) fn median_only(median: Duration) -> Times {
        Times {
            median,
            min: None,
            max: None,
        }
    }

    /// The median, fastest and slowest of `runs` (not empty).
    fn of(mut runs: Vec<Duration>) -> Times {
        runs.sort();
        Times {
            median: runs[runs.len() / 2],
            min: runs.first().copied(),
            max: runs.last().copied(),
        }
    }
}

/// Times `f` once to warm up, then `repeat` times.
pub(super) fn time_runs<R>(repeat: usize, mut f: impl FnMut() -> R) -> Times {
    drop(f());
    Times::of(
        (0..repeat.max(1))
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
pub(super) fn memcpy_baseline<T: Element>(total: usize, repeat: usize) -> Times {
    let half = (total / 2).max(1);
    let src = vec![T::from_f64(1.5); half];
    let mut dst = vec![T::from_f64(0.0); half];
    // rayon's pool is already running (the CPU backend uses it), so no thread
    // start-up is timed; 64 KiB pieces keep every thread busy.
    let chunk = (1 << 16) / std::mem::size_of::<T>();
    time_runs(repeat, || {
        dst.par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(d, c)| d.copy_from_slice(c));
    })
}

/// The cost of the fresh pages alone: `outputs` buffers of `len` elements
/// allocated as the CPU backend allocates its outputs (zero-filled, marked
/// for transparent huge pages on Linux), with one element per 4 KiB page
/// written on all threads, which makes the kernel map and zero every page.
/// The gradient's own time is this plus its arithmetic and memory traffic.
pub(super) fn fresh_pages<T: Element>(outputs: usize, len: usize, repeat: usize) -> Times {
    let page = (4 << 10) / std::mem::size_of::<T>();
    time_runs(repeat, || {
        let mut buffers: Vec<Vec<T>> = (0..outputs)
            .map(|_| {
                let buffer = vec![T::from_f64(0.0); len];
                #[cfg(target_os = "linux")]
                advise_huge_pages(&buffer);
                buffer
            })
            .collect();
        buffers
            .par_iter_mut()
            .flat_map(|b| b.par_chunks_mut(page))
            .for_each(|p| p[0] = T::from_f64(1.0));
        buffers
    })
}

/// As `ndgrad::cpu`'s output buffers: `MADV_HUGEPAGE` over the whole pages
/// of a buffer of at least two huge pages.
#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(buffer: &[T]) {
    let bytes = std::mem::size_of_val(buffer);
    if bytes < 4 << 20 {
        return;
    }
    let page = 4 << 10;
    let start = (buffer.as_ptr() as usize).next_multiple_of(page);
    let end = (buffer.as_ptr() as usize + bytes) / page * page;
    // SAFETY: [start, end) is whole pages inside `buffer`'s live allocation,
    // and MADV_HUGEPAGE only changes how the kernel backs them, never their
    // contents; a refusal is harmless (the advice is ignored).
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
    }
}
