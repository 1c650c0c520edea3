//! Strided inputs on the GPU: Fortran-order, transposed, permuted,
//! negative-stride and stepped views are written into the device's upload
//! memory in C order, slab by slab, with no host copy of their own. Each
//! gives the same bits as its C-ordered copy: through the host path with
//! bindings so small that every array streams in many slabs (components,
//! the magnitude, caller's outputs, the f64 narrowing of a device without
//! `SHADER_F64`), through the library's default context, and through
//! `GpuContext::upload` (the resident array, its readback and its gradient).
//! Inputs are random, never constant.

use crate::gpu_common;

use gpu_common::{random_values, RandomInput, Rng};
use ndarray::{s, ArrayD, ArrayViewD, Axis, IxDyn, ShapeBuilder, Slice};
use ndgrad::gpu::{GpuContext, GpuOptions};
use ndgrad::{f16, AxisSpacing, Backend, EdgeOrder, Element, GradientOptions, Input};

/// Shapes whose planes along axis 0 are short enough that, at 1024 bytes per
/// binding, even f64 with second-order edges (five planes per slab at the
/// least) fits, and long enough along axis 0 to take many slabs.
const SHAPES: [&[usize]; 4] = [&[37, 5, 3], &[29, 11], &[13, 2, 3, 2], &[61]];

fn bits<T: Input>(a: impl IntoIterator<Item = T>) -> Vec<u8> {
    a.into_iter()
        .flat_map(|x| bytemuck::bytes_of(&x).to_vec())
        .collect()
}

/// The owners of the strided views of one random array of `shape`: the
/// array itself in C order, its values in Fortran order, and a larger
/// random array the stepped view is cut from.
struct Owners<I> {
    c: ArrayD<I>,
    fortran: ArrayD<I>,
    transposed: ArrayD<I>,
    big: ArrayD<I>,
}

impl<I: RandomInput> Owners<I> {
    fn new(rng: &mut Rng, shape: &[usize]) -> Owners<I> {
        let len = shape.iter().product();
        let c = ArrayD::from_shape_vec(IxDyn(shape), random_values::<I>(rng, len)).unwrap();
        let mut fortran = ArrayD::from_elem(IxDyn(shape).f(), c.first().copied().unwrap());
        fortran.assign(&c);
        let transposed = c.t().as_standard_layout().into_owned();
        let big_shape: Vec<usize> = shape.iter().map(|&n| 3 * n).collect();
        let big_len = big_shape.iter().product();
        let big =
            ArrayD::from_shape_vec(IxDyn(&big_shape), random_values::<I>(rng, big_len)).unwrap();
        Owners {
            c,
            fortran,
            transposed,
            big,
        }
    }

    /// Every strided view, named, each holding the values of its C-ordered
    /// copy (those that are in standard layout, as Fortran order is in 1-D,
    /// are left out).
    fn views(&self) -> Vec<(&'static str, ArrayViewD<'_, I>)> {
        let ndim = self.c.ndim();
        let mut views = vec![
            ("fortran", self.fortran.view()),
            ("transposed", self.transposed.t()),
        ];
        let mut reversed = self.c.view();
        reversed.invert_axis(Axis(0));
        if ndim > 1 {
            reversed.invert_axis(Axis(ndim - 1));
        }
        views.push(("negative strides", reversed));
        let mut stepped = self.big.view();
        for k in 0..ndim {
            stepped.slice_axis_inplace(Axis(k), Slice::new(1, None, 3));
        }
        views.push(("stepped", stepped));
        let mut stepped_reversed = self.fortran.view();
        stepped_reversed.slice_axis_inplace(Axis(0), Slice::new(0, None, -2));
        views.push(("fortran, stepped backwards along axis 0", stepped_reversed));
        if ndim >= 3 {
            // Axis 0 stays outermost, so the planes stay short.
            let order: Vec<usize> = [0].into_iter().chain((1..ndim).rev()).collect();
            views.push(("permuted", self.c.view().permuted_axes(order)));
        }
        views.retain(|(_, v)| !v.is_standard_layout());
        views
    }
}

