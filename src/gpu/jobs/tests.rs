//! Job planning without a GPU: the limits are written down, not asked of a
//! device, and the jobs are checked against the plan and its taps.

use super::*;
use crate::options::{AxisSpacing, EdgeOrder, GradientOptions};
use crate::stencil::Tap;

/// Limits like a desktop GPU's, with the binding size given.
fn limits(binding: u64, axis_kernels: AxisKernels) -> JobLimits {
    JobLimits {
        gpu: GpuLimits {
            max_storage_buffer_binding_size: binding,
            max_buffer_size: 1 << 30,
            max_workgroups_per_dimension: 65_535,
            workgroup_size: 256,
            storage_offset_alignment: 256,
            uniform_offset_alignment: 256,
        },
        storage_buffers_per_stage: 8,
        axis_kernels,
    }
}

fn plan(shape: &[usize], opts: GradientOptions) -> Plan {
    Plan::new(shape, &opts).unwrap()
}

/// The jobs of `plan` on its first slab, with the table they index.
fn jobs_of(limits: &JobLimits, plan: &Plan, request: Request) -> (RunKind, Vec<Job>) {
    let kind = RunKind::new(limits, plan, InputKind::F32, Stored::F32, request);
    let coefs = kind.coefs(limits, plan);
    let slabs = slab_plan(limits, plan, &kind, 0).unwrap();
    let jobs = slab_jobs(
        limits,
        &kind,
        plan,
        &coefs,
        &slabs.slabs[0],
        slabs.plane_len,
    );
    (kind, jobs.unwrap())
}

#[test]
fn the_path_follows_the_request_the_option_and_the_storage_bindings() {
    let big = 1 << 27;
    let p3 = plan(&[4, 5, 6], GradientOptions::new());
    let path =
        |limits: &JobLimits, plan: &Plan, request| choose_path(limits, plan, request, Stored::F32);
    let auto = limits(big, AxisKernels::Auto);
    assert_eq!(path(&auto, &p3, Request::Components), Path::Fused);
    assert_eq!(path(&auto, &p3, Request::Magnitude), Path::FusedMagnitude);
    let per_axis = limits(big, AxisKernels::PerAxis);
    assert_eq!(path(&per_axis, &p3, Request::Components), Path::PerAxis);
    // The magnitude takes the fused kernel whatever AxisKernels says.
    assert_eq!(
        path(&per_axis, &p3, Request::Magnitude),
        Path::FusedMagnitude
    );
    // Too few storage bindings for four outputs: per axis.
    let narrow = JobLimits {
        storage_buffers_per_stage: 4,
        ..auto
    };
    assert_eq!(path(&narrow, &p3, Request::Components), Path::PerAxis);
    assert_eq!(path(&narrow, &p3, Request::Magnitude), Path::PerAxis);
    // More than eight axes: no fused magnitude.
    let p9 = plan(&[2; 9], GradientOptions::new());
    assert_eq!(path(&auto, &p9, Request::Magnitude), Path::PerAxis);
    assert_eq!(path(&auto, &p9, Request::Components), Path::Fused);
}

#[test]
fn per_axis_jobs_are_an_interior_and_two_ends_per_axis_from_the_stencils_taps() {
    let limits = limits(1 << 27, AxisKernels::PerAxis);
    let p = plan(
        &[4, 5, 6],
        GradientOptions::new().edge_order(EdgeOrder::Second),
    );
    let (kind, jobs) = jobs_of(&limits, &p, Request::Components);
    assert_eq!(kind.path, Path::PerAxis);
    assert_eq!(jobs.len(), 3 * 3);
    for (a, (ax, axis_jobs)) in p.axes.iter().zip(jobs.chunks(3)).enumerate() {
        let kernels: Vec<Kernel> = axis_jobs.iter().map(|j| j.spec.kernel).collect();
        assert_eq!(
            kernels,
            [Kernel::Interior, Kernel::Boundary, Kernel::Boundary]
        );
        assert!(axis_jobs.iter().all(|j| j.output == a));
        for (job, tap) in axis_jobs[1..]
            .iter()
            .zip([ax.stencil.first(), ax.stencil.last()])
        {
            let Params::Axis(params) = &job.params else {
                panic!("a per-axis job has per-axis parameters");
            };
            assert_eq!(params.tap_first as usize, tap.start());
            assert_eq!(job.spec.edge_order as usize, tap.order());
            assert_eq!(job.coef_window.1, tap.coefficients().len());
            assert_eq!(job.coef_window.0 % 64, 0, "aligned to 256 bytes of f32");
        }
    }
}

