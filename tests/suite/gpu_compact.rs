//! Compact inputs, every output type, the fused kernels and the fused
//! magnitude on the GPU, against the reference: every input type (i8, u8,
//! u16 and i16 packed, u32 and i32 converted, i64 and u64 read as word pairs
//! and converted in the shader, f16 unpacked in the shader, f32, f64) with
//! f16, f32 and f64 results, through the fused and the
//! per-axis kernels, and through slabs with halos under tiny limits (odd
//! plane lengths, so packed slabs start mid-word). Outputs are poisoned.

use crate::gpu_common;

use std::sync::OnceLock;

use gpu_common::{
    assert_magnitude_matches_reference, assert_typed_matches_reference, random_values, RandomInput,
    Rng,
};
use ndarray::{ArrayD, IxDyn};
use ndgrad::gpu::{AxisKernels, GpuContext, GpuOptions};
use ndgrad::{f16, AxisSpacing, EdgeOrder, Element, GradientOptions, Spacing};

/// The contexts of this binary, built once (lavapipe compiles each
/// pipeline per context): poisoned outputs, fused or per-axis kernels,
/// device limits or tiny ones.
fn ctx(kernels: AxisKernels, tiny: bool) -> Option<&'static GpuContext> {
    static CTXS: OnceLock<Vec<Option<GpuContext>>> = OnceLock::new();
    let all = CTXS.get_or_init(|| {
        let mut v = Vec::new();
        for tiny in [false, true] {
            for kernels in [AxisKernels::Fused, AxisKernels::PerAxis] {
                let mut opts = GpuOptions::new().axis_kernels(kernels);
                if tiny {
                    // 2 KiB bindings and grids of 4×4×4 workgroups of 4
                    // threads: at most 256 elements per slab.
                    opts = opts
                        .max_storage_buffer_binding_size(2048)
                        .max_workgroups_per_dimension(4)
                        .workgroup_size(4);
                }
                v.push(gpu_common::context_with(opts));
            }
        }
        v
    });
    let k = usize::from(tiny) * 2 + usize::from(kernels == AxisKernels::PerAxis);
    all[k].as_ref()
}

/// A random spacing form for `shape`'s `axes`: unit, one scalar, or per
/// axis a scalar, evenly spaced coordinates or uneven ones.
fn random_spacing(rng: &mut Rng, shape: &[usize], axes: &[usize], form: usize) -> Spacing {
    match form {
        0 => Spacing::Unit,
        1 => Spacing::Uniform(rng.range(0.2, 4.0)),
        _ => Spacing::PerAxis(
            axes.iter()
                .enumerate()
                .map(|(k, &a)| match (form + k) % 3 {
                    0 => AxisSpacing::Scalar(-rng.range(0.2, 4.0)),
                    1 => AxisSpacing::from(
                        (0..shape[a])
                            .map(|i| 0.5 * i as f64 - 3.0)
                            .collect::<Vec<_>>(),
                    ),
                    _ => {
                        let mut x = vec![rng.range(-2.0, 2.0)];
                        for _ in 1..shape[a] {
                            let last = *x.last().unwrap();
                            x.push(last + rng.range(0.1, 2.0));
                        }
                        AxisSpacing::from(x)
                    }
                })
                .collect(),
        ),
    }
}

/// One random request: shape (1 to 4 dims), axes, edge order, spacing.
fn random_case(rng: &mut Rng, max_len: usize) -> (Vec<usize>, GradientOptions, Vec<usize>) {
    let ndim = 1 + rng.below(4);
    let second = rng.unit() < 0.5;
    let min = if second { 3 } else { 2 };
    let mut shape: Vec<usize> = (0..ndim).map(|_| min + rng.below(12)).collect();
    while shape.iter().product::<usize>() > max_len {
        let k = rng.below(ndim);
        shape[k] = (shape[k] / 2).max(min);
    }
    let mut axes: Vec<usize> = (0..ndim).filter(|_| rng.unit() < 0.8).collect();
    if axes.is_empty() {
        axes.push(rng.below(ndim));
    }
    let form = rng.below(4);
    let spacing = random_spacing(rng, &shape, &axes, form);
    let opts = GradientOptions::new()
        .axes(axes.iter().map(|&a| a as isize))
        .edge_order(if second {
            EdgeOrder::Second
        } else {
            EdgeOrder::First
        })
        .spacing(spacing);
    (shape, opts, axes)
}

fn flat<T: Clone>(arrays: Vec<ArrayD<T>>) -> Vec<Vec<T>> {
    arrays
        .into_iter()
        .map(|a| a.into_raw_vec_and_offset().0)
        .collect()
}

