// Every requested axis in one pass: one thread per element computes the
// derivative along each axis and either writes each derivative to its own
// output (MAGNITUDE = false, up to four axes) or writes only sqrt(Σ d²)
// (MAGNITUDE = true, up to eight axes), never the components.
//
// The stencil is that of interior.wgsl and boundary.wgsl, with the
// coefficients of src/stencil.rs:
//   interior, uniform:     (f[i+1] − f[i−1]) / 2h                             (Interior::Uniform)
//   interior, non-uniform: a·f[i−1] + b·f[i] + c·f[i+1],
//                          [a, b, c] = coef[coef_interior + 3·(i − 1) ..]    (Interior::NonUniform)
//   ends, EDGE_ORDER = 1:  (f[tap + 1] − f[tap]) / d                          (Tap::Difference)
//   ends, EDGE_ORDER = 2:  w0·f[tap] + w1·f[tap+1] + w2·f[tap+2]              (Tap::Weighted)
// where i is the global index along the axis and tap the global index of the
// end's first sample (`first_tap` / `last_tap`). 2h, d and w come in the
// uniform `k`; only the per-point rows of non-uniform axes are read from
// the storage table `coef`.
//
// Every thread reads the same taps, relative to the lowest sample its
// stencil reads (`lo`: i − 1 inside, the tap at the ends), and picks its
// coefficients with `select`; the only branch reads the middle sample of a
// second-order end (inside, the middle sample is the element's own,
// `centre`, read once for every axis). Which
// axes are non-uniform (NON_UNIFORM, bit a for axis a), how many axes there
// are (AXES) and the edge order are `override` constants, so each pipeline
// computes exactly one stencil shape and its loops unroll. Coordinates come
// from `quotient` (common.wgsl), not from integer division.
//
// The forms beyond numpy's (ACCURACY = p of 4 or 6, or a periodic axis:
// bit a of PERIODIC) take `wide_derivative`: point g reads the p + 1
// samples from `start` (g − p/2, wrapped around a periodic axis, clamped
// to 0..=n − p − 1 on a one-sided one) and weighs them with one row of the
// axis's rows (src/gpu/wide.rs packs them from the stencil's taps): those
// of a uniform axis from the uniform block (`row_weight`, picked by `select`
// where they differ between points, so every thread reads the same
// addresses), those of an axis with coordinates from `coef`, from
// `coef_interior`:
//   periodic, uniform, p = 2:    (f[g+1] − f[g−1]) / 2h, wrapped; 2h is row 0
//   periodic, uniform, p = 4, 6: the one row 0                (Interior::Central)
//   one-sided, uniform:          row g − start: head, central, tail rows
//   coordinates:                 row g of `coef`              (Interior::Table, the ends' taps)
// summed left to right from the lowest sample, as `Tap::apply` sums. Along
// axis 0 a slab holds the p planes on either side of the planes it
// computes (src/gpu/slab.rs); a periodic lane always lies in one slab.
//
// `FusedAxis` and `Fused` mirror `FusedAxis` and `FusedParams` in
// src/gpu/params.rs field for field; change both together
// (src/gpu/shader_tests.rs compares them through naga).
// Composed after the output, Real and input preludes and common.wgsl.

struct FusedAxis {
    // Extent of the axis in the slab and its stride, each with the (m, s)
    // that divides by it (`quotient`).
    n: u32,
    n_m: u32,
    n_s: u32,
    inner: u32,
    inner_m: u32,
    inner_s: u32,
    // Global index along the axis of the slab's local index 0.
    lane_origin: u32,
    // Global index of the axis's last point (its extent − 1).
    last: u32,
    // Index in `coef` of the first non-uniform interior row.
    coef_interior: u32,
    // Global index of the first sample of each end's tap.
    first_tap: u32,
    last_tap: u32,
    _pad: u32,
}