#[test]
fn fused_jobs_group_four_components_or_eight_axes_of_magnitude() {
    let limits = limits(1 << 27, AxisKernels::Auto);
    let p5 = plan(&[2, 3, 2, 3, 2], GradientOptions::new());
    let (_, jobs) = jobs_of(&limits, &p5, Request::Components);
    let shape: Vec<(u32, usize)> = jobs.iter().map(|j| (j.spec.axes, j.output)).collect();
    assert_eq!(shape, [(4, 0), (1, 4)]);
    let (kind, jobs) = jobs_of(&limits, &p5, Request::Magnitude);
    assert_eq!(kind.outputs(&p5), 1);
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].spec.axes, jobs[0].spec.magnitude), (5, true));
}

#[test]
fn fused_parameters_pack_each_end_tap_from_its_geometry() {
    let limits = limits(1 << 27, AxisKernels::Fused);
    let x = AxisSpacing::from(vec![0.0, 1.0, 3.0, 4.5, 7.0]);
    for order in [EdgeOrder::First, EdgeOrder::Second] {
        let opts = GradientOptions::new()
            .per_axis_spacing([AxisSpacing::Scalar(0.5), x.clone()])
            .edge_order(order);
        let p = plan(&[3, 5], opts);
        let (_, jobs) = jobs_of(&limits, &p, Request::Components);
        let Params::Fused(params) = &jobs[0].params else {
            panic!("a fused job has fused parameters");
        };
        assert_eq!(jobs[0].spec.non_uniform_axes, 0b10);
        for (a, ax) in p.axes.iter().enumerate() {
            let slot = &params.axis[a];
            assert_eq!(slot.first_tap as usize, ax.stencil.first().start());
            assert_eq!(slot.last_tap as usize, ax.stencil.last().start());
            let k = |j: usize| f32::from_bits(params.k[8 * a + j]);
            let expect = |tap: Tap| {
                let mut c = [0.0f32; 3];
                for (c, &v) in c.iter_mut().zip(tap.coefficients()) {
                    *c = v as f32;
                }
                c
            };
            assert_eq!([k(0), k(1), k(2)], expect(ax.stencil.first()));
            assert_eq!([k(4), k(5), k(6)], expect(ax.stencil.last()));
        }
    }
}

#[test]
fn small_bindings_split_the_array_into_slabs_and_the_coefficients_into_windows() {
    // 64 planes of 16 f32 in bindings of 2 KiB: slabs of at most 512
    // elements, each loading one halo plane on either side.
    let limits = limits(2048, AxisKernels::PerAxis);
    let x = AxisSpacing::from((0..300).map(|i| (i * i) as f64).collect::<Vec<_>>());
    let p = plan(&[64, 16], GradientOptions::new());
    let kind = RunKind::new(
        &limits,
        &p,
        InputKind::F32,
        Stored::F32,
        Request::Components,
    );
    let slabs = slab_plan(&limits, &p, &kind, 0).unwrap();
    assert!(slabs.slabs.len() > 1);
    let mut next = 0;
    for slab in &slabs.slabs {
        assert_eq!(slab.compute.start, next);
        assert!(slab.load.len() * 16 <= 512);
        next = slab.compute.end;
    }
    assert_eq!(next, 64);
    // A non-uniform axis of 300 points (one slab): its 298 rows of
    // [a, b, c] are bound a window at a time, each within the binding.
    let p = plan(&[300], GradientOptions::new().per_axis_spacing([x]));
    let (_, jobs) = jobs_of(&limits, &p, Request::Components);
    let interior: Vec<&Job> = jobs
        .iter()
        .filter(|j| j.spec.kernel == Kernel::Interior)
        .collect();
    assert!(interior.len() > 1);
    let mut rows = 0;
    for job in interior {
        assert!(job.coef_window.1 * 4 <= 2048);
        let Params::Axis(params) = &job.params else {
            panic!("a per-axis job has per-axis parameters");
        };
        assert_eq!(params.i_first as usize, 1 + rows);
        rows += params.i_count as usize;
    }
    assert_eq!(rows, 298);
}

