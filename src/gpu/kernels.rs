//! The WGSL kernels: their sources, how they are specialised, the bind
//! group layouts they use, and how their modules and pipelines are created.

use std::borrow::Cow;

use super::params::{DispatchParams, FusedParams, FUSED_MAX_OUTPUTS};
use super::types::{InputKind, Stored};

/// One kernel of `shaders/`, before specialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kernel {
    /// `shaders/interior.wgsl`: one axis's interior points.
    Interior,
    /// `shaders/boundary.wgsl`: one axis's first or last point.
    Boundary,
    /// `shaders/copy.wgsl` (the measuring yardstick).
    Copy,
    /// `shaders/fused.wgsl`: every requested axis, or their magnitude, in
    /// one pass.
    Fused,
}

/// Composes a kernel's WGSL from fixed files: the output prelude, the Real
/// prelude, the integer conversions for that Real (`int_*.wgsl`, which the
/// integer input preludes call), the input prelude, `common.wgsl`, then the
/// kernel's own files.
/// `concat!` of `include_str!`s, so the text is known at compile time and
/// never generated.
macro_rules! compose {
    ($($file:literal),*) => {
        concat!($(include_str!(concat!("../../shaders/", $file))),*)
    };
}

/// [`compose!`] for each output type.
macro_rules! by_stored {
    ($stored:expr, $input:literal, $($body:literal),*) => {
        match $stored {
            Stored::F32 => compose!("output_f32.wgsl", "real_f32.wgsl", "int_f32.wgsl", "int_i64.wgsl", $input, "common.wgsl", $($body),*),
            Stored::F16 => compose!("output_f16.wgsl", "real_f32.wgsl", "int_f32.wgsl", "int_i64.wgsl", $input, "common.wgsl", $($body),*),
            Stored::F64 => compose!("output_f64.wgsl", "real_f64.wgsl", "int_f64.wgsl", "int_i64.wgsl", $input, "common.wgsl", $($body),*),
        }
    };
}

/// [`by_stored!`] for each input type.
macro_rules! by_input {
    ($input:expr, $stored:expr, $($body:literal),*) => {
        match $input {
            InputKind::I8 => by_stored!($stored, "input_i8.wgsl", $($body),*),
            InputKind::U8 => by_stored!($stored, "input_u8.wgsl", $($body),*),
            InputKind::U16 => by_stored!($stored, "input_u16.wgsl", $($body),*),
            InputKind::I16 => by_stored!($stored, "input_i16.wgsl", $($body),*),
            InputKind::U32 => by_stored!($stored, "input_u32.wgsl", $($body),*),
            InputKind::I32 => by_stored!($stored, "input_i32.wgsl", $($body),*),
            InputKind::I64 => by_stored!($stored, "input_i64.wgsl", $($body),*),
            InputKind::U64 => by_stored!($stored, "input_u64.wgsl", $($body),*),
            InputKind::F16 => by_stored!($stored, "input_f16.wgsl", $($body),*),
            InputKind::F32 => by_stored!($stored, "input_f32.wgsl", $($body),*),
            InputKind::F64 => by_stored!($stored, "input_f64.wgsl", $($body),*),
        }
    };
}

impl Kernel {
    /// Every kernel, for tests that visit them all.
    #[cfg(test)]
    pub(crate) const ALL: [Kernel; 4] = [
        Kernel::Interior,
        Kernel::Boundary,
        Kernel::Copy,
        Kernel::Fused,
    ];

    /// The composed WGSL source of this kernel reading `input` and writing
    /// `stored`.
    pub(crate) fn source(self, input: InputKind, stored: Stored) -> &'static str {
        match self {
            Kernel::Interior => by_input!(input, stored, "dispatch.wgsl", "interior.wgsl"),
            Kernel::Boundary => by_input!(input, stored, "dispatch.wgsl", "boundary.wgsl"),
            Kernel::Copy => by_input!(input, stored, "dispatch.wgsl", "copy.wgsl"),
            Kernel::Fused => by_input!(input, stored, "fused.wgsl"),
        }
    }

    /// The entry point's name in the source.
    pub(crate) fn entry_point(self) -> &'static str {
        match self {
            Kernel::Interior => "interior",
            Kernel::Boundary => "boundary",
            Kernel::Copy => "copy",
            Kernel::Fused => "fused",
        }
    }
}

