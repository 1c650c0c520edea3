// The first or the last point of an axis (one plane: i = i_first, i_count = 1),
// from the boundary `Tap` of src/stencil.rs (`Stencil::first()` / `last()`):
//   EDGE_ORDER = 1, Tap::Difference: (f[tap_second] − f[tap_first]) / coef[coef_first]
//   EDGE_ORDER = 2, Tap::Weighted:   w0·f[tap_first] + w1·f[tap_first+1] + w2·f[tap_first+2],
//                                    summed left to right, w = coef[coef_first ..]
// Composed after the output, Real and input preludes, common.wgsl and dispatch.wgsl.

override EDGE_ORDER: u32 = 1u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn boundary(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = thread_index(wid, nwg, lid);
    if t >= p.o_count * p.i_count * p.inner {
        return;
    }
    let c = box_coordinates(t);
    let k = p.coef_first;
    var g: Real;
    if EDGE_ORDER == 1u {
        let lo = sample(slab_index(c.x, p.tap_first, c.z));
        let hi = sample(slab_index(c.x, p.tap_second, c.z));
        g = (hi - lo) / coef[k];
    } else {
        let f0 = sample(slab_index(c.x, p.tap_first, c.z));
        let f1 = sample(slab_index(c.x, p.tap_first + 1u, c.z));
        let f2 = sample(slab_index(c.x, p.tap_first + 2u, c.z));
        g = coef[k] * f0 + coef[k + 1u] * f1 + coef[k + 2u] * f2;
    }
    out[slab_index(c.x, c.y, c.z) - p.out_origin] = Stored(g);
}