#[test]
fn the_forms_beyond_numpys_take_the_fused_kernel_with_their_halos() {
    use crate::options::{Accuracy, Boundary};
    let path =
        |limits: &JobLimits, plan: &Plan, request| choose_path(limits, plan, request, Stored::F32);
    let big = 1 << 27;
    let fourth = GradientOptions::new().accuracy(Accuracy::Fourth);
    let p3 = plan(&[8, 9, 10], fourth.clone());
    // Whatever AxisKernels asks for: the per-axis kernels lack these forms.
    let per_axis = limits(big, AxisKernels::PerAxis);
    assert_eq!(path(&per_axis, &p3, Request::Components), Path::Fused);
    // A magnitude over nine axes: fused components, combined on the host.
    let p9 = plan(&[5; 9], fourth.clone());
    let auto = limits(big, AxisKernels::Auto);
    assert_eq!(path(&auto, &p9, Request::Magnitude), Path::Fused);
    // Where the fused kernel cannot run, the per-axis path refuses them.
    let narrow = JobLimits {
        storage_buffers_per_stage: 4,
        ..auto
    };
    let kind = RunKind::new(
        &narrow,
        &p3,
        InputKind::F32,
        Stored::F32,
        Request::Components,
    );
    assert_eq!(kind.path, Path::PerAxis);
    let coefs = kind.coefs(&narrow, &p3);
    let slabs = slab_plan(&narrow, &p3, &kind, 0).unwrap();
    let refused = slab_jobs(
        &narrow,
        &kind,
        &p3,
        &coefs,
        &slabs.slabs[0],
        slabs.plane_len,
    );
    assert!(matches!(refused, Err(Error::GpuUnsupported { .. })));
    // The fused job carries the order and the periodic axes as overrides.
    let mixed = plan(
        &[8, 9, 10],
        GradientOptions::new()
            .accuracy(Accuracy::Sixth)
            .per_axis_boundary([Boundary::OneSided, Boundary::PERIODIC, Boundary::PERIODIC]),
    );
    let (_, jobs) = jobs_of(&auto, &mixed, Request::Components);
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].spec.accuracy, jobs[0].spec.periodic_axes),
        (6, 0b110)
    );
    // Slabs along a one-sided axis 0 of accuracy p load p halo planes.
    let small = limits(4 * 16 * 20, AxisKernels::Auto);
    for (accuracy, p) in [(Accuracy::Fourth, 4), (Accuracy::Sixth, 6)] {
        let tall = plan(&[64, 16], GradientOptions::new().accuracy(accuracy));
        let kind = RunKind::new(
            &small,
            &tall,
            InputKind::F32,
            Stored::F32,
            Request::Components,
        );
        let slabs = slab_plan(&small, &tall, &kind, 0).unwrap();
        assert!(slabs.slabs.len() > 1);
        for slab in &slabs.slabs {
            assert_eq!(slab.load.start, slab.compute.start.saturating_sub(p));
            assert_eq!(slab.load.end, (slab.compute.end + p).min(64));
        }
    }
    // A periodic axis 0 fits one slab or is refused.
    let periodic = plan(
        &[64, 16],
        GradientOptions::new().boundary(Boundary::PERIODIC),
    );
    let kind = RunKind::new(
        &small,
        &periodic,
        InputKind::F32,
        Stored::F32,
        Request::Components,
    );
    assert!(matches!(
        slab_plan(&small, &periodic, &kind, 0),
        Err(Error::GpuUnsupported { .. })
    ));
    let kind = RunKind::new(
        &auto,
        &periodic,
        InputKind::F32,
        Stored::F32,
        Request::Components,
    );
    assert_eq!(
        slab_plan(&auto, &periodic, &kind, 0).unwrap().slabs.len(),
        1
    );
}
