//! The reusable buffers of one call, as plain data: the context keeps them
//! between calls ([`super::context`]), [`super::transfer`] grows and fills
//! them.

/// The buffers one call works with. Kept by the context between calls and
/// grown on demand, never shrunk.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    /// The coefficients of every requested axis.
    pub(crate) coefs: Option<wgpu::Buffer>,
    /// Two sets of slab buffers, so one slab is uploaded and read back while
    /// the other computes.
    pub(crate) sets: [SlabBuffers; 2],
}

/// The buffers of one slab in flight.
#[derive(Debug, Default)]
pub(crate) struct SlabBuffers {
    /// The slab of input (packed to whole words).
    pub(crate) input: Option<wgpu::Buffer>,
    /// The uniform parameters of the slab's dispatches.
    pub(crate) params: Option<wgpu::Buffer>,
    /// One buffer per output of the slab.
    pub(crate) outputs: Vec<Option<wgpu::Buffer>>,
    /// Where each output is copied to be read by the host.
    pub(crate) staging: Vec<Option<wgpu::Buffer>>,
    /// How many of `outputs` / `staging` the current slab uses.
    pub(super) active: usize,
}
