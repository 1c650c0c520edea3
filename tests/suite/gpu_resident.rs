//! Device-resident arrays: upload and readback of every input type, bit for
//! bit; gradients kept on the device (through `gradient_resident` and
//! through `encode_gradient` into the caller's encoder) against the host
//! path (the same kernels, so bit for bit) and the reference; the resident
//! magnitude; arrays larger than one binding, computed in slabs of windows;
//! arrays built from an application's buffer; what the resident path
//! refuses. Outputs are poisoned.

use crate::gpu_common;

use gpu_common::{
    assert_magnitude_matches_reference, assert_typed_matches_reference, random_values, RandomInput,
    Rng,
};
use ndarray::{ArrayD, IxDyn};
use ndgrad::gpu::{wgpu, AxisKernels, GpuArray, GpuContext, GpuOptions};
use ndgrad::{f16, AxisSpacing, EdgeOrder, Element, Error, GradientOptions, Input};

const SHAPES: [&[usize]; 5] = [&[7], &[5, 6], &[3, 4, 5], &[9, 3], &[3, 3, 3, 5]];

fn bits<T: Input>(a: &ArrayD<T>) -> Vec<u8> {
    bytemuck::cast_slice(a.as_standard_layout().as_slice().unwrap()).to_vec()
}

fn round_trip<I: RandomInput>(ctx: &GpuContext, seed: u64) {
    let mut rng = Rng::new(seed);
    for shape in SHAPES {
        let len = shape.iter().product();
        let host = ArrayD::from_shape_vec(IxDyn(shape), random_values::<I>(&mut rng, len)).unwrap();
        let back = ctx.upload(&host).unwrap().to_host(ctx).unwrap();
        assert_eq!(back.shape(), shape, "{}", I::NUMPY_NAME);
        assert_eq!(bits(&back), bits(&host), "{} {shape:?}", I::NUMPY_NAME);
        // A non-standard layout is stored in C order on the device.
        let reversed = host.t();
        let back = ctx.upload(&reversed).unwrap().to_host(ctx).unwrap();
        assert_eq!(
            bits(&back),
            bits(&reversed.to_owned()),
            "{} {shape:?} transposed",
            I::NUMPY_NAME
        );
    }
}

#[test]
fn upload_and_to_host_round_trip_every_input_type_bit_for_bit() {
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    round_trip::<u8>(ctx, 1);
    round_trip::<u16>(ctx, 2);
    round_trip::<i16>(ctx, 3);
    round_trip::<i32>(ctx, 4);
    round_trip::<f16>(ctx, 5);
    round_trip::<f32>(ctx, 6);
    round_trip::<f64>(ctx, 7);
}

/// The option sets each shape is checked with: both edge orders, unit
/// spacing, and uneven coordinates along the last axis with a scalar on the
/// others.
fn option_sets(rng: &mut Rng, shape: &[usize]) -> Vec<GradientOptions> {
    let mut sets = Vec::new();
    for order in [EdgeOrder::First, EdgeOrder::Second] {
        sets.push(GradientOptions::new().edge_order(order));
        let last = shape.len() - 1;
        let mut x = 0.0;
        let coords: Vec<f64> = (0..shape[last])
            .map(|_| {
                x += rng.range(0.1, 2.0);
                x
            })
            .collect();
        let spacing = (0..shape.len()).map(|a| {
            if a == last {
                AxisSpacing::from(coords.clone())
            } else {
                AxisSpacing::Scalar(rng.range(0.2, 3.0))
            }
        });
        sets.push(
            GradientOptions::new()
                .edge_order(order)
                .per_axis_spacing(spacing),
        );
    }
    sets
}

/// How a resident gradient is computed.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Resident,
    Encoded,
}

