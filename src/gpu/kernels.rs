//! The WGSL kernels: their sources, the parameters they take, the bind group
//! layout they share, how they are specialised, and the dispatch geometry.

use std::borrow::Cow;

/// The element type a kernel computes in; picks the WGSL type prelude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Real {
    F32,
    F64,
}

impl Real {
    /// The compute type of the element type `T` (the sealed [`crate::Element`]
    /// types are exactly `f32` and `f64`).
    pub(crate) fn of<T: crate::Element>() -> Real {
        if std::mem::size_of::<T>() == 8 {
            Real::F64
        } else {
            Real::F32
        }
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            Real::F32 => 4,
            Real::F64 => 8,
        }
    }
}

/// One kernel of `shaders/`, before specialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kernel {
    /// `shaders/interior.wgsl`.
    Interior,
    /// `shaders/boundary.wgsl`.
    Boundary,
    /// `shaders/copy.wgsl` (the measuring yardstick).
    Copy,
}

/// Composes a kernel's WGSL from fixed files: the type prelude, the shared
/// dispatch definitions, the kernel body. `concat!` of `include_str!`s, so the
/// text is known at compile time and never generated.
macro_rules! compose {
    ($prelude:literal, $body:literal) => {
        concat!(
            include_str!(concat!("../../shaders/", $prelude)),
            include_str!("../../shaders/dispatch.wgsl"),
            include_str!(concat!("../../shaders/", $body)),
        )
    };
}

impl Kernel {
    /// Every kernel, for tests that visit them all.
    #[cfg(test)]
    pub(crate) const ALL: [Kernel; 3] = [Kernel::Interior, Kernel::Boundary, Kernel::Copy];

    /// The composed WGSL source of this kernel in `real`.
    pub(crate) fn source(self, real: Real) -> &'static str {
        match (self, real) {
            (Kernel::Interior, Real::F32) => compose!("real_f32.wgsl", "interior.wgsl"),
            (Kernel::Interior, Real::F64) => compose!("real_f64.wgsl", "interior.wgsl"),
            (Kernel::Boundary, Real::F32) => compose!("real_f32.wgsl", "boundary.wgsl"),
            (Kernel::Boundary, Real::F64) => compose!("real_f64.wgsl", "boundary.wgsl"),
            (Kernel::Copy, Real::F32) => compose!("real_f32.wgsl", "copy.wgsl"),
            (Kernel::Copy, Real::F64) => compose!("real_f64.wgsl", "copy.wgsl"),
        }
    }

    /// The entry point's name in the source.
    pub(crate) fn entry_point(self) -> &'static str {
        match self {
            Kernel::Interior => "interior",
            Kernel::Boundary => "boundary",
            Kernel::Copy => "copy",
        }
    }
}

/// Everything a compiled pipeline depends on: the cache key of
/// [`super::GpuContext`]'s pipeline cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Specialization {
    pub(crate) kernel: Kernel,
    pub(crate) real: Real,
    pub(crate) workgroup_size: u32,
    /// `NON_UNIFORM` of the interior kernel (false for the others).
    pub(crate) non_uniform: bool,
    /// `EDGE_ORDER` of the boundary kernel (1 for the others).
    pub(crate) edge_order: u32,
}

impl Specialization {
    /// The `override` values, as `PipelineCompilationOptions::constants` wants
    /// them. Only the overrides the kernel declares are passed (naming an
    /// absent one is a validation error).
    pub(crate) fn constants(&self) -> Vec<(&'static str, f64)> {
        let mut c = vec![("WORKGROUP_SIZE", f64::from(self.workgroup_size))];
        match self.kernel {
            Kernel::Interior => c.push(("NON_UNIFORM", f64::from(u8::from(self.non_uniform)))),
            Kernel::Boundary => c.push(("EDGE_ORDER", f64::from(self.edge_order))),
            Kernel::Copy => {}
        }
        c
    }

    /// A label for the pipeline, for graphics debuggers and error messages.
    pub(crate) fn label(&self) -> String {
        format!(
            "ndgrad {:?} {:?} wg{} nonuniform={} edge_order={}",
            self.kernel, self.real, self.workgroup_size, self.non_uniform, self.edge_order
        )
    }
}

