// Integer conversions for the f64 kernels: every integer input reaches
// `Real` through these, rounded as numpy's astype(float64). A 32-bit
// integer is exact in f64. A 64-bit one, read as two u32 words, is rounded
// once to 53 significant bits (to nearest, ties to even) by integer
// operations, like int_f32.wgsl, and only then formed in f64, where every
// step is exact: WGSL does not promise that an inexact f64 operation rounds
// to nearest even, so no rounding is left to one.
fn real_from_u32(x: u32) -> Real {
    return Real(x);
}

fn real_from_i32(x: i32) -> Real {
    return Real(x);
}

// hi * 2^32 + lo, rounded once to 53 significant bits.
fn real_from_u64(lo: u32, hi: u32) -> Real {
    if (hi < 0x200000u) {
        // Below 2^53: both terms and their sum are exact.
        return Real(hi) * 4294967296.0 + Real(lo);
    }
    // Keep the top 53 bits, m = value >> s, and drop s bits (1 <= s <= 11).
    let s = 64u - countLeadingZeros(hi) - 53u;
    var m_lo = (lo >> s) | (hi << (32u - s));
    var m_hi = hi >> s;
    // The guard bit (the first dropped) and the sticky bit (any below it).
    let guard = (lo >> (s - 1u)) & 1u;
    let sticky = (lo & ((1u << (s - 1u)) - 1u)) != 0u;
    // Up when above the midpoint, or on it with m odd (ties to even), with
    // the carry into the high word.
    let up = guard == 1u && (sticky || (m_lo & 1u) == 1u);
    m_lo = m_lo + select(0u, 1u, up);
    m_hi = m_hi + select(0u, 1u, up && m_lo == 0u);
    // m <= 2^53 is exact in f64, and so are its terms and its product with
    // 2^s.
    return (Real(m_hi) * 4294967296.0 + Real(m_lo)) * Real(1u << s);
}
