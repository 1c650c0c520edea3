// Input prelude: i32 samples, converted to `Real` (exact in f64; rounded to
// nearest in f32 above 2^24, as numpy's astype(float32)).
@group(0) @binding(1) var<storage, read> f: array<i32>;

fn sample(k: u32) -> Real {
    return Real(f[k]);
}
