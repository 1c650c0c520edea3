//! The `.npz` writer: ZIP64 entries, big-endian and Fortran-order storage,
//! each read back by the zip crate and by ndarray-npy.

use std::io::Read;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::NpzReader;
use ndgrad::Complex;

use super::*;

/// Random values from the seeded generator the tests share.
fn random(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = ndgrad_rng::Rng::new(seed);
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.range(-1e3, 1e3))
}

/// The `.npy` bytes of the entry `name` of the archive at `path`.
fn entry(path: &Path, name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut entry = zip.by_name(name).unwrap();
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    bytes
}

/// The header IDs of the extra fields in `extra`.
fn extra_ids(extra: &[u8]) -> Vec<u16> {
    let mut ids = Vec::new();
    let mut at = 0;
    while at + 4 <= extra.len() {
        ids.push(u16::from_le_bytes([extra[at], extra[at + 1]]));
        at += 4 + usize::from(u16::from_le_bytes([extra[at + 2], extra[at + 3]]));
    }
    ids
}

/// Per local file header of the archive `bytes`, in order: its 32-bit
/// compressed and uncompressed sizes and its extra fields' IDs.
fn local_headers(bytes: &[u8]) -> Vec<(u32, u32, Vec<u16>)> {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut found = Vec::new();
    let mut at = 0;
    while bytes[at..].starts_with(b"PK\x03\x04") {
        let (name, extra) = (u16_at(at + 26), u16_at(at + 28));
        let extra_at = at + 30 + name;
        let ids = extra_ids(&bytes[extra_at..extra_at + extra]);
        // With ZIP64 the real sizes are in the extra field (0x0001).
        let size = if u32_at(at + 18) == u32::MAX {
            let field = &bytes[extra_at + 4..extra_at + 12];
            u64::from_le_bytes(field.try_into().unwrap())
        } else {
            u64::from(u32_at(at + 18))
        };
        found.push((u32_at(at + 18), u32_at(at + 22), ids));
        at = extra_at + extra + usize::try_from(size).unwrap();
    }
    found
}

#[test]
fn entries_past_the_zip64_threshold_carry_zip64_sizes_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.npz");
    let small = random(&[3, 5], 1);
    let large = random(&[7, 4, 6], 2).mapv(|v| v as f32);
    let mut npz = StreamedNpz::create(&path, Storage::default()).unwrap();
    // The entry size ZIP64 takes over at, 4 GiB in use, set between the
    // two entries' (a header and 120 bytes; a header and 672 bytes): one is
    // written with 32-bit sizes, the other with ZIP64's.
    npz.zip64_from = 500;
    npz.begin::<f64>("small", small.shape()).unwrap();
    npz.write_array(&small).unwrap();
    npz.begin::<f32>("large", large.shape()).unwrap();
    npz.write_array(&large).unwrap();
    npz.finish().unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["g.npz"], "no temporary file is left");

    let headers = local_headers(&std::fs::read(&path).unwrap());
    assert_eq!(headers.len(), 2);
    assert!(
        headers[0].0 < 500 && headers[0].1 == headers[0].0,
        "{headers:?}"
    );
    assert!(!headers[0].2.contains(&0x0001), "{headers:?}");
    assert_eq!((headers[1].0, headers[1].1), (u32::MAX, u32::MAX));
    assert!(headers[1].2.contains(&0x0001), "{headers:?}");

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let large_size = zip.by_name("large.npy").unwrap().size();
    assert_eq!(large_size, entry(&path, "large.npy").len() as u64);
    assert!(large_size > 672, "a header and the data: {large_size}");
    let mut npz = NpzReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let read: ArrayD<f64> = npz.by_name("small.npy").unwrap();
    assert_eq!(read, small);
    let read: ArrayD<f32> = npz.by_name("large.npy").unwrap();
    assert_eq!(read, large);
}

#[test]
fn fortran_and_big_endian_storage_read_back_as_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let real = random(&[4, 3, 5], 3);
    let complex = real.mapv(|v| Complex::new(v as f32, (-0.5 * v) as f32));
    for (order, fortran) in [
        (ByteOrder::Big, false),
        (ByteOrder::Little, true),
        (ByteOrder::Big, true),
    ] {
        let path = dir.path().join("g.npz");
        let storage = Storage { order, fortran };
        let mut npz = StreamedNpz::create(&path, storage).unwrap();
        // Written whole in C layout, whole in Fortran layout, and in two
        // parts along the slowest axis of the storage order.
        npz.begin::<f64>("c", real.shape()).unwrap();
        npz.write_array(&real).unwrap();
        let mut f_layout = ArrayD::zeros(IxDyn(real.shape()).f());
        f_layout.assign(&real);
        npz.begin::<f64>("f", real.shape()).unwrap();
        npz.write_array(&f_layout).unwrap();
        let slow = if fortran { 2 } else { 0 };
        npz.begin::<Complex<f32>>("parts", complex.shape()).unwrap();
        let (first, second) = complex.view().split_at(ndarray::Axis(slow), 2);
        npz.write_array(&first.to_owned()).unwrap();
        npz.write_array(&second.to_owned()).unwrap();
        npz.finish().unwrap();

        let descr = if order == ByteOrder::Big { ">" } else { "<" };
        let layout = format!(
            "'fortran_order': {}",
            if fortran { "True" } else { "False" }
        );
        for name in ["c.npy", "f.npy", "parts.npy"] {
            let header = String::from_utf8_lossy(&entry(&path, name)[..100]).into_owned();
            assert!(header.contains(&format!("'descr': '{descr}")), "{header}");
            assert!(header.contains(&layout), "{name}: {header}");
        }
        let mut npz = NpzReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        for name in ["c.npy", "f.npy"] {
            let read: ArrayD<f64> = npz.by_name(name).unwrap();
            assert_eq!(read, real, "{name} {storage:?}");
        }
        let parts: ArrayD<Complex<f32>> = npz.by_name("parts.npy").unwrap();
        assert_eq!(parts, complex, "{storage:?}");
    }
}
