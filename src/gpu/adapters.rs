//! What the machine offers: every adapter wgpu finds, for `ndgrad info` and
//! for applications that want to choose one themselves.

/// One adapter and the properties that matter to ndgrad.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    /// Name, vendor, backend (Vulkan, Metal, DX12, GL) and device type.
    pub info: wgpu::AdapterInfo,
    /// The adapter's own limits (not wgpu's defaults).
    pub limits: wgpu::Limits,
    /// Whether kernels can run in `f64` (`SHADER_F64`).
    pub f64: bool,
    /// Whether `f16` shaders are possible (`SHADER_F16`).
    pub f16: bool,
    /// Whether GPU timestamp queries are available (`TIMESTAMP_QUERY`).
    pub timestamps: bool,
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let features = adapter.features();
        AdapterSummary {
            info: adapter.get_info(),
            limits: adapter.limits(),
            f64: features.contains(wgpu::Features::SHADER_F64),
            f16: features.contains(wgpu::Features::SHADER_F16),
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }

    /// Whether this is a software rasteriser (lavapipe, WARP, SwiftShader)
    /// rather than a GPU: its timings are not GPU timings.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }
}

/// Every adapter wgpu finds on every backend the environment allows
/// (`WGPU_BACKEND`), in wgpu's order. Empty when there is none.
///
/// ```
/// for a in ndgrad::gpu::adapters() {
///     println!("{} ({:?}, {:?})", a.info.name, a.info.backend, a.info.device_type);
/// }
/// ```
pub fn adapters() -> Vec<AdapterSummary> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    pollster::block_on(instance.enumerate_adapters(backends))
        .iter()
        .map(AdapterSummary::of)
        .collect()
}
