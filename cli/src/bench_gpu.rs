//! The GPU rows of `ndgrad bench`.

use std::time::Duration;

use ndarray::ArrayD;
use ndgrad::{Backend, Element, GradientOptions};

/// Builds a checked row: `(backend, result, time)`; `time` runs only when the
/// result matches the reference.
pub type CheckedRow<'a, T, R> =
    &'a dyn Fn(&str, Result<Vec<ArrayD<T>>, String>, &dyn Fn() -> Duration) -> R;

/// Builds a baseline row: `(backend, median, note)`.
pub type BaselineRow<'a, R> = &'a dyn Fn(&str, Duration, String) -> R;

/// The header line naming the adapter (or why there is none), and whether the GPU rows can run.
pub fn header() -> (String, bool) {
    match ndgrad::resolve_backend(Backend::Gpu) {
        Ok(_) => ("GPU: available".into(), true),
        Err(e) => (format!("GPU: skipped ({e})"), false),
    }
}

/// The GPU rows of one case: end to end (host array in, host arrays out).
pub fn rows<T: Element, R>(
    f: &ArrayD<T>,
    opts: &GradientOptions,
    repeat: usize,
    checked: CheckedRow<'_, T, R>,
    _baseline: BaselineRow<'_, R>,
) -> Vec<R> {
    let opts = opts.clone().backend(Backend::Gpu);
    let result = ndgrad::gradient_as::<T, _, _, _>(f, &opts).map_err(|e| e.to_string());
    let time = || super::bench::time_median(repeat, || ndgrad::gradient_as::<T, _, _, _>(f, &opts));
    vec![checked("gpu end to end", result, &time)]
}