fn resident_gradient<O: Element, I: Input>(
    ctx: &GpuContext,
    f: &GpuArray<I>,
    opts: &GradientOptions,
    entry: Entry,
) -> Vec<GpuArray<O>> {
    match entry {
        Entry::Resident => ctx.gradient_resident::<O, I>(f, opts).unwrap(),
        Entry::Encoded => {
            let mut encoder = ctx
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
            let g = ctx.encode_gradient::<O, I>(&mut encoder, f, opts).unwrap();
            ctx.queue().submit([encoder.finish()]);
            g
        }
    }
}

fn check_resident<I: RandomInput, O: Element>(ctx: &GpuContext, seed: u64) {
    let mut rng = Rng::new(seed);
    for shape in SHAPES {
        let len = shape.iter().product();
        let data = random_values::<I>(&mut rng, len);
        let host = ArrayD::from_shape_vec(IxDyn(shape), data.clone()).unwrap();
        let f = ctx.upload(&host).unwrap();
        for opts in option_sets(&mut rng, shape) {
            let expected = ctx.gradient_as::<O, _, _, _>(&host, &opts).unwrap();
            for entry in [Entry::Resident, Entry::Encoded] {
                let context = format!(
                    "{} -> {} {shape:?} {entry:?} {opts:?}",
                    I::NUMPY_NAME,
                    O::NUMPY_NAME
                );
                let g = resident_gradient::<O, I>(ctx, &f, &opts, entry);
                let got: Vec<ArrayD<O>> = g.iter().map(|a| a.to_host(ctx).unwrap()).collect();
                assert_eq!(got.len(), expected.len(), "{context}");
                for (a, e) in got.iter().zip(&expected) {
                    assert_eq!(a.shape(), shape, "{context}");
                    assert_eq!(bits(a), bits(e), "{context}: differs from the host path");
                }
                let flat: Vec<Vec<O>> = got.iter().map(|a| a.iter().copied().collect()).collect();
                assert_typed_matches_reference(&data, shape, &opts, &flat, &context);
            }
            // The magnitude, through both entries.
            let expected = ctx
                .gradient_magnitude_as::<O, _, _, _>(&host, &opts)
                .unwrap();
            let resident = ctx.gradient_magnitude_resident::<O, I>(&f, &opts).unwrap();
            let mut encoder = ctx
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
            let encoded = ctx
                .encode_gradient_magnitude::<O, I>(&mut encoder, &f, &opts)
                .unwrap();
            ctx.queue().submit([encoder.finish()]);
            for (m, entry) in [(resident, "resident"), (encoded, "encoded")] {
                let m = m.to_host(ctx).unwrap();
                let context = format!("magnitude {entry} {} {shape:?} {opts:?}", I::NUMPY_NAME);
                assert_eq!(
                    bits(&m),
                    bits(&expected),
                    "{context}: differs from the host path"
                );
                assert_magnitude_matches_reference(
                    &data,
                    shape,
                    &opts,
                    m.as_slice().unwrap(),
                    &context,
                );
            }
        }
    }
}

#[test]
fn resident_gradients_equal_the_host_path_and_the_reference() {
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    check_resident::<f32, f32>(ctx, 11);
    check_resident::<u16, f32>(ctx, 12);
    if ctx.supports_f64() {
        check_resident::<f64, f64>(ctx, 13);
        check_resident::<u16, f64>(ctx, 14);
    }
}

#[test]
fn an_encoded_gradient_runs_after_the_callers_own_work() {
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    let mut rng = Rng::new(21);
    let shape = [6usize, 5];
    let data = random_values::<f32>(&mut rng, 30);
    let host = ArrayD::from_shape_vec(IxDyn(&shape), data.clone()).unwrap();
    // The application's array starts zeroed and is filled by a copy recorded
    // in the same encoder before the gradient.
    let source = ctx.upload(&host).unwrap();
    let target = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("application array"),
        size: 120,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let f = GpuArray::<f32>::from_buffer(target.clone(), &shape).unwrap();
    let mut encoder = ctx
        .device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    encoder.copy_buffer_to_buffer(source.buffer(), 0, &target, 0, 120);
    let opts = GradientOptions::new().edge_order(EdgeOrder::Second);
    let g = ctx
        .encode_gradient::<f32, f32>(&mut encoder, &f, &opts)
        .unwrap();
    ctx.queue().submit([encoder.finish()]);
    let expected = ctx.gradient_as::<f32, _, _, _>(&host, &opts).unwrap();
    for (a, e) in g.iter().zip(&expected) {
        assert_eq!(bits(&a.to_host(ctx).unwrap()), bits(e));
    }
}

