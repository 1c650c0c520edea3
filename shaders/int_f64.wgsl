// Integer conversions for the f64 kernels: every integer input reaches
// `Real` through these. A 32-bit integer is exact in f64. A 64-bit one,
// read as two u32 words, is hi * 2^32 + lo: the high word times 2^32 is
// exact, the low word is exact, and their sum is rounded once (to nearest,
// ties to even; exact up to 2^53), as numpy's astype(float64). For i64 the
// high word is taken signed, which makes the same sum the two's complement
// value (i64::MIN is exact).
fn real_from_u32(x: u32) -> Real {
    return Real(x);
}

fn real_from_i32(x: i32) -> Real {
    return Real(x);
}

fn real_from_u64(lo: u32, hi: u32) -> Real {
    return Real(hi) * 4294967296.0 + Real(lo);
}

fn real_from_i64(lo: u32, hi: u32) -> Real {
    return Real(bitcast<i32>(hi)) * 4294967296.0 + Real(lo);
}
