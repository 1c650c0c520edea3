//! A row of the `ndgrad bench` table (and its JSON record), and how one is
//! made from a case and a timing.

use serde::Serialize;

use super::adapter;
use super::suite::Case;
use super::timing::Times;

/// One row of the table, and one JSON record.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Row {
    pub(super) case: String,
    #[serde(flatten)]
    pub(super) params: Case,
    pub(super) backend: String,
    pub(super) median_s: Option<f64>,
    /// The fastest and slowest timed run (absent when only a median is
    /// known, as for the GPU timer's rows).
    pub(super) min_s: Option<f64>,
    pub(super) max_s: Option<f64>,
    pub(super) melem_per_s: Option<f64>,
    pub(super) effective_gb_s: Option<f64>,
    pub(super) vs_cpu: Option<f64>,
    pub(super) vs_numpy: Option<f64>,
    pub(super) max_error: Option<f64>,
    /// Whether the row computes the gradient (and so has a max error).
    #[serde(skip)]
    pub(super) computes: bool,
    /// Whether it computes the case's own request from the case's own
    /// input, and so gets the `vs CPU` / `vs numpy` ratios (the magnitude
    /// and u16-input variants get their own ratios in the notes).
    #[serde(skip)]
    pub(super) comparable: bool,
    pub(super) note: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) adapter: Option<serde_json::Value>,
}

/// A row of `case`; its rates count `bytes` moved per run.
pub(super) fn row_of(
    case: &Case,
    backend: &str,
    computes: bool,
    timing: Option<&Timing>,
    bytes: f64,
    note: String,
) -> Row {
    let elems = case.len() as f64;
    Row {
        case: case.label(),
        params: case.clone(),
        backend: backend.into(),
        median_s: timing.map(|t| t.times.median.as_secs_f64()),
        min_s: timing.and_then(|t| t.times.min).map(|d| d.as_secs_f64()),
        max_s: timing.and_then(|t| t.times.max).map(|d| d.as_secs_f64()),
        melem_per_s: timing.map(|t| elems / t.times.median.as_secs_f64() / 1e6),
        effective_gb_s: timing.map(|t| bytes / t.times.median.as_secs_f64() / 1e9),
        vs_cpu: None,
        vs_numpy: None,
        max_error: timing.filter(|_| computes).map(|t| t.max_error),
        computes,
        comparable: computes,
        note,
        adapter: backend
            .starts_with("gpu")
            .then(adapter::adapter_json)
            .flatten(),
    }
}

/// What a timed backend hands back for one case.
pub(super) struct Timing {
    /// The median (and spread) of the timed runs.
    pub(super) times: Times,
    /// The largest error of the checked result (0 for a baseline).
    pub(super) max_error: f64,
}
