//! The WGSL kernels: their sources, the parameters they take, the bind group
//! layouts they use, how they are specialised, and the dispatch geometry.

use std::borrow::Cow;

use crate::element::{f16, same_type, Element, Input};

/// The type a kernel computes in; picks the Real prelude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Real {
    F32,
    F64,
}

impl Real {
    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            Real::F32 => 4,
            Real::F64 => 8,
        }
    }
}

/// The type a kernel writes its results in; picks the output prelude and,
/// with it, the compute type: f16 results are computed in f32 and rounded
/// once (f16 arithmetic would lose three digits, and integer inputs above
/// 65,504 would overflow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Stored {
    F16,
    F32,
    F64,
}

impl Stored {
    /// The stored type of the element type `O`.
    pub(crate) fn of<O: Element>() -> Stored {
        if same_type::<O, f16>() {
            Stored::F16
        } else if same_type::<O, f32>() {
            Stored::F32
        } else {
            Stored::F64
        }
    }

    /// The type the kernel computes in.
    pub(crate) fn real(self) -> Real {
        match self {
            Stored::F16 | Stored::F32 => Real::F32,
            Stored::F64 => Real::F64,
        }
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            Stored::F16 => 2,
            Stored::F32 => 4,
            Stored::F64 => 8,
        }
    }
}

/// The element type of the input as the GPU holds it; picks the input
/// prelude. 8- and 16-bit types are packed into `u32` words (WGSL has no
/// narrower storage types) and unpacked by index in the shader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum InputKind {
    U8,
    U16,
    I16,
    I32,
    F16,
    F32,
    F64,
}

impl InputKind {
    /// The kind of the input type `I`.
    pub(crate) fn of<I: Input>() -> InputKind {
        match I::NUMPY_NAME {
            "uint8" => InputKind::U8,
            "uint16" => InputKind::U16,
            "int16" => InputKind::I16,
            "int32" => InputKind::I32,
            "float16" => InputKind::F16,
            "float32" => InputKind::F32,
            _ => InputKind::F64,
        }
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            InputKind::U8 => 1,
            InputKind::U16 | InputKind::I16 | InputKind::F16 => 2,
            InputKind::I32 | InputKind::F32 => 4,
            InputKind::F64 => 8,
        }
    }

    /// Bytes of a buffer holding `len` elements: whole 4-byte words, since
    /// the shader reads packed inputs a word at a time.
    pub(crate) fn buffer_bytes(self, len: u64) -> u64 {
        (len * self.size()).next_multiple_of(4).max(4)
    }

    /// Every kind, for tests that visit them all.
    #[cfg(test)]
    pub(crate) const ALL: [InputKind; 7] = [
        InputKind::U8,
        InputKind::U16,
        InputKind::I16,
        InputKind::I32,
        InputKind::F16,
        InputKind::F32,
        InputKind::F64,
    ];
}

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
/// prelude, the input prelude, `common.wgsl`, then the kernel's own files.
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
            Stored::F32 => compose!("output_f32.wgsl", "real_f32.wgsl", $input, "common.wgsl", $($body),*),
            Stored::F16 => compose!("output_f16.wgsl", "real_f32.wgsl", $input, "common.wgsl", $($body),*),
            Stored::F64 => compose!("output_f64.wgsl", "real_f64.wgsl", $input, "common.wgsl", $($body),*),
        }
    };
}

/// [`by_stored!`] for each input type.
macro_rules! by_input {
    ($input:expr, $stored:expr, $($body:literal),*) => {
        match $input {
            InputKind::U8 => by_stored!($stored, "input_u8.wgsl", $($body),*),
            InputKind::U16 => by_stored!($stored, "input_u16.wgsl", $($body),*),
            InputKind::I16 => by_stored!($stored, "input_i16.wgsl", $($body),*),
            InputKind::I32 => by_stored!($stored, "input_i32.wgsl", $($body),*),
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
/// [`super::GpuContext`]'s pipeline cache.
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
            "ndgrad {:?} {:?}->{:?} wg{} nonuniform={} edge_order={} magnitude={} axes={} nonuniform_axes={:#b}",
            self.kernel,
            self.input,
            self.stored,
            self.workgroup_size,
            self.non_uniform,
            self.edge_order,
            self.magnitude,
            self.axes,
            self.non_uniform_axes
        )
    }
}

