//! Helpers shared by the conformance tests: the backends to test, fixture
//! loading, an element-wise comparison that reports the worst element, and
//! the random requests and strided inputs of the property tests.
//!
//! Not every helper is used in every build of the suite (some serve only
//! the GPU modules), hence the `dead_code` allowance.
#![allow(dead_code, reason = "some helpers serve only some modules")]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn, Slice};
use ndarray_npy::{NpzReader, ReadNpzError};
use ndgrad::{
    f16, Accuracy, Axes, AxisSpacing, Backend, Boundary, EdgeOrder, Element, GradientOptions,
    Input, Plan, Spacing,
};
use serde_json::Value;

/// Every backend among Reference, Cpu and Gpu that resolves to itself on
/// this machine, computed once per test binary.
///
/// A backend that does not resolve is skipped with its reason printed to
/// stderr, except the GPU when `NDGRAD_REQUIRE_GPU=1` (CI sets it): then a
/// missing GPU panics, so GPU tests can never skip silently.
pub fn backends_under_test() -> Vec<Backend> {
    static BACKENDS: OnceLock<Vec<Backend>> = OnceLock::new();
    BACKENDS
        .get_or_init(|| {
            let require_gpu = std::env::var("NDGRAD_REQUIRE_GPU").is_ok_and(|v| v == "1");
            let mut found = Vec::new();
            for backend in [Backend::Reference, Backend::Cpu, Backend::Gpu] {
                let why_not = match ndgrad::resolve_backend(backend) {
                    Ok(resolved) if resolved == backend => {
                        found.push(backend);
                        continue;
                    }
                    Ok(resolved) => format!("it resolves to the {resolved} backend instead"),
                    Err(err) => err.to_string(),
                };
                if backend == Backend::Gpu && require_gpu {
                    panic!("NDGRAD_REQUIRE_GPU=1 but the gpu backend cannot be tested: {why_not}");
                }
                eprintln!("conformance: skipping the {backend} backend: {why_not}");
            }
            eprintln!("conformance: testing backends {found:?}");
            found
        })
        .clone()
}

/// The directory of the golden fixtures written by scripts/gen_fixtures.py.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The cases of tests/fixtures/manifest.json, as JSON objects.
pub fn manifest_cases() -> Vec<Value> {
    let path = fixtures_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let manifest: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    manifest["cases"]
        .as_array()
        .expect("manifest.json has a `cases` list")
        .clone()
}

/// The spacing of one requested axis as the fixture states it, kept so the
/// tests can derive a tolerance scale from it.
#[derive(Debug, Clone)]
pub enum FixtureSpacing {
    /// No spacing given: 1.0 on every axis.
    Unit,
    /// One scalar for every requested axis.
    Uniform(f64),
    /// One item per requested axis.
    PerAxis(Vec<AxisSpacing>),
}

/// An element type the fixtures store: every input type. `float16` arrays
/// are stored as their `uint16` bit patterns (ndarray-npy has no float16).
pub trait FixtureElement: Input {
    /// Reads the array `name` of `npz`.
    fn read(npz: &mut NpzReader<File>, name: &str) -> Result<ArrayD<Self>, ReadNpzError>;
}

macro_rules! npy_element {
    ($($t:ty),*) => {$(
        impl FixtureElement for $t {
            fn read(npz: &mut NpzReader<File>, name: &str) -> Result<ArrayD<Self>, ReadNpzError> {
                npz.by_name(name)
            }
        }
    )*};
}
npy_element!(u8, u16, i16, i32, f32, f64);

impl FixtureElement for f16 {
    fn read(npz: &mut NpzReader<File>, name: &str) -> Result<ArrayD<Self>, ReadNpzError> {
        let bits: ArrayD<u16> = npz.by_name(name)?;
        Ok(bits.mapv(f16::from_bits))
    }
}

