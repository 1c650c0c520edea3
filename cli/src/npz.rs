//! Writing `.npz` files atomically: the archive is written to a temporary file
//! beside the output and renamed over it only once complete, so a failure at
//! any point leaves no output (and no half-written one) behind.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::{NpzWriter, WritableElement, WriteDataError, WriteNpzError};
use ndgrad::f16;

/// An output element type, and what it is stored as in a `.npz`.
pub trait NpzElement: ndgrad::Element {
    /// The type ndarray-npy writes.
    type Stored: WritableElement;
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
    /// Adds the array to `npz` under `name`.
    fn add_to(&self, name: &str, npz: &mut Archive<'_>) -> Result<(), WriteNpzError>;
}

impl<T: WritableElement> NpzArray for ArrayD<T> {
    fn add_to(&self, name: &str, npz: &mut Archive<'_>) -> Result<(), WriteNpzError> {
        npz.add_array(name, self)
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
/// A [`WriteError`] saying which of the two is not so.
pub fn check_destination(path: &Path) -> Result<(), WriteError> {
    let fail = |reason: &str| WriteError {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    if !parent_dir(path).is_dir() {
        return Err(fail("its directory does not exist"));
    }
    if path.is_dir() {
        return Err(fail("it is a directory"));
    }
    Ok(())
}

/// Writes `arrays` into an uncompressed `.npz` at `path` (what `numpy.savez`
/// writes), each under its name (`np.load(path)[name]`), replacing any file
/// already there.
///
/// # Errors
///
/// A [`WriteError`] when the temporary file cannot be created or written, or
/// cannot be renamed to `path`; the temporary file is removed in every case.
pub fn write_atomically(path: &Path, arrays: &[(String, &dyn NpzArray)]) -> Result<(), WriteError> {
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
    let temp = builder
        .tempfile_in(parent_dir(path))
        .map_err(|e| fail(format!("cannot create a temporary file beside it: {e}")))?;
    let mut npz = NpzWriter::new(BufWriter::new(temp.as_file()));
    for (name, array) in arrays {
        array
            .add_to(name, &mut npz)
            .map_err(|e| fail(e.to_string()))?;
    }
    npz.finish()
        .map_err(|e| fail(e.to_string()))?
        .flush()
        .map_err(|e| fail(e.to_string()))?;
    temp.as_file().sync_all().map_err(|e| fail(e.to_string()))?;
    temp.persist(path).map_err(|e| fail(e.error.to_string()))?;
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
