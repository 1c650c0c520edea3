//! Writing `.npz` files atomically: the archive is written to a temporary file
//! beside the output and renamed over it only once complete, so a failure at
//! any point leaves no output (and no half-written one) behind.
//!
//! One writer, [`StreamedNpz`], writes every `.npz` the CLI makes, whether
//! its arrays are whole in memory or computed slab by slab, and one rule,
//! [`Storage::of`], says how their elements are stored: in the input's byte
//! order and memory order where numpy keeps them.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::npy::header::{Header, Layout};
use ndarray_npy::{WritableElement, WriteDataError};
use ndgrad::f16;

use crate::array::AnyArray;
pub use crate::array::ByteOrder;
use crate::gradient::OutputDtype;

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

/// How the elements of every output of one input are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Storage {
    /// The byte order of the elements.
    pub order: ByteOrder,
    /// Whether the arrays are stored in Fortran order (`fortran_order:
    /// True`), the first axis varying fastest.
    pub fortran: bool,
}

impl Storage {
    /// numpy's rule for the outputs of `input`, read from a file that
    /// stores its elements in `order`, in Fortran order when `fortran`,
    /// with `--dtype` `dtype`. `numpy.gradient` allocates its outputs with
    /// `np.empty_like(f)`, so they keep the input's memory order, and for a
    /// float or complex input its dtype, byte order included; an integer
    /// input's gradient, and any `--dtype`, is in the machine's order.
    /// `fortran` is [`crate::npy::NpyFile::is_fortran`]: only an array that
    /// is not also in C order keeps Fortran order, as numpy's `order='K'`.
    pub fn of(
        input: &AnyArray,
        order: ByteOrder,
        fortran: bool,
        dtype: Option<OutputDtype>,
    ) -> Storage {
        let order = match dtype {
            None if input.keeps_byte_order() => order,
            _ => ByteOrder::Little,
        };
        Storage { order, fortran }
    }
}

/// An array the `.npz` writer can store, whatever its element type: a
/// complex gradient and its real magnitude go into one archive.
pub trait NpzArray {
    /// Adds the array to `npz` under `name`.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when it cannot be written.
    fn add_to(&self, name: &str, npz: &mut StreamedNpz) -> Result<(), WriteError>;
}

