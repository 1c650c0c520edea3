//! What `ndgrad bench` prints: the header (what runs, what is skipped, on
//! which CPU and adapter) and the table of rows.

use ndgrad::Backend;

use super::adapter;
use super::args::BenchBackend;
use super::peers::Peer;
use super::row::Row;

/// Prints what runs and what is skipped (once, not per row); returns whether the GPU rows can run.
pub(super) fn print_header(
    peers: &[(BenchBackend, Result<Peer, String>)],
    cpu: &Result<Backend, String>,
) -> bool {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("ndgrad bench: CPU: {} ({threads} threads)", cpu_model());
    match cpu {
        Ok(_) => {}
        Err(e) => println!("CPU backend: skipped ({e})"),
    }
    for (peer, found) in peers {
        match found {
            Ok(p) => println!("{}: {} via {}", peer.module(), p.version, p.python),
            Err(e) => println!(
                "{}: skipped ({e}; set NDGRAD_PYTHON to a Python that has {0})",
                peer.module()
            ),
        }
    }
    let (gpu_line, gpu_ok) = adapter::header();
    println!("{gpu_line}");
    println!(
        "times are medians after a warm-up, with the fastest (min) and slowest (max) run beside them; vs CPU / vs numpy = how many times faster than that row; \
         effective GB/s counts the input read once and each output written once"
    );
    println!();
    gpu_ok
}

/// The CPU's model name (from /proc/cpuinfo), or the architecture.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The table's column names.
const HEADER: [&str; 11] = [
    "case",
    "backend",
    "median time",
    "min",
    "max",
    "Melem/s",
    "eff. GB/s",
    "vs CPU",
    "vs numpy",
    "max error",
    "notes",
];

/// The narrowest each column is drawn, so that rows printed one case at a
/// time line up: wide enough for the header, the longest backend name
/// (`gpu per-axis kernel`, `cpu into accuracy 4`) and the usual numbers
/// (`999.99 ms`, `12345.6`, `123.45x`, `1.2e-16`). A wider cell widens its
/// own line only.
const MIN_WIDTHS: [usize; 11] = [4, 22, 11, 9, 9, 8, 9, 8, 8, 9, 0];

/// The table, printed one case at a time as each case finishes, so that a
/// long run shows its rows as they come, on a terminal or into a pipe.
pub(super) struct Table {
    widths: [usize; 11],
    last_case: Option<String>,
}

impl Table {
    /// Prints the column names, the case column as wide as the longest of
    /// `labels`.
    pub(super) fn start(labels: impl Iterator<Item = String>) -> Table {
        let mut widths = MIN_WIDTHS;
        widths[0] = labels
            .map(|l| l.chars().count())
            .fold(widths[0], usize::max);
        let table = Table {
            widths,
            last_case: None,
        };
        table.print_line(&HEADER.map(String::from));
        flush();
        table
    }

    /// Prints the rows of a case (a blank line before a new case) and
    /// flushes stdout, which is line-buffered on a terminal and block-buffered
    /// nowhere, but flushed here so no row waits.
    pub(super) fn print_rows(&mut self, rows: &[Row]) {
        for r in rows {
            let num =
                |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
            let cells = [
                r.case.clone(),
                r.backend.clone(),
                r.median_s.map_or("-".into(), format_time),
                r.min_s.map_or("-".into(), format_time),
                r.max_s.map_or("-".into(), format_time),
                num(r.melem_per_s, 1),
                num(r.effective_gb_s, 2),
                r.vs_cpu.map_or("-".into(), |v| format!("{v:.2}x")),
                r.vs_numpy.map_or("-".into(), |v| format!("{v:.2}x")),
                r.max_error.map_or("-".into(), |v| format!("{v:.1e}")),
                r.note.clone(),
            ];
            if self.last_case.as_ref().is_some_and(|c| *c != r.case) {
                println!();
            }
            self.last_case = Some(r.case.clone());
            self.print_line(&cells);
        }
        flush();
    }

    /// One line of cells: the names left-aligned, the numbers right-aligned.
    fn print_line(&self, row: &[String; 11]) {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(self.widths).enumerate() {
            if i > 1 && i < row.len() - 1 {
                s.push_str(&format!("{c:>w$}  "));
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    }
}

/// Flushes stdout; a reader that went away is not worth a message.
fn flush() {
    let _ = std::io::Write::flush(&mut std::io::stdout());
}

/// A time in s, ms or µs, whichever reads best.
fn format_time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}
