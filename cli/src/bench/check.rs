//! Whether a backend's result is right: its error against the reference,
//! the error a correct backend may show, and the rule of the bench that a
//! result is checked before it is timed (a mismatch is reported loudly and
//! never timed).

use ndarray::ArrayD;
use ndgrad::Element;

use super::row::{row_of, Row, Timing};
use super::suite::{Case, Inputs};
use super::timing::Times;

/// What results of one case are checked against: the reference of what
/// they compute, the tolerance, and the bytes a run moves (for the rates).
pub(super) struct Checker<'a, T> {
    /// The case the rows belong to.
    pub(super) case: &'a Case,
    /// The reference result.
    pub(super) want: &'a [ArrayD<T>],
    /// The largest error a correct backend may show.
    pub(super) tol: f64,
    /// Bytes moved per run.
    pub(super) bytes: f64,
}

impl<T: Element> Checker<'_, T> {
    /// The row of `backend` given its `result`: skipped (with the error),
    /// a MISMATCH (also reported on stderr, not timed), or timed by `time`,
    /// which runs only when the result matches.
    pub(super) fn row(
        &self,
        backend: &str,
        result: Result<Vec<ArrayD<T>>, String>,
        time: &dyn Fn() -> Times,
    ) -> Row {
        let case = self.case;
        let row = |timing: Option<&Timing>, note: String| {
            row_of(case, backend, true, timing, self.bytes, note)
        };
        match result {
            Err(e) => row(None, format!("skipped: {e}")),
            Ok(got) => {
                let err = max_error(&got, self.want);
                let tol = self.tol;
                if err <= tol {
                    let timing = Timing {
                        times: time(),
                        max_error: err,
                    };
                    row(Some(&timing), String::new())
                } else {
                    let note = format!("MISMATCH: max error {err:.3e} > tolerance {tol:.3e}");
                    eprintln!("ndgrad bench: {} {backend}: {note}", case.label());
                    row(None, note)
                }
            }
        }
    }
}

/// Largest |a − b| over all axes; NaN where exactly one side is NaN, and
/// matching NaNs and infinities count as equal.
fn max_error<T: Element>(got: &[ArrayD<T>], want: &[ArrayD<T>]) -> f64 {
    let mut worst = 0.0f64;
    for (g, w) in got.iter().zip(want) {
        for (&g, &w) in g.iter().zip(w.iter()) {
            let (g, w) = (g.to_f64(), w.to_f64());
            let err = if g == w || (g.is_nan() && w.is_nan()) {
                0.0
            } else {
                (g - w).abs()
            };
            if err.is_nan() || err > worst {
                worst = if err.is_nan() { f64::INFINITY } else { err };
            }
        }
    }
    worst
}

/// The error a correct backend may show, relative to max|f| / smallest step:
/// f64 kernels agree to a few ulp; f32 kernels round coefficients and
/// divisions in f32 (WGSL division is not even correctly rounded).
pub(super) fn tolerance<T: Element>(inputs: &Inputs<T>) -> f64 {
    let peak = inputs.f.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    let rel = if std::mem::size_of::<T>() == 4 {
        1e-5
    } else {
        1e-12
    };
    rel * peak.max(1.0) / inputs.min_step
}
