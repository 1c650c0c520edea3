//! Every integer input type reaches the compute type as numpy's `astype`
//! puts it there, bit for bit, on every backend: `f64` results see each
//! sample rounded once to `f64` (exact up to 2⁵³), `f32` results (and `f16`,
//! computed in `f32`) see it rounded once to `f32` from the integer itself,
//! never through `f64` first. On the GPU that is the shader's own integer
//! arithmetic (`shaders/int_f32.wgsl`, `shaders/int_f64.wgsl`), 64-bit
//! values read as pairs of 32-bit words.
//!
//! Each row of an (n, 2) array holds one value v and a zero, and the
//! gradient along axis 1 (first order, unit spacing) is ±(v − 0) / 1 at both
//! points: the converted sample itself, with no arithmetic rounding. The
//! values are the rounding boundaries (±2²⁴ ± 1, ±2⁵³ ± 1, ties to even
//! either way, `i64::MIN`, `i64::MAX`, `u64::MAX`, a value whose rounding
//! through `f64` would land on an `f32` midpoint and round the wrong way)
//! and random values of every bit length, with random midpoints. Outputs
//! are compared with every element, so a poisoned one never written fails.

use crate::common;
use crate::gpu_common;

use common::backends_under_test;
use ndarray::{Array2, ArrayD, IxDyn, ShapeBuilder};
use ndgrad::gpu::{AxisKernels, GpuContext, GpuOptions};
use ndgrad::{f16, gradient_as, Backend, Element, GradientOptions, Input};
use ndgrad_rng::Rng;

/// An integer type under test: its boundary values and its conversions as
/// numpy's astype makes them (Rust's `as`: to nearest, ties to even).
trait Integer: Input {
    /// The type's own rounding boundaries.
    fn boundaries() -> Vec<Self>;
    /// The low `bits` bits of a 64-bit pattern, as this type.
    fn from_bits(bits: u64) -> Self;
    /// Bits in the type.
    const BITS: u32;
    fn as_f64(self) -> f64;
    fn as_f32(self) -> f32;
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Integer for $t {
            fn boundaries() -> Vec<Self> {
                let mut v: Vec<i128> = vec![0, 1, -1, 2, -2, 127, -128, 255];
                for p in [16i128, 24, 31, 32, 53, 54, 60, 63, 64] {
                    for d in -3i128..=3 {
                        v.push((1 << p) + d);
                        v.push(-(1 << p) + d);
                    }
                }
                // Ties and near-ties of f32 (24 bits) and f64 (53 bits) at
                // several magnitudes: m·2^s + 2^(s−1) (+0, ±1), m odd and even.
                for (p, s) in [(24u32, 1u32), (24, 8), (24, 20), (24, 39), (53, 1), (53, 10)] {
                    for m in [(1i128 << (p - 1)) + 1, (1i128 << (p - 1)) + 2, (1i128 << p) - 1] {
                        let tie = (m << s) + (1 << (s - 1));
                        for d in [-1i128, 0, 1] {
                            v.push(tie + d);
                            v.push(-(tie + d));
                        }
                    }
                }
                // Rounds up once to f32, but to the midpoint and then down
                // (to even) through f64.
                let twice = (1i128 << 60) + (1 << 36) + 1;
                v.extend([twice, -twice]);
                v.extend([
                    <$t>::MIN as i128,
                    <$t>::MAX as i128,
                    <$t>::MIN as i128 + 1,
                    <$t>::MAX as i128 - 1,
                ]);
                v.into_iter()
                    .filter_map(|x| <$t>::try_from(x).ok())
                    .collect()
            }
            fn from_bits(bits: u64) -> Self {
                bits as $t
            }
            const BITS: u32 = <$t>::BITS;
            fn as_f64(self) -> f64 {
                self as f64
            }
            fn as_f32(self) -> f32 {
                self as f32
            }
        }
    )*};
}
integer!(i8, u8, i16, u16, i32, u32, i64, u64);

