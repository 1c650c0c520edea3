// The signed 64-bit conversion, shared by the f32 and f64 kernels: composed
// after int_f32.wgsl or int_f64.wgsl, whose `real_from_u64` rounds the
// magnitude once (rounding to nearest even is symmetric, so the sign is
// applied after).
// An i64 as its two's complement words: the magnitude (negated with the
// carry from the low word when negative; i64::MIN's magnitude 2^63 fits the
// unsigned words) rounded, then the sign.
fn real_from_i64(lo: u32, hi: u32) -> Real {
    let negative = (hi >> 31u) == 1u;
    let neg_lo = 0u - lo;
    let neg_hi = ~hi + select(0u, 1u, lo == 0u);
    let r = real_from_u64(select(lo, neg_lo, negative), select(hi, neg_hi, negative));
    return select(r, -r, negative);
}
