//! numpy array-protocol type strings (`'<f8'`, `'|u1'`, `'>i4'`): which ones
//! ndgrad reads, and a readable name for the ones it refuses.

/// An element type ndgrad reads from a `.npy` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// `float16`.
    F16,
    /// `float32`.
    F32,
    /// `float64`.
    F64,
    /// `int8`.
    I8,
    /// `int16`.
    I16,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `uint8`.
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `uint64`.
    U64,
}

impl Scalar {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::F16 | Scalar::I16 | Scalar::U16 => 2,
            Scalar::F32 | Scalar::I32 | Scalar::U32 => 4,
            Scalar::F64 | Scalar::I64 | Scalar::U64 => 8,
        }
    }

    /// numpy's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::F16 => "float16",
            Scalar::F32 => "float32",
            Scalar::F64 => "float64",
            Scalar::I8 => "int8",
            Scalar::I16 => "int16",
            Scalar::I32 => "int32",
            Scalar::I64 => "int64",
            Scalar::U8 => "uint8",
            Scalar::U16 => "uint16",
            Scalar::U32 => "uint32",
            Scalar::U64 => "uint64",
        }
    }
}

/// A supported dtype: the element type and its byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    /// The element type.
    pub scalar: Scalar,
    /// Whether elements are stored most significant byte first.
    pub big_endian: bool,
}

/// Reads a type string as numpy writes it in a header's `descr`.
///
/// # Errors
///
/// numpy's name for the type (`"bool"`, `"float16"`, `"complex128"`,
/// `"object"`, ...) when ndgrad does not read it, or a description of the
/// string when it is no dtype at all.
pub fn parse(descr: &str) -> Result<Dtype, String> {
    let (big_endian, code) = match descr.as_bytes().first() {
        Some(b'<') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        // '|' (byte order not applicable) and '=' (native).
        Some(b'|' | b'=') => (cfg!(target_endian = "big"), &descr[1..]),
        _ => (cfg!(target_endian = "big"), descr),
    };
    let scalar = match code {
        "f2" => Scalar::F16,
        "f4" => Scalar::F32,
        "f8" => Scalar::F64,
        "i1" => Scalar::I8,
        "i2" => Scalar::I16,
        "i4" => Scalar::I32,
        "i8" => Scalar::I64,
        "u1" => Scalar::U8,
        "u2" => Scalar::U16,
        "u4" => Scalar::U32,
        "u8" => Scalar::U64,
        other => return Err(unsupported_name(other)),
    };
    Ok(Dtype { scalar, big_endian })
}

/// numpy's name for a type code ndgrad does not read (the code without its
/// byte-order character).
fn unsupported_name(code: &str) -> String {
    let (kind, size) = code.split_at(
        code.find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(code.len()),
    );
    let bits = size.parse::<usize>().ok().map(|bytes| bytes * 8);
    let sized = |prefix: &str| match bits {
        Some(bits) => format!("{prefix}{bits}"),
        None => prefix.to_string(),
    };
    match kind {
        "b" => "bool".into(),
        "f" if bits == Some(16) => "float16".into(),
        "f" => sized("float"),
        "c" => sized("complex"),
        "O" => "object".into(),
        "U" => "str (unicode string)".into(),
        "S" | "a" => "bytes (byte string)".into(),
        "V" => "void (raw bytes)".into(),
        "M" => "datetime64".into(),
        "m" => "timedelta64".into(),
        _ => format!("unknown type code {code:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_floats_and_integers_in_both_byte_orders() {
        assert_eq!(
            parse("<f8"),
            Ok(Dtype {
                scalar: Scalar::F64,
                big_endian: false
            })
        );
        assert_eq!(
            parse(">i2"),
            Ok(Dtype {
                scalar: Scalar::I16,
                big_endian: true
            })
        );
        assert_eq!(parse("|u1").map(|d| d.scalar), Ok(Scalar::U8));
        assert_eq!(parse("<f2").map(|d| d.scalar), Ok(Scalar::F16));
    }

    #[test]
    fn names_refused_types_as_numpy_does() {
        assert_eq!(parse("|b1"), Err("bool".into()));
        assert_eq!(parse("<f16"), Err("float128".into()));
        assert_eq!(parse("<c16"), Err("complex128".into()));
        assert_eq!(parse("|O"), Err("object".into()));
        assert_eq!(parse("<U7"), Err("str (unicode string)".into()));
        assert_eq!(parse("<M8[ns]"), Err("datetime64".into()));
        assert_eq!(parse("<i3"), Err("unknown type code \"i3\"".into()));
        assert_eq!(parse("<q9"), Err("unknown type code \"q9\"".into()));
    }
}