impl<T: WritableElement> NpzArray for ArrayD<T> {
    fn add_to(&self, name: &str, npz: &mut StreamedNpz) -> Result<(), WriteError> {
        npz.begin::<T>(name, self.shape())?;
        npz.write_array(self)
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
/// writes), each under its name (`np.load(path)[name]`), stored as
/// `storage` says, replacing any file already there.
///
/// # Errors
///
/// A [`WriteError`] when the temporary file cannot be created or written, or
/// cannot be renamed to `path`; the temporary file is removed in every case,
/// also when SIGINT, SIGTERM or SIGHUP ends the process (see
/// [`crate::cleanup`]).
pub fn write_atomically_in(
    path: &Path,
    arrays: &[(String, &dyn NpzArray)],
    storage: Storage,
) -> Result<(), WriteError> {
    let mut npz = StreamedNpz::create(path, storage)?;
    for (name, array) in arrays {
        array.add_to(name, &mut npz)?;
    }
    npz.finish()
}

/// A `.npz` written one array after another, each array's data streamed
/// in its storage order as it is computed: what `numpy.savez` writes
/// (stored entries, no compression), at any size. An entry whose `.npy`
/// data passes 4 GiB is written with ZIP64 sizes, as numpy's `savez` does
/// for large arrays.
///
/// The archive is built in a temporary file beside the output and renamed
/// over it by [`StreamedNpz::finish`]; dropped unfinished, it leaves nothing.
pub struct StreamedNpz {
    path: PathBuf,
    storage: Storage,
    /// The entry size (header and data) from which ZIP64 sizes are written.
    zip64_from: u64,
    /// The bytes of each number reversed for the entry begun last (0: none).
    swap: usize,
    /// Elements encoded and not yet written.
    encoded: Vec<u8>,
    temp: crate::stream::Temporary<tempfile::NamedTempFile>,
    zip: zip::ZipWriter<BufWriter<std::fs::File>>,
}

/// The most bytes encoded before they are written, when they are written
/// in another byte order or memory order than the array's.
const CHUNK: usize = 1 << 20;

impl StreamedNpz {
    /// Starts an archive that will replace `path`, its arrays stored as
    /// `storage` says.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when the temporary file cannot be created.
    pub fn create(path: &Path, storage: Storage) -> Result<Self, WriteError> {
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
            storage,
            zip64_from: u64::from(u32::MAX),
            swap: 0,
            encoded: Vec::new(),
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

    /// Starts the entry `name.npy`, an array of `T` and `shape`, whose
    /// elements the next [`StreamedNpz::write`] calls give in the storage's
    /// memory order (or [`StreamedNpz::write_array`] calls, in any layout).
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when the entry cannot be started.
    pub fn begin<T: WritableElement>(
        &mut self,
        name: &str,
        shape: &[usize],
    ) -> Result<(), WriteError> {
        let (descr, swap) = in_order::<T>(self.storage.order);
        self.swap = swap;
        let header = Header {
            type_descriptor: descr,
            layout: if self.storage.fortran {
                Layout::Fortran
            } else {
                Layout::Standard
            },
            shape: shape.to_vec(),
        }
        .to_bytes()
        .map_err(|e| self.fail(e))?;
        let elements = shape.iter().map(|&n| n as u64).product::<u64>();
        let bytes = header.len() as u64 + elements * std::mem::size_of::<T>() as u64;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes >= self.zip64_from);
        self.zip
            .start_file(format!("{name}.npy"), options)
            .map_err(|e| self.fail(e))?;
        self.zip.write_all(&header).map_err(|e| self.fail(e))
    }

    /// Appends elements, in the storage's memory order, to the entry begun
    /// last.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when they cannot be written.
    pub fn write<T: WritableElement>(&mut self, elements: &[T]) -> Result<(), WriteError> {
        if self.swap == 0 {
            return T::write_slice(elements, &mut self.zip).map_err(|e| self.fail(e));
        }
        let per_chunk = (CHUNK / std::mem::size_of::<T>().max(1)).max(1);
        for chunk in elements.chunks(per_chunk) {
            T::write_slice(chunk, &mut self.encoded).map_err(|e| self.fail(e))?;
            self.flush_encoded()?;
        }
        Ok(())
    }

    /// Appends the elements of `array`, whatever its layout, to the entry
    /// begun last: in C order, or in Fortran order (the first axis fastest)
    /// when the storage is. A part of the whole array along its slowest axis
    /// in that order (axis 0 in C order, the last in Fortran order) follows
    /// the part before it.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when they cannot be written.
    pub fn write_array<T: WritableElement>(&mut self, array: &ArrayD<T>) -> Result<(), WriteError> {
        // Fortran order is the C order of the reversed axes.
        let view = if self.storage.fortran {
            array.t()
        } else {
            array.view()
        };
        if let Some(slice) = view.as_slice() {
            return self.write(slice);
        }
        for v in &view {
            v.write(&mut self.encoded).map_err(|e| self.fail(e))?;
            if self.encoded.len() >= CHUNK {
                self.flush_encoded()?;
            }
        }
        self.flush_encoded()
    }

    /// Writes the encoded bytes, each element's swapped first if the
    /// storage's byte order is not the one they were encoded in.
    fn flush_encoded(&mut self) -> Result<(), WriteError> {
        if self.swap > 1 {
            (self.encoded.chunks_exact_mut(self.swap)).for_each(<[u8]>::reverse);
        }
        let written = self.zip.write_all(&self.encoded);
        self.encoded.clear();
        written.map_err(|e| self.fail(e))
    }

    /// Completes the archive and renames it over the output.
    ///
    /// # Errors
    ///
    /// A [`WriteError`] when it cannot be completed, synced or renamed; the
    /// temporary file is removed then.
    pub fn finish(self) -> Result<(), WriteError> {
        let Self {
            path, temp, zip, ..
        } = self;
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

/// `T`'s type descriptor in byte order `order` (`'<f4'` as `'>f4'`), and
/// the bytes of each number whose order is reversed to get there from the
/// order ndarray-npy encodes `T` in: none (0) when the orders agree or the
/// type has no byte order (`'|u1'`), its size for a real type, half its
/// size for a complex one (its two parts are swapped each on its own).
fn in_order<T: WritableElement>(order: ByteOrder) -> (py_literal::Value, usize) {
    let descr = T::type_descriptor();
    let wanted = match order {
        ByteOrder::Little => '<',
        ByteOrder::Big => '>',
    };
    let py_literal::Value::String(text) = &descr else {
        return (descr, 0);
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(have @ ('<' | '>')), Some(kind)) if have != wanted => {
            let size = std::mem::size_of::<T>();
            let swap = if kind == 'c' { size / 2 } else { size };
            (
                py_literal::Value::String(format!("{wanted}{}", &text[1..])),
                swap,
            )
        }
        _ => (descr, 0),
    }
}

#[cfg(test)]
mod tests;
