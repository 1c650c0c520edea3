// Input prelude: i8 samples, packed four to a u32 word (WGSL has no 8-bit
// storage type); element k is byte k % 4 of word k / 4, little-endian.
// Shifting it to the top of an i32 and back (an arithmetic shift)
// sign-extends it.
@group(0) @binding(1) var<storage, read> f: array<u32>;

fn sample(k: u32) -> Real {
    let top = bitcast<i32>(f[k >> 2u] << (24u - (k & 3u) * 8u));
    return Real(top >> 24u);
}
