// Interior points 1..n−1 of an axis: one thread per element, reading its
// neighbours ±inner away. Mirrors `Interior` in src/stencil.rs, whose
// coefficients the host uploads into `coef`:
//   uniform:     (f[i+1] − f[i−1]) / coef[coef_first]              (coef = 2h)
//   non-uniform: a·f[i−1] + b·f[i] + c·f[i+1], summed left to right,
//                [a, b, c] = coef[coef_first + 3·(i − i_first) ..]
// Composed after the output, Real and input preludes, common.wgsl and dispatch.wgsl.

override NON_UNIFORM: bool = false;

@compute @workgroup_size(WORKGROUP_SIZE)
fn interior(
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
    let below = sample(at - p.inner);
    let above = sample(at + p.inner);
    var g: Real;
    if NON_UNIFORM {
        let k = p.coef_first + 3u * (c.y - p.i_first);
        g = coef[k] * below + coef[k + 1u] * sample(at) + coef[k + 2u] * above;
    } else {
        g = (above - below) / coef[p.coef_first];
    }
    out[at - p.out_origin] = Stored(g);
}