/// One golden case: the input, the options numpy was called with, and
/// numpy's outputs in requested-axis order (in numpy's output type).
#[derive(Debug, Clone)]
pub struct FixtureCase<T: Input> {
    /// The case's name in the manifest.
    pub name: String,
    /// The input, in the memory order the npz stores it in.
    pub input: ArrayD<T>,
    /// numpy's arguments (backend left at its default; the tests set it).
    pub options: GradientOptions,
    /// numpy's outputs, one per requested axis.
    pub expected: Vec<ArrayD<T::NumpyOutput>>,
    /// numpy's gradient magnitude, `np.sqrt(sum(g**2 for g in outputs))`,
    /// for the cases that have it.
    pub magnitude: Option<ArrayD<T::NumpyOutput>>,
    /// The requested axes, made non-negative, in requested order.
    pub axes: Vec<usize>,
    /// The spacing as given, for tolerance scales.
    pub spacing: FixtureSpacing,
}

/// Reads one manifest case. `T` must match the case's `dtype`.
pub fn load_case<T>(case: &Value) -> FixtureCase<T>
where
    T: FixtureElement,
    T::NumpyOutput: FixtureElement,
{
    let name = case["name"].as_str().expect("case name").to_string();
    let dtype = case["dtype"].as_str().expect("case dtype");
    assert_eq!(
        dtype,
        T::NUMPY_NAME,
        "case {name}: loaded with the wrong type"
    );
    let file = fixtures_dir().join(case["file"].as_str().expect("case file"));
    let mut npz = NpzReader::new(File::open(&file).unwrap_or_else(|e| panic!("{name}: {e}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let input: ArrayD<T> = T::read(&mut npz, "f").unwrap_or_else(|e| panic!("{name}: f: {e}"));

    let shape: Vec<usize> = case["shape"]
        .as_array()
        .expect("case shape")
        .iter()
        .map(|v| v.as_u64().expect("extent") as usize)
        .collect();
    assert_eq!(input.shape(), shape.as_slice(), "case {name}: shape");
    let fortran = case["order"].as_str() == Some("F");
    assert_eq!(
        fortran,
        input.ndim() > 1 && !input.is_standard_layout(),
        "case {name}: the npz's memory order must be the manifest's"
    );

    let ndim = shape.len() as isize;
    let (axes_opt, axes) = match &case["axes"] {
        Value::Null => (Axes::All, (0..shape.len()).collect::<Vec<_>>()),
        Value::Array(list) => {
            let list: Vec<isize> = list
                .iter()
                .map(|v| v.as_i64().expect("axis") as isize)
                .collect();
            let norm = list.iter().map(|&a| a.rem_euclid(ndim) as usize).collect();
            (Axes::List(list), norm)
        }
        other => panic!("case {name}: bad axes {other}"),
    };
    let edge_order =
        EdgeOrder::from_number(case["edge_order"].as_u64().expect("edge order") as usize)
            .expect("edge order 1 or 2");

    let spacing = match &case["spacing"] {
        Value::Null => FixtureSpacing::Unit,
        Value::Object(item) => FixtureSpacing::Uniform(item["scalar"].as_f64().expect("scalar")),
        Value::Array(items) => FixtureSpacing::PerAxis(
            items
                .iter()
                .map(|item| {
                    if let Some(h) = item.get("scalar") {
                        AxisSpacing::Scalar(h.as_f64().expect("scalar"))
                    } else {
                        let key = item["coords"].as_str().expect("coords name");
                        let x: ArrayD<f64> = npz
                            .by_name(key)
                            .unwrap_or_else(|e| panic!("{name}: {key}: {e}"));
                        AxisSpacing::coordinates(x)
                    }
                })
                .collect(),
        ),
        other => panic!("case {name}: bad spacing {other}"),
    };
    let spacing_opt = match &spacing {
        FixtureSpacing::Unit => Spacing::Unit,
        FixtureSpacing::Uniform(h) => Spacing::Uniform(*h),
        FixtureSpacing::PerAxis(items) => Spacing::PerAxis(items.clone()),
    };
    let options = GradientOptions {
        spacing: spacing_opt,
        axes: axes_opt,
        edge_order,
        ..GradientOptions::default()
    };

    let expected = (0..axes.len())
        .map(|k| {
            T::NumpyOutput::read(&mut npz, &format!("g{k}"))
                .unwrap_or_else(|e| panic!("{name}: g{k}: {e}"))
        })
        .collect();
    let magnitude = (case["magnitude"].as_bool() == Some(true))
        .then(|| T::NumpyOutput::read(&mut npz, "m").unwrap_or_else(|e| panic!("{name}: m: {e}")));
    FixtureCase {
        name,
        input,
        options,
        expected,
        magnitude,
        axes,
        spacing,
    }
}

impl<T: Input> FixtureCase<T> {
    /// The size of a derivative along requested axis `k`: the largest finite
    /// |f| over the smallest non-zero |step| of that axis. Errors of
    /// floating-point evaluation are proportional to it (each formula is a
    /// sum of a few samples times weights of order 1/step).
    pub fn derivative_scale(&self, k: usize) -> f64 {
        let max_f = self
            .input
            .iter()
            .map(|v| v.to_f64().abs())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let min_step = match &self.spacing {
            FixtureSpacing::Unit => 1.0,
            FixtureSpacing::Uniform(h) => h.abs(),
            FixtureSpacing::PerAxis(items) => match &items[k] {
                AxisSpacing::Scalar(h) => h.abs(),
                AxisSpacing::Coordinates(x) => {
                    let x: Vec<f64> = x.iter().copied().collect();
                    x.windows(2)
                        .map(|w| (w[1] - w[0]).abs())
                        .filter(|d| *d > 0.0)
                        .fold(f64::INFINITY, f64::min)
                }
            },
        };
        max_f.max(f64::MIN_POSITIVE) / min_step
    }
}

/// How closely two arrays must agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// Bit for bit, except that any NaN equals any NaN.
    Exact,
    /// Finite values within this absolute distance; non-finite values equal
    /// (NaN to NaN, inf to the same-signed inf).
    Abs(f64),
}

/// Compares `got` with `expected` element by element.
///
/// NaN equals NaN and an infinity equals the same-signed infinity; a finite
/// value never matches a non-finite one. On failure the message names the
/// worst element (its index, both values, the distance and the tolerance)
/// and how many elements failed.
pub fn compare<T: Element>(
    got: &ArrayD<T>,
    expected: &ArrayD<T>,
    tolerance: Tolerance,
) -> Result<(), String> {
    if got.shape() != expected.shape() {
        return Err(format!(
            "shape {:?}, expected {:?}",
            got.shape(),
            expected.shape()
        ));
    }
    let mut failures = 0usize;
    // (badness, index, got, expected); non-finite mismatches rank worst.
    let mut worst: Option<(f64, IxDyn, f64, f64)> = None;
    for ((idx, g), e) in got.indexed_iter().zip(expected.iter()) {
        let (g, e) = (g.to_f64(), e.to_f64());
        let badness = if g.is_nan() && e.is_nan() {
            0.0
        } else if !e.is_finite() || !g.is_finite() {
            if g == e {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            match tolerance {
                Tolerance::Exact if g.to_bits() == e.to_bits() => 0.0,
                Tolerance::Exact => (g - e).abs().max(f64::MIN_POSITIVE),
                Tolerance::Abs(atol) if (g - e).abs() <= atol => 0.0,
                Tolerance::Abs(_) => (g - e).abs(),
            }
        };
        if badness > 0.0 {
            failures += 1;
            if worst.as_ref().is_none_or(|w| badness > w.0) {
                worst = Some((badness, idx, g, e));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((_, idx, g, e)) => Err(format!(
            "{failures} of {} elements differ; worst at {:?}: got {g:e}, expected {e:e}, \
             |difference| {:e}, tolerance {tolerance:?}",
            expected.len(),
            idx.slice(),
            (g - e).abs(),
        )),
    }
}

/// The same logical array in another memory layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// C order (standard layout).
    C,
    /// Fortran order (column-major).
    Fortran,
    /// Every axis stored reversed and viewed through negative strides.
    NegativeStrides,
    /// Every other element of a larger, NaN-filled array (positive steps > 1).
    Stepped,
}

impl Layout {
    /// Every layout.
    pub const ALL: [Layout; 4] = [
        Layout::C,
        Layout::Fortran,
        Layout::NegativeStrides,
        Layout::Stepped,
    ];
}

/// Calls `f` with a view of `a` in `layout`, asserting the view holds the
/// same logical values.
pub fn with_layout<T: Input, R>(
    a: &ArrayD<T>,
    layout: Layout,
    f: impl FnOnce(ArrayViewD<'_, T>) -> R,
) -> R {
    use ndarray::ShapeBuilder;
    // All bits set: NaN for the floats, the maximum or -1 for the integers.
    let nan: T = bytemuck::pod_read_unaligned(&[0xFF; 8][..std::mem::size_of::<T>()]);
    match layout {
        Layout::C => f(a.as_standard_layout().view()),
        Layout::Fortran => {
            let mut fo = ArrayD::from_elem(IxDyn(a.shape()).f(), nan);
            fo.assign(a);
            f(fo.view())
        }
        Layout::NegativeStrides => {
            let mut reversed = a.view();
            for ax in 0..a.ndim() {
                reversed.invert_axis(Axis(ax));
            }
            let stored = reversed.as_standard_layout().into_owned();
            let mut view = stored.view();
            for ax in 0..a.ndim() {
                view.invert_axis(Axis(ax));
            }
            assert!(
                a.ndim() == 0 || a.is_empty() || view.strides().iter().any(|&s| s < 0),
                "the view must have negative strides"
            );
            f(view)
        }
        Layout::Stepped => {
            let big_shape: Vec<usize> = a.shape().iter().map(|&n| 2 * n + 1).collect();
            // NaN (or all-ones) padding: reading a skipped element poisons
            // the result.
            let mut big = ArrayD::from_elem(IxDyn(&big_shape), nan);
            let step = |_| Slice::new(1, None, 2);
            big.slice_each_axis_mut(step).assign(a);
            f(big.slice_each_axis(step))
        }
    }
}

/// The seeded stream of every random case (crates/rng), so a failing
/// proptest seed reproduces the whole case.
pub use ndgrad_rng::Rng;

/// Random coordinates for an axis of extent `n`: sometimes exactly equal
/// differences (which numpy and the plan treat as uniform), otherwise
/// uneven steps between 0.1 and 2.0, sometimes decreasing.
pub fn coordinates(rng: &mut Rng, n: usize) -> AxisSpacing {
    let x: Vec<f64> = if rng.chance(0.3) {
        let h = rng.pick(&[0.25, -0.5, 2.0]);
        (0..n).map(|k| 1.0 + k as f64 * h).collect()
    } else {
        let sign = if rng.chance(0.2) { -1.0 } else { 1.0 };
        let mut at = rng.unit() * 4.0 - 2.0;
        (0..n)
            .map(|_| {
                let x = at;
                at += sign * (0.1 + rng.unit() * 1.9);
                x
            })
            .collect()
    };
    AxisSpacing::from(x)
}

/// A random request: a shape and valid options for it.
///
/// The array has `1..=budgets.len()` axes; with `d` axes each extent is at
/// most `budgets[d - 1]` (so `budgets` bounds the element count). The axes
/// requested are a random subset in a random order, written negatively
/// now and then as numpy allows, or with probability `all_axes` every axis
/// as `Axes::All`. A requested axis is often exactly `edge_order + 1` long
/// (the shortest numpy accepts); an unrequested one is sometimes empty. The
/// spacing is unit, one scalar, one scalar for every axis, or a scalar or
/// [`coordinates`] per axis.
pub fn random_request(
    rng: &mut Rng,
    budgets: &[usize],
    all_axes: f64,
) -> (Vec<usize>, GradientOptions) {
    random_request_in(rng, budgets, all_axes, false)
}

/// [`random_request`], with an accuracy of 2, 4 or 6 and a one-sided or
/// periodic boundary per requested axis (with a period for periodic axes
/// that have coordinates) drawn as well. Requested axes are at least as long
/// as their stencils need, and often exactly that long.
pub fn random_request_with_forms(
    rng: &mut Rng,
    budgets: &[usize],
    all_axes: f64,
) -> (Vec<usize>, GradientOptions) {
    random_request_in(rng, budgets, all_axes, true)
}

fn random_request_in(
    rng: &mut Rng,
    budgets: &[usize],
    all_axes: f64,
    forms: bool,
) -> (Vec<usize>, GradientOptions) {
    let ndim = 1 + rng.below(budgets.len());
    let budget = budgets[ndim - 1];
    let edge_order = rng.pick(&[EdgeOrder::First, EdgeOrder::Second]);
    let accuracy = if forms {
        rng.pick(&[Accuracy::Second, Accuracy::Fourth, Accuracy::Sixth])
    } else {
        Accuracy::Second
    };
    let periodic: Vec<bool> = (0..ndim).map(|_| forms && rng.chance(0.4)).collect();
    // The shortest requested axis each stencil accepts, less one.
    let eo = |k: usize| {
        if accuracy == Accuracy::Second && !periodic[k] {
            edge_order.get()
        } else {
            accuracy.get()
        }
    };
    let mut axes: Vec<usize> = (0..ndim).collect();
    rng.shuffle(&mut axes);
    let all = rng.chance(all_axes);
    if all {
        axes.sort_unstable();
    } else {
        axes.truncate(rng.below(ndim + 1));
    }
    let shape: Vec<usize> = (0..ndim)
        .map(|k| {
            if axes.contains(&k) {
                if rng.chance(0.3) {
                    eo(k) + 1
                } else {
                    eo(k) + 1 + rng.below(budget.max(eo(k) + 1) - eo(k))
                }
            } else if rng.chance(0.05) {
                0
            } else {
                1 + rng.below(budget)
            }
        })
        .collect();
    let spacing = match rng.below(4) {
        0 => Spacing::Unit,
        1 => Spacing::Uniform(rng.pick(&[0.5, 2.0, -1.5, 0.1, 3.7])),
        2 => Spacing::PerAxis(vec![AxisSpacing::Scalar(rng.pick(&[0.3, -2.0]))]),
        _ => Spacing::PerAxis(
            axes.iter()
                .map(|&k| {
                    if rng.chance(0.3) {
                        AxisSpacing::Scalar(rng.pick(&[0.5, 1.25, -0.7]))
                    } else {
                        coordinates(rng, shape[k])
                    }
                })
                .collect(),
        ),
    };
    let mut opts = GradientOptions::new()
        .spacing(spacing)
        .edge_order(edge_order);
    if forms {
        opts = opts.accuracy(accuracy);
        let boundaries: Vec<Boundary> = (0..axes.len())
            .map(|i| {
                let k = axes[i];
                if !periodic[k] {
                    return Boundary::OneSided;
                }
                match coordinates_of(&opts.spacing, i) {
                    // The next period starts one more random step on.
                    Some(x) => {
                        let h = x[1] - x[0];
                        if x.windows(2).all(|w| w[1] - w[0] == h) {
                            // Equal steps are uniform spacing: period n·h.
                            Boundary::periodic(x.len() as f64 * h)
                        } else {
                            let (first, last) = (x[0], x[x.len() - 1]);
                            let step = h.signum() * (0.1 + rng.unit() * 1.9);
                            Boundary::periodic(last - first + step)
                        }
                    }
                    None => Boundary::PERIODIC,
                }
            })
            .collect();
        opts = opts.per_axis_boundary(boundaries);
    }
    if !all {
        opts = opts.axes(axes.iter().map(|&k| {
            if rng.chance(0.3) {
                k as isize - ndim as isize
            } else {
                k as isize
            }
        }));
    }
    (shape, opts)
}

/// How an input is cut from a larger storage array: its axes permuted,
/// sliced with steps and read backwards. The storage is filled too, so a
/// backend that reads a skipped element gets a wrong result.
#[derive(Debug, Clone)]
pub struct Strided {
    /// `perm[i]`: the logical axis stored as the `i`-th storage axis.
    pub perm: Vec<usize>,
    /// Step of each logical axis's slice (1 = unsliced).
    pub step: Vec<usize>,
    /// Whether each logical axis is read backwards.
    pub reversed: Vec<bool>,
}

impl Strided {
    /// C order: the storage is the input.
    pub fn c_order(ndim: usize) -> Strided {
        Strided {
            perm: (0..ndim).collect(),
            step: vec![1; ndim],
            reversed: vec![false; ndim],
        }
    }

    /// Storage for an input of `shape`, each element drawn by `sample` from
    /// a generator seeded from `seed` (apart from the stream that drew the
    /// case itself).
    pub fn storage<T>(
        &self,
        shape: &[usize],
        seed: u64,
        mut sample: impl FnMut(&mut Rng) -> T,
    ) -> ArrayD<T> {
        let mut rng = Rng::new(seed ^ 0x5EED);
        let dims: Vec<usize> = self.perm.iter().map(|&k| shape[k] * self.step[k]).collect();
        ArrayD::from_shape_simple_fn(IxDyn(&dims), || sample(&mut rng))
    }

    /// The input: a view of `storage` with `shape` and this layout.
    pub fn view<'a, T>(&self, storage: &'a ArrayD<T>, shape: &[usize]) -> ArrayViewD<'a, T> {
        let mut v = storage.view();
        for (i, &k) in self.perm.iter().enumerate() {
            let step = self.step[k] as isize;
            let step = if self.reversed[k] { -step } else { step };
            v.slice_axis_inplace(Axis(i), Slice::new(0, None, step));
        }
        // Storage axis i holds logical axis perm[i]: logical axis k is storage axis inv[k].
        let mut inv = vec![0; shape.len()];
        for (i, &k) in self.perm.iter().enumerate() {
            inv[k] = i;
        }
        let v = v.permuted_axes(inv);
        assert_eq!(v.shape(), shape, "layout construction");
        v
    }
}

/// A random sample: NaN, +inf or -inf with probability `non_finite`,
/// otherwise `finite(rng)`.
pub fn sample(rng: &mut Rng, non_finite: f64, finite: impl FnOnce(&mut Rng) -> f64) -> f64 {
    if rng.chance(non_finite) {
        rng.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
    } else {
        finite(rng)
    }
}

/// The coordinates of the `i`-th requested axis, if its spacing is an
/// array of more than one value.
fn coordinates_of(spacing: &Spacing, i: usize) -> Option<Vec<f64>> {
    match spacing {
        Spacing::PerAxis(items) if items.len() > 1 || i == 0 => match items.get(i) {
            Some(AxisSpacing::Coordinates(x)) if x.len() > 1 => Some(x.iter().copied().collect()),
            _ => None,
        },
        _ => None,
    }
}

/// The largest Σ|w| over the taps of each requested axis: the factor from
/// max|f| to the magnitude of a derivative sample.
pub fn tap_magnitudes(plan: &Plan) -> Vec<f64> {
    plan.axes
        .iter()
        .map(|ax| {
            (0..ax.n)
                .map(|i| ax.stencil.tap(i).gain())
                .fold(0.0, f64::max)
        })
        .collect()
}

/// A random polynomial of degree `p`: its values and its derivative's (the
/// accuracy-order tests check exactness on these).
pub struct Polynomial(pub Vec<f64>);

impl Polynomial {
    /// Coefficients uniform in [-1, 1).
    pub fn random(rng: &mut Rng, p: usize) -> Polynomial {
        Polynomial((0..=p).map(|_| rng.unit() * 2.0 - 1.0).collect())
    }

    /// The value at `x` (Horner).
    pub fn value(&self, x: f64) -> f64 {
        self.0.iter().rev().fold(0.0, |acc, &c| acc * x + c)
    }

    /// The derivative at `x`.
    pub fn derivative(&self, x: f64) -> f64 {
        self.0
            .iter()
            .enumerate()
            .skip(1)
            .rev()
            .fold(0.0, |acc, (k, &c)| acc * x + k as f64 * c)
    }
}