#[test]
fn from_buffer_refuses_small_buffers_and_missing_usages() {
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    let buffer = |size, usage| {
        ctx.device().create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage,
            mapped_at_creation: false,
        })
    };
    use wgpu::BufferUsages as U;
    let small = buffer(16, U::STORAGE | U::COPY_SRC);
    assert!(matches!(
        GpuArray::<f32>::from_buffer(small.clone(), &[5]),
        Err(Error::InvalidGpuArray { .. })
    ));
    assert!(GpuArray::<f32>::from_buffer(small.clone(), &[4]).is_ok());
    // Seven u16 values pack into four words.
    assert!(matches!(
        GpuArray::<u16>::from_buffer(buffer(12, U::STORAGE), &[7]),
        Err(Error::InvalidGpuArray { .. })
    ));
    assert!(GpuArray::<u16>::from_buffer(small.clone(), &[8]).is_ok());
    assert!(matches!(
        GpuArray::<f32>::from_buffer(buffer(64, U::COPY_SRC | U::COPY_DST), &[4]),
        Err(Error::InvalidGpuArray { .. })
    ));
    assert!(matches!(
        GpuArray::<f32>::from_buffer(small.clone(), &[usize::MAX, 3]),
        Err(Error::InvalidGpuArray { .. })
    ));
    let unreadable = GpuArray::<f32>::from_buffer(buffer(16, U::STORAGE), &[4]).unwrap();
    assert!(matches!(
        unreadable.to_host(ctx),
        Err(Error::InvalidGpuArray { .. })
    ));
}

/// Resident arrays larger than one storage binding are computed in slabs
/// bound as windows of the resident buffers, each window starting at an
/// aligned offset with the slab shifted inside it: components (through both
/// entries) and the magnitude, every input width, both edge orders,
/// coordinates along the split axis, plane lengths that put slab starts off
/// the alignment. They equal the host path (which streams its own slabs)
/// bit for bit, and the reference.
#[test]
fn resident_arrays_beyond_one_binding_stream_in_slabs() {
    let Some(ctx) =
        gpu_common::context_with(GpuOptions::new().max_storage_buffer_binding_size(1024))
    else {
        return;
    };
    stream_resident::<u8, f32>(&ctx, 41);
    stream_resident::<u16, f32>(&ctx, 42);
    stream_resident::<f16, f32>(&ctx, 43);
    stream_resident::<f32, f32>(&ctx, 44);
    stream_resident::<i16, f16>(&ctx, 45);
    if ctx.supports_f64() {
        stream_resident::<f64, f64>(&ctx, 46);
        stream_resident::<i32, f64>(&ctx, 47);
    }
}

