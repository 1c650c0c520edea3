// A plain copy, out[k] = f[k] (converted to the output type) for every
// element of the dispatch box: the
// yardstick the gradient kernels are measured against (the same bytes moved
// on the same adapter). Uses the bindings of dispatch.wgsl (`coef` unused) so
// that it is dispatched exactly like the gradient kernels.
// Composed after the output, Real and input preludes, common.wgsl and dispatch.wgsl.

@compute @workgroup_size(WORKGROUP_SIZE)
fn copy(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = thread_index(wid, nwg, lid);
    if t >= p.o_count * p.i_count * p.inner {
        return;
    }
    let c = box_coordinates(t);
    let at = slab_index(c.x, c.y, c.z);
    out[at - p.out_origin] = Stored(sample(at));
}