/// `cases` random requests on input `I` with results `O`, on the fused and
/// the per-axis contexts; both must match the reference, and each other
/// bit for bit (they evaluate the same taps in the same order).
fn check_types<I: RandomInput, O: Element>(cases: u64, tiny: bool) {
    let (Some(fused), Some(per_axis)) = (
        ctx(AxisKernels::Fused, tiny),
        ctx(AxisKernels::PerAxis, tiny),
    ) else {
        return;
    };
    if std::mem::size_of::<O>() == 8 && !fused.supports_f64() {
        eprintln!("skipping f64 results: no SHADER_F64");
        return;
    }
    for seed in 0..cases {
        let mut rng = Rng::new(seed * 7919 + std::mem::size_of::<I>() as u64);
        let (mut shape, mut opts, axes) = random_case(&mut rng, 1500);
        if tiny {
            // A long outermost axis and an odd plane (at most 27 elements):
            // many slabs, halos, and packed slabs that start mid-word.
            shape[0] = 20 + rng.below(40);
            for (k, s) in shape.iter_mut().enumerate().skip(1) {
                *s = if axes.contains(&k) { 3 } else { 1 };
            }
            let form = rng.below(4);
            opts = opts.spacing(random_spacing(&mut rng, &shape, &axes, form));
        }
        let Ok(plan) = ndgrad::Plan::new(&shape, &opts) else {
            continue;
        };
        let data: Vec<I> = random_values(&mut rng, plan.len());
        let f = ArrayD::from_shape_vec(IxDyn(&shape), data.clone()).unwrap();
        let context = format!(
            "{} -> {} {shape:?} {opts:?} tiny={tiny}",
            I::NUMPY_NAME,
            O::NUMPY_NAME
        );
        let a = flat(fused.gradient_as::<O, _, _, _>(&f, &opts).unwrap());
        assert_typed_matches_reference(&data, &shape, &opts, &a, &format!("fused {context}"));
        let b = flat(per_axis.gradient_as::<O, _, _, _>(&f, &opts).unwrap());
        assert_typed_matches_reference(&data, &shape, &opts, &b, &format!("per-axis {context}"));
        for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
            assert!(
                x.to_f64().to_bits() == y.to_f64().to_bits()
                    || (x.to_f64().is_nan() && y.to_f64().is_nan()),
                "{context}: fused {x:?} != per-axis {y:?}"
            );
        }
        let m = fused
            .gradient_magnitude_as::<O, _, _, _>(&f, &opts)
            .unwrap();
        assert_magnitude_matches_reference(
            &data,
            &shape,
            &opts,
            m.as_slice().unwrap(),
            &format!("magnitude {context}"),
        );
    }
}

macro_rules! type_tests {
    ($($name:ident: $i:ty => $o:ty),* $(,)?) => {$(
        #[test]
        fn $name() {
            check_types::<$i, $o>(6, false);
            check_types::<$i, $o>(6, true);
        }
    )*};
}

type_tests! {
    u8_to_f32: u8 => f32,
    u8_to_f64: u8 => f64,
    u8_to_f16: u8 => f16,
    u16_to_f32: u16 => f32,
    u16_to_f64: u16 => f64,
    i16_to_f32: i16 => f32,
    i16_to_f64: i16 => f64,
    i16_to_f16: i16 => f16,
    i32_to_f32: i32 => f32,
    i32_to_f64: i32 => f64,
    i8_to_f32: i8 => f32,
    i8_to_f64: i8 => f64,
    i8_to_f16: i8 => f16,
    u32_to_f32: u32 => f32,
    u32_to_f64: u32 => f64,
    i64_to_f32: i64 => f32,
    i64_to_f64: i64 => f64,
    i64_to_f16: i64 => f16,
    u64_to_f32: u64 => f32,
    u64_to_f64: u64 => f64,
    f16_to_f16: f16 => f16,
    f16_to_f32: f16 => f32,
    f16_to_f64: f16 => f64,
    f32_to_f32: f32 => f32,
    f32_to_f64: f32 => f64,
    f32_to_f16: f32 => f16,
    f64_to_f64: f64 => f64,
    f64_to_f32: f64 => f32,
}

/// Without SHADER_F16 the f16 results are computed in f32, read back and
/// rounded on the host: the same values within f16's precision.
#[test]
fn f16_results_without_shader_f16_are_rounded_on_the_host() {
    let Some(ctx) = gpu_common::context_with(GpuOptions::new().disable_f16(true)) else {
        return;
    };
    assert!(!ctx.supports_f16());
    let mut rng = Rng::new(11);
    let shape = [9, 14, 5];
    let data: Vec<u16> = random_values(&mut rng, 9 * 14 * 5);
    let f = ArrayD::from_shape_vec(IxDyn(&shape), data.clone()).unwrap();
    let opts = GradientOptions::new().spacing(Spacing::Uniform(40.0));
    let g = flat(ctx.gradient_as::<f16, _, _, _>(&f, &opts).unwrap());
    assert_typed_matches_reference(&data, &shape, &opts, &g, "u16 -> f16 without SHADER_F16");
}

