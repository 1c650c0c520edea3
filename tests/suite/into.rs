//! `gradient_into` and `gradient_magnitude_into` on every backend: outputs
//! of every layout (C order, Fortran order, every other element of a larger
//! array), pre-filled with NaN while the inputs are finite, so an element
//! the backend did not write cannot pass. Each result must equal, bit for
//! bit, what the same backend returns in fresh arrays, and the storage
//! around a stepped output must stay untouched. Errors (output count, output
//! shape, invalid options) are found before anything is written. A
//! `GpuContext` of the caller's own, with tiny limits, streams slabs
//! straight into the caller's outputs.

use crate::common;
use crate::gpu_common;

use common::{backends_under_test, random_request, Rng, Strided};
use ndarray::{ArrayD, ArrayViewMutD, Axis, Dimension, IxDyn, ShapeBuilder, Slice};
use ndgrad::gpu::{AxisKernels, GpuOptions};
use ndgrad::{
    gradient_into, gradient_magnitude_into, gradient_with_backend_as, Backend, Element, Error,
    GradientOptions,
};

/// How an output array is laid out.
#[derive(Debug, Clone, Copy)]
enum OutLayout {
    C,
    Fortran,
    /// Every other element of a NaN-filled array twice as long on each axis.
    Stepped,
}

/// Storage for one output of `shape`, filled with NaN.
fn storage<O: Element>(shape: &[usize], layout: OutLayout) -> ArrayD<O> {
    let nan = O::from_f64(f64::NAN);
    match layout {
        OutLayout::C => ArrayD::from_elem(IxDyn(shape), nan),
        OutLayout::Fortran => ArrayD::from_elem(IxDyn(shape).f(), nan),
        OutLayout::Stepped => {
            let doubled: Vec<usize> = shape.iter().map(|&n| 2 * n).collect();
            ArrayD::from_elem(IxDyn(&doubled), nan)
        }
    }
}

/// The output view of `storage`.
fn view<O>(storage: &mut ArrayD<O>, layout: OutLayout) -> ArrayViewMutD<'_, O> {
    let mut v = storage.view_mut();
    if let OutLayout::Stepped = layout {
        for k in 0..v.ndim() {
            v.slice_axis_inplace(Axis(k), Slice::new(0, None, 2));
        }
    }
    v
}

/// Whether every element of `storage` outside the stepped view is NaN.
fn margins_untouched<O: Element>(storage: &ArrayD<O>) -> bool {
    storage
        .indexed_iter()
        .all(|(index, v)| index.slice().iter().all(|&i| i % 2 == 0) || v.to_f64().is_nan())
}

fn bits<O: Element>(a: impl IntoIterator<Item = O>) -> Vec<u64> {
    a.into_iter().map(|v| v.to_f64().to_bits()).collect()
}

/// One random case on `backend`, with `O` outputs: components and magnitude.
fn check_case<O: Element>(rng: &mut Rng, backend: Backend, seed: u64) {
    let (shape, opts) = random_request(rng, &[48, 12, 6, 4], 0.3);
    let opts = opts.backend(backend);
    let layout = if rng.chance(0.5) {
        Strided::c_order(shape.len())
    } else {
        let mut perm: Vec<usize> = (0..shape.len()).collect();
        rng.shuffle(&mut perm);
        Strided {
            perm,
            step: (0..shape.len()).map(|_| 1 + rng.below(2)).collect(),
            reversed: (0..shape.len()).map(|_| rng.chance(0.3)).collect(),
        }
    };
    let input_storage = layout.storage(&shape, seed, |r| r.range(-4.0, 4.0));
    let f = layout.view(&input_storage, &shape);
    let what = format!("{backend} seed {seed:#x} shape {shape:?} {opts:?}");

    let want = gradient_with_backend_as::<O, _, _, _>(&f, &opts).expect(&what);
    let layouts: Vec<OutLayout> = want
        .arrays
        .iter()
        .map(|_| rng.pick(&[OutLayout::C, OutLayout::Fortran, OutLayout::Stepped]))
        .collect();
    let mut storages: Vec<ArrayD<O>> = layouts.iter().map(|&l| storage(&shape, l)).collect();
    let mut outs: Vec<ArrayViewMutD<'_, O>> = storages
        .iter_mut()
        .zip(&layouts)
        .map(|(s, &l)| view(s, l))
        .collect();
    let ran = gradient_into(&f, &opts, &mut outs).expect(&what);
    assert_eq!(ran, want.backend, "{what}");
    for (k, (out, want)) in outs.iter().zip(&want.arrays).enumerate() {
        assert_eq!(
            bits(out.iter().copied()),
            bits(want.iter().copied()),
            "{what}: output {k} ({:?})",
            layouts[k]
        );
    }
    drop(outs);
    for (s, &l) in storages.iter().zip(&layouts) {
        if let OutLayout::Stepped = l {
            assert!(margins_untouched(s), "{what}: wrote outside the view");
        }
    }

    let want = ndgrad::gradient_magnitude_as::<O, _, _, _>(&f, &opts).expect(&what);
    let l = rng.pick(&[OutLayout::C, OutLayout::Fortran, OutLayout::Stepped]);
    let mut s = storage::<O>(&shape, l);
    gradient_magnitude_into(&f, &opts, view(&mut s, l)).expect(&what);
    assert_eq!(
        bits(view(&mut s, l).iter().copied()),
        bits(want.iter().copied()),
        "{what}: magnitude ({l:?})"
    );
}

