// Input prelude: i16 samples, packed two to a u32 word; element k is half
// k % 2 of word k / 2, little-endian. Shifting it to the top of an i32 and
// back (an arithmetic shift) sign-extends it.
@group(0) @binding(1) var<storage, read> f: array<u32>;

fn sample(k: u32) -> Real {
    let top = bitcast<i32>(f[k >> 1u] << (16u - (k & 1u) * 16u));
    return Real(top >> 16u);
}
