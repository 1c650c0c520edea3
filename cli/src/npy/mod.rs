//! Reading `.npy` files (numpy's `np.save` format, versions 1.0 to 3.0).
//!
//! Hand-written rather than taken from a crate so that every way a file can be
//! wrong (bad magic, malformed header, unsupported dtype, truncated data) gets
//! its own one-line message naming what was found, and so that the integer
//! types ndgrad has no input type for can be converted to `f64` as
//! `numpy.gradient` does. A corrupt file gives an
//! [`NpyError`], never a panic, and never a huge allocation: the size promised
//! by the header is checked against the file's length before any data is read.

mod dtype;
mod literal;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndgrad::f16;

pub use dtype::{Dtype, Scalar};
use literal::Literal;

/// The elements of a `.npy` file: in their own type when ndgrad takes it as
/// input (float16, float32, float64, uint8, uint16, int16, int32), converted
/// to `f64` otherwise (int8, uint32, int64, uint64), as `numpy.gradient`
/// converts every integer.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyArray {
    /// A `float16` file.
    F16(ArrayD<f16>),
    /// A `float32` file.
    F32(ArrayD<f32>),
    /// A `float64` file, or an integer file of a type ndgrad does not take,
    /// converted to `float64`.
    F64(ArrayD<f64>),
    /// A `uint8` file.
    U8(ArrayD<u8>),
    /// A `uint16` file.
    U16(ArrayD<u16>),
    /// An `int16` file.
    I16(ArrayD<i16>),
    /// An `int32` file.
    I32(ArrayD<i32>),
}

impl NpyArray {
    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            NpyArray::F16(a) => a.shape(),
            NpyArray::F32(a) => a.shape(),
            NpyArray::F64(a) => a.shape(),
            NpyArray::U8(a) => a.shape(),
            NpyArray::U16(a) => a.shape(),
            NpyArray::I16(a) => a.shape(),
            NpyArray::I32(a) => a.shape(),
        }
    }

    /// The array as `f64` (every element converts exactly).
    pub fn into_f64(self) -> ArrayD<f64> {
        match self {
            NpyArray::F16(a) => a.mapv(f64::from),
            NpyArray::F32(a) => a.mapv(f64::from),
            NpyArray::F64(a) => a,
            NpyArray::U8(a) => a.mapv(f64::from),
            NpyArray::U16(a) => a.mapv(f64::from),
            NpyArray::I16(a) => a.mapv(f64::from),
            NpyArray::I32(a) => a.mapv(f64::from),
        }
    }
}

/// A `.npy` file as read: its dtype and its elements.
#[derive(Debug, Clone, PartialEq)]
pub struct Npy {
    /// The dtype stored in the file.
    pub dtype: Dtype,
    /// The elements, in the file's shape and memory order.
    pub array: NpyArray,
}

/// Why a `.npy` file could not be read. Every message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NpyError {
    /// The operating system refused (missing file, permissions, ...).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file does not start with `\x93NUMPY`.
    #[error("not a .npy file: it does not start with numpy's magic string \\x93NUMPY")]
    BadMagic,
    /// A format version other than 1.0, 2.0 or 3.0.
    #[error(
        "unsupported .npy format version {major}.{minor} (versions 1.0, 2.0 and 3.0 are read)"
    )]
    Version {
        /// The major version byte.
        major: u8,
        /// The minor version byte.
        minor: u8,
    },
    /// The file ends before its header does.
    #[error("truncated file: it ends inside its {0}")]
    TruncatedHeader(&'static str),
    /// The header is not the dict numpy writes.
    #[error("malformed .npy header: {0}")]
    Header(String),
    /// A dtype ndgrad does not differentiate.
    #[error(
        "unsupported dtype {name} ('{descr}'): ndgrad reads float16, float32, float64 and integer arrays"
    )]
    Dtype {
        /// numpy's name for the dtype.
        name: String,
        /// The `descr` field as written in the header.
        descr: String,
    },
    /// The shape's byte size does not fit in memory addresses.
    #[error("the shape {shape} of {dtype} is too large to address")]
    TooLarge {
        /// The shape, as numpy prints it.
        shape: String,
        /// The dtype's name.
        dtype: &'static str,
    },
    /// Fewer data bytes than the header's shape and dtype promise.
    #[error(
        "truncated data: a {dtype} array of shape {shape} needs {expected} bytes, but only {found} follow the header"
    )]
    TruncatedData {
        /// The shape, as numpy prints it.
        shape: String,
        /// The dtype's name.
        dtype: &'static str,
        /// The bytes the shape needs.
        expected: u64,
        /// The bytes present.
        found: u64,
    },
}

