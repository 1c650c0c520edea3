// Shared by every kernel: the workgroup size and the unfolding of folded grids.
// Composed after the output, Real and input preludes (src/gpu/kernels.rs).

override WORKGROUP_SIZE: u32 = 256u;

// The index of this thread among all threads of the dispatch. Grids with more
// than 65,535 workgroups are folded into 2-D or 3-D by the host
// (src/gpu/kernels.rs, `Grid`); this unfolds them.
fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    let group = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    return group * WORKGROUP_SIZE + lid;
}
