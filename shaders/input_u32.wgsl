// Input prelude: u32 samples, converted by `real_from_u32` (int_*.wgsl):
// exact in f64; in f32 exact up to 2^24 and rounded once to nearest, ties
// to even, beyond, as numpy's astype(float32).
@group(0) @binding(1) var<storage, read> f: array<u32>;

fn sample(k: u32) -> Real {
    return real_from_u32(f[k]);
}
