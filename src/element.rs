//! The element types: what an input may hold ([`Input`]) and what a
//! gradient is computed in ([`Element`]).

use std::fmt::Debug;

use ndarray::{Array, ArrayBase, Data, Dimension};
use std::ops::{Add, Div, Mul, Sub};

use crate::error::Result;
use crate::options::Backend;
use crate::plan::{Plan, Request};
use crate::Gradients;

pub use half::f16;

mod sealed {
    pub trait Sealed {}
    impl Sealed for i8 {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for i16 {}
    impl Sealed for u32 {}
    impl Sealed for i32 {}
    impl Sealed for i64 {}
    impl Sealed for u64 {}
    impl Sealed for super::f16 {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for num_complex::Complex<f32> {}
    impl Sealed for num_complex::Complex<f64> {}
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

    /// One input sample as numpy's `astype` to this type gives it: rounded
    /// once, to nearest, ties to even, from the input's own value (never
    /// through another float type first).
    fn from_input<I: Input>(x: I) -> Self;
}

/// A type an input array may hold: the floats, and every numpy integer type
/// but `bool`: `i8`, `u8`, `i16`, `u16`, `i32`, `u32`, `i64` (numpy's default
/// integer) and `u64`. Images come in `u8`, CT volumes in `u16` and `i16`.
///
/// [`crate::gradient`] returns numpy's output type for it
/// ([`Input::NumpyOutput`]): the input's own type for floats, `f64` for
/// integers, as `numpy.gradient` does. [`crate::gradient_as`] picks another
/// (say `f32` for a `u16` volume, to halve the output).
///
/// Every backend converts a sample as it reads it, never through a
/// converted copy of the array, and rounds it as numpy's `astype` to the
/// compute type does: once, to nearest, ties to even.
///
/// * `f64` results: every type up to 32 bits converts exactly; `i64` and
///   `u64` are exact up to 2⁵³ in magnitude and beyond it rounded once
///   (2⁵³ + 1 → 2⁵³, `i64::MAX` → 2⁶³, `u64::MAX` → 2⁶⁴; `i64::MIN` is
///   exact), as numpy's `astype(float64)`.
/// * `f32` results (and `f16` results, which are computed in `f32`): the
///   8- and 16-bit types are exact; `i32`, `u32`, `i64` and `u64` are exact
///   up to 2²⁴ in magnitude and beyond it rounded once from the integer
///   itself, as numpy's `astype(float32)` (not through `f64`, whose own
///   rounding would make a second, different one for some 64-bit values).
///
/// `bool` is not an input, as `numpy.gradient` refuses boolean arrays
/// ("numpy boolean subtract, the `-` operator, is not supported, use the
/// bitwise_xor, the `^` operator, or the logical_xor function instead"):
///
/// ```compile_fail
/// let mask = ndarray::array![true, false, true];
/// let _ = ndgrad::gradient(&mask, &ndgrad::GradientOptions::new());
/// ```
///
/// while the same call on numpy's default integer compiles and runs:
///
/// ```
/// let counts = ndarray::array![1i64, 4, 9];
/// let opts = ndgrad::GradientOptions::new().backend(ndgrad::Backend::Cpu);
/// let g = ndgrad::gradient(&counts, &opts).unwrap();
/// assert_eq!(g[0], ndarray::array![3.0, 4.0, 5.0]);
/// ```
pub trait Input:
    Scalar<Gradient = <Self as Input>::NumpyOutput, Magnitude = <Self as Input>::NumpyOutput> + Copy
{
    /// The type `numpy.gradient` returns for this input.
    type NumpyOutput: Element;

    /// Converts to `f64` as numpy's `astype(float64)`: exact for every type
    /// but `i64` and `u64` beyond 2⁵³, which round once to nearest, ties to
    /// even.
    fn to_f64(self) -> f64;

    /// Converts to `f32` as numpy's `astype(float32)`: one rounding to
    /// nearest, ties to even, from this value itself.
    fn to_f32(self) -> f32;
}

/// Any element [`crate::gradient`] and [`crate::gradient_magnitude`] accept:
/// every [`Input`] (the real numpy types but `bool`) and the complex types
/// `Complex<f32>` and `Complex<f64>` (numpy's `complex64` and `complex128`,
/// as rust-numpy maps them).
///
/// The gradient has numpy's output type ([`Scalar::Gradient`]): an
/// integer's is `f64`, a float's and a complex number's is its own. The
/// magnitude `sqrt(Σₖ |∂f/∂xₖ|²)` is real ([`Scalar::Magnitude`]): a complex
/// input's is its real part's type.
///
/// ```
/// use ndarray::array;
/// use ndgrad::{gradient, gradient_magnitude, Complex, GradientOptions};
///
/// // numpy.gradient(np.array([0, 1+2j, 4+4j]))
/// let z = array![Complex::new(0.0, 0.0), Complex::new(1.0, 2.0), Complex::new(4.0, 4.0)];
/// let g = gradient(&z, &GradientOptions::new())?;
/// assert_eq!(g[0], array![Complex::new(1.0, 2.0), Complex::new(2.0, 2.0), Complex::new(3.0, 2.0)]);
/// // |∂z/∂x| is real: |1 + 2i| = √5.
/// let m = gradient_magnitude(&z, &GradientOptions::new())?;
/// assert_eq!(m[0], 5f64.sqrt());
/// # Ok::<(), ndgrad::Error>(())
/// ```
pub trait Scalar: sealed::Sealed + bytemuck::Pod + Send + Sync + Debug + 'static {
    /// numpy's name for the type, e.g. `"uint16"`, `"float32"` or `"complex64"`.
    const NUMPY_NAME: &'static str;