fn stream_resident<I: RandomInput, O: Element>(ctx: &GpuContext, seed: u64) {
    let mut rng = Rng::new(seed);
    // At most 1024 bytes per binding: every shape here takes several slabs.
    for shape in [&[40usize, 13][..], &[23, 7], &[11, 5, 3], &[300]] {
        let len = shape.iter().product();
        let data = random_values::<I>(&mut rng, len);
        let host = ArrayD::from_shape_vec(IxDyn(shape), data.clone()).unwrap();
        let f = ctx.upload(&host).unwrap();
        for order in [EdgeOrder::First, EdgeOrder::Second] {
            let mut x = 0.0;
            let coords: Vec<f64> = (0..shape[0])
                .map(|_| {
                    x += rng.range(0.1, 2.0);
                    x
                })
                .collect();
            let spacing = (0..shape.len()).map(|a| {
                if a == 0 {
                    AxisSpacing::from(coords.clone())
                } else {
                    AxisSpacing::Scalar(rng.range(0.2, 3.0))
                }
            });
            let mut option_sets = vec![GradientOptions::new().edge_order(order)];
            // A 1-D array's coordinate table (3 per point) is itself larger
            // than the binding; that case is refused, tested below.
            if shape.len() > 1 {
                option_sets.push(
                    GradientOptions::new()
                        .edge_order(order)
                        .per_axis_spacing(spacing),
                );
            }
            for opts in option_sets {
                let context = format!("{} -> {} {shape:?} {opts:?}", I::NUMPY_NAME, O::NUMPY_NAME);
                let expected = ctx.gradient_as::<O, _, _, _>(&host, &opts).unwrap();
                for entry in [Entry::Resident, Entry::Encoded] {
                    let g = resident_gradient::<O, I>(ctx, &f, &opts, entry);
                    let got: Vec<ArrayD<O>> = g.iter().map(|a| a.to_host(ctx).unwrap()).collect();
                    for (a, e) in got.iter().zip(&expected) {
                        assert_eq!(
                            bits(a),
                            bits(e),
                            "{context} {entry:?}: differs from the host path"
                        );
                    }
                    let flat: Vec<Vec<O>> =
                        got.iter().map(|a| a.iter().copied().collect()).collect();
                    assert_typed_matches_reference(&data, shape, &opts, &flat, &context);
                }
                let m = ctx
                    .gradient_magnitude_resident::<O, I>(&f, &opts)
                    .unwrap()
                    .to_host(ctx)
                    .unwrap();
                let expected = ctx
                    .gradient_magnitude_as::<O, _, _, _>(&host, &opts)
                    .unwrap();
                assert_eq!(
                    bits(&m),
                    bits(&expected),
                    "{context}: magnitude differs from the host path"
                );
                assert_magnitude_matches_reference(
                    &data,
                    shape,
                    &opts,
                    m.as_slice().unwrap(),
                    &format!("magnitude {context}"),
                );
            }
        }
    }
}

#[test]
fn what_the_resident_path_cannot_do_is_an_error() {
    let Some(ctx) = gpu_common::context_with(
        GpuOptions::new()
            .max_storage_buffer_binding_size(1024)
            .axis_kernels(AxisKernels::PerAxis),
    ) else {
        return;
    };
    let mut rng = Rng::new(31);
    let big = ArrayD::from_shape_vec(IxDyn(&[90, 8]), random_values::<f32>(&mut rng, 720)).unwrap();
    let f = ctx.upload(&big).unwrap();
    // The per-axis kernels bind whole arrays: no slabs of a resident array.
    match ctx.gradient_resident::<f32, f32>(&f, &GradientOptions::new()) {
        Err(e @ Error::GpuUnsupported { .. }) => assert_eq!(
            e.to_string(),
            "splitting the device-resident array of shape [90, 8] into slabs with the per-axis \
             kernels is not supported on the GPU: use the fused kernels (AxisKernels::Auto) or \
             GpuContext::gradient, which streams from the host"
        ),
        other => panic!("expected GpuUnsupported, got {other:?}"),
    }
    // The host path streams the same array in slabs.
    assert!(ctx
        .gradient_as::<f32, _, _, _>(&big, &GradientOptions::new())
        .is_ok());
    // A magnitude over nine axes is beyond the fused kernel.
    let shape = [2usize; 9];
    let nine = ArrayD::from_shape_vec(IxDyn(&shape), random_values::<f32>(&mut rng, 512)).unwrap();
    let f = ctx.upload(&nine).unwrap();
    match ctx.gradient_magnitude_resident::<f32, f32>(&f, &GradientOptions::new()) {
        Err(Error::GpuUnsupported { what, instead }) => {
            assert!(what.contains("9 axes"), "{what}");
            assert!(instead.contains("gradient_magnitude_as"), "{instead}");
        }
        other => panic!("expected GpuUnsupported, got {other:?}"),
    }
}
