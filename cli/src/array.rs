//! An array of whichever element type a file holds, as the CLI passes it
//! from a reader to the library: the one place the list of input types the
//! CLI reads natively is written, so each file format's reader and
//! `ndgrad gradient` match on the same variants.

use ndarray::ArrayD;
use ndgrad::{f16, Complex, Input};

/// The elements of an array file, in their own type: ndgrad takes every
/// numpy float, complex and integer type as input and converts each sample
/// as it reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyArray {
    /// A `float16` file.
    F16(ArrayD<f16>),
    /// A `float32` file.
    F32(ArrayD<f32>),
    /// A `float64` file.
    F64(ArrayD<f64>),
    /// An `int8` file.
    I8(ArrayD<i8>),
    /// A `uint8` file.
    U8(ArrayD<u8>),
    /// A `uint16` file.
    U16(ArrayD<u16>),
    /// An `int16` file.
    I16(ArrayD<i16>),
    /// A `uint32` file.
    U32(ArrayD<u32>),
    /// An `int32` file.
    I32(ArrayD<i32>),
    /// An `int64` file (numpy's default integer).
    I64(ArrayD<i64>),
    /// A `uint64` file.
    U64(ArrayD<u64>),
    /// A `complex64` file.
    C64(ArrayD<Complex<f32>>),
    /// A `complex128` file.
    C128(ArrayD<Complex<f64>>),
}

/// Applies an expression to the array of whichever real [`AnyArray`]
/// variant, and `$complex` to a complex one.
macro_rules! each {
    ($array:expr, $a:ident => $body:expr, complex $c:ident => $complex:expr) => {
        match $array {
            AnyArray::C64($c) => $complex,
            AnyArray::C128($c) => $complex,
            other => each!(other, $a => $body),
        }
    };
    ($array:expr, $a:ident => $body:expr) => {
        match $array {
            AnyArray::F16($a) => $body,
            AnyArray::F32($a) => $body,
            AnyArray::F64($a) => $body,
            AnyArray::I8($a) => $body,
            AnyArray::U8($a) => $body,
            AnyArray::U16($a) => $body,
            AnyArray::I16($a) => $body,
            AnyArray::U32($a) => $body,
            AnyArray::I32($a) => $body,
            AnyArray::I64($a) => $body,
            AnyArray::U64($a) => $body,
            AnyArray::C64(_) | AnyArray::C128(_) => unreachable!("complex arrays are matched first"),
        }
    };
}

impl AnyArray {
    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        each!(self, a => a.shape(), complex c => c.shape())
    }

    /// numpy's name for the element type.
    pub fn dtype_name(&self) -> &'static str {
        use ndgrad::Scalar;
        fn name<T: Scalar>(_: &ArrayD<T>) -> &'static str {
            T::NUMPY_NAME
        }
        each!(self, a => name(a), complex c => name(c))
    }

    /// Whether numpy's gradient of this array has the array's own dtype,
    /// byte order included: true for floats and complex numbers, false for
    /// integers, whose gradient is `float64` in the machine's byte order.
    pub fn keeps_byte_order(&self) -> bool {
        matches!(
            self,
            AnyArray::F16(_)
                | AnyArray::F32(_)
                | AnyArray::F64(_)
                | AnyArray::C64(_)
                | AnyArray::C128(_)
        )
    }

    /// The array as `f64`, as numpy's `astype(float64)`: exact but for
    /// 64-bit integers beyond 2⁵³, rounded to nearest, ties to even. `None`
    /// for a complex array, which has no real value to give.
    pub fn into_f64(self) -> Option<ArrayD<f64>> {
        each!(self, a => Some(a.mapv(Input::to_f64)), complex _c => None)
    }
}

/// The byte order of a file's elements, which the outputs keep where numpy
/// keeps it (see [`AnyArray::keeps_byte_order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ByteOrder {
    /// Little-endian (`'<f8'`), and single bytes, which have no order.
    #[default]
    Little,
    /// Big-endian (`'>f8'`).
    Big,
}

/// A shape as numpy prints it: `()`, `(5,)`, `(3, 4)`.
pub fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let comma = if shape.len() == 1 { "," } else { "" };
    format!("({}{comma})", dims.join(", "))
}