    /// The type `numpy.gradient` returns for this input: [`Input::NumpyOutput`]
    /// for a real type, the type itself for a complex one.
    type Gradient: bytemuck::Pod + Send + Sync + Debug + 'static;

    /// The type of the magnitude: the gradient's type for a real input, the
    /// real part's type for a complex one.
    type Magnitude: Element;

    /// Not part of the API: how [`crate::gradient_with_backend`] runs for
    /// this type (the real machinery, or its complex adapter).
    #[doc(hidden)]
    fn gradients<S, D>(
        f: &ArrayBase<S, D>,
        plan: &Plan,
        backend: Backend,
    ) -> Result<Gradients<Self::Gradient, D>>
    where
        S: Data<Elem = Self>,
        D: Dimension;

    /// Not part of the API: how [`crate::gradient_magnitude`] runs for this type.
    #[doc(hidden)]
    fn magnitude<S, D>(
        f: &ArrayBase<S, D>,
        plan: &Plan,
        backend: Backend,
    ) -> Result<Array<Self::Magnitude, D>>
    where
        S: Data<Elem = Self>,
        D: Dimension;
}

/// [`Scalar`] for a real type: numpy's output type, through the real
/// machinery of every backend.
macro_rules! real_scalar {
    ($t:ty => $name:literal) => {
        impl Scalar for $t {
            const NUMPY_NAME: &'static str = $name;
            type Gradient = <$t as Input>::NumpyOutput;
            type Magnitude = <$t as Input>::NumpyOutput;

            fn gradients<S, D>(
                f: &ArrayBase<S, D>,
                plan: &Plan,
                backend: Backend,
            ) -> Result<Gradients<Self::Gradient, D>>
            where
                S: Data<Elem = Self>,
                D: Dimension,
            {
                crate::compute_planned(f, plan, backend, Request::Components)
            }

            fn magnitude<S, D>(
                f: &ArrayBase<S, D>,
                plan: &Plan,
                backend: Backend,
            ) -> Result<Array<Self::Magnitude, D>>
            where
                S: Data<Elem = Self>,
                D: Dimension,
            {
                let mut g = crate::compute_planned(f, plan, backend, Request::Magnitude)?;
                Ok(g.arrays
                    .pop()
                    .expect("a magnitude request returns one array"))
            }
        }
    };
}

macro_rules! integer_input {
    ($($t:ty => $name:literal),*) => {$(
        real_scalar!($t => $name);

        impl Input for $t {
            type NumpyOutput = f64;

            fn to_f64(self) -> f64 {
                // Rust's integer-to-float `as` rounds to nearest, ties to
                // even: C's conversion, which numpy's astype uses.
                self as f64
            }

            fn to_f32(self) -> f32 {
                self as f32
            }
        }
    )*};
}

integer_input!(
    i8 => "int8",
    u8 => "uint8",
    i16 => "int16",
    u16 => "uint16",
    i32 => "int32",
    u32 => "uint32",
    i64 => "int64",
    u64 => "uint64"
);

real_scalar!(f16 => "float16");

impl Input for f16 {
    type NumpyOutput = f16;

    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}

impl Element for f16 {
    fn from_f64(v: f64) -> Self {
        f16::from_f64(v)
    }

    fn from_input<I: Input>(x: I) -> Self {
        // Exact to f64 for every type within f16's range (integers beyond
        // 2⁵³ overflow f16 either way), then rounded once.
        f16::from_f64(x.to_f64())
    }
}

real_scalar!(f32 => "float32");

impl Input for f32 {
    type NumpyOutput = f32;

    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn to_f32(self) -> f32 {
        self
    }
}

impl Element for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }

    fn from_input<I: Input>(x: I) -> Self {
        x.to_f32()
    }
}

real_scalar!(f64 => "float64");

impl Input for f64 {
    type NumpyOutput = f64;

    fn to_f64(self) -> f64 {
        self
    }

    fn to_f32(self) -> f32 {
        self as f32
    }
}

impl Element for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }

    fn from_input<I: Input>(x: I) -> Self {
        x.to_f64()
    }
}