struct Fused {
    // Slab index of the first element of the dispatch (written to index
    // `output_offset` of every output), and the number of elements.
    first: u32,
    count: u32,
    // Where slab index 0 lies in the bound input window, and the first
    // result in the bound output windows: non-zero when a slab of a
    // device-resident array is bound at an offset rounded down to the
    // device's storage offset alignment.
    input_offset: u32,
    output_offset: u32,
    axis: array<FusedAxis, 8>,
    _pad2: vec4<u32>,
    // Per axis a: k[2a] = (first end's w0, w1, w2, interior 2h) and
    // k[2a + 1] = (last end's w0, w1, w2, 0). A first-order end has only d,
    // in w0. From k[16] on, read as one array of Real (`row_weight`): the
    // coefficient rows of each uniform axis of a form beyond numpy's,
    // WIDE_ROWS = 49 per axis.
    k: array<vec4<Real>, 114>,
}

@group(0) @binding(0) var<uniform> p: Fused;
@group(0) @binding(2) var<storage, read> coef: array<Real>;
@group(0) @binding(3) var<storage, read_write> out0: array<Stored>;
@group(0) @binding(4) var<storage, read_write> out1: array<Stored>;
@group(0) @binding(5) var<storage, read_write> out2: array<Stored>;
@group(0) @binding(6) var<storage, read_write> out3: array<Stored>;

override MAGNITUDE: bool = false;
override EDGE_ORDER: u32 = 1u;
override AXES: u32 = 1u;
override NON_UNIFORM: u32 = 0u;
override ACCURACY: u32 = 2u;
override PERIODIC: u32 = 0u;

// Slab index k of the input.
fn slab_sample(k: u32) -> Real {
    return sample(p.input_offset + k);
}

// Coefficient j of the rows of uniform axis `a` (`FusedParams::set_rows`).
fn row_weight(a: u32, j: u32) -> Real {
    let i = 64u + 49u * a + j;
    return p.k[i >> 2u][i & 3u];
}

// Weight k of the row of point g (window offset o) of axis `a`: row g of
// `coef` for an axis with coordinates; the one row of a uniform periodic
// axis; row o of a uniform one-sided axis, picked by `select`.
fn wide_weight(a: u32, g: u32, o: u32, k: u32) -> Real {
    let width = ACCURACY + 1u;
    if ((NON_UNIFORM >> a) & 1u) == 1u {
        return coef[p.axis[a].coef_interior + g * width + k];
    }
    var w = row_weight(a, k);
    if ((PERIODIC >> a) & 1u) == 1u {
        return w;
    }
    w = select(w, row_weight(a, width + k), o == 1u);
    w = select(w, row_weight(a, 2u * width + k), o == 2u);
    if ACCURACY >= 4u {
        w = select(w, row_weight(a, 3u * width + k), o == 3u);
        w = select(w, row_weight(a, 4u * width + k), o == 4u);
    }
    if ACCURACY >= 6u {
        w = select(w, row_weight(a, 5u * width + k), o == 5u);
        w = select(w, row_weight(a, 6u * width + k), o == 6u);
    }
    return w;
}

// Sample k of the window from local index j0 of the lane at `lane`
// (stride `inner`), wrapping at `wrap` (past any index on a one-sided axis).
fn window_sample(lane: u32, inner: u32, j0: u32, k: u32, wrap: u32) -> Real {
    var j = j0 + k;
    j = select(j, j - wrap, j >= wrap);
    return slab_sample(lane + j * inner);
}

