//! The GPU backend's error paths and its other entry points: impossible
//! limits, f64 without SHADER_F64, device loss, sharing between threads, an
//! application's own device, the library API and backend selection, and one
//! array larger than lavapipe's 128 MiB binding limit.

use crate::gpu_common;

use std::sync::Arc;

use gpu_common::{assert_matches_reference, context, context_with, or_skip, Rng};
use ndarray::{Array1, ArrayD, IxDyn};
use ndgrad::gpu::{GpuContext, GpuOptions};
use ndgrad::{AxisSpacing, Backend, EdgeOrder, Error, GradientOptions, Spacing};

fn random_array<T: ndgrad::Element>(rng: &mut Rng, shape: &[usize]) -> ArrayD<T> {
    let len = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), gpu_common::values(rng, len, 0.0)).unwrap()
}

fn flat<T: Clone>(arrays: Vec<ArrayD<T>>) -> Vec<Vec<T>> {
    arrays
        .into_iter()
        .map(|a| a.into_raw_vec_and_offset().0)
        .collect()
}

#[test]
fn a_plane_larger_than_the_binding_limit_is_an_error() {
    let Some(ctx) = context_with(GpuOptions::new().max_storage_buffer_binding_size(1024)) else {
        return;
    };
    let f = random_array::<f32>(&mut Rng::new(1), &[4, 1000]);
    let e = ctx.gradient(&f, &GradientOptions::new()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ExceedsGpuLimits {
                needed: 12_000,
                limit: 1024,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "one plane of 1000 elements along the outermost axis with 1 halo planes on each side needs 12000 bytes, but the GPU allows at most 1024 bytes: use the CPU backend"
    );
}

#[test]
fn coefficients_larger_than_the_buffer_limit_are_an_error() {
    let Some(ctx) = context_with(GpuOptions::new().max_buffer_size(1024)) else {
        return;
    };
    let n = 1000;
    let f = random_array::<f32>(&mut Rng::new(2), &[n]);
    let x: Vec<f64> = (0..n).map(|i| (i * i) as f64).collect();
    let opts = GradientOptions::new().per_axis_spacing([AxisSpacing::from(x)]);
    let e = ctx.gradient(&f, &opts).unwrap_err();
    // 998 interior rows of three f32 coefficients, after the padded scalars.
    assert!(
        matches!(&e, Error::ExceedsGpuLimits { what, limit: 1024, needed, .. }
            if what == "the coefficients of the requested axes" && *needed >= 998 * 12),
        "{e:?}"
    );
    // The same array with uniform spacing streams through 1 KiB buffers.
    let opts = GradientOptions::new().spacing(Spacing::Uniform(0.5));
    let got = ctx.gradient(&f, &opts).unwrap();
    assert_matches_reference(
        f.as_slice().unwrap(),
        &[n],
        &opts,
        &flat(got),
        "1 KiB buffers",
    );
}

#[test]
fn limits_that_leave_no_thread_are_an_error() {
    let Some(_) = context() else { return };
    let e = GpuContext::with_options(GpuOptions::new().workgroup_size(0)).unwrap_err();
    assert!(matches!(e, Error::ExceedsGpuLimits { .. }), "{e:?}");
}

#[test]
fn dispatch_grids_are_folded_and_an_impossible_grid_is_an_error() {
    // At most 2×2×2 workgroups of one thread: eight elements per slab.
    let Some(ctx) = context_with(
        GpuOptions::new()
            .max_workgroups_per_dimension(2)
            .workgroup_size(1),
    ) else {
        return;
    };
    assert_eq!(ctx.limits().max_slab_elements(4), 8);
    // 40 planes of one element: slabs of 6 planes plus a halo plane on each
    // side, each dispatch folded into a 2×2×2 grid.
    let f = random_array::<f32>(&mut Rng::new(3), &[40]);
    let opts = GradientOptions::new().per_axis_spacing([AxisSpacing::from(
        (0..40)
            .map(|i| f64::from(i) * 0.5 + f64::from(i % 3) * 0.1)
            .collect::<Vec<_>>(),
    )]);
    let got = ctx.gradient(&f, &opts).unwrap();
    assert_matches_reference(
        f.as_slice().unwrap(),
        &[40],
        &opts,
        &flat(got),
        "folded grids",
    );
    // Planes of 3 elements with a halo plane on each side need 9 > 8.
    let f = random_array::<f32>(&mut Rng::new(3), &[5, 3]);
    let e = ctx.gradient(&f, &GradientOptions::new()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ExceedsGpuLimits {
                needed: 36,
                limit: 32,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn f64_without_shader_f64_is_refused_with_advice() {
    let Some(ctx) = context_with(GpuOptions::new().disable_f64(true)) else {
        return;
    };
    assert!(!ctx.supports_f64());
    let f = random_array::<f64>(&mut Rng::new(4), &[6, 5]);
    let e = ctx.gradient(&f, &GradientOptions::new()).unwrap_err();
    let name = ctx.adapter_info().name.clone();
    assert_eq!(
        e,
        Error::NoF64 {
            adapter: name.clone()
        }
    );
    assert_eq!(
        e.to_string(),
        format!("the GPU adapter '{name}' does not support 64-bit floats (SHADER_F64): convert the input to f32, or use the CPU backend")
    );
    // f32 still runs on the same context.
    let f = f.mapv(|v| v as f32);
    let got = ctx.gradient(&f, &GradientOptions::new()).unwrap();
    assert_matches_reference(
        f.as_slice().unwrap(),
        &[6, 5],
        &GradientOptions::new(),
        &flat(got),
        "f32",
    );
}

#[test]
fn a_lost_device_fails_every_later_call() {
    let Some(ctx) = context_with(GpuOptions::new()) else {
        return;
    };
    let f = random_array::<f32>(&mut Rng::new(5), &[8, 9]);
    assert!(ctx.gradient(&f, &GradientOptions::new()).is_ok());
    ctx.device().destroy();
    for _ in 0..2 {
        let e = ctx.gradient(&f, &GradientOptions::new()).unwrap_err();
        assert!(matches!(e, Error::DeviceLost { .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("the GPU device was lost: "),
            "{e}"
        );
    }
}

#[test]
fn many_threads_share_one_context() {
    let Some(ctx) = context_with(GpuOptions::new()) else {
        return;
    };
    let ctx = Arc::new(ctx);
    let threads: Vec<_> = (0..6u64)
        .map(|t| {
            let ctx = Arc::clone(&ctx);
            std::thread::spawn(move || {
                let mut rng = Rng::new(100 + t);
                for round in 0..8 {
                    // Different shapes and types per thread and round, so
                    // any mix-up of buffers between calls shows.
                    let shape = [
                        3 + (t as usize + round) % 5,
                        17 + 3 * t as usize,
                        3 + round % 3,
                    ];
                    let opts = GradientOptions::new()
                        .edge_order(if round % 2 == 0 {
                            EdgeOrder::First
                        } else {
                            EdgeOrder::Second
                        })
                        .spacing(Spacing::Uniform(0.5 + t as f64));
                    let context = format!("thread {t} round {round}");
                    if (t + round as u64).is_multiple_of(2) || !ctx.supports_f64() {
                        let f = random_array::<f32>(&mut rng, &shape);
                        let got = flat(ctx.gradient(&f, &opts).unwrap());
                        assert_matches_reference(
                            f.as_slice().unwrap(),
                            &shape,
                            &opts,
                            &got,
                            &context,
                        );
                    } else {
                        let f = random_array::<f64>(&mut rng, &shape);
                        let got = flat(ctx.gradient(&f, &opts).unwrap());
                        assert_matches_reference(
                            f.as_slice().unwrap(),
                            &shape,
                            &opts,
                            &got,
                            &context,
                        );
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn an_applications_own_device_can_be_adopted() {
    let Some(_) = context() else { return };
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = or_skip(
        pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
            &instance, None,
        ))
        .map_err(|e| Error::NoAdapter {
            reason: e.to_string(),
        }),
    );
    let Some(adapter) = adapter else { return };
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_features: adapter.features() & wgpu::Features::SHADER_F64,
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .unwrap();
    let ctx = GpuContext::from_device(device, queue).unwrap();
    assert_eq!(
        ctx.supports_f64(),
        adapter.features().contains(wgpu::Features::SHADER_F64)
    );
    assert_eq!(
        ctx.limits().max_storage_buffer_binding_size,
        adapter.limits().max_storage_buffer_binding_size
    );
    let f = random_array::<f32>(&mut Rng::new(6), &[7, 6, 5]);
    let opts = GradientOptions::new().axes([2, 0]);
    let got = flat(ctx.gradient(&f, &opts).unwrap());
    assert_matches_reference(
        f.as_slice().unwrap(),
        &[7, 6, 5],
        &opts,
        &got,
        "adopted device",
    );
}

#[test]
fn the_library_api_runs_on_the_default_context() {
    let Some(_) = or_skip(ndgrad::gpu::default_context()) else {
        return;
    };
    assert_eq!(ndgrad::resolve_backend(Backend::Gpu), Ok(Backend::Gpu));
    let f = random_array::<f32>(&mut Rng::new(7), &[9, 4]);
    let opts = GradientOptions::new()
        .backend(Backend::Gpu)
        .per_axis_spacing([
            AxisSpacing::Scalar(0.3),
            AxisSpacing::from(vec![0.0, 1.0, 1.5, 4.0]),
        ]);
    let g = ndgrad::gradient_with_backend(&f, &opts).unwrap();
    assert_eq!(g.backend, Backend::Gpu);
    assert_matches_reference(
        f.as_slice().unwrap(),
        &[9, 4],
        &opts,
        &flat(g.arrays),
        "library API",
    );
    // Option errors come from the one validation point, before any GPU work.
    let e =
        ndgrad::gradient(&f, &GradientOptions::new().backend(Backend::Gpu).axis(5)).unwrap_err();
    assert_eq!(e, Error::AxisOutOfRange { axis: 5, ndim: 2 });
}

#[test]
fn auto_takes_a_hardware_gpu_and_otherwise_the_fallback() {
    let Some(ctx) = or_skip(ndgrad::gpu::default_context()) else {
        return;
    };
    let chosen = ndgrad::resolve_backend(Backend::Auto).unwrap();
    if ctx.is_hardware() {
        assert_eq!(chosen, Backend::Gpu);
    } else {
        // lavapipe and other software adapters report DeviceType::Cpu.
        assert_eq!(chosen, Backend::Cpu, "{:?}", ctx.adapter_info());
    }
    let f = Array1::from(vec![1.0f64, 2.0, 4.0, 7.0]);
    let g = ndgrad::gradient_with_backend(&f, &GradientOptions::new()).unwrap();
    assert_eq!(g.backend, chosen);
    assert_eq!(g.arrays[0], Array1::from(vec![1.0, 1.5, 2.5, 3.0]));
}

#[test]
fn empty_and_zero_dimensional_arrays() {
    let Some(ctx) = context() else { return };
    let f = ArrayD::<f32>::zeros(IxDyn(&[0, 4]));
    let g = ctx.gradient(&f, &GradientOptions::new().axis(1)).unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].shape(), &[0, 4]);
    let f = ArrayD::<f32>::from_elem(IxDyn(&[]), 3.0);
    assert!(ctx
        .gradient(&f, &GradientOptions::new())
        .unwrap()
        .is_empty());
}

/// One real array larger than lavapipe's 128 MiB storage binding limit, so
/// on lavapipe it streams through two slabs with a halo on a real device.
/// f32, one axis, 36 Mi elements (144 MiB): as cheap as such a test can be.
#[test]
fn an_array_larger_than_the_binding_limit() {
    let Some(ctx) = context() else { return };
    let n = 36 << 20;
    let bytes = n as u64 * 4;
    let binding = ctx.limits().max_storage_buffer_binding_size;
    eprintln!(
        "{} MiB array, {} MiB binding limit on {}: {}",
        bytes >> 20,
        binding >> 20,
        ctx.adapter_info().name,
        if bytes > binding {
            "streamed in slabs"
        } else {
            "one slab"
        }
    );
    // A smooth signal plus a deterministic ripple, computed cheaply.
    let f: Array1<f32> = (0..n)
        .map(|i| {
            let x = i as f32 * 1e-6;
            x * x + ((i * 7919) % 1013) as f32 * 1e-3
        })
        .collect();
    let opts = GradientOptions::new().edge_order(EdgeOrder::Second);
    let got = ctx.gradient(&f, &opts).unwrap();
    assert_matches_reference(
        f.as_slice().unwrap(),
        &[n],
        &opts,
        &flat(got.into_iter().map(|a| a.into_dyn()).collect()),
        "large array",
    );
}

#[test]
fn kernel_timing_runs_beside_a_verified_copy() {
    let Some(ctx) = context() else { return };
    let f = random_array::<f32>(&mut Rng::new(8), &[33, 65]);
    let t = ctx.time_kernels(&f, &GradientOptions::new(), 3).unwrap();
    assert_eq!(t.bytes, 2 * 2 * 33 * 65 * 4);
    assert_eq!(t.repeats, 3);
    assert!(t.gradient > std::time::Duration::ZERO && t.copy > std::time::Duration::ZERO);
    // Too large for one slab: timing would include transfers, so it is refused.
    let Some(tiny) = context_with(GpuOptions::new().max_storage_buffer_binding_size(1024)) else {
        return;
    };
    let e = tiny
        .time_kernels(&f, &GradientOptions::new(), 3)
        .unwrap_err();
    assert!(matches!(e, Error::ExceedsGpuLimits { .. }), "{e:?}");
}

/// wgpu's default handler panics on an error outside an error scope; the
/// context's own device reports it as an error from the next call instead,
/// once, and then works again.
#[test]
fn an_uncaptured_error_fails_the_next_call_instead_of_panicking() {
    let Some(ctx) = context_with(GpuOptions::new()) else {
        return;
    };
    let _invalid = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("beyond the device's limit"),
        size: ctx.device().limits().max_buffer_size + 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let f = random_array::<f32>(&mut Rng::new(9), &[6, 7]);
    let e = ctx.gradient(&f, &GradientOptions::new()).unwrap_err();
    assert!(
        matches!(&e, Error::Gpu { during, .. } if during == "doing other work on this device"),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("the GPU reported an error while doing other work on this device: "),
        "{e}"
    );
    let got = flat(ctx.gradient(&f, &GradientOptions::new()).unwrap());
    assert_matches_reference(
        f.as_slice().unwrap(),
        &[6, 7],
        &GradientOptions::new(),
        &got,
        "after the error",
    );
}