#[test]
fn outputs_of_every_layout_get_what_fresh_arrays_get_on_every_backend() {
    for backend in backends_under_test() {
        let cases = if backend == Backend::Gpu { 24 } else { 60 };
        for case in 0..cases {
            let seed = 0x1270 + case;
            let mut rng = Rng::new(seed);
            if rng.chance(0.5) {
                check_case::<f64>(&mut rng, backend, seed);
            } else {
                check_case::<f32>(&mut rng, backend, seed);
            }
        }
    }
}

#[test]
fn compact_integer_input_into_f32_outputs() {
    let mut rng = Rng::new(0x16);
    let f = ArrayD::from_shape_simple_fn(IxDyn(&[9, 17, 5]), || rng.below(65536) as u16);
    for backend in backends_under_test() {
        let opts = GradientOptions::new().backend(backend);
        let want = gradient_with_backend_as::<f32, _, _, _>(&f, &opts).unwrap();
        let mut outs: Vec<ArrayD<f32>> = (0..3)
            .map(|_| ArrayD::from_elem(IxDyn(&[9, 17, 5]), f32::NAN))
            .collect();
        let mut views: Vec<_> = outs.iter_mut().map(|o| o.view_mut()).collect();
        gradient_into(&f, &opts, &mut views).unwrap();
        for (out, want) in outs.iter().zip(&want.arrays) {
            assert_eq!(out, want, "{backend}");
        }
    }
}

#[test]
fn a_wrong_number_of_outputs_is_an_error_and_writes_nothing() {
    let f = ArrayD::from_shape_fn(IxDyn(&[4, 5]), |i| (i[0] * 7 + i[1] * i[1]) as f64);
    for backend in backends_under_test() {
        let opts = GradientOptions::new().backend(backend);
        let mut outs: Vec<ArrayD<f64>> = (0..3)
            .map(|_| ArrayD::from_elem(IxDyn(&[4, 5]), f64::NAN))
            .collect();
        for count in [0, 1, 3] {
            let mut views: Vec<_> = outs.iter_mut().take(count).map(|o| o.view_mut()).collect();
            let err = gradient_into(&f, &opts, &mut views).unwrap_err();
            assert_eq!(
                err,
                Error::OutputCount {
                    expected: 2,
                    found: count
                }
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "{count} output arrays were given for 2 results: give one per requested axis"
                )
            );
        }
        assert!(outs.iter().all(|o| o.iter().all(|v| v.is_nan())));
    }
}