/// The adapter's SHADER_F16 is requested, so lavapipe writes f16 itself.
#[test]
fn shader_f16_is_requested_where_the_adapter_has_it() {
    let Some(ctx) = ctx(AxisKernels::Fused, false) else {
        return;
    };
    assert_eq!(
        ctx.supports_f16(),
        ctx.device()
            .features()
            .contains(ndgrad::gpu::wgpu::Features::SHADER_F16)
    );
}

/// Magnitude over more axes than the fused kernel takes (nine) falls back
/// to the components, combined on the host.
#[test]
fn magnitude_of_nine_axes_matches_reference() {
    let Some(ctx) = ctx(AxisKernels::Fused, false) else {
        return;
    };
    let shape = [2, 3, 2, 2, 3, 2, 2, 2, 3];
    let len = shape.iter().product();
    let mut rng = Rng::new(5);
    let data: Vec<i16> = random_values(&mut rng, len);
    let f = ArrayD::from_shape_vec(IxDyn(&shape), data.clone()).unwrap();
    let opts = GradientOptions::new().spacing(Spacing::Uniform(0.5));
    let m = ctx
        .gradient_magnitude_as::<f32, _, _, _>(&f, &opts)
        .unwrap();
    assert_magnitude_matches_reference(&data, &shape, &opts, m.as_slice().unwrap(), "9-D");
}

/// The library API on the GPU backend runs these paths too.
#[test]
fn library_magnitude_and_compact_gradient_on_the_gpu_backend() {
    if gpu_common::or_skip(ndgrad::gpu::default_context()).is_none() {
        return;
    }
    let mut rng = Rng::new(9);
    let shape = [17, 23];
    let data: Vec<u8> = random_values(&mut rng, 17 * 23);
    let f = ArrayD::from_shape_vec(IxDyn(&shape), data.clone()).unwrap();
    let opts = GradientOptions::new()
        .edge_order(EdgeOrder::Second)
        .backend(ndgrad::Backend::Gpu);
    let m = ndgrad::gradient_magnitude(&f, &opts).unwrap();
    assert_magnitude_matches_reference(&data, &shape, &opts, m.as_slice().unwrap(), "library");
    let g = flat(ndgrad::gradient(&f, &opts).unwrap());
    assert_typed_matches_reference(&data, &shape, &opts, &g, "library u8 -> f64");
}

/// Components of more axes than one fused dispatch writes (four) take
/// several dispatches, each writing its own outputs: six and nine axes, with
/// mixed spacing forms, at both edge orders, and through slabs under tiny
/// limits (first order there: a plane with halos must fit 256 elements),
/// equal to the per-axis kernels bit for bit.
#[test]
fn components_of_six_and_nine_axes_take_several_fused_dispatches() {
    let cases: [(bool, &[usize], &[EdgeOrder]); 4] = [
        (
            false,
            &[5, 3, 4, 3, 3, 4],
            &[EdgeOrder::First, EdgeOrder::Second],
        ),
        (
            false,
            &[3, 3, 3, 3, 3, 3, 3, 3, 3],
            &[EdgeOrder::First, EdgeOrder::Second],
        ),
        (true, &[12, 2, 2, 2, 2, 3], &[EdgeOrder::First]),
        (true, &[9, 2, 2, 2, 2, 2, 2], &[EdgeOrder::First]),
    ];
    for (seed, (tiny, shape, edges)) in cases.into_iter().enumerate() {
        let (Some(fused), Some(per_axis)) = (
            ctx(AxisKernels::Fused, tiny),
            ctx(AxisKernels::PerAxis, tiny),
        ) else {
            return;
        };
        let mut rng = Rng::new(seed as u64);
        let len = shape.iter().product();
        let data: Vec<f32> = random_values(&mut rng, len);
        let f = ArrayD::from_shape_vec(IxDyn(shape), data.clone()).unwrap();
        let axes: Vec<usize> = (0..shape.len()).collect();
        for (form, &edge) in (2..).zip(edges) {
            let opts = GradientOptions::new()
                .edge_order(edge)
                .spacing(random_spacing(&mut rng, shape, &axes, form));
            let context = format!("{shape:?} {opts:?} tiny={tiny}");
            let a = flat(fused.gradient(&f, &opts).unwrap());
            assert_eq!(a.len(), shape.len());
            assert_typed_matches_reference(&data, shape, &opts, &a, &context);
            let b = flat(per_axis.gradient(&f, &opts).unwrap());
            assert_eq!(a, b, "{context}: fused and per-axis differ");
        }
    }
}
