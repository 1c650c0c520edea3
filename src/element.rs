//! The element types a gradient can be computed in.

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type: `f32` or `f64` (numpy's `float32` and
/// `float64`). Outputs have the input's element type, as in numpy.
pub trait Element:
    bytemuck::Pod
    + sealed::Sealed
    + Copy
    + Send
    + Sync
    + Debug
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + 'static
{
    /// numpy's name for the type: `"float32"` or `"float64"`.
    const NUMPY_NAME: &'static str;

    /// Widens to `f64` (exact).
    fn to_f64(self) -> f64;

    /// Rounds an `f64` to this type (to nearest, ties to even).
    fn from_f64(v: f64) -> Self;
}

impl Element for f32 {
    const NUMPY_NAME: &'static str = "float32";

    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Element for f64 {
    const NUMPY_NAME: &'static str = "float64";

    fn to_f64(self) -> f64 {
        self
    }

    fn from_f64(v: f64) -> Self {
        v
    }
}