/// The boundaries, then random values of random bit lengths, some of them
/// made exact midpoints between two f32 (or f64) values.
fn values<I: Integer>(seed: u64) -> Vec<I> {
    let mut v = I::boundaries();
    let mut rng = Rng::new(seed);
    for _ in 0..600 {
        let mut bits = rng.next_u64() >> rng.below(I::BITS as usize + 1).min(63);
        if rng.chance(0.3) {
            // A midpoint: clear the bits below a drop of s, set bit s − 1.
            let len = 64 - bits.leading_zeros();
            let p = rng.pick(&[24u32, 53]);
            if len > p + 1 {
                let s = len - p;
                bits = (bits >> s << s) | (1 << (s - 1));
            }
        }
        v.push(I::from_bits(bits));
    }
    v
}

/// A result type, and the value each sample must come out as.
trait Output: Element {
    fn expected<I: Integer>(v: I) -> Self;
}

impl Output for f64 {
    fn expected<I: Integer>(v: I) -> f64 {
        v.as_f64()
    }
}

impl Output for f32 {
    fn expected<I: Integer>(v: I) -> f32 {
        v.as_f32()
    }
}

impl Output for f16 {
    /// Computed in f32 and rounded once to f16 (beyond 65504: infinity).
    fn expected<I: Integer>(v: I) -> f16 {
        f16::from_f32(v.as_f32())
    }
}

/// Rows [v, 0] and [0, v] alternately (C order), and what each output
/// element must be: −v and v as `O` converts them.
fn case<I: Integer, O: Output>(values: &[I]) -> (Vec<I>, Vec<O>) {
    let zero = I::from_bits(0);
    let mut data = Vec::new();
    let mut want = Vec::new();
    for (r, &v) in values.iter().enumerate() {
        let x = O::expected(v);
        let (row, d) = if r % 2 == 0 {
            ([v, zero], O::from_f64(0.0) - x)
        } else {
            ([zero, v], x)
        };
        data.extend(row);
        want.extend([d, d]);
    }
    (data, want)
}

fn opts() -> GradientOptions {
    GradientOptions::new().axis(1)
}

/// `got` equals `want` element by element (as values: −0 equals +0);
/// `values[r]` is the sample of row r.
fn assert_exact<I: Integer, O: Output>(got: &[O], want: &[O], values: &[I], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_f64() == w.to_f64(),
            "{what}: flat {k}: ±({} {:?} as {}) came out as {:?}, expected {:?}",
            I::NUMPY_NAME,
            values[k / 2],
            O::NUMPY_NAME,
            g,
            w
        );
    }
}

/// On the reference and the CPU (and the GPU backend where it runs): C
/// order, Fortran order and a stepped view, which the CPU reads in place,
/// through a transposing slab copy and gathered.
fn check_backends<I: Integer, O: Output>(seed: u64) {
    let values = values::<I>(seed);
    let (data, want) = case::<I, O>(&values);
    let rows = values.len();
    let c = ArrayD::from_shape_vec(IxDyn(&[rows, 2]), data.clone()).unwrap();
    let mut fortran = Array2::from_elem((rows, 2).f(), I::from_bits(0));
    fortran.assign(&c.view().into_dimensionality::<ndarray::Ix2>().unwrap());
    let mut wide = Array2::from_elem((rows, 4), I::from_bits(0));
    wide.slice_mut(ndarray::s![.., ..;2]).assign(&fortran);
    for backend in backends_under_test() {
        if backend == Backend::Gpu && !gpu_supports::<O>() {
            continue;
        }
        let opts = opts().backend(backend);
        let what = format!("{backend}");
        let g = gradient_as::<O, _, _, _>(&c, &opts).unwrap();
        assert_exact(g[0].as_slice().unwrap(), &want, &values, &what);
        let g = gradient_as::<O, _, _, _>(&fortran, &opts).unwrap();
        assert_exact(
            g[0].as_slice().unwrap(),
            &want,
            &values,
            &format!("{what}, Fortran"),
        );
        let stepped = wide.slice(ndarray::s![.., ..;2]);
        let g = gradient_as::<O, _, _, _>(&stepped, &opts).unwrap();
        assert_exact(
            g[0].as_slice().unwrap(),
            &want,
            &values,
            &format!("{what}, stepped"),
        );
    }
}

/// The default GPU context can compute in `O`.
fn gpu_supports<O: Output>() -> bool {
    O::NUMPY_NAME != "float64" || ndgrad::gpu::default_context().is_ok_and(|ctx| ctx.supports_f64())
}

