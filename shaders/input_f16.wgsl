// Input prelude: f16 samples, packed two to a u32 word and widened with the
// core `unpack2x16float` (exact), so f16 input needs no SHADER_F16.
@group(0) @binding(1) var<storage, read> f: array<u32>;

fn sample(k: u32) -> Real {
    return Real(unpack2x16float(f[k >> 1u])[k & 1u]);
}
