//! Writing `.npz` files atomically: the archive is written to a temporary file
//! beside the output and renamed over it only once complete, so a failure at
//! any point leaves no output (and no half-written one) behind.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::{NpzWriter, WritableElement, WriteDataError, WriteNpzError};
use ndgrad::{f16, Complex};

pub use crate::array::ByteOrder;
use crate::cleanup::{self, Tracked};

/// An output element type, and what it is stored as in a `.npz`.
pub trait NpzElement: ndgrad::Element {
    /// The type ndarray-npy writes.
    type Stored: SwapBytes;
    /// `array` in the stored type (the same values).
    fn stored(array: ArrayD<Self>) -> ArrayD<Self::Stored>;
}

impl NpzElement for f32 {
    type Stored = f32;
    fn stored(array: ArrayD<f32>) -> ArrayD<f32> {
        array
    }
}

impl NpzElement for f64 {
    type Stored = f64;
    fn stored(array: ArrayD<f64>) -> ArrayD<f64> {
        array
    }
}

impl NpzElement for f16 {
    type Stored = NpyF16;
    fn stored(array: ArrayD<f16>) -> ArrayD<NpyF16> {
        array.mapv(NpyF16)
    }
}

/// A `float16` as ndarray-npy writes it (it has no `float16` of its own):
/// numpy's `'<f2'`, two little-endian bytes.
#[derive(Debug, Clone, Copy)]
pub struct NpyF16(pub f16);

impl WritableElement for NpyF16 {
    fn type_descriptor() -> py_literal::Value {
        py_literal::Value::String("<f2".into())
    }

    fn write<W: Write>(&self, mut writer: W) -> Result<(), WriteDataError> {
        writer.write_all(&self.0.to_bits().to_le_bytes())?;
        Ok(())
    }

    fn write_slice<W: Write>(slice: &[Self], mut writer: W) -> Result<(), WriteDataError> {
        let bytes: Vec<u8> = slice
            .iter()
            .flat_map(|v| v.0.to_bits().to_le_bytes())
            .collect();
        writer.write_all(&bytes)?;
        Ok(())
    }
}

/// The writer of the archive being built.
type Archive<'f> = NpzWriter<BufWriter<&'f std::fs::File>>;

/// An array the `.npz` writer can store, whatever its element type: a
/// complex gradient and its real magnitude go into one archive.
pub trait NpzArray {
    /// Adds the array to `npz` under `name`, its elements in `order`.
    fn add_to(
        &self,
        name: &str,
        order: ByteOrder,
        npz: &mut Archive<'_>,
    ) -> Result<(), WriteNpzError>;
}

impl<T: SwapBytes> NpzArray for ArrayD<T> {
    fn add_to(
        &self,
        name: &str,
        order: ByteOrder,
        npz: &mut Archive<'_>,
    ) -> Result<(), WriteNpzError> {
        match order {
            ByteOrder::Little => npz.add_array(name, self),
            // A copy, one array at a time: big-endian outputs are rare.
            ByteOrder::Big => npz.add_array(name, &self.mapv(BigEndian)),
        }
    }
}

/// An element type that can also be stored big-endian (`'>f4'`, ...), as
/// numpy keeps a big-endian input's byte order in its gradient.
pub trait SwapBytes: WritableElement + Copy {
    /// numpy's big-endian type descriptor.
    const BIG_ENDIAN: &'static str;
    /// Appends the element's bytes, big-endian, to `out`.
    fn extend_big_endian(&self, out: &mut Vec<u8>);
}

impl SwapBytes for f32 {
    const BIG_ENDIAN: &'static str = ">f4";
    fn extend_big_endian(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl SwapBytes for f64 {
    const BIG_ENDIAN: &'static str = ">f8";
    fn extend_big_endian(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl SwapBytes for NpyF16 {
    const BIG_ENDIAN: &'static str = ">f2";
    fn extend_big_endian(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_bits().to_be_bytes());
    }
}

impl SwapBytes for Complex<f32> {
    const BIG_ENDIAN: &'static str = ">c8";
    fn extend_big_endian(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.re.to_be_bytes());
        out.extend_from_slice(&self.im.to_be_bytes());
    }
}

impl SwapBytes for Complex<f64> {
    const BIG_ENDIAN: &'static str = ">c16";
    fn extend_big_endian(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.re.to_be_bytes());
        out.extend_from_slice(&self.im.to_be_bytes());
    }
}

/// An element written big-endian.
#[derive(Debug, Clone, Copy)]
pub struct BigEndian<T>(pub T);

impl<T: SwapBytes> WritableElement for BigEndian<T> {
    fn type_descriptor() -> py_literal::Value {
        py_literal::Value::String(T::BIG_ENDIAN.into())
    }

