// The parameters of one per-axis dispatch and the bindings the per-axis
// kernels (interior, boundary, copy) share besides the input `f`, which the
// input prelude declares.
//
// `Dispatch` mirrors `DispatchParams` in src/gpu/params.rs field for field
// (twelve u32, 48 bytes); change both together (src/gpu/shader_tests.rs
// compares them through naga).
//
// A dispatch covers the box o_first.. o_first+o_count  ×  i_first.. i_first+i_count
// ×  0..inner of the (outer, n, inner) view of the slab held in `f`, one thread
// per element. Element (o, i, j) of the slab is sample((o·n + i)·inner + j); its
// result goes to out[(o·n + i)·inner + j − out_origin].

struct Dispatch {
    o_first: u32,
    o_count: u32,
    n: u32,
    inner: u32,
    i_first: u32,
    i_count: u32,
    // Boundary kernel: local index along the axis of the tap's first sample
    // (Difference: `lo`; Weighted: `first`) and, for Difference, of `hi`.
    tap_first: u32,
    tap_second: u32,
    out_origin: u32,
    // Index in `coef` of this dispatch's first coefficient.
    coef_first: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Dispatch;
@group(0) @binding(2) var<storage, read> coef: array<Real>;
@group(0) @binding(3) var<storage, read_write> out: array<Stored>;

// Splits a thread index into (o, i, j) of the dispatch box; x = o, y = i, z = j.
fn box_coordinates(t: u32) -> vec3<u32> {
    let j = t % p.inner;
    let r = t / p.inner;
    return vec3<u32>(p.o_first + r / p.i_count, p.i_first + r % p.i_count, j);
}

fn slab_index(o: u32, i: u32, j: u32) -> u32 {
    return (o * p.n + i) * p.inner + j;
}
