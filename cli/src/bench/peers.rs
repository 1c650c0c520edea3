//! The peers `ndgrad bench` compares against: numpy, cupy and torch, each
//! timed by `scripts/peer_bench.py` (embedded in the binary) through Python
//! on the same array, in the same run.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ndarray::ArrayD;
use ndarray_npy::{ReadableElement, WritableElement};
use ndgrad::{AxisSpacing, Element, Spacing};

use super::args::BenchBackend;
use super::suite::{Case, Inputs};
use super::timing::Times;

/// The Python timer of the peers, shared with `benches/cpu_vs_numpy.rs`;
/// run as `python3 -c PEER_BENCH job JOB.json`.
const PEER_BENCH: &str = include_str!("../../../scripts/peer_bench.py");

/// A peer library (numpy, cupy or torch) through `python3` (or
/// `$NDGRAD_PYTHON`), run by `scripts/peer_bench.py` in its job mode.
pub(super) struct Peer {
    library: BenchBackend,
    /// The Python interpreter.
    pub(super) python: String,
    /// The library's version (torch: and whether it sees CUDA).
    pub(super) version: String,
    dir: tempfile::TempDir,
}

impl Peer {
    /// The peer, if its Python module imports (cupy: and sees a device).
    pub(super) fn find(library: BenchBackend) -> Result<Peer, String> {
        let python = std::env::var("NDGRAD_PYTHON").unwrap_or_else(|_| "python3".into());
        let module = library.module();
        let probe = match library {
            BenchBackend::Cupy => "import cupy; cupy.cuda.Device(0).compute_capability; print(cupy.__version__)",
            BenchBackend::Torch => "import torch; print(torch.__version__, 'cuda' if torch.cuda.is_available() else 'cpu')",
            _ => "import numpy; print(numpy.__version__)",
        };
        let out = Command::new(&python)
            .args(["-c", probe])
            .output()
            .map_err(|e| format!("{python} not found ({e})"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("no message").trim();
            return Err(format!("{python} cannot use {module}: {last}"));
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        Ok(Peer {
            library,
            python,
            version,
            dir,
        })
    }

    /// Saves the case, runs the peer on it, and reads its result, times
    /// (median, fastest, slowest) and device back.
    pub(super) fn run<T>(
        &self,
        inputs: &Inputs<T>,
        case: &Case,
        repeat: usize,
    ) -> Result<(Vec<ArrayD<T>>, Times, String), String>
    where
        T: Element + WritableElement + ReadableElement,
    {
        let module = self.library.module();
        let dir = self.dir.path();
        let save = |name: &str, write: &dyn Fn(&Path) -> Result<(), ndarray_npy::WriteNpyError>| {
            let path = dir.join(name);
            write(&path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok::<_, String>(path.display().to_string())
        };
        let f = save("f.npy", &|p| ndarray_npy::write_npy(p, &inputs.f))?;
        let spacing: Vec<serde_json::Value> = match &inputs.opts.spacing {
            Spacing::Unit => vec![],
            Spacing::Uniform(h) => vec![(*h).into()],
            Spacing::PerAxis(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    AxisSpacing::Scalar(h) => Ok((*h).into()),
                    AxisSpacing::Coordinates(x) => {
                        save(&format!("x{i}.npy"), &|p| ndarray_npy::write_npy(p, x))
                            .map(serde_json::Value::from)
                    }
                })
                .collect::<Result<_, String>>()?,
        };
        let out = dir.join("out").display().to_string();
        let job = serde_json::json!({
            "library": module,
            "f": f,
            "spacing": spacing,
            "axes": case.axes,
            "edge_order": case.edge_order,
            "repeat": repeat,
            "out": out,
        });
        let job_path = dir.join("job.json");
        std::fs::write(&job_path, job.to_string()).map_err(|e| e.to_string())?;
        let output = Command::new(&self.python)
            .args(["-c", PEER_BENCH, "job"])
            .arg(&job_path)
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            let err = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "{module} failed: {}",
                err.lines().last().unwrap_or("no message")
            ));
        }
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("unreadable {module} report: {e}"))?;
        let median = report["median_s"]
            .as_f64()
            .ok_or(format!("{module} report has no median"))?;
        let seconds = |key: &str| report[key].as_f64().map(Duration::from_secs_f64);
        let times = Times {
            median: Duration::from_secs_f64(median),
            min: seconds("min_s"),
            max: seconds("max_s"),
        };
        let device = report["device"].as_str().unwrap_or("?").to_string();
        let arrays = (0..inputs.naxes)
            .map(|i| {
                let path = format!("{out}{i}.npy");
                ndarray_npy::read_npy::<_, ArrayD<T>>(&path)
                    .map_err(|e| format!("cannot read {module}'s result {path}: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok((arrays, times, device))
    }
}