    fn write<W: Write>(&self, mut writer: W) -> Result<(), WriteDataError> {
        let mut bytes = Vec::with_capacity(16);
        self.0.extend_big_endian(&mut bytes);
        writer.write_all(&bytes)?;
        Ok(())
    }

    fn write_slice<W: Write>(slice: &[Self], mut writer: W) -> Result<(), WriteDataError> {
        // A bounded buffer, whatever the slice's length.
        let mut bytes = Vec::new();
        for chunk in slice.chunks(1 << 16) {
            bytes.clear();
            chunk.iter().for_each(|v| v.0.extend_big_endian(&mut bytes));
            writer.write_all(&bytes)?;
        }
        Ok(())
    }
}

/// Why the output could not be written. The message is one line and names the path.
#[derive(Debug, thiserror::Error)]
#[error("cannot write output {path:?}: {reason}")]
pub struct WriteError {
    /// The output path.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// The directory `path` will be created in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Checks, before any work is done, that `path` can be created: its directory
/// exists and `path` is not itself a directory.
///
/// # Errors
///
/// A [`WriteError`] saying which of the two is not so: the directory is
/// missing, or is a file, or `path` is a directory.
pub fn check_destination(path: &Path) -> Result<(), WriteError> {
    let fail = |reason: &str| WriteError {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    check_parent(path)?;
    if path.is_dir() {
        return Err(fail("it is a directory"));
    }
    Ok(())
}

/// Fails unless the directory `path` would be written in exists (a zarr
/// output, a directory itself, shares this check).
///
/// # Errors
///
/// A [`WriteError`] naming a missing directory, or a parent that is a file.
pub fn check_parent(path: &Path) -> Result<(), WriteError> {
    let parent = parent_dir(path);
    if parent.is_dir() {
        return Ok(());
    }
    Err(WriteError {
        path: path.to_path_buf(),
        reason: if parent.exists() {
            format!("{parent:?} is not a directory")
        } else {
            "its directory does not exist".into()
        },
    })
}

/// Writes `arrays` into an uncompressed `.npz` at `path` (what `numpy.savez`
/// writes), each under its name (`np.load(path)[name]`), replacing any file
/// already there.
///
/// # Errors
///
/// As [`write_atomically_in`].
#[allow(dead_code, reason = "the little-endian form of write_atomically_in")]
pub fn write_atomically(path: &Path, arrays: &[(String, &dyn NpzArray)]) -> Result<(), WriteError> {
    write_atomically_in(path, arrays, ByteOrder::Little)
}

/// A temporary file beside the output, registered for removal on a signal.
/// Its fields drop in order: the file is deleted before it is unregistered.
struct Temporary {
    file: tempfile::NamedTempFile,
    _tracked: Tracked,
}

/// [`write_atomically`], the elements in `order`.
///
/// # Errors
///
/// A [`WriteError`] when the temporary file cannot be created or written, or
/// cannot be renamed to `path`; the temporary file is removed in every case,
/// also when SIGINT, SIGTERM or SIGHUP ends the process (see [`cleanup`]).
pub fn write_atomically_in(
    path: &Path,
    arrays: &[(String, &dyn NpzArray)],
    order: ByteOrder,
) -> Result<(), WriteError> {
    let fail = |reason: String| WriteError {
        path: path.to_path_buf(),
        reason,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ndgrad-").suffix(".npz.tmp");
    // Let the umask decide, as for any new file (tempfile's default is owner-only).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    // Dropping `temp` on any early return deletes the temporary file.
    let (file, tracked) = cleanup::track_new(|| {
        let file = builder.tempfile_in(parent_dir(path))?;
        let temp_path = file.path().to_path_buf();
        Ok::<_, std::io::Error>((file, temp_path))
    })
    .map_err(|e| fail(format!("cannot create a temporary file beside it: {e}")))?;
    let temp = Temporary {
        file,
        _tracked: tracked,
    };
    let mut npz = NpzWriter::new(BufWriter::new(temp.file.as_file()));
    for (name, array) in arrays {
        array
            .add_to(name, order, &mut npz)
            .map_err(|e| fail(e.to_string()))?;
    }
    npz.finish()
        .map_err(|e| fail(e.to_string()))?
        .flush()
        .map_err(|e| fail(e.to_string()))?;
    temp.file
        .as_file()
        .sync_all()
        .map_err(|e| fail(e.to_string()))?;
    temp.file
        .persist(path)
        .map_err(|e| fail(e.error.to_string()))?;
    Ok(())
}

/// A `.npz` written one array after another, each array's data streamed in
/// C order as it is computed: what `numpy.savez` writes (stored entries, no
/// compression), at any size. An entry whose `.npy` data passes 4 GiB is
/// written with ZIP64 sizes, as numpy's `savez` does for large arrays.
///
/// The archive is built in a temporary file beside the output and renamed
/// over it by [`StreamedNpz::finish`]; dropped unfinished, it leaves nothing.
pub struct StreamedNpz {
    path: PathBuf,
    temp: crate::stream::Temporary<tempfile::NamedTempFile>,
    zip: zip::ZipWriter<BufWriter<std::fs::File>>,
}

impl StreamedNpz {
    /// Starts an archive that will replace `path`.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when the temporary file cannot be created.
    pub fn create(path: &Path) -> Result<Self, WriteError> {
        let fail = |reason: String| WriteError {
            path: path.to_path_buf(),
            reason,
        };
        let temp = crate::stream::temporary_file(path)
            .map_err(|e| fail(format!("cannot create a temporary file beside it: {e}")))?;
        let file = (temp.value.as_file().try_clone()).map_err(|e| fail(e.to_string()))?;
        let writer = BufWriter::with_capacity(crate::stream::WRITE_BUFFER, file);
        Ok(Self {
            path: path.to_path_buf(),
            temp,
            zip: zip::ZipWriter::new(writer),
        })
    }

    /// The [`WriteError`] for this archive.
    fn fail(&self, reason: impl ToString) -> WriteError {
        WriteError {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// Starts the entry `name.npy`, an array of `T` and `shape` in C order,
    /// whose elements the next [`StreamedNpz::write`] calls give.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when the entry cannot be started.
    pub fn begin<T: WritableElement>(
        &mut self,
        name: &str,
        shape: &[usize],
    ) -> Result<(), WriteError> {
        let header = ndarray_npy::npy::header::Header {
            type_descriptor: T::type_descriptor(),
            layout: ndarray_npy::npy::header::Layout::Standard,
            shape: shape.to_vec(),
        }
        .to_bytes()
        .map_err(|e| self.fail(e))?;
        let elements = shape.iter().map(|&n| n as u64).product::<u64>();
        let bytes = header.len() as u64 + elements * std::mem::size_of::<T>() as u64;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes >= u64::from(u32::MAX));
        self.zip
            .start_file(format!("{name}.npy"), options)
            .map_err(|e| self.fail(e))?;
        self.zip.write_all(&header).map_err(|e| self.fail(e))
    }

    /// Appends elements, in C order, to the entry begun last.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when they cannot be written.
    pub fn write<T: WritableElement>(&mut self, elements: &[T]) -> Result<(), WriteError> {
        T::write_slice(elements, &mut self.zip).map_err(|e| self.fail(e))
    }

    /// Completes the archive and renames it over the output.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when it cannot be completed, synced or renamed; the
    /// temporary file is removed then.
    pub fn finish(self) -> Result<(), WriteError> {
        let Self { path, temp, zip } = self;
        let fail = |reason: String| WriteError {
            path: path.clone(),
            reason,
        };
        zip.finish()
            .map_err(|e| fail(e.to_string()))?
            .flush()
            .map_err(|e| fail(e.to_string()))?;
        let temp = temp.value;
        temp.as_file().sync_all().map_err(|e| fail(e.to_string()))?;
        temp.persist(&path).map_err(|e| fail(e.error.to_string()))?;
        Ok(())
    }
}