/// Unit spacing and per-axis scalars, for both edge orders (the second
/// where every axis is long enough for it).
fn option_sets(rng: &mut Rng, shape: &[usize]) -> Vec<GradientOptions> {
    let ndim = shape.len();
    let mut sets = Vec::new();
    for order in [EdgeOrder::First, EdgeOrder::Second] {
        if order == EdgeOrder::Second && shape.iter().any(|&n| n < 3) {
            continue;
        }
        sets.push(GradientOptions::new().edge_order(order));
        let spacing: Vec<AxisSpacing> = (0..ndim)
            .map(|_| AxisSpacing::Scalar(rng.range(0.2, 3.0)))
            .collect();
        sets.push(
            GradientOptions::new()
                .edge_order(order)
                .per_axis_spacing(spacing),
        );
    }
    sets
}

/// The host path on `ctx`, for every strided view of random arrays: the
/// components (fresh and into the caller's outputs) and the magnitude, bit
/// for bit those of the C-ordered copy.
fn check_host<I: RandomInput, O: Element>(ctx: &GpuContext, seed: u64) {
    let mut rng = Rng::new(seed);
    for shape in SHAPES {
        let owners = Owners::<I>::new(&mut rng, shape);
        for opts in option_sets(&mut rng, shape) {
            for (name, v) in owners.views() {
                let context = format!(
                    "{} -> {} {:?} {name} {opts:?}",
                    I::NUMPY_NAME,
                    O::NUMPY_NAME,
                    v.shape()
                );
                let c = v.as_standard_layout();
                let want = ctx.gradient_as::<O, _, _, _>(&c, &opts).unwrap();
                let got = ctx.gradient_as::<O, _, _, _>(&v, &opts).unwrap();
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(
                        bits(g.iter().copied()),
                        bits(w.iter().copied()),
                        "{context}"
                    );
                }
                let nan = O::from_f64(f64::NAN);
                let mut outs: Vec<ArrayD<O>> = (0..want.len())
                    .map(|_| ArrayD::from_elem(IxDyn(v.shape()), nan))
                    .collect();
                let mut views: Vec<_> = outs.iter_mut().map(|a| a.view_mut()).collect();
                ctx.gradient_into(&v, &opts, &mut views).unwrap();
                for (g, w) in outs.iter().zip(&want) {
                    assert_eq!(
                        bits(g.iter().copied()),
                        bits(w.iter().copied()),
                        "into: {context}"
                    );
                }
                let want = ctx.gradient_magnitude_as::<O, _, _, _>(&c, &opts).unwrap();
                let got = ctx.gradient_magnitude_as::<O, _, _, _>(&v, &opts).unwrap();
                assert_eq!(
                    bits(got.iter().copied()),
                    bits(want.iter().copied()),
                    "magnitude: {context}"
                );
            }
        }
    }
}

#[test]
fn strided_inputs_streamed_in_slabs_equal_their_c_ordered_copy() {
    // At most 1024 bytes per binding: every shape here takes several slabs,
    // so each slab of a strided view is copied into the upload on its own.
    let Some(ctx) =
        gpu_common::context_with(GpuOptions::new().max_storage_buffer_binding_size(1024))
    else {
        return;
    };
    check_host::<u8, f32>(&ctx, 1);
    check_host::<i8, f32>(&ctx, 2);
    check_host::<u16, f32>(&ctx, 3);
    check_host::<i16, f16>(&ctx, 4);
    check_host::<f16, f16>(&ctx, 5);
    check_host::<f32, f32>(&ctx, 6);
    check_host::<i32, f32>(&ctx, 7);
    if ctx.supports_f64() {
        check_host::<f64, f64>(&ctx, 8);
        check_host::<i64, f64>(&ctx, 9);
    }
}