#[test]
fn an_output_of_another_shape_is_an_error_and_writes_nothing() {
    let f = ArrayD::from_shape_fn(IxDyn(&[4, 5]), |i| (i[0] * 7 + i[1] * i[1]) as f64);
    for backend in backends_under_test() {
        let opts = GradientOptions::new().backend(backend);
        let mut good = ArrayD::from_elem(IxDyn(&[4, 5]), f64::NAN);
        let mut bad = ArrayD::from_elem(IxDyn(&[5, 4]), f64::NAN);
        let err = gradient_into(&f, &opts, &mut [good.view_mut(), bad.view_mut()]).unwrap_err();
        assert_eq!(
            err,
            Error::OutputShape {
                index: 1,
                expected: vec![4, 5],
                found: vec![5, 4]
            }
        );
        assert_eq!(
            err.to_string(),
            "output 1 has shape [5, 4], but the input has shape [4, 5]"
        );
        let err = gradient_magnitude_into(&f, &opts, bad.view_mut()).unwrap_err();
        assert!(matches!(err, Error::OutputShape { index: 0, .. }), "{err}");
        assert!(good.iter().chain(bad.iter()).all(|v| v.is_nan()));
    }
}

#[test]
fn invalid_options_are_the_same_errors_as_gradient_and_write_nothing() {
    let f = ArrayD::from_shape_fn(IxDyn(&[2, 5]), |i| (i[0] + i[1]) as f64);
    let opts = GradientOptions::new().edge_order(ndgrad::EdgeOrder::Second);
    let want = ndgrad::gradient(&f, &opts).unwrap_err();
    let mut outs: Vec<ArrayD<f64>> = (0..2)
        .map(|_| ArrayD::from_elem(IxDyn(&[2, 5]), f64::NAN))
        .collect();
    let mut views: Vec<_> = outs.iter_mut().map(|o| o.view_mut()).collect();
    assert_eq!(gradient_into(&f, &opts, &mut views).unwrap_err(), want);
    assert!(outs.iter().all(|o| o.iter().all(|v| v.is_nan())));
}

#[test]
fn a_context_of_your_own_streams_slabs_into_your_outputs() {
    // 2 KiB bindings: at most 512 f32 elements per slab, so a 12×9×10 volume
    // takes many slabs, each read back into its part of the outputs.
    for kernels in [AxisKernels::Fused, AxisKernels::PerAxis] {
        let Some(ctx) = gpu_common::context_with(
            GpuOptions::new()
                .max_storage_buffer_binding_size(2048)
                .axis_kernels(kernels),
        ) else {
            return;
        };
        let mut rng = Rng::new(0x5AB5);
        let shape = [12, 9, 10];
        let f = ArrayD::from_shape_simple_fn(IxDyn(&shape), || rng.range(-3.0, 3.0) as f32);
        for opts in [
            GradientOptions::new(),
            GradientOptions::new()
                .edge_order(ndgrad::EdgeOrder::Second)
                .axes([0, 2]),
        ] {
            let want: Vec<ArrayD<f32>> = ctx.gradient_as(&f, &opts).unwrap();
            let layouts = [OutLayout::C, OutLayout::Fortran, OutLayout::Stepped];
            let mut storages: Vec<ArrayD<f32>> = (0..want.len())
                .map(|k| storage(&shape, layouts[k]))
                .collect();
            let mut outs: Vec<ArrayViewMutD<'_, f32>> = storages
                .iter_mut()
                .zip(layouts)
                .map(|(s, l)| view(s, l))
                .collect();
            ctx.gradient_into(&f, &opts, &mut outs).unwrap();
            for (k, (out, want)) in outs.iter().zip(&want).enumerate() {
                assert_eq!(
                    bits(out.iter().copied()),
                    bits(want.iter().copied()),
                    "{kernels:?} {opts:?} output {k}"
                );
            }
            let want: ArrayD<f32> = ctx.gradient_magnitude_as(&f, &opts).unwrap();
            let mut m = storage::<f32>(&shape, OutLayout::Stepped);
            ctx.gradient_magnitude_into(&f, &opts, view(&mut m, OutLayout::Stepped))
                .unwrap();
            assert_eq!(
                bits(view(&mut m, OutLayout::Stepped).iter().copied()),
                bits(want.iter().copied()),
                "{kernels:?} {opts:?} magnitude"
            );
            assert!(margins_untouched(&m));
            let err = ctx.gradient_into(&f, &opts, &mut outs[..1]).unwrap_err();
            assert!(matches!(err, Error::OutputCount { .. }), "{err}");
        }
    }
}