/// The parameters of one per-axis dispatch: mirrors `struct Dispatch` in
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

/// The most axes the fused kernel takes (`array<FusedAxis, 8>` in
/// `shaders/fused.wgsl`).
pub(crate) const FUSED_MAX_AXES: usize = 8;

/// The most outputs the fused kernel writes (`out0` .. `out3`).
pub(crate) const FUSED_MAX_OUTPUTS: usize = 4;

/// Division by a dispatch constant `d` as `quotient(x, m, s)` in
/// `shaders/common.wgsl` computes it: `floor(x / d) = (x · m) >> (31 + s)`
/// for every `x < 2³¹`, with `s = ceil(log2 d)` and
/// `m = ceil(2^(31 + s) / d)` (Granlund and Montgomery, 1994, theorem 4.2;
/// `m < 2³²` because `d > 2^(s − 1)`). Slabs hold at most 2³¹ elements, so
/// every slab index qualifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Divisor {
    pub(crate) m: u32,
    pub(crate) s: u32,
}

impl Divisor {
    /// The multiplier and shift that divide by `d` (at least 1).
    pub(crate) fn new(d: u32) -> Divisor {
        let d = d.max(1);
        let s = 32 - (d - 1).leading_zeros();
        let m = (1u64 << (31 + s)).div_ceil(u64::from(d));
        Divisor {
            m: u32::try_from(m).expect("m < 2^32 for every d >= 1"),
            s,
        }
    }

    /// `quotient` of `shaders/common.wgsl`, operation for operation, for
    /// tests: the 64-bit product from 16-bit halves, then the shifts.
    #[cfg(test)]
    pub(crate) fn quotient(self, x: u32) -> u32 {
        let (x0, x1) = (x & 0xffff, x >> 16);
        let (m0, m1) = (self.m & 0xffff, self.m >> 16);
        let low_mid = x1.wrapping_mul(m0);
        let high_mid = x0.wrapping_mul(m1);
        let carry =
            (((x0.wrapping_mul(m0)) >> 16) + (low_mid & 0xffff) + (high_mid & 0xffff)) >> 16;
        let high = x1
            .wrapping_mul(m1)
            .wrapping_add(low_mid >> 16)
            .wrapping_add(high_mid >> 16)
            .wrapping_add(carry);
        ((high << 1) | (x.wrapping_mul(self.m) >> 31)) >> self.s
    }
}

/// One axis of a fused dispatch: mirrors `struct FusedAxis` in
/// `shaders/fused.wgsl` field for field; change both together.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct FusedAxis {
    pub(crate) n: u32,
    pub(crate) n_m: u32,
    pub(crate) n_s: u32,
    pub(crate) inner: u32,
    pub(crate) inner_m: u32,
    pub(crate) inner_s: u32,
    pub(crate) lane_origin: u32,
    pub(crate) last: u32,
    pub(crate) coef_interior: u32,
    pub(crate) first_tap: u32,
    pub(crate) last_tap: u32,
    pub(crate) _pad: u32,
}

impl FusedAxis {
    /// Sets the extent `n` and stride `inner` with their divisors.
    pub(crate) fn set_geometry(&mut self, n: u32, inner: u32) {
        let (nd, id) = (Divisor::new(n), Divisor::new(inner));
        (self.n, self.n_m, self.n_s) = (n, nd.m, nd.s);
        (self.inner, self.inner_m, self.inner_s) = (inner, id.m, id.s);
    }
}