/// The parameters of one dispatch: mirrors `struct Dispatch` in
/// `shaders/dispatch.wgsl` field for field; change both together.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct DispatchParams {
    pub(crate) o_first: u32,
    pub(crate) o_count: u32,
    pub(crate) n: u32,
    pub(crate) inner: u32,
    pub(crate) i_first: u32,
    pub(crate) i_count: u32,
    pub(crate) tap_first: u32,
    pub(crate) tap_second: u32,
    pub(crate) out_origin: u32,
    pub(crate) coef_first: u32,
    pub(crate) _pad0: u32,
    pub(crate) _pad1: u32,
}

impl DispatchParams {
    /// The number of threads (elements) the dispatch covers.
    pub(crate) fn threads(&self) -> u64 {
        u64::from(self.o_count) * u64::from(self.i_count) * u64::from(self.inner)
    }
}

/// The bind group layout every kernel uses: `p` (uniform), `f` (read-only
/// input), `coef` (read-only coefficients), `out` (output); see
/// `shaders/dispatch.wgsl`.
pub(crate) fn bind_group_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("ndgrad dispatch"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: wgpu::BufferSize::new(
                        std::mem::size_of::<DispatchParams>() as u64
                    ),
                },
                count: None,
            },
            storage(1, true),
            storage(2, true),
            storage(3, false),
        ],
    })
}

/// Creates the shader module of `kernel` in `real`.
pub(crate) fn shader_module(
    device: &wgpu::Device,
    kernel: Kernel,
    real: Real,
) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(kernel.entry_point()),
        source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(kernel.source(real))),
    })
}

/// Creates the pipeline of `spec` from its shader module.
pub(crate) fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    spec: &Specialization,
) -> wgpu::ComputePipeline {
    let constants = spec.constants();
    let label = spec.label();
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(&label),
        layout: Some(layout),
        module,
        entry_point: Some(spec.kernel.entry_point()),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &constants,
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    })
}

/// The workgroup grid of one dispatch: `workgroups` in a row, folded into
/// 2-D or 3-D when a row would exceed `max_per_dimension` (65,535 on most
/// devices). `thread_index` in `shaders/dispatch.wgsl` unfolds it; threads
/// past the end of the dispatch return at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) z: u32,
}

impl Grid {
    /// The grid for `threads` threads in workgroups of `workgroup_size`, or
    /// `None` when even a 3-D grid of `max_per_dimension`³ is too small.
    pub(crate) fn fold(threads: u64, workgroup_size: u32, max_per_dimension: u32) -> Option<Grid> {
        let groups = threads.div_ceil(u64::from(workgroup_size));
        let max = u64::from(max_per_dimension);
        if groups > max * max * max {
            return None;
        }
        let x = groups.min(max);
        let rest = groups.div_ceil(x.max(1));
        let y = rest.min(max);
        let z = rest.div_ceil(y.max(1));
        Some(Grid {
            x: x as u32,
            y: y as u32,
            z: z as u32,
        })
    }

    /// How many threads the grid runs.
    #[cfg(test)]
    pub(crate) fn threads(&self, workgroup_size: u32) -> u64 {
        u64::from(self.x) * u64::from(self.y) * u64::from(self.z) * u64::from(workgroup_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_cover_every_thread_within_the_per_dimension_limit() {
        for &(threads, wg, max) in &[
            (1u64, 64u32, 65_535u32),
            (64, 64, 65_535),
            (65, 64, 65_535),
            (65_535 * 256 + 1, 256, 65_535),
            (1 << 31, 256, 65_535),
            (1000, 1, 10),
            (700, 1, 9),
            (9 * 9 * 9 * 3, 3, 9),
        ] {
            let g = Grid::fold(threads, wg, max).expect("fits");
            assert!(g.x <= max && g.y <= max && g.z <= max, "{g:?}");
            assert!(g.threads(wg) >= threads, "{g:?} covers {threads}");
            // No whole workgroup layer is wasted: one fewer z-layer would not cover.
            let fewer = Grid { z: g.z - 1, ..g };
            assert!(fewer.threads(wg) < threads || g.z == 1, "{g:?}");
        }
        assert_eq!(Grid::fold(1001, 1, 10), None);
    }

    #[test]
    fn dispatch_params_match_the_wgsl_struct_size() {
        // Twelve u32 in shaders/dispatch.wgsl.
        assert_eq!(std::mem::size_of::<DispatchParams>(), 48);
    }
}