// The derivative along axis `a` of a form beyond numpy's at slab index `at`.
// Written out tap by tap (ACCURACY folds the unused ones away), so that no
// loop is left for the shader compiler to unroll.
fn wide_derivative(a: u32, at: u32) -> Real {
    let ax = p.axis[a];
    let q = quotient(at, ax.inner_m, ax.inner_s);
    let local = q - quotient(q, ax.n_m, ax.n_s) * ax.n;
    let g = local + ax.lane_origin;
    // Slab index of the lane's local index 0.
    let lane = at - local * ax.inner;
    let half = ACCURACY / 2u;
    var j0: u32;
    var o = 0u;
    var wrap = 0xffffffffu;
    if ((PERIODIC >> a) & 1u) == 1u {
        // The whole lane is in the slab: n is the axis's extent.
        let n = ax.n;
        if ACCURACY == 2u && ((NON_UNIFORM >> a) & 1u) == 0u {
            let below = select(g - 1u, n - 1u, g == 0u);
            let above = select(g + 1u, 0u, g == ax.last);
            let hi = slab_sample(lane + above * ax.inner);
            return (hi - slab_sample(lane + below * ax.inner)) / row_weight(a, 0u);
        }
        j0 = g + n - half;
        j0 = select(j0, j0 - n, j0 >= n);
        wrap = n;
    } else {
        let start = min(max(g, half) - half, ax.last + 1u - (ACCURACY + 1u));
        // The point's offset in its window: p/2 inside.
        o = g - start;
        j0 = start - ax.lane_origin;
    }
    let s = ax.inner;
    var sum = wide_weight(a, g, o, 0u) * window_sample(lane, s, j0, 0u, wrap);
    sum += wide_weight(a, g, o, 1u) * window_sample(lane, s, j0, 1u, wrap);
    sum += wide_weight(a, g, o, 2u) * window_sample(lane, s, j0, 2u, wrap);
    if ACCURACY >= 4u {
        sum += wide_weight(a, g, o, 3u) * window_sample(lane, s, j0, 3u, wrap);
        sum += wide_weight(a, g, o, 4u) * window_sample(lane, s, j0, 4u, wrap);
    }
    if ACCURACY >= 6u {
        sum += wide_weight(a, g, o, 5u) * window_sample(lane, s, j0, 5u, wrap);
        sum += wide_weight(a, g, o, 6u) * window_sample(lane, s, j0, 6u, wrap);
    }
    return sum;
}

// The derivative along axis `a` at slab index `at`, whose sample is `centre`.
fn derivative(a: u32, at: u32, centre: Real) -> Real {
    if ACCURACY != 2u || ((PERIODIC >> a) & 1u) == 1u {
        return wide_derivative(a, at);
    }
    let ax = p.axis[a];
    let q = quotient(at, ax.inner_m, ax.inner_s);
    let g = q - quotient(q, ax.n_m, ax.n_s) * ax.n + ax.lane_origin;
    let first = g == 0u;
    let end = first || g == ax.last;
    // The lowest sample the stencil reads.
    let tap = select(ax.last_tap, ax.first_tap, first);
    let lo = select(at - ax.inner, at - (g - tap) * ax.inner, end);
    let w = select(p.k[2u * a + 1u], p.k[2u * a], first);
    let two_h = p.k[2u * a].w;
    let non_uniform = ((NON_UNIFORM >> a) & 1u) == 1u;
    let row = ax.coef_interior + 3u * (select(g, 1u, end) - 1u);
    let f0 = slab_sample(lo);
    if EDGE_ORDER == 1u {
        // f[i + 1] inside; the end's second sample at the ends.
        let f2 = slab_sample(select(at + ax.inner, lo + ax.inner, end));
        let difference = (f2 - f0) / select(two_h, w.x, end);
        if !non_uniform {
            return difference;
        }
        let inside = coef[row] * f0 + coef[row + 1u] * centre + coef[row + 2u] * f2;
        return select(inside, difference, end);
    }
    let f2 = slab_sample(lo + 2u * ax.inner);
    // The middle sample is the centre inside; only the ends read another.
    var f1 = centre;
    if end {
        f1 = slab_sample(lo + ax.inner);
    }
    let at_end = w.x * f0 + w.y * f1 + w.z * f2;
    if !non_uniform {
        return select((f2 - f0) / two_h, at_end, end);
    }
    let inside = coef[row] * f0 + coef[row + 1u] * f1 + coef[row + 2u] * f2;
    return select(inside, at_end, end);
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
    let o = p.output_offset + t;
    let centre = slab_sample(at);
    if MAGNITUDE {
        var sum = Real(0.0);
        for (var a = 0u; a < AXES; a++) {
            let d = derivative(a, at, centre);
            sum += d * d;
        }
        out0[o] = Stored(sqrt(sum));
        return;
    }
    out0[o] = Stored(derivative(0u, at, centre));
    if AXES > 1u {
        out1[o] = Stored(derivative(1u, at, centre));
    }
    if AXES > 2u {
        out2[o] = Stored(derivative(2u, at, centre));
    }
    if AXES > 3u {
        out3[o] = Stored(derivative(3u, at, centre));
    }
}