/// The parameters of one fused dispatch: mirrors `struct Fused` in
/// `shaders/fused.wgsl` field for field; change both together. `k` holds
/// sixteen `vec4<Real>` as raw words: 64 of them for f32, all 128 for f64
/// ([`FusedParams::set_constants`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct FusedParams {
    pub(crate) first: u32,
    pub(crate) count: u32,
    pub(crate) input_offset: u32,
    pub(crate) output_offset: u32,
    pub(crate) axis: [FusedAxis; FUSED_MAX_AXES],
    pub(crate) _pad2: [u32; 4],
    pub(crate) k: [u32; 128],
}

impl Default for FusedParams {
    fn default() -> Self {
        bytemuck::Zeroable::zeroed()
    }
}

impl FusedParams {
    /// Writes axis `a`'s constants: `k[2a] = (first[0..3], two_h)`,
    /// `k[2a + 1] = (last[0..3], 0)`, each rounded once from f64 to `real`.
    pub(crate) fn set_constants(
        &mut self,
        real: Real,
        a: usize,
        first: [f64; 3],
        two_h: f64,
        last: [f64; 3],
    ) {
        let values = [
            first[0], first[1], first[2], two_h, last[0], last[1], last[2], 0.0,
        ];
        for (j, v) in values.into_iter().enumerate() {
            let slot = 8 * a + j;
            match real {
                Real::F32 => self.k[slot] = (v as f32).to_bits(),
                Real::F64 => {
                    let bits = v.to_bits();
                    self.k[2 * slot] = bits as u32;
                    self.k[2 * slot + 1] = (bits >> 32) as u32;
                }
            }
        }
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
    fn params_match_the_wgsl_struct_sizes() {
        // Twelve u32 in shaders/dispatch.wgsl.
        assert_eq!(std::mem::size_of::<DispatchParams>(), 48);
        // Four u32, eight FusedAxis of twelve u32, a vec4<u32> (so that `k`
        // starts at a multiple of 32, vec4<f64>'s alignment) and sixteen
        // vec4<Real> in shaders/fused.wgsl.
        assert_eq!(std::mem::size_of::<FusedAxis>(), 48);
        assert_eq!(std::mem::offset_of!(FusedParams, k), 416);
        assert_eq!(std::mem::size_of::<FusedParams>(), 416 + 16 * 32);
    }

    #[test]
    fn divisors_divide_every_index_below_two_to_the_31() {
        let mut divisors: Vec<u32> = (1..=4099).collect();
        for k in 1..31 {
            divisors.extend([(1u32 << k) - 1, 1 << k, (1 << k) + 1]);
        }
        divisors.extend([u32::MAX >> 1, 0x7fff_fffe, 1_000_003, 160 * 160, 512 * 512]);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for &d in &divisors {
            let div = Divisor::new(d);
            let mut xs = vec![
                0,
                1,
                d - 1,
                d,
                d.wrapping_add(1),
                (1 << 31) - 1,
                (1 << 31) - 2,
            ];
            xs.extend((1..40).map(|k| d.saturating_mul(k)));
            xs.extend((1..40).map(|k| d.saturating_mul(k).saturating_sub(1)));
            for _ in 0..200 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                xs.push((state >> 33) as u32);
            }
            for x in xs.into_iter().filter(|&x| x < 1 << 31) {
                assert_eq!(div.quotient(x), x / d, "{x} / {d} with {div:?}");
            }
        }
    }

    #[test]
    fn packed_inputs_fill_whole_words() {
        assert_eq!(InputKind::U8.buffer_bytes(5), 8);
        assert_eq!(InputKind::U16.buffer_bytes(3), 8);
        assert_eq!(InputKind::F16.buffer_bytes(4), 8);
        assert_eq!(InputKind::F64.buffer_bytes(3), 24);
        assert_eq!(InputKind::U8.buffer_bytes(0), 4);
    }
}
