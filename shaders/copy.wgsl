// A plain copy, out[t] = f[i_first + t] (converted to the output type) for
// t < i_count: the yardstick the gradient kernels are measured against (the
// same bytes moved on the same adapter). Flat, with no index arithmetic
// beyond the thread index, so that it runs as fast as a copy can on the
// adapter. Uses the bindings of dispatch.wgsl (`coef` unused; the host sets
// o_count = inner = 1) so that it is dispatched like the gradient kernels.
// Composed after the output, Real and input preludes, common.wgsl and dispatch.wgsl.

@compute @workgroup_size(WORKGROUP_SIZE)
fn copy(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = thread_index(wid, nwg, lid);
    if t >= p.i_count {
        return;
    }
    out[t] = Stored(sample(p.i_first + t));
}
