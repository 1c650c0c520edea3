//! The uniform parameters the kernels take, as `#[repr(C)]` host structs
//! uploaded byte for byte: [`DispatchParams`] (per-axis kernels),
//! [`FusedAxis`] and [`FusedParams`] (the fused kernel), and the
//! [`Divisor`] that lets the fused kernel divide without a division. Each
//! struct lists its fields next to it ([`WgslStruct::FIELDS`]) so that a
//! test can check them against the WGSL twin that naga reflects.

use super::types::Real;

/// A field's type as its WGSL twin declares it.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WgslType {
    /// `u32`.
    U32,
    /// `vec4<u32>`.
    Vec4U32,
    /// `array<vec4<Real>, N>`, `Real` being the compute type of the prelude
    /// the kernel is composed with.
    RealVec4Array(u32),
    /// `array<S, N>` of the WGSL struct named `S`.
    StructArray(&'static str, u32),
}

/// One field of a host parameter struct: its name, its byte offset in the
/// host struct and the WGSL type its twin must declare.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) offset: usize,
    pub(crate) ty: WgslType,
}

/// A host struct uploaded as the WGSL struct [`WgslStruct::WGSL_NAME`]:
/// its fields in declaration order, for `shader_tests` to compare with the
/// struct naga reflects from the composed shader.
#[cfg(test)]
pub(crate) trait WgslStruct {
    /// The name of the twin in `shaders/`.
    const WGSL_NAME: &'static str;
    /// Every field of the host struct, in order, its offset taken with
    /// `std::mem::offset_of!`.
    const FIELDS: &'static [Field];
}

/// The [`Field`] list of a `#[repr(C)]` struct: `fields!(S { a: U32, .. })`.
#[cfg(test)]
macro_rules! fields {
    ($host:ty { $($name:ident: $ty:expr),* $(,)? }) => {{
        #[allow(unused_imports)]
        use WgslType::*;
        &[$(Field {
            name: stringify!($name),
            offset: std::mem::offset_of!($host, $name),
            ty: $ty,
        }),*]
    }};
}

/// The parameters of one per-axis dispatch: mirrors `struct Dispatch` in
/// `shaders/dispatch.wgsl` field for field (checked by
/// `shader_tests`, from [`WgslStruct::FIELDS`]); change both together.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct DispatchParams {
    pub(crate) o_first: u32,
    pub(crate) o_count: u32,
    pub(crate) n: u32,
    pub(crate) inner: u32,
    pub(crate) i_first: u32,
    pub(crate) i_count: u32,
    pub(crate) tap_first: u32,
    pub(crate) tap_second: u32,
    pub(crate) out_origin: u32,
    pub(crate) coef_first: u32,
    pub(crate) _pad0: u32,
    pub(crate) _pad1: u32,
}

#[cfg(test)]
impl WgslStruct for DispatchParams {
    const WGSL_NAME: &'static str = "Dispatch";
    const FIELDS: &'static [Field] = fields!(DispatchParams {
        o_first: U32,
        o_count: U32,
        n: U32,
        inner: U32,
        i_first: U32,
        i_count: U32,
        tap_first: U32,
        tap_second: U32,
        out_origin: U32,
        coef_first: U32,
        _pad0: U32,
        _pad1: U32,
    });
}

impl DispatchParams {
    /// The number of threads (elements) the dispatch covers.
    pub(crate) fn threads(&self) -> u64 {
        u64::from(self.o_count) * u64::from(self.i_count) * u64::from(self.inner)
    }
}

/// The most axes the fused kernel takes (`array<FusedAxis, 8>` in
/// `shaders/fused.wgsl`).
pub(crate) const FUSED_MAX_AXES: usize = 8;

/// The most outputs the fused kernel writes (`out0` .. `out3`).
pub(crate) const FUSED_MAX_OUTPUTS: usize = 4;

/// The `vec4<Real>` constants of numpy's forms in `k`: two per axis.
const NUMPY_VEC4S: usize = 2 * FUSED_MAX_AXES;