/// The header fields numpy writes, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
struct Header {
    dtype: Dtype,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Reads a `.npy` file of `float16`, `float32`, `float64` or any integer
/// dtype (see [`NpyArray`] for which are converted to `float64`), in C or
/// Fortran order, of any shape.
///
/// # Errors
///
/// An [`NpyError`] for a file that cannot be opened, is not a `.npy` file, is
/// truncated, or holds another dtype.
pub fn read(path: &Path) -> Result<Npy, NpyError> {
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    // Only a regular file has a length to check the header against.
    let file_len = metadata.is_file().then_some(metadata.len());
    let mut reader = BufReader::new(file);
    let (header, header_len) = read_header(&mut reader)?;
    let array = read_data(
        &mut reader,
        &header,
        file_len.map(|n| n.saturating_sub(header_len)),
    )?;
    Ok(Npy {
        dtype: header.dtype,
        array,
    })
}

/// [`read`], then converts to `f64` whatever was stored (for coordinate arrays).
///
/// # Errors
///
/// As [`read`].
pub fn read_f64(path: &Path) -> Result<ArrayD<f64>, NpyError> {
    read(path).map(|npy| npy.array.into_f64())
}

/// Reads exactly `buf.len()` bytes, calling an early end a truncated `part`.
fn read_part(reader: &mut impl Read, buf: &mut [u8], part: &'static str) -> Result<(), NpyError> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => NpyError::TruncatedHeader(part),
        _ => NpyError::Io(e),
    })
}

/// Reads the preamble and header; returns them and their total length in bytes.
fn read_header(reader: &mut impl Read) -> Result<(Header, u64), NpyError> {
    let mut magic = [0u8; 6];
    reader.read_exact(&mut magic).map_err(|e| match e.kind() {
        // Too short to be a .npy file at all.
        io::ErrorKind::UnexpectedEof => NpyError::BadMagic,
        _ => NpyError::Io(e),
    })?;
    if &magic != b"\x93NUMPY" {
        return Err(NpyError::BadMagic);
    }
    let mut version = [0u8; 2];
    read_part(reader, &mut version, "preamble")?;
    let (len_bytes, utf8) = match version {
        [1, 0] => (2, false),
        [2, 0] => (4, false),
        [3, 0] => (4, true),
        [major, minor] => return Err(NpyError::Version { major, minor }),
    };
    let mut len = [0u8; 4];
    read_part(reader, &mut len[..len_bytes], "preamble")?;
    let text_len = u64::from(u32::from_le_bytes(len));
    // Read through `take` so a corrupt length cannot allocate gigabytes up front.
    let mut text = Vec::new();
    reader.take(text_len).read_to_end(&mut text)?;
    if (text.len() as u64) < text_len {
        return Err(NpyError::TruncatedHeader("header"));
    }
    let text = if utf8 {
        String::from_utf8(text)
            .map_err(|_| NpyError::Header("a version 3.0 header is not valid UTF-8".into()))?
    } else {
        // Versions 1.0 and 2.0 are latin-1: every byte is the code point of the same value.
        text.into_iter().map(char::from).collect()
    };
    let header = parse_header(&text)?;
    Ok((header, 6 + 2 + len_bytes as u64 + text_len))
}