/// Everything a compiled pipeline depends on: the cache key of
/// [`super::context::GpuContext`]'s pipeline cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Specialization {
    pub(crate) kernel: Kernel,
    pub(crate) input: InputKind,
    pub(crate) stored: Stored,
    pub(crate) workgroup_size: u32,
    /// `NON_UNIFORM` of the interior kernel (false for the others).
    pub(crate) non_uniform: bool,
    /// `EDGE_ORDER` of the boundary and fused kernels (1 for the others).
    pub(crate) edge_order: u32,
    /// `MAGNITUDE` of the fused kernel (false for the others).
    pub(crate) magnitude: bool,
    /// `AXES` of the fused kernel: how many axes it computes (0 for the
    /// others).
    pub(crate) axes: u32,
    /// `NON_UNIFORM` of the fused kernel: bit `a` set when its axis `a` has
    /// coordinate spacing (0 for the others).
    pub(crate) non_uniform_axes: u32,
    /// `ACCURACY` of the fused kernel: the order `p` (2, 4 or 6) of every
    /// axis's stencil (2 for the others).
    pub(crate) accuracy: u32,
    /// `PERIODIC` of the fused kernel: bit `a` set when its axis `a` wraps
    /// around (0 for the others).
    pub(crate) periodic_axes: u32,
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
            Kernel::Fused => {
                c.push(("EDGE_ORDER", f64::from(self.edge_order)));
                c.push(("MAGNITUDE", f64::from(u8::from(self.magnitude))));
                c.push(("AXES", f64::from(self.axes)));
                c.push(("NON_UNIFORM", f64::from(self.non_uniform_axes)));
                c.push(("ACCURACY", f64::from(self.accuracy)));
                c.push(("PERIODIC", f64::from(self.periodic_axes)));
            }
            Kernel::Copy => {}
        }
        c
    }

    /// The composed source.
    pub(crate) fn source(&self) -> &'static str {
        self.kernel.source(self.input, self.stored)
    }

    /// A label for the pipeline, for graphics debuggers and error messages.
    pub(crate) fn label(&self) -> String {
        format!(
            "ndgrad {:?} {:?}->{:?} wg{} nonuniform={} edge_order={} magnitude={} axes={} nonuniform_axes={:#b} accuracy={} periodic_axes={:#b}",
            self.kernel,
            self.input,
            self.stored,
            self.workgroup_size,
            self.non_uniform,
            self.edge_order,
            self.magnitude,
            self.axes,
            self.non_uniform_axes,
            self.accuracy,
            self.periodic_axes
        )
    }
}

/// The two bind group layouts: the per-axis kernels' and the fused kernel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Layout {
    /// `p` (uniform), `f`, `coef`, `out`: `shaders/dispatch.wgsl`.
    PerAxis,
    /// `p` (uniform), `f`, `coef`, `out0` .. `out3`: `shaders/fused.wgsl`.
    Fused,
}

impl Kernel {
    /// The bind group layout the kernel uses.
    pub(crate) fn layout(self) -> Layout {
        match self {
            Kernel::Fused => Layout::Fused,
            _ => Layout::PerAxis,
        }
    }
}

/// The bind group layout of `layout`: binding 0 the uniform parameters,
/// 1 the read-only input, 2 the read-only coefficients, 3.. the outputs.
pub(crate) fn bind_group_layout(device: &wgpu::Device, layout: Layout) -> wgpu::BindGroupLayout {
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
    let (params_size, outputs) = match layout {
        Layout::PerAxis => (std::mem::size_of::<DispatchParams>(), 1),
        Layout::Fused => (std::mem::size_of::<FusedParams>(), FUSED_MAX_OUTPUTS as u32),
    };
    let mut entries = vec![
        wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: wgpu::BufferSize::new(params_size as u64),
            },
            count: None,
        },
        storage(1, true),
        storage(2, true),
    ];
    entries.extend((0..outputs).map(|k| storage(3 + k, false)));
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(match layout {
            Layout::PerAxis => "ndgrad per-axis dispatch",
            Layout::Fused => "ndgrad fused dispatch",
        }),
        entries: &entries,
    })
}

/// Creates the shader module of `spec`'s kernel, input and output types.
pub(crate) fn shader_module(device: &wgpu::Device, spec: &Specialization) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(spec.kernel.entry_point()),
        source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(spec.source())),
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
