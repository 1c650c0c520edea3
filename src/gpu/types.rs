//! The element types as the kernels see them: the type results are stored
//! in ([`Stored`]), the type they are computed in ([`Real`]) and the type
//! the input is held in ([`InputKind`]). Each picks one prelude of
//! `shaders/`.
//!
//! Integer inputs reach `Real` through `shaders/int_f32.wgsl` or
//! `shaders/int_f64.wgsl`, as numpy's `astype` would convert them:
//!
//! * `f64` results (computed in `f64`): 8- to 32-bit integers are exact;
//!   an `i64` or `u64`, read as its (low, high) `u32` words, is exact up to
//!   2⁵³ in magnitude and beyond it rounded once to 53 bits, to nearest,
//!   ties to even.
//! * `f32` and `f16` results (computed in `f32`): 8- and 16-bit integers are
//!   exact; `i32`, `u32`, `i64` and `u64` are exact up to 2²⁴ in magnitude
//!   and beyond it rounded once to 24 bits, to nearest, ties to even. No
//!   64-bit type is needed, so this path runs without `SHADER_F64`. `f16`
//!   results are then rounded once more, from `f32`, as every `f16` result
//!   is.
//!
//! Both round by integer operations (the magnitude's top bits, a guard and
//! a sticky bit, the carry, then the sign), so that forming the float is
//! exact: WGSL has no 64-bit integers, and lets an inexact integer-to-float
//! conversion, or an inexact float operation, return either neighbour.

use crate::element::{f16, same_type, Element, Input};

/// The type a kernel computes in; picks the Real prelude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Real {
    F32,
    F64,
}

impl Real {
    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            Real::F32 => 4,
            Real::F64 => 8,
        }
    }
}

/// The type a kernel writes its results in; picks the output prelude and,
/// with it, the compute type: f16 results are computed in f32 and rounded
/// once (f16 arithmetic would lose three digits, and integer inputs above
/// 65,504 would overflow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Stored {
    F16,
    F32,
    F64,
}

impl Stored {
    /// The stored type of the element type `O`.
    pub(crate) fn of<O: Element>() -> Stored {
        if same_type::<O, f16>() {
            Stored::F16
        } else if same_type::<O, f32>() {
            Stored::F32
        } else {
            Stored::F64
        }
    }

    /// The type the kernel computes in.
    pub(crate) fn real(self) -> Real {
        match self {
            Stored::F16 | Stored::F32 => Real::F32,
            Stored::F64 => Real::F64,
        }
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            Stored::F16 => 2,
            Stored::F32 => 4,
            Stored::F64 => 8,
        }
    }
}

/// The element type of the input as the GPU holds it; picks the input
/// prelude. 8- and 16-bit types are packed into `u32` words (WGSL has no
/// narrower storage types) and unpacked by index in the shader; 64-bit
/// integers are read as pairs of `u32` words (WGSL has no 64-bit integers)
/// and converted by `shaders/int_f32.wgsl` or `shaders/int_f64.wgsl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum InputKind {
    I8,
    U8,
    U16,
    I16,
    U32,
    I32,
    I64,
    U64,
    F16,
    F32,
    F64,
}

impl InputKind {
    /// The kind of the input type `I`.
    pub(crate) fn of<I: Input>() -> InputKind {
        match I::NUMPY_NAME {
            "int8" => InputKind::I8,
            "uint8" => InputKind::U8,
            "uint16" => InputKind::U16,
            "int16" => InputKind::I16,
            "uint32" => InputKind::U32,
            "int32" => InputKind::I32,
            "int64" => InputKind::I64,
            "uint64" => InputKind::U64,
            "float16" => InputKind::F16,
            "float32" => InputKind::F32,
            "float64" => InputKind::F64,
            other => unreachable!("every Input has a kind; {other} has none"),
        }
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> u64 {
        match self {
            InputKind::I8 | InputKind::U8 => 1,
            InputKind::U16 | InputKind::I16 | InputKind::F16 => 2,
            InputKind::U32 | InputKind::I32 | InputKind::F32 => 4,
            InputKind::I64 | InputKind::U64 | InputKind::F64 => 8,
        }
    }

    /// Bytes of a buffer holding `len` elements: whole 4-byte words, since
    /// the shader reads packed inputs a word at a time.
    pub(crate) fn buffer_bytes(self, len: u64) -> u64 {
        (len * self.size()).next_multiple_of(4).max(4)
    }

    /// Every kind, for tests that visit them all.
    #[cfg(test)]
    pub(crate) const ALL: [InputKind; 11] = [
        InputKind::I8,
        InputKind::U8,
        InputKind::U16,
        InputKind::I16,
        InputKind::U32,
        InputKind::I32,
        InputKind::I64,
        InputKind::U64,
        InputKind::F16,
        InputKind::F32,
        InputKind::F64,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_inputs_fill_whole_words() {
        assert_eq!(InputKind::U8.buffer_bytes(5), 8);
        assert_eq!(InputKind::U16.buffer_bytes(3), 8);
        assert_eq!(InputKind::F16.buffer_bytes(4), 8);
        assert_eq!(InputKind::F64.buffer_bytes(3), 24);
        assert_eq!(InputKind::U8.buffer_bytes(0), 4);
        assert_eq!(InputKind::I8.buffer_bytes(5), 8);
        assert_eq!(InputKind::U64.buffer_bytes(3), 24);
    }

    #[test]
    fn every_input_type_has_its_own_kind() {
        assert_eq!(InputKind::of::<i8>(), InputKind::I8);
        assert_eq!(InputKind::of::<u32>(), InputKind::U32);
        assert_eq!(InputKind::of::<i64>(), InputKind::I64);
        assert_eq!(InputKind::of::<u64>(), InputKind::U64);
        assert_eq!(InputKind::of::<f64>(), InputKind::F64);
    }
}