/// Checks the header dict: exactly the keys `descr`, `fortran_order` and
/// `shape`, as numpy's own reader requires.
fn parse_header(text: &str) -> Result<Header, NpyError> {
    let bad = |message: String| NpyError::Header(message);
    let Literal::Dict(entries) = literal::parse(text).map_err(|e| bad(e.to_string()))? else {
        return Err(bad("the header is not a dict".into()));
    };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    for (key, value) in entries {
        let slot = match &key {
            Literal::Str(k) if k == "descr" => &mut descr,
            Literal::Str(k) if k == "fortran_order" => &mut fortran_order,
            Literal::Str(k) if k == "shape" => &mut shape,
            Literal::Str(k) => return Err(bad(format!("unexpected key {k:?}"))),
            other => return Err(bad(format!("a key is {}, not a string", other.kind()))),
        };
        if slot.replace(value).is_some() {
            return Err(bad("a key appears twice".into()));
        }
    }
    let missing = |key: &str| bad(format!("the key {key:?} is missing"));
    let descr = match descr.ok_or_else(|| missing("descr"))? {
        Literal::Str(descr) => descr,
        Literal::List(_) => {
            return Err(NpyError::Dtype {
                name: "structured".into(),
                descr: "[...]".into(),
            })
        }
        other => return Err(bad(format!("'descr' is {}, not a string", other.kind()))),
    };
    let dtype = dtype::parse(&descr).map_err(|name| NpyError::Dtype {
        name,
        descr: descr.clone(),
    })?;
    let fortran_order = match fortran_order.ok_or_else(|| missing("fortran_order"))? {
        Literal::Bool(b) => b,
        other => {
            return Err(bad(format!(
                "'fortran_order' is {}, not True or False",
                other.kind()
            )))
        }
    };
    let Literal::Tuple(dims) = shape.ok_or_else(|| missing("shape"))? else {
        return Err(bad("'shape' is not a tuple".into()));
    };
    let shape = dims
        .into_iter()
        .map(|dim| match dim {
            Literal::Int(n) => usize::try_from(n).map_err(|_| {
                bad(format!(
                    "'shape' has the extent {n}, which is not a valid length"
                ))
            }),
            other => Err(bad(format!(
                "'shape' holds {}, not an integer",
                other.kind()
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Header {
        dtype,
        fortran_order,
        shape,
    })
}

/// A shape as numpy prints it: `()`, `(5,)`, `(3, 4)`.
pub fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        dims => {
            let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// Reads the elements the header promises. `available` is the number of bytes
/// after the header when the file's length is known.
fn read_data(
    reader: &mut impl Read,
    header: &Header,
    available: Option<u64>,
) -> Result<NpyArray, NpyError> {
    let scalar = header.dtype.scalar;
    let too_large = || NpyError::TooLarge {
        shape: shape_text(&header.shape),
        dtype: scalar.name(),
    };
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .filter(|&count| count <= isize::MAX as usize / scalar.size())
        .ok_or_else(too_large)?;
    let expected = (count * scalar.size()) as u64;
    let truncated = |found: u64| NpyError::TruncatedData {
        shape: shape_text(&header.shape),
        dtype: scalar.name(),
        expected,
        found,
    };
    let capacity = match available {
        Some(found) if found < expected => return Err(truncated(found)),
        Some(_) => count,
        // A pipe's length is unknown: let the vector grow as data arrives.
        None => count.min(1 << 16),
    };
    let big = header.dtype.big_endian;
    let mut elements = Elements {
        reader,
        count,
        capacity,
    };
    // The integers ndgrad has no input type for are converted as numpy's
    // `astype(float64)` does: to the nearest double.
    let result = match scalar {
        Scalar::F16 => elements
            .decode(|b| {
                f16::from_bits(if big {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                })
            })
            .map(|v| shaped(header, v).map(NpyArray::F16)),
        Scalar::F32 => elements
            .decode(|b| {
                if big {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            })
            .map(|v| shaped(header, v).map(NpyArray::F32)),
        Scalar::F64 => elements
            .decode(|b| {
                if big {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }
            })
            .map(|v| shaped(header, v).map(NpyArray::F64)),
        Scalar::I8 => elements
            .decode(|b| f64::from(i8::from_le_bytes(b)))
            .map(|v| shaped(header, v).map(NpyArray::F64)),
        Scalar::U8 => elements
            .decode(u8::from_le_bytes)
            .map(|v| shaped(header, v).map(NpyArray::U8)),
        Scalar::I16 => elements
            .decode(|b| {
                if big {
                    i16::from_be_bytes(b)
                } else {
                    i16::from_le_bytes(b)
                }
            })
            .map(|v| shaped(header, v).map(NpyArray::I16)),
        Scalar::U16 => elements
            .decode(|b| {
                if big {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                }
            })
            .map(|v| shaped(header, v).map(NpyArray::U16)),
        Scalar::I32 => elements
            .decode(|b| {
                if big {
                    i32::from_be_bytes(b)
                } else {
                    i32::from_le_bytes(b)
                }
            })
            .map(|v| shaped(header, v).map(NpyArray::I32)),
        Scalar::U32 => elements
            .decode(|b| {
                f64::from(if big {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                })
            })
            .map(|v| shaped(header, v).map(NpyArray::F64)),
        Scalar::I64 => elements
            .decode(|b| {
                (if big {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                }) as f64
            })
            .map(|v| shaped(header, v).map(NpyArray::F64)),
        Scalar::U64 => elements
            .decode(|b| {
                (if big {
                    u64::from_be_bytes(b)
                } else {
                    u64::from_le_bytes(b)
                }) as f64
            })
            .map(|v| shaped(header, v).map(NpyArray::F64)),
    };
    match result {
        Ok(array) => array,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(truncated(e.bytes_read)),
        Err(e) => Err(NpyError::Io(e.error)),
    }
}

/// The data elements in the file's memory order, as an array of the header's shape.
fn shaped<T>(header: &Header, data: Vec<T>) -> Result<ArrayD<T>, NpyError> {
    let shape = IxDyn(&header.shape).set_f(header.fortran_order);
    ArrayD::from_shape_vec(shape, data).map_err(|e| NpyError::TooLarge {
        shape: format!("{} ({e})", shape_text(&header.shape)),
        dtype: header.dtype.scalar.name(),
    })
}

/// Elements per read: big enough to amortise the calls, small enough for the stack-free buffer.
const CHUNK: usize = 8192;

/// A run of `count` fixed-size elements to decode from a reader.
struct Elements<'r, R> {
    reader: &'r mut R,
    count: usize,
    capacity: usize,
}

/// An I/O error while reading data, with how many data bytes had been read.
struct DataError {
    error: io::Error,
    bytes_read: u64,
}

impl DataError {
    /// The kind of the underlying I/O error.
    fn kind(&self) -> io::ErrorKind {
        self.error.kind()
    }
}

impl<R: Read> Elements<'_, R> {
    /// Reads every element, decoding each `N`-byte group with `decode`.
    fn decode<const N: usize, T>(
        &mut self,
        decode: impl Fn([u8; N]) -> T,
    ) -> Result<Vec<T>, DataError> {
        let mut out = Vec::with_capacity(self.capacity);
        let mut buf = vec![0u8; N * CHUNK.min(self.count)];
        let mut left = self.count;
        while left > 0 {
            let k = left.min(CHUNK);
            let bytes = &mut buf[..k * N];
            let mut filled = 0;
            while filled < bytes.len() {
                match self.reader.read(&mut bytes[filled..]) {
                    Ok(0) => {
                        return Err(DataError {
                            error: io::ErrorKind::UnexpectedEof.into(),
                            bytes_read: ((self.count - left) * N + filled) as u64,
                        })
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => {
                        return Err(DataError {
                            error,
                            bytes_read: ((self.count - left) * N + filled) as u64,
                        })
                    }
                }
            }
            out.extend(bytes.chunks_exact(N).map(|group| {
                let mut element = [0u8; N];
                element.copy_from_slice(group);
                decode(element)
            }));
            left -= k;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_bytes(header: &str, data: &[u8]) -> Vec<u8> {
        let mut text = header.to_string();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn read_bytes(bytes: &[u8], available: bool) -> Result<NpyArray, NpyError> {
        let mut reader = bytes;
        let (header, len) = read_header(&mut reader)?;
        let available = available.then(|| bytes.len() as u64 - len);
        read_data(&mut reader, &header, available)
    }

    #[test]
    fn reads_big_endian_fortran_order_integers_in_their_own_type() {
        let data: Vec<u8> = [1i16, -2, 300, 4, 5, -6]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let bytes = npy_bytes(
            "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }",
            &data,
        );
        let expected = ndarray::Array::from_shape_vec((2, 3).f(), vec![1i16, -2, 300, 4, 5, -6])
            .unwrap()
            .into_dyn();
        for available in [true, false] {
            assert_eq!(
                read_bytes(&bytes, available).unwrap(),
                NpyArray::I16(expected.clone())
            );
        }
    }

    #[test]
    fn reports_truncated_data_with_and_without_a_known_length() {
        let bytes = npy_bytes(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            &[0u8; 20],
        );
        for available in [true, false] {
            let message = read_bytes(&bytes, available).unwrap_err().to_string();
            assert_eq!(
                message,
                "truncated data: a float64 array of shape (3,) needs 24 bytes, but only 20 follow the header"
            );
        }
    }

    #[test]
    fn refuses_bad_headers() {
        for (header, message) in [
            (
                "{'descr': '<f8', 'shape': (3,), }",
                "the key \"fortran_order\" is missing",
            ),
            (
                "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }",
                "not True or False",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
                "extent -3",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': [3], }",
                "not a tuple",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
                "unexpected key",
            ),
            ("[1, 2]", "not a dict"),
            (
                "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
                "structured",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                "too large",
            ),
        ] {
            let bytes = npy_bytes(header, &[0u8; 24]);
            let error = read_bytes(&bytes, true).unwrap_err().to_string();
            assert!(error.contains(message), "{header}: {error}");
        }
    }

    #[test]
    fn mutated_and_truncated_files_never_panic() {
        let data: Vec<u8> = (0..24u8).collect();
        let valid = npy_bytes(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            &data,
        );
        assert!(read_bytes(&valid, true).is_ok());
        // Every truncation, and every byte of the preamble and header replaced by
        // characters that matter to the parser.
        for cut in 0..valid.len() {
            assert!(read_bytes(&valid[..cut], true).is_err(), "cut at {cut}");
            let _ = read_bytes(&valid[..cut], false);
        }
        for at in 0..valid.len() - data.len() {
            for byte in [0u8, b'(', b')', b'\'', b',', b':', b'9', b'-', b'{', 0xff] {
                let mut bytes = valid.clone();
                bytes[at] = byte;
                let _ = read_bytes(&bytes, true);
                let _ = read_bytes(&bytes, false);
            }
        }
    }
}
