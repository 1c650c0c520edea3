// Input prelude: u16 samples, packed two to a u32 word (WGSL has no 16-bit
// integer storage type); element k is half k % 2 of word k / 2, little-endian.
@group(0) @binding(1) var<storage, read> f: array<u32>;

fn sample(k: u32) -> Real {
    return Real((f[k >> 1u] >> ((k & 1u) * 16u)) & 0xffffu);
}
