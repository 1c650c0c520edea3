//! `GpuContext::time_kernels`: which clock times the kernels (GPU timestamps
//! where the device has `TIMESTAMP_QUERY`, wall time otherwise), and that
//! every figure, transfers included, is a real positive time over the bytes
//! the shape implies. No thresholds: speed is for benchmarks (the copy-kernel
//! yardstick: docs/ARCHITECTURE.md, Measuring speed).

use crate::gpu_common;

use gpu_common::{context, context_with, or_skip, values, Rng};
use ndarray::{ArrayD, IxDyn};
use ndgrad::gpu::{wgpu, GpuContext, GpuOptions, KernelTimings, TimingClock};
use ndgrad::{EdgeOrder, Element, Error, GradientOptions};

fn random_array<T: Element>(rng: &mut Rng, shape: &[usize]) -> ArrayD<T> {
    let len = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), values(rng, len, 0.0)).unwrap()
}

/// Every duration positive and finite, the byte counts those of `len`
/// elements of `elem` bytes differentiated along `axes` axes, and the buffer
/// copies timed by the encoder's timestamps when `encoder_timestamps` (the
/// device has `TIMESTAMP_QUERY_INSIDE_ENCODERS`) and the kernels' are GPU ones.
fn assert_sane(
    t: &KernelTimings,
    encoder_timestamps: bool,
    len: u64,
    elem: u64,
    axes: u64,
    repeats: usize,
) {
    for (name, d) in [
        ("gradient", t.gradient),
        ("copy", t.copy),
        ("copy_buffer", t.copy_buffer),
        ("upload", t.upload),
        ("download", t.download),
    ] {
        assert!(d.as_secs_f64() > 0.0, "{name} took no time: {t:?}");
        assert!(d.as_secs_f64().is_finite(), "{name}: {t:?}");
    }
    assert_eq!(t.bytes, 2 * axes * len * elem);
    assert_eq!(t.upload_bytes, len * elem);
    assert_eq!(t.download_bytes, axes * len * elem);
    assert_eq!(t.repeats, repeats);
    // copy_buffer_to_buffer is timed by timestamps only where the encoder
    // may write them outside passes.
    assert_eq!(
        t.copy_buffer_clock == TimingClock::GpuTimestamps,
        t.clock == TimingClock::GpuTimestamps && encoder_timestamps,
        "{t:?}"
    );
    for gbps in [
        t.gradient_gbps(),
        t.copy_gbps(),
        t.copy_buffer_gbps(),
        t.upload_gbps(),
        t.download_gbps(),
        t.ratio(),
    ] {
        assert!(gbps.is_finite() && gbps > 0.0, "{t:?}");
    }
}

/// Whether the context's device has `TIMESTAMP_QUERY_INSIDE_ENCODERS`.
fn inside_encoders(ctx: &GpuContext) -> bool {
    ctx.device()
        .features()
        .contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS)
}

/// The adapter the environment selects, as `GpuContext::new` picks it.
fn adapter() -> Option<wgpu::Adapter> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    or_skip(
        pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
            &instance, None,
        ))
        .map_err(|e| Error::NoAdapter {
            reason: e.to_string(),
        }),
    )
}

#[test]
fn kernels_are_timed_with_gpu_timestamps_where_the_adapter_has_them() {
    let Some(ctx) = context() else { return };
    let Some(adapter) = adapter() else { return };
    let has_timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
    assert_eq!(ctx.supports_timestamps(), has_timestamps);
    assert_eq!(
        ctx.device()
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY),
        has_timestamps,
        "the device requests TIMESTAMP_QUERY exactly when the adapter has it"
    );

    let shape = [192, 160];
    let f = random_array::<f32>(&mut Rng::new(1), &shape);
    let t = ctx.time_kernels(&f, &GradientOptions::new(), 3).unwrap();
    let expected = if has_timestamps {
        TimingClock::GpuTimestamps
    } else {
        TimingClock::WallClock
    };
    assert_eq!(t.clock, expected);
    assert_sane(&t, inside_encoders(ctx), 192 * 160, 4, 2, 3);
}

#[test]
fn without_timestamps_the_kernels_are_timed_by_wall_clock() {
    let Some(ctx) = context_with(GpuOptions::new().disable_timestamps(true)) else {
        return;
    };
    assert!(!ctx.supports_timestamps());
    assert!(!ctx
        .device()
        .features()
        .contains(wgpu::Features::TIMESTAMP_QUERY));
    let shape = [24, 20, 18];
    let f = random_array::<f32>(&mut Rng::new(2), &shape);
    let opts = GradientOptions::new().axes([2, 0]);
    let t = ctx.time_kernels(&f, &opts, 2).unwrap();
    assert_eq!(t.clock, TimingClock::WallClock);
    assert_sane(&t, inside_encoders(&ctx), 24 * 20 * 18, 4, 2, 2);
}

#[test]
fn f64_kernels_are_timed_with_the_contexts_clock() {
    let Some(ctx) = context() else { return };
    if !ctx.supports_f64() {
        eprintln!("skipping: the adapter has no SHADER_F64");
        return;
    }
    let shape = [5000];
    let f = random_array::<f64>(&mut Rng::new(3), &shape);
    let opts = GradientOptions::new().edge_order(EdgeOrder::Second);
    let t = ctx.time_kernels(&f, &opts, 2).unwrap();
    let expected = if ctx.supports_timestamps() {
        TimingClock::GpuTimestamps
    } else {
        TimingClock::WallClock
    };
    assert_eq!(t.clock, expected);
    assert_sane(&t, inside_encoders(ctx), 5000, 8, 1, 2);
}

/// An adopted device is used as it was created: timestamps only when the
/// application requested `TIMESTAMP_QUERY`, and for the buffer copies only
/// with `TIMESTAMP_QUERY_INSIDE_ENCODERS` too.
#[test]
fn adopted_devices_time_with_the_features_they_were_created_with() {
    let Some(_) = context() else { return };
    let Some(adapter) = adapter() else { return };
    let f = random_array::<f32>(&mut Rng::new(4), &[64, 48]);
    let mut cases = vec![(wgpu::Features::empty(), TimingClock::WallClock)];
    if adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
        // Without TIMESTAMP_QUERY_INSIDE_ENCODERS the buffer copies fall
        // back to wall time; with it they are timed by the encoder.
        cases.push((wgpu::Features::TIMESTAMP_QUERY, TimingClock::GpuTimestamps));
        let inside = wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS;
        if adapter.features().contains(inside) {
            cases.push((
                wgpu::Features::TIMESTAMP_QUERY | inside,
                TimingClock::GpuTimestamps,
            ));
        }
    }
    for (features, clock) in cases {
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            required_features: features,
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .unwrap();
        let ctx = GpuContext::from_device(device, queue).unwrap();
        assert_eq!(
            ctx.supports_timestamps(),
            clock == TimingClock::GpuTimestamps
        );
        let t = ctx.time_kernels(&f, &GradientOptions::new(), 2).unwrap();
        assert_eq!(t.clock, clock, "device features {features:?}");
        assert_sane(&t, inside_encoders(&ctx), 64 * 48, 4, 2, 2);
    }
}
