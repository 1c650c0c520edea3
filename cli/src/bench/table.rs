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
            Err(e) => println!("{}: skipped ({e})", peer.module()),
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

/// Prints the rows as an aligned table, a blank line between cases.
pub(super) fn print_table(rows: &[Row]) {
    let header = [
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
    let cells: Vec<[String; 11]> = rows
        .iter()
        .map(|r| {
            let num =
                |v: Option<f64>, digits: usize| v.map_or("-".into(), |v| format!("{v:.digits$}"));
            [
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
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i > 1 && i < row.len() - 1 {
                s.push_str(&format!("{c:>w$}  "));
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(&header.map(String::from));
    let mut last_case = None;
    for (row, r) in cells.iter().zip(rows) {
        if last_case.is_some() && last_case != Some(&r.case) {
            println!();
        }
        last_case = Some(&r.case);
        line(row);
    }
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
