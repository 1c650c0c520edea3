//! The comparisons between the rows of one case: the `vs CPU` and
//! `vs numpy` columns, and the notes measuring a row against a baseline or
//! a sibling.

use super::row::Row;

/// Fills `vs CPU` and `vs numpy` (how many times faster than that row) for
/// the rows computing the case's own request, and the notes of the rows
/// measured against a baseline or a sibling:
/// - `cpu`, `cpu into`: their fraction of the memcpy's bandwidth;
/// - `gpu kernel`, `gpu per-axis kernel`: their fraction of the copy
///   kernel's bandwidth (same bytes counted);
/// - `gpu end to end`: its time over upload plus download alone;
/// - `gpu magnitude`: its speed relative to `cpu magnitude`;
/// - `gpu u16 end to end`, `cpu u16`: their speed relative to the same
///   backend on the case's own (f32 or f64) input;
/// - the rows of `--accuracy`/`--boundary` (`cpu accuracy 4`, `cpu into
///   periodic`, ...): their speed relative to the same row with numpy's
///   stencil.
pub(super) fn ratios(rows: &mut [Row]) {
    let time_of = |rows: &[Row], backend: &str| {
        rows.iter()
            .find(|r| r.backend == backend)
            .and_then(|r| r.median_s)
    };
    let cpu = time_of(rows, "cpu");
    let numpy = time_of(rows, "numpy");
    let memcpy = time_of(rows, "cpu memcpy");
    let copy_kernel = time_of(rows, "gpu copy kernel");
    let gpu = time_of(rows, "gpu end to end");
    let transfers = time_of(rows, "gpu upload").zip(time_of(rows, "gpu download"));
    let cpu_magnitude = time_of(rows, "cpu magnitude");
    let cpu_into = time_of(rows, "cpu into");
    for r in rows.iter_mut().filter(|r| r.computes) {
        let Some(t) = r.median_s else { continue };
        if r.comparable {
            r.vs_cpu = cpu.map(|c| c / t);
            r.vs_numpy = numpy.map(|n| n / t);
        }
        let note = match r.backend.as_str() {
            "cpu" | "cpu into" => memcpy.map(|b| format!("{:.2}x memcpy bandwidth", b / t)),
            "gpu kernel" | "gpu per-axis kernel" => copy_kernel.map(|b| {
                let which = r.note.split(';').next().unwrap_or_default().to_string();
                format!("{which}; {:.2}x copy kernel bandwidth", b / t)
            }),
            "gpu end to end" => {
                transfers.map(|(u, d)| format!("time / (upload + download): {:.2}x", t / (u + d)))
            }
            "gpu magnitude" => {
                cpu_magnitude.map(|c| format!("speed vs cpu magnitude: {:.2}x", c / t))
            }
            "gpu u16 end to end" => gpu.map(|g| format!("speed vs float input: {:.2}x", g / t)),
            "cpu u16" => cpu.map(|c| format!("speed vs float input: {:.2}x", c / t)),
            name if is_form(name) => {
                let default = if name.starts_with("cpu into ") {
                    cpu_into
                } else if name.starts_with("cpu ") {
                    cpu
                } else {
                    gpu
                };
                default.map(|d| format!("speed vs default: {:.2}x", d / t))
            }
            _ => None,
        };
        if let Some(note) = note {
            r.note = note;
        }
    }
}

/// Whether a row is one of `--accuracy`/`--boundary`'s.
fn is_form(name: &str) -> bool {
    name.contains(" accuracy ") || name.ends_with(" periodic")
}