/// Converts one input sample to the compute or output type `O`: a plain copy
/// when `I` is `O`, otherwise [`Element::from_input`]: exact where `O` holds
/// the value, one rounding (to nearest, ties to even) from the sample itself
/// otherwise, as numpy's `astype`.
#[inline(always)]
pub(crate) fn convert<I: Input, O: Element>(x: I) -> O {
    if same_type::<I, O>() {
        // Same type, so same size: the cast cannot fail.
        bytemuck::cast(x)
    } else {
        O::from_input(x)
    }
}

/// `I` and `O` are the same type.
pub(crate) fn same_type<I: 'static, O: 'static>() -> bool {
    std::any::TypeId::of::<I>() == std::any::TypeId::of::<O>()
}

/// Runs `run` on the elements of `f` as one C-ordered slice: `f`'s own
/// memory when it is in standard layout, otherwise a C-ordered copy. Only
/// the reference backend, which stays simple, uses it; the CPU and GPU read
/// strided inputs without a whole-array copy.
pub(crate) fn with_c_order<T, S, D, R>(f: &ArrayBase<S, D>, run: impl FnOnce(&[T]) -> R) -> R
where
    T: Clone,
    S: Data<Elem = T>,
    D: Dimension,
{
    let data = f.as_standard_layout();
    run(data
        .as_slice()
        .expect("an array in standard layout is contiguous"))
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
        assert!(same_type::<<i64 as Input>::NumpyOutput, f64>());
        assert!(same_type::<<u64 as Input>::NumpyOutput, f64>());
        assert_eq!(i8::MIN.to_f64(), -128.0);
        assert_eq!(u32::MAX.to_f64(), 4294967295.0);
    }

    /// numpy's astype(float64) of 64-bit integers (C's conversion): exact up
    /// to 2⁵³, rounded once to nearest, ties to even, beyond.
    #[test]
    fn wide_integers_round_to_f64_as_numpy() {
        let p53 = 1i64 << 53;
        for (v, want) in [
            (p53, 9007199254740992.0),
            (p53 + 1, 9007199254740992.0),
            (p53 + 2, 9007199254740994.0),
            (p53 + 3, 9007199254740996.0),
            (-(p53 + 1), -9007199254740992.0),
            (-(p53 + 3), -9007199254740996.0),
            (i64::MAX, 9223372036854775808.0),
            (i64::MIN, -9223372036854775808.0),
            (i64::MIN + 1, -9223372036854775808.0),
        ] {
            assert_eq!(v.to_f64(), want, "{v}");
            assert_eq!(convert::<i64, f64>(v), want, "{v}");
        }
        assert_eq!(u64::MAX.to_f64(), 18446744073709551616.0);
        assert_eq!(((1u64 << 53) + 1).to_f64(), 9007199254740992.0);
        assert_eq!(convert::<u64, f64>(u64::MAX), 18446744073709551616.0);
    }

    /// numpy's astype(float32): one rounding from the integer itself, which
    /// differs from rounding to f64 first for values whose f64 rounding
    /// lands exactly halfway between two f32 values.
    #[test]
    fn integers_round_to_f32_once_as_numpy() {
        // 2⁶⁰ + 2³⁶ + 1: just above the midpoint of 2⁶⁰ and 2⁶⁰ + 2³⁷, so
        // numpy rounds it up; through f64 it becomes the midpoint itself
        // (the +1 is lost) and then rounds to even, down to 2⁶⁰.
        let v: i64 = (1 << 60) + (1 << 36) + 1;
        let once = 1152921642045800448.0f32; // 2⁶⁰ + 2³⁷
        assert_eq!(v.to_f32(), once);
        assert_eq!(convert::<i64, f32>(v), once);
        assert_eq!((v as f64) as f32, 1152921504606846976.0f32); // 2⁶⁰
        assert_eq!(convert::<i64, f32>(-v), -once);
        assert_eq!(convert::<u64, f32>(v as u64), once);
        assert_eq!(convert::<u64, f32>(u64::MAX), 18446744073709551616.0f32);
        assert_eq!(convert::<i64, f32>(i64::MAX), 9223372036854775808.0f32);
        assert_eq!(convert::<i64, f32>(i64::MIN), -9223372036854775808.0f32);
        // 32-bit values above 2²⁴ (f64 is exact for them, so both agree).
        assert_eq!(convert::<u32, f32>((1 << 24) + 1), 16777216.0);
        assert_eq!(convert::<u32, f32>((1 << 24) + 3), 16777220.0);
        assert_eq!(convert::<u32, f32>(u32::MAX), 4294967296.0);
        assert_eq!(convert::<i32, f32>(-(1 << 24) - 1), -16777216.0);
        assert_eq!(convert::<i8, f32>(-128), -128.0);
        assert_eq!(convert::<i64, f16>(70000), f16::INFINITY);
        assert_eq!(convert::<u64, f16>(2049), f16::from_f64(2048.0));
    }
}
