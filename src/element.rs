//! The element types: what an input may hold ([`Input`]) and what a
//! gradient is computed in ([`Element`]).

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

pub use half::f16;

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for i16 {}
    impl Sealed for i32 {}
    impl Sealed for super::f16 {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// How the CPU backend computes an output type. A `pub` trait in a
/// crate-private module, as `Sealed`: [`Element`] requires it, so the crate
/// can name `O::Compute` for any `O: Element`, but users cannot see it.
pub(crate) mod arithmetic {
    /// The arithmetic of an output type on the CPU.
    pub trait Arithmetic: Sized {
        /// The type derivatives (and the squares a magnitude sums) are
        /// computed in: `f32` for `f16`, the type itself for `f32` and `f64`.
        /// `f16` arithmetic would round after every operation and cannot be
        /// vectorised; computing in `f32` and rounding once is both faster
        /// and within one `f16` rounding of the `f64` reference.
        type Compute: super::Element;

        /// Rounds a computed value to this type (to nearest, ties to even).
        fn from_compute(v: Self::Compute) -> Self;

        /// The correctly rounded square root.
        fn sqrt(self) -> Self;
    }

    impl Arithmetic for super::f16 {
        type Compute = f32;
        fn from_compute(v: f32) -> Self {
            super::f16::from_f32(v)
        }
        fn sqrt(self) -> Self {
            super::f16::from_f32(f32::from(self).sqrt())
        }
    }

    impl Arithmetic for f32 {
        type Compute = f32;
        fn from_compute(v: f32) -> Self {
            v
        }
        fn sqrt(self) -> Self {
            f32::sqrt(self)
        }
    }

    impl Arithmetic for f64 {
        type Compute = f64;
        fn from_compute(v: f64) -> Self {
            v
        }
        fn sqrt(self) -> Self {
            f64::sqrt(self)
        }
    }
}

/// A floating-point type a gradient is computed in and returned as: `f16`,
/// `f32` or `f64` (numpy's `float16`, `float32` and `float64`). As an input,
/// numpy returns its own type for it.
pub trait Element:
    Input<NumpyOutput = Self>
    + arithmetic::Arithmetic
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
{
    /// Rounds an `f64` to this type (to nearest, ties to even).
    fn from_f64(v: f64) -> Self;
}

/// A type an input array may hold: the floats, and the compact integer types
/// that images (`u8`) and CT volumes (`u16`, `i16`) come in, and `i32`.
///
/// [`crate::gradient`] returns numpy's output type for it
/// ([`Input::NumpyOutput`]): the input's own type for floats, `f64` for
/// integers, as `numpy.gradient` does. [`crate::gradient_as`] picks another
/// (say `f32` for a `u16` volume, to halve the output).
pub trait Input: sealed::Sealed + bytemuck::Pod + Copy + Send + Sync + Debug + 'static {
    /// numpy's name for the type, e.g. `"uint16"` or `"float32"`.
    const NUMPY_NAME: &'static str;

    /// The type `numpy.gradient` returns for this input.
    type NumpyOutput: Element;

    /// Widens to `f64` (exact for every input type).
    fn to_f64(self) -> f64;
}

macro_rules! integer_input {
    ($($t:ty => $name:literal),*) => {$(
        impl Input for $t {
            const NUMPY_NAME: &'static str = $name;
            type NumpyOutput = f64;

            fn to_f64(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}

integer_input!(u8 => "uint8", u16 => "uint16", i16 => "int16", i32 => "int32");

impl Input for f16 {
    const NUMPY_NAME: &'static str = "float16";
    type NumpyOutput = f16;

    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Element for f16 {
    fn from_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
}

impl Input for f32 {
    const NUMPY_NAME: &'static str = "float32";
    type NumpyOutput = f32;

    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Element for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Input for f64 {
    const NUMPY_NAME: &'static str = "float64";
    type NumpyOutput = f64;

    fn to_f64(self) -> f64 {
        self
    }
}

impl Element for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// Converts one input sample to the compute or output type `O`: a plain copy
/// when `I` is `O`, otherwise exact for integers into `f32` up to 2²⁴ and
/// into `f64`, one rounding (to nearest) otherwise, as numpy's `astype`.
#[inline(always)]
pub(crate) fn convert<I: Input, O: Element>(x: I) -> O {
    if same_type::<I, O>() {
        // Same type, so same size: the cast cannot fail.
        bytemuck::cast(x)
    } else {
        O::from_f64(x.to_f64())
    }
}

/// `I` and `O` are the same type.
pub(crate) fn same_type<I: 'static, O: 'static>() -> bool {
    std::any::TypeId::of::<I>() == std::any::TypeId::of::<O>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_widen_exactly_and_follow_numpys_output_rule() {
        assert_eq!(u16::MAX.to_f64(), 65535.0);
        assert_eq!(i16::MIN.to_f64(), -32768.0);
        assert_eq!(i32::MIN.to_f64(), -2147483648.0);
        assert!(same_type::<<u8 as Input>::NumpyOutput, f64>());
        assert!(same_type::<<f16 as Input>::NumpyOutput, f16>());
        assert!(!same_type::<f32, f64>());
        assert_eq!(f16::from_f64(0.1).to_f64(), 0.0999755859375);
    }
}
