// Every requested axis in one pass: one thread per element computes the
// derivative along each axis from its neighbourhood (read once per element
// and thread) and either writes each derivative to its own output
// (MAGNITUDE = false, up to four axes) or writes only sqrt(Σ d²)
// (MAGNITUDE = true, up to eight axes), never the components.
//
// The stencil is that of interior.wgsl and boundary.wgsl, with the
// coefficients of src/stencil.rs from the same table (`coef`, bound whole):
//   interior, uniform:     (f[i+1] − f[i−1]) / coef[coef_interior]           (2h)
//   interior, non-uniform: a·f[i−1] + b·f[i] + c·f[i+1],
//                          [a, b, c] = coef[coef_interior + 3·(i − 1) ..]
//   ends, EDGE_ORDER = 1:  (f[tap + 1] − f[tap]) / coef[coef_end]             (Tap::Difference)
//   ends, EDGE_ORDER = 2:  w0·f[tap] + w1·f[tap+1] + w2·f[tap+2], w = coef[coef_end ..]
// where i is the global index along the axis and tap the global index of the
// end's first sample (`first_tap` / `last_tap`).
//
// `FusedAxis` and `Fused` mirror `FusedAxis` and `FusedParams` in
// src/gpu/kernels.rs field for field; change both together.
// Composed after the output, Real and input preludes and common.wgsl.

struct FusedAxis {
    // Extent of the axis in the slab, and its stride.
    n: u32,
    inner: u32,
    // Global index along the axis of the slab's local index 0.
    lane_origin: u32,
    // Extent of the axis in the whole array.
    n_global: u32,
    coef_interior: u32,
    coef_first: u32,
    coef_last: u32,
    non_uniform: u32,
    first_tap: u32,
    last_tap: u32,
    _pad0: u32,
    _pad1: u32,
}

struct Fused {
    // Slab index of the first element of the dispatch (written to index 0 of
    // every output), and the number of elements.
    first: u32,
    count: u32,
    axes: u32,
    _pad: u32,
    axis: array<FusedAxis, 8>,
}

@group(0) @binding(0) var<uniform> p: Fused;
@group(0) @binding(2) var<storage, read> coef: array<Real>;
@group(0) @binding(3) var<storage, read_write> out0: array<Stored>;
@group(0) @binding(4) var<storage, read_write> out1: array<Stored>;
@group(0) @binding(5) var<storage, read_write> out2: array<Stored>;
@group(0) @binding(6) var<storage, read_write> out3: array<Stored>;

override MAGNITUDE: bool = false;
override EDGE_ORDER: u32 = 1u;

// The value at global index `g` of the lane whose local index 0 is at slab
// index `lane`.
fn at_global(ax: FusedAxis, lane: u32, g: u32) -> Real {
    return sample(lane + (g - ax.lane_origin) * ax.inner);
}

fn end_derivative(ax: FusedAxis, lane: u32, tap: u32, k: u32) -> Real {
    if EDGE_ORDER == 1u {
        return (at_global(ax, lane, tap + 1u) - at_global(ax, lane, tap)) / coef[k];
    }
    return coef[k] * at_global(ax, lane, tap)
        + coef[k + 1u] * at_global(ax, lane, tap + 1u)
        + coef[k + 2u] * at_global(ax, lane, tap + 2u);
}

fn derivative(a: u32, at: u32) -> Real {
    let ax = p.axis[a];
    let i = (at / ax.inner) % ax.n;
    let g = i + ax.lane_origin;
    let lane = at - i * ax.inner;
    if g == 0u {
        return end_derivative(ax, lane, ax.first_tap, ax.coef_first);
    }
    if g == ax.n_global - 1u {
        return end_derivative(ax, lane, ax.last_tap, ax.coef_last);
    }
    let below = sample(at - ax.inner);
    let above = sample(at + ax.inner);
    if ax.non_uniform != 0u {
        let k = ax.coef_interior + 3u * (g - 1u);
        return coef[k] * below + coef[k + 1u] * sample(at) + coef[k + 2u] * above;
    }
    return (above - below) / coef[ax.coef_interior];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fused(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = thread_index(wid, nwg, lid);
    if t >= p.count {
        return;
    }
    let at = p.first + t;
    if MAGNITUDE {
        var sum = Real(0.0);
        for (var a = 0u; a < p.axes; a++) {
            let d = derivative(a, at);
            sum += d * d;
        }
        out0[t] = Stored(sqrt(sum));
        return;
    }
    out0[t] = Stored(derivative(0u, at));
    if p.axes > 1u {
        out1[t] = Stored(derivative(1u, at));
    }
    if p.axes > 2u {
        out2[t] = Stored(derivative(2u, at));
    }
    if p.axes > 3u {
        out3[t] = Stored(derivative(3u, at));
    }
}
