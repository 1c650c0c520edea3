//! Reading `.npy` files (numpy's `np.save` format, versions 1.0 to 3.0) through
//! ndarray-npy, the crate that also writes the CLI's `.npz` outputs.
//!
//! ndarray-npy parses the header and decodes elements in either byte order and
//! in C or Fortran order, but it reads a type named in advance and has no
//! `float16`. This thin layer exists for what the CLI needs beyond that:
//!
//! * the element type comes from the file's `descr`, and every numpy float,
//!   complex and integer type is read in its own type (`float16` as its bits);
//!   `bool` is refused with numpy's own reason;
//! * the size the header promises is checked against the file's length before
//!   anything is allocated, so a corrupt shape is an error, not an abort;
//! * one-line messages naming the problem, with numpy's name for a refused dtype;
//! * [`NpyFile::read_slab`]: a range of the slowest axis in memory (axis 0
//!   in C order, the last axis in Fortran order), read alone.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

pub use crate::array::shape_text;
use crate::array::{AnyArray, ByteOrder};
use ndarray_npy::npy::header::{Header, ParseHeaderError, ReadHeaderError};
use ndarray_npy::{ReadDataError, ReadableElement};
use ndgrad::{f16, Complex};
use py_literal::Value;

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
    /// The file is a zip archive: an `.npz` (what `numpy.savez` writes).
    #[error(
        ".npz input is not supported: ndgrad reads one array from a .npy file; save the array to differentiate with numpy.save (np.save('f.npy', np.load('IN.npz')['NAME']))"
    )]
    Npz,
    /// A format version (major, minor) other than 1.0, 2.0 or 3.0.
    #[error("unsupported .npy format version {0}.{1} (versions 1.0, 2.0 and 3.0 are read)")]
    Version(u8, u8),
    /// The file ends before its header does.
    #[error("truncated file: it ends inside its header")]
    TruncatedHeader,
    /// The header is not the dict numpy writes.
    #[error("malformed .npy header: {0}")]
    Header(String),
    /// The header's `shape` is not a tuple of non-negative integers that
    /// fit in a `usize`: the value as written, and the first item that is
    /// not one (if the value is a tuple).
    #[error(
        "malformed .npy header: the shape {0} is not a tuple of non-negative integers{why}",
        why = .1.as_ref().map_or(String::new(), |item| format!(" ({})", why_not_an_extent(item)))
    )]
    Shape(String, Option<String>),
    /// A header longer than any array needs: the length its preamble claims.
    #[error(
        "malformed .npy header: it claims to be {0} bytes long, more than any array's header needs (at most 1 MiB is read)"
    )]
    HeaderTooLong(u64),
    /// A dtype ndgrad does not read: numpy's name, and the header's `descr`.
    #[error(
        "unsupported dtype {0} ('{1}'): ndgrad reads float16, float32, float64, complex64, complex128 and integer arrays"
    )]
    Dtype(String, String),
    /// A `bool` file: the header's `descr`. numpy.gradient refuses boolean
    /// arrays too, and this is its reason.
    #[error(
        "unsupported dtype bool ('{0}'): numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the `^` operator, or the logical_xor function instead"
    )]
    Bool(String),
    /// Complex coordinates (their dtype): numpy silently drops the imaginary
    /// part of a complex spacing (numpy#18898); ndgrad refuses it.
    #[error(
        "{0} coordinates: a spacing must be real (numpy would silently drop the imaginary part, numpy#18898)"
    )]
    ComplexCoordinates(&'static str),
    /// The shape's byte size does not fit in memory addresses: shape, dtype.
    #[error("the shape {0} of {1} is too large to address")]
    TooLarge(String, &'static str),
    /// A pipe's data could not be held in memory: dtype, shape, bytes
    /// needed, bytes read before memory ran out.
    #[error(
        "a {0} array of shape {1} needs {2} bytes: more than can be held in memory (memory ran out after {3} bytes had been read)"
    )]
    OutOfMemory(&'static str, String, u64, u64),
    /// Fewer data bytes than the header promises: dtype, shape, bytes needed, bytes present.
    #[error(
        "truncated data: a {0} array of shape {1} needs {2} bytes, but only {3} follow the header"
    )]
    TruncatedData(&'static str, String, u64, u64),
    /// [`NpyFile::read_slab`] was asked for planes it cannot read, and why.
    #[error("cannot read planes {0:?} of the slowest axis: {1}")]
    Slab(Range<usize>, &'static str),
}

/// The longest header read: numpy writes a few hundred bytes, and refuses to
/// read more than 10000 by default.
const MAX_HEADER_LEN: u64 = 1 << 20;

/// Reads a dtype's elements into an [`AnyArray`].
type Decode = fn(Decoder<'_>) -> Result<AnyArray, NpyError>;

/// numpy's type codes that ndgrad reads: code, bytes per element, name, decoder.
/// Every type is read in its own type (the library converts each sample as
/// it reads it); `float16` is read as `uint16` bits.
const SCALARS: [(&str, usize, &str, Decode); 13] = [
    ("f2", 2, "float16", |d| {
        d.map(f16::from_bits).map(AnyArray::F16)
    }),
    ("f4", 4, "float32", |d| d.map(|v: f32| v).map(AnyArray::F32)),
    ("f8", 8, "float64", |d| d.map(|v: f64| v).map(AnyArray::F64)),
    ("i1", 1, "int8", |d| d.map(|v: i8| v).map(AnyArray::I8)),
    ("i2", 2, "int16", |d| d.map(|v: i16| v).map(AnyArray::I16)),
    ("i4", 4, "int32", |d| d.map(|v: i32| v).map(AnyArray::I32)),
    ("i8", 8, "int64", |d| d.map(|v: i64| v).map(AnyArray::I64)),
    ("u1", 1, "uint8", |d| d.map(|v: u8| v).map(AnyArray::U8)),
    ("u2", 2, "uint16", |d| d.map(|v: u16| v).map(AnyArray::U16)),
    ("u4", 4, "uint32", |d| d.map(|v: u32| v).map(AnyArray::U32)),
    ("u8", 8, "uint64", |d| d.map(|v: u64| v).map(AnyArray::U64)),
    ("c8", 8, "complex64", |d| {
        d.map(|v: Complex<f32>| v).map(AnyArray::C64)
    }),
    ("c16", 16, "complex128", |d| {
        d.map(|v: Complex<f64>| v).map(AnyArray::C128)
    }),
];

/// A dtype ndgrad reads: size, numpy name, the type string ndarray-npy
/// reads it as (`'<f8'`, `'>i2'`, `'|u1'`, `'<u2'` for `'<f2'`) and how.
#[derive(Debug, Clone)]
struct Dtype {
    size: usize,
    order: ByteOrder,
    name: &'static str,
    descr: Value,
    decode: Decode,
}

/// Reads a header's `descr`; refuses, by numpy's name, what ndgrad does not read.
fn parse_descr(value: &Value) -> Result<Dtype, NpyError> {
    let descr = match value {
        Value::String(descr) => descr,
        Value::List(_) => return Err(NpyError::Dtype("structured".into(), "[...]".into())),
        other => return Err(NpyError::Header(format!("'descr' is {other}"))),
    };
    let native = if cfg!(target_endian = "big") {
        '>'
    } else {
        '<'
    };
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<') => ('<', &descr[1..]),
        Some(b'>') => ('>', &descr[1..]),
        Some(b'|' | b'=') => (native, &descr[1..]),
        _ => (native, descr.as_str()),
    };
    let Some(&(code, size, name, decode)) = SCALARS.iter().find(|s| s.0 == code) else {
        if refused_name(code) == "bool" {
            return Err(NpyError::Bool(descr.clone()));
        }
        return Err(NpyError::Dtype(refused_name(code), descr.clone()));
    };
    let order = if size == 1 { '|' } else { order };
    let read_as = if code == "f2" { "u2" } else { code };
    let descr = Value::String(format!("{order}{read_as}"));
    Ok(Dtype {
        size,
        order: if order == '>' {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        },
        name,
        descr,
        decode,
    })
}

/// numpy's name for a type code ndgrad does not read (without byte order).
fn refused_name(code: &str) -> String {
    let split = code.find(|c: char| !c.is_ascii_alphabetic());
    let (kind, bytes) = code.split_at(split.unwrap_or(code.len()));
    let sized = |prefix: &str| match bytes.parse::<usize>() {
        Ok(bytes) => format!("{prefix}{}", bytes * 8),
        Err(_) => prefix.to_string(),
    };
    match kind {
        "b" => "bool".into(),
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

/// Reads a whole `.npy` file of any dtype of [`AnyArray`], either byte
/// order, C or Fortran order, any shape.
///
/// # Errors
///
/// As [`NpyFile::open`] and [`NpyFile::read`].
pub fn read(path: &Path) -> Result<AnyArray, NpyError> {
    NpyFile::open(path)?.read()
}

/// [`read`], then converts to `f64` whatever real type was stored (for
/// coordinate arrays).
///
/// # Errors
///
/// As [`read`], and [`NpyError::ComplexCoordinates`] for a complex file.
pub fn read_f64(path: &Path) -> Result<ArrayD<f64>, NpyError> {
    let array = read(path)?;
    let dtype = array.dtype_name();
    array.into_f64().ok_or(NpyError::ComplexCoordinates(dtype))
}

/// An open `.npy` file whose header has been read and whose size is checked.
#[derive(Debug)]
pub struct NpyFile {
    reader: BufReader<File>,
    dtype: Dtype,
    shape: Vec<usize>,
    fortran: bool,
    /// Where the data starts, and its length when the file is a regular one.
    data_start: u64,
    data_len: Option<u64>,
}

impl NpyFile {
    /// Opens `path` and reads its header.
    ///
    /// # Errors
    ///
    /// An [`NpyError`] for a file that cannot be opened, is not a `.npy` file,
    /// is shorter than its header promises, or holds another dtype.
    pub fn open(path: &Path) -> Result<Self, NpyError> {
        let file = File::open(path)?;
        let metadata = file.metadata()?;
        // Only a regular file has a length to check the header against.
        let file_len = metadata.is_file().then_some(metadata.len());
        let mut reader = BufReader::new(file);
        let start = reader.fill_buf()?;
        // A zip archive's local file header, or an empty archive's end record.
        if start.starts_with(b"PK\x03\x04") || start.starts_with(b"PK\x05\x06") {
            return Err(NpyError::Npz);
        }
        // ndarray-npy allocates the header length a 2.0 or 3.0 preamble claims (up to 4 GiB).
        if let [0x93, b'N', b'U', b'M', b'P', b'Y', 2 | 3, 0, a, b, c, d, ..] = start {
            let header_len = u64::from(u32::from_le_bytes([*a, *b, *c, *d]));
            if file_len.is_some_and(|len| 12 + header_len > len) {
                return Err(NpyError::TruncatedHeader);
            }
            if header_len > MAX_HEADER_LEN {
                return Err(NpyError::HeaderTooLong(header_len));
            }
        }
        let header = Header::from_reader(&mut reader).map_err(|e| header_error(e, file_len))?;
        let dtype = parse_descr(&header.type_descriptor)?;
        // ndarray's limit: the product of the non-zero extents fits in isize (here, in bytes).
        (header.shape.iter().filter(|&&n| n > 0))
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .filter(|&n| n <= isize::MAX as usize / dtype.size)
            .ok_or_else(|| NpyError::TooLarge(shape_text(&header.shape), dtype.name))?;
        // A pipe cannot tell its position (nor seek to it).
        let data_start = if file_len.is_some() {
            reader.stream_position()?
        } else {
            0
        };
        let file = Self {
            reader,
            dtype,
            fortran: header.layout.is_fortran() && !is_c_order_too(&header.shape),
            shape: header.shape,
            data_start,
            data_len: file_len.map(|len| len.saturating_sub(data_start)),
        };
        file.check_length(file.data_len)?;
        Ok(file)
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Bytes per element.
    pub fn element_size(&self) -> usize {
        self.dtype.size
    }

    /// numpy's name for the element type.
    pub fn dtype_name(&self) -> &'static str {
        self.dtype.name
    }

    /// Whether the data is in Fortran order and not also in C order (as a
    /// 1-d array, or one with at most one extent above 1, is in both).
    pub fn is_fortran(&self) -> bool {
        self.fortran
    }

    /// The axis whose planes lie one after another in the file, each
    /// contiguous: axis 0 in C order, the last axis in Fortran order.
    pub fn slab_axis(&self) -> usize {
        if self.fortran {
            self.shape.len() - 1
        } else {
            0
        }
    }

    /// Whether the file is a regular one, whose slabs can be read in any
    /// order (a pipe can be read only once, from start to end).
    pub fn is_seekable(&self) -> bool {
        self.data_len.is_some()
    }

    /// The data's byte size.
    fn expected(&self) -> u64 {
        (self.shape.iter().product::<usize>() * self.dtype.size) as u64
    }

    /// Fails unless `found` data bytes (when known) are as many as the shape needs.
    fn check_length(&self, found: Option<u64>) -> Result<(), NpyError> {
        match found {
            Some(found) if found < self.expected() => Err(NpyError::TruncatedData(
                self.dtype.name,
                shape_text(&self.shape),
                self.expected(),
                found,
            )),
            _ => Ok(()),
        }
    }

    /// The byte order the file stores its elements in.
    pub fn byte_order(&self) -> ByteOrder {
        self.dtype.order
    }

    /// Reads the whole array, in the file's memory order.
    ///
    /// # Errors
    ///
    /// An [`NpyError`] when the data is shorter than the shape needs.
    pub fn read(mut self) -> Result<AnyArray, NpyError> {
        if self.data_len.is_some() {
            return decode(&mut self.reader, &self.dtype, &self.shape, self.fortran);
        }
        // A pipe has no length to check up front: take what arrives, in
        // chunks each allocated only once the previous one is full, then check.
        let expected = self.expected();
        let out_of_memory =
            |read| NpyError::OutOfMemory(self.dtype.name, shape_text(&self.shape), expected, read);
        let (mut chunks, mut read) = (Vec::new(), 0u64);
        while read < expected {
            let want = (expected - read).min(PIPE_CHUNK);
            let mut chunk = Vec::new();
            chunk
                .try_reserve_exact(want as usize)
                .map_err(|_| out_of_memory(read))?;
            let got = (&mut self.reader).take(want).read_to_end(&mut chunk)? as u64;
            read += got;
            chunks.push(chunk);
            if got < want {
                break;
            }
        }
        self.check_length(Some(read))?;
        // The decoder allocates the whole array at once: make sure it can.
        Vec::<u8>::new()
            .try_reserve_exact(expected as usize)
            .map_err(|_| out_of_memory(read))?;
        let mut data = Chunks {
            chunks,
            next: 0,
            pos: 0,
        };
        decode(&mut data, &self.dtype, &self.shape, self.fortran)
    }

    /// Reads `planes` of the [slab axis](NpyFile::slab_axis) alone,
    /// seeking past the rest: an array of the file's shape with
    /// `planes.len()` as that axis's extent, in the file's memory order.
    ///
    /// # Errors
    ///
    /// [`NpyError::Slab`] for a 0-d array or planes out of range;
    /// [`NpyError::Io`] for a pipe.
    pub fn read_slab(&mut self, planes: Range<usize>) -> Result<AnyArray, NpyError> {
        if self.shape.is_empty() {
            return Err(NpyError::Slab(planes, "a 0-d array has no axis"));
        }
        let axis = self.slab_axis();
        if planes.start > planes.end || planes.end > self.shape[axis] {
            return Err(NpyError::Slab(planes, "out of range"));
        }
        let mut shape = self.shape.clone();
        shape[axis] = 1;
        let plane_bytes = shape.iter().product::<usize>() * self.dtype.size;
        let start = self.data_start + (planes.start * plane_bytes) as u64;
        self.reader.seek(SeekFrom::Start(start))?;
        shape[axis] = planes.len();
        decode(&mut self.reader, &self.dtype, &shape, self.fortran)
    }
}

/// Whether an array of `shape` in Fortran order is also in C order: when at
/// most one extent is above 1, or it has no elements. numpy then calls it
/// C-contiguous, and writes it, and its gradient, in C order.
fn is_c_order_too(shape: &[usize]) -> bool {
    shape.contains(&0) || shape.iter().filter(|&&m| m > 1).count() <= 1
}

/// The most bytes of a pipe read into one buffer: a header promising more
/// than the pipe holds allocates at most this much more than it delivers.
const PIPE_CHUNK: u64 = 64 << 20;

/// A reader over buffers read one after another, each freed once read.
struct Chunks {
    chunks: Vec<Vec<u8>>,
    /// The buffer being read, and the position in it.
    next: usize,
    pos: usize,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(chunk) = self.chunks.get_mut(self.next) {
            let rest = &chunk[self.pos..];
            if !rest.is_empty() {
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                self.pos += n;
                return Ok(n);
            }
            *chunk = Vec::new();
            (self.next, self.pos) = (self.next + 1, 0);
        }
        Ok(0)
    }
}

/// The one-line [`NpyError`] for a header ndarray-npy refused.
fn header_error(error: ReadHeaderError, file_len: Option<u64>) -> NpyError {
    use ParseHeaderError as P;
    let bad = |message: String| NpyError::Header(message);
    let error = match error {
        // Too short for the magic string is no .npy file at all.
        ReadHeaderError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return match file_len {
                Some(len) if len < 6 => NpyError::BadMagic,
                _ => NpyError::TruncatedHeader,
            };
        }
        ReadHeaderError::Io(e) => return NpyError::Io(e),
        ReadHeaderError::Parse(error) => error,
    };
    match error {
        P::MagicString => NpyError::BadMagic,
        P::Version { major, minor } => NpyError::Version(major, minor),
        // ndarray-npy's name for the missing key "shape".
        P::MissingKey(key) if key == "shaper" => bad("the key 'shape' is missing".into()),
        P::MissingKey(key) => bad(format!("the key '{key}' is missing")),
        P::UnknownKey(key) => bad(format!("unexpected key {key}")),
        P::IllegalValue { key, value } if key == "shape" => {
            // The first item that is not a usize: not an integer, negative, or too large.
            let item = match &value {
                Value::Tuple(items) => items
                    .iter()
                    .map(literal)
                    .find(|item| item.parse::<usize>().is_err()),
                _ => None,
            };
            NpyError::Shape(literal(&value), item)
        }
        P::IllegalValue { key, value } => bad(format!("'{key}' cannot be {value}")),
        P::MetaNotDict(_) => bad("the header is not a dict".into()),
        P::DictParse(_) => bad("the header is not a Python literal".into()),
        other => bad(other.to_string()),
    }
}

/// A header value as Python writes it (py_literal writes `2.5` as `2.5e0`).
fn literal(value: &Value) -> String {
    match value {
        Value::Float(f) => format!("{f:?}"),
        Value::Tuple(items) if items.len() == 1 => format!("({},)", literal(&items[0])),
        Value::Tuple(items) => {
            let items: Vec<String> = items.iter().map(literal).collect();
            format!("({})", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// Why a shape item (as written in the header) is not an extent.
fn why_not_an_extent(item: &str) -> String {
    let digits = item.strip_prefix('-').unwrap_or(item);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("{item} is not an integer")
    } else if item.starts_with('-') {
        format!("{item} is negative")
    } else {
        format!("{item} is too large")
    }
}

/// Decodes the elements of `shape` from `reader`, in C or Fortran order.
fn decode(
    reader: &mut dyn Read,
    dtype: &Dtype,
    shape: &[usize],
    fortran: bool,
) -> Result<AnyArray, NpyError> {
    let count = shape.iter().product::<usize>();
    (dtype.decode)(Decoder {
        reader: &mut reader.take((count * dtype.size) as u64),
        descr: &dtype.descr,
        count,
        shape: IxDyn(shape).set_f(fortran),
    })
}

/// `count` elements to read with ndarray-npy into an array of `shape`.
struct Decoder<'a> {
    reader: &'a mut dyn Read,
    descr: &'a Value,
    count: usize,
    shape: ndarray::Shape<IxDyn>,
}

impl Decoder<'_> {
    /// Reads the elements as `T` and maps each with `f` (in place when `U`
    /// has `T`'s layout).
    fn map<T: ReadableElement, U>(self, f: impl Fn(T) -> U) -> Result<ArrayD<U>, NpyError> {
        let data = T::read_to_end_exact_vec(self.reader, self.descr, self.count);
        let data = data.map_err(|e| match e {
            ReadDataError::Io(e) => NpyError::Io(e),
            e => NpyError::Io(io::Error::other(e.to_string())),
        })?;
        ArrayD::from_shape_vec(self.shape, data.into_iter().map(f).collect())
            .map_err(|e| NpyError::Io(io::Error::other(e)))
    }
}

#[cfg(test)]
mod tests;