/// The most coefficients one uniform axis of a form beyond numpy's keeps in
/// the uniform block: `p + 1` rows of `p + 1` at accuracy 6
/// ([`super::wide::rows`]). Axis `a`'s start at `k` element
/// `4 · NUMPY_VEC4S + WIDE_ROWS · a`.
pub(crate) const WIDE_ROWS: usize = crate::stencil::MAX_TAP * crate::stencil::MAX_TAP;

/// The number of `vec4<Real>` in `k`: numpy's constants, then the rows of
/// eight uniform axes of forms beyond numpy's.
const K_VEC4S: usize = NUMPY_VEC4S + WIDE_ROWS * FUSED_MAX_AXES / 4;

/// Division by a dispatch constant `d` as `quotient(x, m, s)` in
/// `shaders/common.wgsl` computes it: `floor(x / d) = (x · m) >> (31 + s)`
/// for every `x < 2³¹`, with `s = ceil(log2 d)` and
/// `m = ceil(2^(31 + s) / d)` (Granlund and Montgomery, 1994, theorem 4.2;
/// `m < 2³²` because `d > 2^(s − 1)`). Slabs hold at most 2³¹ elements, so
/// every slab index qualifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Divisor {
    pub(crate) m: u32,
    pub(crate) s: u32,
}

impl Divisor {
    /// The multiplier and shift that divide by `d` (at least 1).
    pub(crate) fn new(d: u32) -> Divisor {
        let d = d.max(1);
        let s = 32 - (d - 1).leading_zeros();
        let m = (1u64 << (31 + s)).div_ceil(u64::from(d));
        Divisor {
            m: u32::try_from(m).expect("m < 2^32 for every d >= 1"),
            s,
        }
    }

    /// `quotient` of `shaders/common.wgsl`, operation for operation, for
    /// tests: the 64-bit product from 16-bit halves, then the shifts.
    #[cfg(test)]
    pub(crate) fn quotient(self, x: u32) -> u32 {
        let (x0, x1) = (x & 0xffff, x >> 16);
        let (m0, m1) = (self.m & 0xffff, self.m >> 16);
        let low_mid = x1.wrapping_mul(m0);
        let high_mid = x0.wrapping_mul(m1);
        let carry =
            (((x0.wrapping_mul(m0)) >> 16) + (low_mid & 0xffff) + (high_mid & 0xffff)) >> 16;
        let high = x1
            .wrapping_mul(m1)
            .wrapping_add(low_mid >> 16)
            .wrapping_add(high_mid >> 16)
            .wrapping_add(carry);
        ((high << 1) | (x.wrapping_mul(self.m) >> 31)) >> self.s
    }
}

/// One axis of a fused dispatch: mirrors `struct FusedAxis` in
/// `shaders/fused.wgsl` field for field (checked by `shader_tests`, from
/// [`WgslStruct::FIELDS`]); change both together.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct FusedAxis {
    pub(crate) n: u32,
    pub(crate) n_m: u32,
    pub(crate) n_s: u32,
    pub(crate) inner: u32,
    pub(crate) inner_m: u32,
    pub(crate) inner_s: u32,
    pub(crate) lane_origin: u32,
    pub(crate) last: u32,
    pub(crate) coef_interior: u32,
    pub(crate) first_tap: u32,
    pub(crate) last_tap: u32,
    pub(crate) _pad: u32,
}

#[cfg(test)]
impl WgslStruct for FusedAxis {
    const WGSL_NAME: &'static str = "FusedAxis";
    const FIELDS: &'static [Field] = fields!(FusedAxis {
        n: U32,
        n_m: U32,
        n_s: U32,
        inner: U32,
        inner_m: U32,
        inner_s: U32,
        lane_origin: U32,
        last: U32,
        coef_interior: U32,
        first_tap: U32,
        last_tap: U32,
        _pad: U32,
    });
}

impl FusedAxis {
    /// Sets the extent `n` and stride `inner` with their divisors.
    pub(crate) fn set_geometry(&mut self, n: u32, inner: u32) {
        let (nd, id) = (Divisor::new(n), Divisor::new(inner));
        (self.n, self.n_m, self.n_s) = (n, nd.m, nd.s);
        (self.inner, self.inner_m, self.inner_s) = (inner, id.m, id.s);
    }
}

