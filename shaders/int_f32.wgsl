// Integer conversions for the f32 kernels (f32 and f16 results): every
// integer input reaches `Real` through these, rounded once to nearest, ties
// to even, from the integer itself, as numpy's astype(float32). They work
// by integer operations because WGSL has no 64-bit integers and lets the
// conversion of an integer f32 cannot hold return either neighbour. Values
// of at most 24 significant bits convert exactly.

// 2^e as an f32, for 0 <= e <= 127, built from its bits (exact).
fn pow2_f32(e: u32) -> f32 {
    return bitcast<f32>((127u + e) << 23u);
}

// hi * 2^32 + lo, rounded once to 24 significant bits.
fn real_from_u64(lo: u32, hi: u32) -> Real {
    // n: the number of significant bits.
    let n = select(32u - countLeadingZeros(lo), 64u - countLeadingZeros(hi), hi != 0u);
    if (n <= 24u) {
        // hi is 0 and lo < 2^24: exact.
        return Real(lo);
    }
    // Keep the top 24 bits, m = value >> s, and drop s bits (1 <= s <= 40).
    let s = n - 24u;
    var m: u32;
    if (s >= 32u) {
        m = hi >> (s - 32u);
    } else {
        m = (lo >> s) | (hi << (32u - s));
    }
    // The guard bit (the first dropped, worth half of m's last bit) and the
    // sticky bit (any dropped bit below it).
    let g = s - 1u;
    var guard: u32;
    var sticky: bool;
    if (g >= 32u) {
        guard = (hi >> (g - 32u)) & 1u;
        sticky = lo != 0u || (hi & ((1u << (g - 32u)) - 1u)) != 0u;
    } else {
        guard = (lo >> g) & 1u;
        sticky = (lo & ((1u << g) - 1u)) != 0u;
    }
    // Up when above the midpoint, or on it with m odd (ties to even).
    let up = guard == 1u && (sticky || (m & 1u) == 1u);
    m = m + select(0u, 1u, up);
    // m <= 2^24 is exact in f32, and so is its product with 2^s.
    return Real(m) * pow2_f32(s);
}

fn real_from_u32(x: u32) -> Real {
    return real_from_u64(x, 0u);
}

// The magnitude rounded, then the sign: rounding to nearest even is
// symmetric.
fn real_from_i32(x: i32) -> Real {
    let negative = x < 0;
    let bits = bitcast<u32>(x);
    let r = real_from_u64(select(bits, 0u - bits, negative), 0u);
    return select(r, -r, negative);
}
