// Input prelude: i64 samples. WGSL has no 64-bit integers, so each is read
// as its two little-endian u32 words (low, high) and converted by
// `real_from_i64` (int_*.wgsl): rounded once to nearest, ties to even, to
// 53 bits in f64 and 24 bits in f32, as numpy's astype.
@group(0) @binding(1) var<storage, read> f: array<vec2<u32>>;

fn sample(k: u32) -> Real {
    let w = f[k];
    return real_from_i64(w.x, w.y);
}
