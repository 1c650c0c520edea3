//! How much memory a `gradient` job may use, and how much it needs.
//!
//! The ceiling is `--max-memory SIZE`, or half of what the kernel reports as
//! available (`MemAvailable` in `/proc/meminfo`) when it is not given. A job
//! is estimated before anything large is allocated: in memory it holds the
//! input, every output and one working array; streamed, it holds one slab of
//! input planes with its halo and the same planes of one output at a time.
//! Big buffers are reserved fallibly ([`reserve`]) so that running out of
//! address space is a one-line error, never an abort.

use crate::array::shape_text;
use crate::failure::Failure;

/// The ceiling when `/proc/meminfo` cannot be read: 2 GiB.
const FALLBACK_CEILING: u64 = 2 << 30;

/// What the process holds whatever the job: the binary, its libraries, the
/// thread stacks and allocator slack, a GPU context's host side. Counted
/// against the ceiling before any array.
pub const BASELINE: u64 = 24 << 20;

/// Parses a `--max-memory` size: plain bytes, or a number with a binary
/// suffix K, M, G or T (`512M`, `4G`, `1.5G`; `KiB`, `KB` and `K` are the
/// same, 1024 bytes).
///
/// # Errors
///
/// A message naming the text when it is not such a size, or is zero.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("expected a size such as 4G, 512M or 1000000 (bytes), not {text:?}");
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let stem = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (number, shift) = match stem.chars().last() {
        Some('K') => (&stem[..stem.len() - 1], 10),
        Some('M') => (&stem[..stem.len() - 1], 20),
        Some('G') => (&stem[..stem.len() - 1], 30),
        Some('T') => (&stem[..stem.len() - 1], 40),
        _ => (stem, 0),
    };
    let number = number.trim();
    let bytes = if let Ok(n) = number.parse::<u64>() {
        n.checked_mul(1u64 << shift).ok_or_else(bad)?
    } else {
        let x: f64 = number.parse().map_err(|_| bad())?;
        let bytes = x * (1u64 << shift) as f64;
        if !bytes.is_finite() || bytes < 1.0 || bytes >= u64::MAX as f64 {
            return Err(bad());
        }
        bytes as u64
    };
    if bytes == 0 {
        return Err(format!(
            "the memory ceiling must be more than 0 bytes, not {text:?}"
        ));
    }
    Ok(bytes)
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The ceiling in force: `requested`, or half of the available memory
/// (2 GiB when that cannot be read).
pub fn ceiling(requested: Option<u64>) -> u64 {
    requested.unwrap_or_else(|| available().map_or(FALLBACK_CEILING, |a| a / 2))
}

/// A byte count as people read it: `512 B`, `3.2 MiB`, `1.5 GiB`.
pub fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The sizes of one job: what its arrays hold, in bytes per element.
#[derive(Debug, Clone)]
pub struct Job {
    /// The input's shape.
    pub shape: Vec<usize>,
    /// Bytes per input element.
    pub input_size: usize,
    /// Bytes per output element.
    pub output_size: usize,
    /// How many output arrays (one per requested axis, plus the magnitude).
    pub outputs: usize,
    /// How many axes are differentiated (the magnitude's working set).
    pub axes: usize,
    /// The axis a streamed job is cut into slabs along (0 unless set).
    pub slab_axis: usize,
}

impl Job {
    /// The job `args` asks of an input of `shape` and dtype `dtype`
    /// (numpy's name), `input_size` bytes per element.
    ///
    /// # Errors
    ///
    /// None yet; a `Result` so that a refused combination can be named here.
    pub fn of(
        shape: &[usize],
        input_size: usize,
        dtype: &str,
        args: &crate::gradient::GradientArgs,
    ) -> Result<Job, Failure> {
        use crate::gradient::OutputDtype;
        let output_size = match (dtype, args.dtype) {
            ("complex64" | "complex128", _) => input_size,
            (_, Some(OutputDtype::F32)) => 4,
            (_, Some(OutputDtype::F64)) => 8,
            ("float16" | "float32" | "float64", None) => input_size,
            (_, None) => 8,
        };
        let axes = args.axis.as_ref().map_or(shape.len(), Vec::len);
        Ok(Job {
            shape: shape.to_vec(),
            input_size,
            output_size,
            outputs: axes + usize::from(args.magnitude),
            axes,
            slab_axis: 0,
        })
    }

    /// The number of elements of the input (saturating).
    fn elements(&self) -> u64 {
        self.shape
            .iter()
            .fold(1u64, |acc, &n| acc.saturating_mul(n as u64))
    }