/// The parameters of one fused dispatch: mirrors `struct Fused` in
/// `shaders/fused.wgsl` field for field (checked by `shader_tests`, from
/// [`WgslStruct::FIELDS`]); change both together. `k` holds
/// 114 `vec4<Real>` as raw words: 456 of them for f32, all 912 for f64
/// ([`FusedParams::set_constants`], [`FusedParams::set_rows`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct FusedParams {
    pub(crate) first: u32,
    pub(crate) count: u32,
    pub(crate) input_offset: u32,
    pub(crate) output_offset: u32,
    pub(crate) axis: [FusedAxis; FUSED_MAX_AXES],
    pub(crate) _pad2: [u32; 4],
    pub(crate) k: [u32; 8 * K_VEC4S],
}

#[cfg(test)]
impl WgslStruct for FusedParams {
    const WGSL_NAME: &'static str = "Fused";
    const FIELDS: &'static [Field] = fields!(FusedParams {
        first: U32,
        count: U32,
        input_offset: U32,
        output_offset: U32,
        axis: StructArray("FusedAxis", FUSED_MAX_AXES as u32),
        _pad2: Vec4U32,
        // `vec4<Real>`s held as raw words ([`FusedParams::set_constants`]).
        k: RealVec4Array(K_VEC4S as u32),
    });
}

impl Default for FusedParams {
    fn default() -> Self {
        bytemuck::Zeroable::zeroed()
    }
}

impl FusedParams {
    /// Writes axis `a`'s constants: `k[2a] = (first[0..3], two_h)`,
    /// `k[2a + 1] = (last[0..3], 0)`, each rounded once from f64 to `real`.
    pub(crate) fn set_constants(
        &mut self,
        real: Real,
        a: usize,
        first: [f64; 3],
        two_h: f64,
        last: [f64; 3],
    ) {
        let values = [
            first[0], first[1], first[2], two_h, last[0], last[1], last[2], 0.0,
        ];
        for (j, v) in values.into_iter().enumerate() {
            self.set_real(real, 8 * a + j, v);
        }
    }

    /// Writes the coefficient rows of axis `a`, a uniform axis of a form
    /// beyond numpy's (at most [`WIDE_ROWS`] of them, from
    /// [`super::wide::rows`]), from `k` element `4 · 16 + WIDE_ROWS · a`
    /// on, each rounded once from f64 to `real`.
    pub(crate) fn set_rows(&mut self, real: Real, a: usize, rows: &[f64]) {
        assert!(rows.len() <= WIDE_ROWS, "at most {WIDE_ROWS} coefficients");
        for (j, &v) in rows.iter().enumerate() {
            self.set_real(real, 4 * NUMPY_VEC4S + WIDE_ROWS * a + j, v);
        }
    }

    /// Element `slot` of `k` (as an array of `Real`), rounded once to `real`.
    fn set_real(&mut self, real: Real, slot: usize, v: f64) {
        match real {
            Real::F32 => self.k[slot] = (v as f32).to_bits(),
            Real::F64 => {
                let bits = v.to_bits();
                self.k[2 * slot] = bits as u32;
                self.k[2 * slot + 1] = (bits >> 32) as u32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisors_divide_every_index_below_two_to_the_31() {
        let mut divisors: Vec<u32> = (1..=4099).collect();
        for k in 1..31 {
            divisors.extend([(1u32 << k) - 1, 1 << k, (1 << k) + 1]);
        }
        divisors.extend([u32::MAX >> 1, 0x7fff_fffe, 1_000_003, 160 * 160, 512 * 512]);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for &d in &divisors {
            let div = Divisor::new(d);
            let mut xs = vec![
                0,
                1,
                d - 1,
                d,
                d.wrapping_add(1),
                (1 << 31) - 1,
                (1 << 31) - 2,
            ];
            xs.extend((1..40).map(|k| d.saturating_mul(k)));
            xs.extend((1..40).map(|k| d.saturating_mul(k).saturating_sub(1)));
            for _ in 0..200 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                xs.push((state >> 33) as u32);
            }
            for x in xs.into_iter().filter(|&x| x < 1 << 31) {
                assert_eq!(div.quotient(x), x / d, "{x} / {d} with {div:?}");
            }
        }
    }
}