#[test]
fn strided_f64_input_narrowed_for_a_device_without_f64_equals_its_c_ordered_copy() {
    let Some(ctx) = gpu_common::context_with(
        GpuOptions::new()
            .max_storage_buffer_binding_size(1024)
            .disable_f64(true),
    ) else {
        return;
    };
    check_host::<f64, f32>(&ctx, 10);
}

#[test]
fn strided_inputs_through_the_library_equal_their_c_ordered_copy() {
    if gpu_common::or_skip(ndgrad::resolve_backend(Backend::Gpu)).is_none() {
        return;
    }
    let mut rng = Rng::new(11);
    let a =
        ArrayD::from_shape_vec(IxDyn(&[33, 17, 9]), random_values::<f32>(&mut rng, 5049)).unwrap();
    let opts = GradientOptions::new().backend(Backend::Gpu);
    let views = [
        a.t(),
        a.slice(s![..;-1, 3.., ..;2]).into_dyn(),
        a.view().permuted_axes(vec![2, 0, 1]),
    ];
    for v in views {
        let want = ndgrad::gradient(&v.as_standard_layout(), &opts).unwrap();
        let got = ndgrad::gradient(&v, &opts).unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(bits(g.iter().copied()), bits(w.iter().copied()));
        }
        let plan = ndgrad::Plan::new(v.shape(), &opts).unwrap();
        let mut outs = vec![vec![f32::NAN; plan.len()]; 3];
        let mut dsts: Vec<_> = outs
            .iter_mut()
            .map(|o| ndarray::ArrayViewMut::from_shape(IxDyn(v.shape()), o).unwrap())
            .collect();
        ndgrad::gradient_into(&v, &opts, &mut dsts).unwrap();
        for (g, w) in outs.iter().zip(&want) {
            assert_eq!(bits(g.iter().copied()), bits(w.iter().copied()));
        }
    }
}

/// Uploads of every strided view hold the bytes of the C-ordered copy, and
/// their resident gradients equal the host path's on that copy.
fn check_upload<I: RandomInput, O: Element>(ctx: &GpuContext, seed: u64) {
    let mut rng = Rng::new(seed);
    for shape in SHAPES {
        let owners = Owners::<I>::new(&mut rng, shape);
        for (name, v) in owners.views() {
            let context = format!("{} {:?} {name}", I::NUMPY_NAME, v.shape());
            let c = v.as_standard_layout();
            let f = ctx.upload(&v).unwrap();
            let back = f.to_host(ctx).unwrap();
            assert_eq!(back.shape(), v.shape(), "{context}");
            assert_eq!(
                bits(back.iter().copied()),
                bits(c.iter().copied()),
                "{context}"
            );
            let opts = option_sets(&mut rng, shape)
                .pop()
                .expect("one set at least");
            let want = ctx.gradient_as::<O, _, _, _>(&c, &opts).unwrap();
            let got = ctx.gradient_resident::<O, I>(&f, &opts).unwrap();
            for (g, w) in got.iter().zip(&want) {
                let g = g.to_host(ctx).unwrap();
                assert_eq!(
                    bits(g.iter().copied()),
                    bits(w.iter().copied()),
                    "resident gradient: {context}"
                );
            }
        }
    }
}

#[test]
fn strided_uploads_hold_their_c_ordered_copy() {
    let Some(ctx) =
        gpu_common::context_with(GpuOptions::new().max_storage_buffer_binding_size(1024))
    else {
        return;
    };
    check_upload::<u8, f32>(&ctx, 21);
    check_upload::<u16, f32>(&ctx, 22);
    check_upload::<i16, f32>(&ctx, 23);
    check_upload::<f16, f32>(&ctx, 24);
    check_upload::<f32, f32>(&ctx, 25);
    check_upload::<i32, f32>(&ctx, 26);
    if ctx.supports_f64() {
        check_upload::<f64, f64>(&ctx, 27);
    }
}