    /// Elements in one plane of the slab axis (the whole array for a 0-d
    /// one).
    fn plane(&self) -> u64 {
        (self.shape.iter().enumerate())
            .filter(|&(k, _)| k != self.slab_axis)
            .fold(1u64, |acc, (_, &n)| acc.saturating_mul(n as u64))
    }

    /// The bytes the in-memory path needs: the input, every output and one
    /// working array of the output type (the magnitude, or a converted copy).
    pub fn in_memory(&self) -> u64 {
        let n = self.elements();
        let input = n.saturating_mul(self.input_size as u64);
        let outputs = n.saturating_mul((self.output_size * (self.outputs + 1)) as u64);
        BASELINE.saturating_add(input).saturating_add(outputs)
    }

    /// The bytes one streamed slab of `planes` planes needs, with `halo`
    /// planes on each side: its input, its part of one output (of every
    /// component while the magnitude is computed) and the same again as
    /// working space, plus the write buffer.
    pub fn slab(&self, planes: usize, halo: usize) -> u64 {
        let plane = self.plane();
        let input = plane
            .saturating_mul((planes + 2 * halo) as u64)
            .saturating_mul(self.input_size as u64);
        let per_output = plane
            .saturating_mul(planes as u64)
            .saturating_mul(self.output_size as u64);
        let working = per_output.saturating_mul((self.axes + 2) as u64);
        BASELINE
            .saturating_add(crate::stream::WRITE_BUFFER as u64)
            .saturating_add(input)
            .saturating_add(working)
    }

    /// The most planes a slab may have under `ceiling` (at most the whole
    /// axis), or a one-line failure naming the sizes when even one plane
    /// with its halo does not fit.
    ///
    /// # Errors
    ///
    /// The failure, when one plane does not fit.
    pub fn slab_planes(&self, halo: usize, ceiling: u64) -> Result<usize, Failure> {
        let n = self.shape.get(self.slab_axis).copied().unwrap_or(1).max(1);
        if self.slab(1, halo) > ceiling {
            return Err(Failure::new(format!(
                "not enough memory: the {} input of shape {} needs {} in memory, and streaming it needs {} for one plane with its halo of {halo} on each side, over the ceiling of {} (set it with --max-memory)",
                bytes_text(self.elements().saturating_mul(self.input_size as u64)),
                shape_text(&self.shape),
                bytes_text(self.in_memory()),
                bytes_text(self.slab(1, halo)),
                bytes_text(ceiling)
            )));
        }
        // The slab's cost grows linearly with its planes: solve, then clamp.
        let one = self.slab(1, halo);
        let per_plane = self.slab(2, halo) - one;
        let extra = (ceiling - one).checked_div(per_plane).unwrap_or(n as u64);
        Ok((1 + extra).min(n as u64) as usize)
    }
}

/// Checks that `bytes` can be had before they are allocated, so that an
/// address-space limit or an exhausted machine is a one-line error naming
/// `what`, not an abort: the reservation is made fallibly and given back.
///
/// # Errors
///
/// A failure naming `what` and the size, when the allocator refuses.
pub fn reserve(bytes: u64, what: &str) -> Result<(), Failure> {
    let fail = || {
        Failure::new(format!(
            "not enough memory: cannot allocate {} for {what}",
            bytes_text(bytes)
        ))
    };
    let bytes = usize::try_from(bytes).map_err(|_| fail())?;
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(bytes).map_err(|_| fail())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("64kb"), Ok(64 << 10));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1G").is_err());
    }

    #[test]
    fn slab_planes_fill_the_ceiling_and_refuse_below_one_plane() {
        let job = Job {
            shape: vec![1000, 100, 100],
            input_size: 8,
            output_size: 8,
            outputs: 3,
            axes: 3,
            slab_axis: 0,
        };
        let ceiling = job.slab(10, 2);
        assert_eq!(job.slab_planes(2, ceiling).unwrap(), 10);
        assert_eq!(job.slab_planes(2, u64::MAX).unwrap(), 1000);
        let err = job.slab_planes(2, job.slab(1, 2) - 1).unwrap_err();
        assert!(err.to_string().contains("not enough memory"), "{err}");
        // Along the last axis, a plane is 1000 x 100 elements, ten of axis
        // 0's; and the axis has 100 planes.
        let last = Job {
            slab_axis: 2,
            ..job.clone()
        };
        assert_eq!(last.slab(1, 2), job.slab(10, 20));
        assert_eq!(last.slab_planes(2, u64::MAX).unwrap(), 100);
    }
}
