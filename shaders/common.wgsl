// Shared by every kernel: the workgroup size and the unfolding of folded grids.
// Composed after the output, Real and input preludes (src/gpu/kernels.rs).

override WORKGROUP_SIZE: u32 = 256u;

// The index of this thread among all threads of the dispatch. Grids with more
// than 65,535 workgroups are folded into 2-D or 3-D by the host
// (src/gpu/grid.rs, `Grid`); this unfolds them.
fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    let group = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    return group * WORKGROUP_SIZE + lid;
}

// Division by a dispatch constant without an integer division, which GPUs
// and CPU rasterisers (one scalar division per lane) both do slowly:
// floor(x / d) = floor(x · m / 2^(31 + s)) for every x < 2^31, with
// s = ceil(log2 d) and m = ceil(2^(31 + s) / d) < 2^32 (Granlund and
// Montgomery, 1994, theorem 4.2). `Divisor::new` in src/gpu/params.rs
// computes (m, s) and mirrors this function for its tests; slabs hold fewer
// than 2^31 elements, so every index qualifies.
fn quotient(x: u32, m: u32, s: u32) -> u32 {
    // The 64-bit product x · m from 16-bit halves (WGSL has no mulhi).
    let x0 = x & 0xffffu;
    let x1 = x >> 16u;
    let m0 = m & 0xffffu;
    let m1 = m >> 16u;
    let low_mid = x1 * m0;
    let high_mid = x0 * m1;
    let carry = (((x0 * m0) >> 16u) + (low_mid & 0xffffu) + (high_mid & 0xffffu)) >> 16u;
    let high = x1 * m1 + (low_mid >> 16u) + (high_mid >> 16u) + carry;
    // (x · m) >> 31 fits in 32 bits since x · m < 2^63.
    return ((high << 1u) | ((x * m) >> 31u)) >> s;
}
