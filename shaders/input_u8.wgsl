// Input prelude: u8 samples, packed four to a u32 word (WGSL has no 8-bit
// storage type); element k is byte k % 4 of word k / 4, little-endian as the
// host uploads it.
@group(0) @binding(1) var<storage, read> f: array<u32>;

fn sample(k: u32) -> Real {
    return Real((f[k >> 2u] >> ((k & 3u) * 8u)) & 0xffu);
}