/// The GPU contexts of this binary: fused and per-axis kernels, and tiny
/// limits (many slabs, each bound as a window that starts mid-buffer), and
/// no SHADER_F64 (the f32 conversions need no 64-bit type at all).
fn contexts() -> &'static [(String, GpuContext)] {
    static CTXS: std::sync::OnceLock<Vec<(String, GpuContext)>> = std::sync::OnceLock::new();
    CTXS.get_or_init(|| {
        let mut v = Vec::new();
        for (name, opts) in [
            ("fused", GpuOptions::new().axis_kernels(AxisKernels::Fused)),
            (
                "per-axis",
                GpuOptions::new().axis_kernels(AxisKernels::PerAxis),
            ),
            (
                "tiny",
                GpuOptions::new()
                    .max_storage_buffer_binding_size(512)
                    .max_workgroups_per_dimension(4)
                    .workgroup_size(4),
            ),
            ("no-f64", GpuOptions::new().disable_f64(true)),
        ] {
            if let Some(ctx) = gpu_common::context_with(opts) {
                v.push((name.to_string(), ctx));
            }
        }
        v
    })
}

/// On the GPU contexts, through the host path and the resident path.
fn check_gpu<I: Integer, O: Output>(seed: u64) {
    let values = values::<I>(seed);
    let (data, want) = case::<I, O>(&values);
    let f = ArrayD::from_shape_vec(IxDyn(&[values.len(), 2]), data.clone()).unwrap();
    for (name, ctx) in contexts() {
        if O::NUMPY_NAME == "float64" && !ctx.supports_f64() {
            eprintln!("skipping f64 results on {name}: no SHADER_F64");
            continue;
        }
        let g = ctx.gradient_as::<O, _, _, _>(&f, &opts()).unwrap();
        assert_exact(g[0].as_slice().unwrap(), &want, &values, name);
        let resident = ctx.upload(&f).unwrap();
        let g = ctx.gradient_resident::<O, I>(&resident, &opts()).unwrap();
        let g = g[0].to_host(ctx).unwrap();
        assert_exact(
            g.as_slice().unwrap(),
            &want,
            &values,
            &format!("{name}, resident"),
        );
    }
}

macro_rules! conversion_tests {
    ($($name:ident: $i:ty),* $(,)?) => {$(
        #[test]
        fn $name() {
            check_backends::<$i, f64>(1);
            check_backends::<$i, f32>(2);
            check_backends::<$i, f16>(3);
            check_gpu::<$i, f64>(4);
            check_gpu::<$i, f32>(5);
            check_gpu::<$i, f16>(6);
        }
    )*};
}

conversion_tests! {
    int8: i8,
    uint8: u8,
    int16: i16,
    uint16: u16,
    int32: i32,
    uint32: u32,
    int64: i64,
    uint64: u64,
}

/// numpy's float64 output beyond 2⁵³ on every backend: numpy converts with
/// astype(float64) and then differentiates, so
/// `np.gradient(np.array([2**53, 2**53 + 1, 2**53 + 3]))` is [0., 2., 4.]
/// (2⁵³ + 1 → 2⁵³, 2⁵³ + 3 → 2⁵³ + 4), not the exact [1., 1.5, 2.]; and
/// near `u64::MAX`, where float64's spacing is 2048, [2⁶⁴, 2⁶⁴, 2⁶⁴ − 4096]
/// gives [0., −2048., −4096.]. Each result is exact, so on the GPU too.
#[test]
fn numpy_float64_output_beyond_two_to_the_53() {
    let p53 = 1i64 << 53;
    let signed = ndarray::arr1(&[p53, p53 + 1, p53 + 3]);
    let unsigned = ndarray::arr1(&[u64::MAX, u64::MAX - 1000, u64::MAX - 4000]);
    for backend in backends_under_test() {
        if backend == Backend::Gpu && !gpu_supports::<f64>() {
            continue;
        }
        let opts = GradientOptions::new().backend(backend);
        let g = ndgrad::gradient(&signed, &opts).unwrap();
        assert_eq!(g[0], ndarray::arr1(&[0.0, 2.0, 4.0]), "int64 on {backend}");
        let g = ndgrad::gradient(&unsigned, &opts).unwrap();
        assert_eq!(
            g[0],
            ndarray::arr1(&[0.0, -2048.0, -4096.0]),
            "uint64 on {backend}"
        );
    }
}
