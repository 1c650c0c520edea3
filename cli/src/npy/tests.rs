//! The reader's edge cases: byte orders, Fortran order, every dtype, slabs,
//! and every way a file can be corrupt.

use std::io::Write;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use super::*;

/// A version 1.0 `.npy` file with this header dict and data, as numpy pads it.
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

/// The header dict numpy writes for `descr`, C order, `shape`.
fn dict(descr: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
}

/// `bytes` written to a temporary file (kept alive by the returned handle).
fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file
}

fn read_bytes(bytes: &[u8]) -> Result<AnyArray, NpyError> {
    read(file(bytes).path())
}

fn message(bytes: &[u8]) -> String {
    read_bytes(bytes).unwrap_err().to_string()
}

#[test]
fn reads_big_endian_fortran_order_integers_in_their_own_type() {
    let values = [1i16, -2, 300, 4, 5, -6];
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let header = "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }";
    let expected = ArrayD::from_shape_vec(IxDyn(&[2, 3]).f(), values.to_vec()).unwrap();
    assert_eq!(
        read_bytes(&npy_bytes(header, &data)).unwrap(),
        AnyArray::I16(expected)
    );
}

#[test]
fn reads_every_dtype_in_both_byte_orders() {
    // 1 and 2 in each type, little- then big-endian; 0-d and 1-D.
    for (code, size, name, _) in SCALARS {
        if code.starts_with('c') {
            continue; // complex_parts_keep_their_byte_order
        }
        let one = |v: u8, big: bool| -> Vec<u8> {
            let mut bytes = vec![0u8; size];
            match (code, big) {
                ("f2", _) => bytes.copy_from_slice(&f16::from_f64(f64::from(v)).to_le_bytes()),
                ("f4", _) => bytes.copy_from_slice(&f32::from(v).to_le_bytes()),
                ("f8", _) => bytes.copy_from_slice(&f64::from(v).to_le_bytes()),
                _ => bytes[0] = v,
            }
            if big {
                bytes.reverse();
            }
            bytes
        };
        for (order, big) in [
            ('<', false),
            ('>', true),
            ('=', cfg!(target_endian = "big")),
        ] {
            let data = [one(1, big), one(2, big)].concat();
            let array = read_bytes(&npy_bytes(&dict(&format!("{order}{code}"), "(2,)"), &data));
            let array = array.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                array.into_f64().unwrap().into_raw_vec_and_offset().0,
                [1.0, 2.0],
                "{name}"
            );
            let scalar = read_bytes(&npy_bytes(&dict(&format!("{order}{code}"), "()"), &data));
            assert_eq!(
                scalar.unwrap().into_f64().unwrap().shape(),
                [0usize; 0],
                "{name}"
            );
        }
    }
}

/// Each part of a complex number is swapped on its own, in either byte order.
#[test]
fn complex_parts_keep_their_byte_order() {
    let z = [Complex::new(1.5f64, -2.25), Complex::new(3.0, 4.5)];
    for big in [false, true] {
        let part = |v: f64| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let data: Vec<u8> = z
            .iter()
            .flat_map(|c| [part(c.re), part(c.im)].concat())
            .collect();
        let descr = if big { ">c16" } else { "<c16" };
        let got = read_bytes(&npy_bytes(&dict(descr, "(2,)"), &data)).unwrap();
        assert_eq!(
            got,
            AnyArray::C128(ArrayD::from_shape_vec(IxDyn(&[2]), z.to_vec()).unwrap())
        );
        let part = |v: f64| {
            let v = v as f32;
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let data: Vec<u8> = z
            .iter()
            .flat_map(|c| [part(c.re), part(c.im)].concat())
            .collect();
        let descr = if big { ">c8" } else { "<c8" };
        let got = read_bytes(&npy_bytes(&dict(descr, "(2,)"), &data)).unwrap();
        let z32: Vec<Complex<f32>> = z
            .iter()
            .map(|c| Complex::new(c.re as f32, c.im as f32))
            .collect();
        assert_eq!(
            got,
            AnyArray::C64(ArrayD::from_shape_vec(IxDyn(&[2]), z32).unwrap())
        );
    }
}

#[test]
fn reads_every_integer_and_complex_type_in_its_own_type() {
    let kind = |descr: &str, size: usize| match read_bytes(&npy_bytes(
        &dict(descr, "(1,)"),
        &vec![0u8; size],
    ))
    .unwrap()
    {
        AnyArray::F16(_) => "f16",
        AnyArray::F32(_) => "f32",
        AnyArray::F64(_) => "f64",
        AnyArray::I8(_) => "i8",
        AnyArray::U8(_) => "u8",
        AnyArray::U16(_) => "u16",
        AnyArray::I16(_) => "i16",
        AnyArray::U32(_) => "u32",
        AnyArray::I32(_) => "i32",
        AnyArray::I64(_) => "i64",
        AnyArray::U64(_) => "u64",
        AnyArray::C64(_) => "c64",
        AnyArray::C128(_) => "c128",
    };
    assert_eq!(kind("<f2", 2), "f16");
    assert_eq!(kind("<c8", 8), "c64");
    assert_eq!(kind(">c16", 16), "c128");
    assert_eq!(kind("<f8", 8), "f64");
    assert_eq!(kind("|i1", 1), "i8");
    assert_eq!(kind("|u1", 1), "u8");
    assert_eq!(kind(">u2", 2), "u16");
    assert_eq!(kind("<u4", 4), "u32");
    assert_eq!(kind("<i4", 4), "i32");
    assert_eq!(kind("<i8", 8), "i64");
    assert_eq!(kind(">u8", 8), "u64");
}

/// 64-bit values keep every bit when read, in either byte order.
#[test]
fn reads_64_bit_integers_exactly() {
    let values = [i64::MIN, i64::MAX, (1 << 53) + 1, -(1 << 53) - 1];
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let expected = ArrayD::from_shape_vec(IxDyn(&[4]), values.to_vec()).unwrap();
    assert_eq!(
        read_bytes(&npy_bytes(&dict(">i8", "(4,)"), &data)).unwrap(),
        AnyArray::I64(expected)
    );
    let max = read_bytes(&npy_bytes(&dict("<u8", "(1,)"), &u64::MAX.to_le_bytes())).unwrap();
    assert_eq!(max, AnyArray::U64(ArrayD::from_elem(IxDyn(&[1]), u64::MAX)));
    // As coordinates, converted as numpy's astype(float64): 2^64.
    assert_eq!(max.into_f64().unwrap()[[0]], 18446744073709551616.0);
}

#[test]
fn reads_empty_arrays_and_refuses_shapes_too_large_to_address() {
    let empty = read_bytes(&npy_bytes(&dict("<f8", "(0, 3)"), &[])).unwrap();
    assert_eq!(empty.shape(), [0, 3]);
    for shape in ["(4294967296, 4294967296)", "(0, 9223372036854775807)"] {
        let error = message(&npy_bytes(&dict("<f8", shape), &[0; 8]));
        assert!(error.contains("too large to address"), "{shape}: {error}");
    }
}

#[test]
fn checks_the_promised_size_against_the_file_before_allocating() {
    // 8 TiB promised, 24 bytes present: an error, not an allocation.
    assert_eq!(
        message(&npy_bytes(&dict("<f8", "(1099511627776,)"), &[0; 24])),
        "truncated data: a float64 array of shape (1099511627776,) needs 8796093022208 bytes, \
         but only 24 follow the header"
    );
    // A 2.0 preamble claiming a 4 GiB header.
    let mut bytes = b"\x93NUMPY\x02\x00\xff\xff\xff\xff{".to_vec();
    bytes.extend_from_slice(&[b' '; 100]);
    assert_eq!(message(&bytes), "truncated file: it ends inside its header");
    // A file long enough for a 2 MiB header is refused all the same.
    let mut bytes = b"\x93NUMPY\x02\x00\x00\x00\x20\x00{".to_vec();
    bytes.resize(12 + (2 << 20), b' ');
    assert!(message(&bytes).contains("it claims to be 2097152 bytes long"));
}

#[test]
fn an_npz_archive_is_named_as_such() {
    for start in [&b"PK\x03\x04rest of a zip"[..], b"PK\x05\x06\0\0\0\0"] {
        assert!(message(start).starts_with(".npz input is not supported"));
    }
}

#[test]
fn the_chunks_of_a_pipe_read_back_in_order() {
    let mut chunks = Chunks {
        chunks: vec![vec![1, 2, 3], vec![], vec![4], vec![5, 6]],
        next: 0,
        pos: 0,
    };
    let mut first = [0; 2];
    chunks.read_exact(&mut first).unwrap();
    let mut rest = Vec::new();
    chunks.read_to_end(&mut rest).unwrap();
    assert_eq!((first.to_vec(), rest), (vec![1, 2], vec![3, 4, 5, 6]));
}

#[test]
fn refuses_bad_headers_and_names_refused_dtypes() {
    for (header, expected) in [
        (
            "{'descr': '<f8', 'shape': (3,), }",
            "the key 'fortran_order' is missing",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, }",
            "the key 'shape' is missing",
        ),
        (
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }",
            "'fortran_order' cannot be 0",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
            "the shape (-3,) is not a tuple of non-negative integers (-3 is negative)",
        ),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': [3], }",
            "the shape [3] is not a tuple of non-negative integers",
        ),
        (&(dict("<f8", "(3,)") + "'x': 1}"), "not a Python literal"),
        (
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
            "unexpected key 'x'",
        ),
        ("[1, 2]", "not a dict"),
        (
            "{'descr': 3, 'fortran_order': False, 'shape': (3,), }",
            "'descr' is 3",
        ),
        (
            "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
            "dtype structured",
        ),
        (&dict("|b1", "(3,)"), "unsupported dtype bool ('|b1')"),
        (
            &dict("|b1", "(3,)"),
            "numpy boolean subtract, the `-` operator, is not supported",
        ),
        (&dict("<f16", "(3,)"), "unsupported dtype float128"),
        (&dict("<c32", "(3,)"), "unsupported dtype complex256"),
        (&dict("|O", "(3,)"), "unsupported dtype object"),
        (
            &dict("<U7", "(3,)"),
            "unsupported dtype str (unicode string)",
        ),
        (&dict("<M8[ns]", "(3,)"), "unsupported dtype datetime64"),
        (&dict("<i3", "(3,)"), "unknown type code \"i3\""),
    ] {
        let error = message(&npy_bytes(header, &[0u8; 48]));
        assert!(error.contains(expected), "{header}: {error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
    assert!(message(b"\x93NUMPY\x04\x00").contains("version 4.0"));
    assert!(message(b"\x93NU").starts_with("not a .npy file"));
}

#[test]
fn reads_slabs_of_the_slowest_axis() {
    let values: Vec<f32> = (0..24).map(|v| v as f32).collect();
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let temp = file(&npy_bytes(&dict("<f4", "(4, 2, 3)"), &data));
    let mut npy = NpyFile::open(temp.path()).unwrap();
    let slab = ArrayD::from_shape_vec(IxDyn(&[2, 2, 3]), values[6..18].to_vec()).unwrap();
    assert_eq!(npy.read_slab(1..3).unwrap(), AnyArray::F32(slab));
    assert_eq!(npy.read_slab(4..4).unwrap().shape(), [0, 2, 3]);
    assert!(npy.read_slab(3..5).is_err());
    // In Fortran order, planes of the last axis, each in Fortran order.
    let fortran = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }";
    let temp = file(&npy_bytes(fortran, &data));
    let mut npy = NpyFile::open(temp.path()).unwrap();
    assert!(npy.is_fortran());
    assert_eq!(npy.slab_axis(), 2);
    let whole = npy.read_slab(0..4).unwrap();
    let AnyArray::F32(whole) = whole else {
        panic!("float32 read as {whole:?}")
    };
    assert!(whole.t().is_standard_layout());
    assert_eq!(whole[[1, 2, 3]], values[1 + 2 * 2 + 3 * 6]);
    let slab = whole.slice(ndarray::s![.., .., 1..3]).to_owned().into_dyn();
    assert_eq!(npy.read_slab(1..3).unwrap(), AnyArray::F32(slab));
    assert!(npy.read_slab(2..5).is_err());
    // A Fortran-order file with one extent above 1 is in C order too.
    let both = "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 24), }";
    let temp = file(&npy_bytes(both, &data));
    let mut npy = NpyFile::open(temp.path()).unwrap();
    assert!(!npy.is_fortran());
    let row = ArrayD::from_shape_vec(IxDyn(&[1, 24]), values.clone()).unwrap();
    assert_eq!(npy.read_slab(0..1).unwrap(), AnyArray::F32(row));
}

#[test]
fn mutated_and_truncated_files_never_panic() {
    let data: Vec<u8> = (0..24u8).collect();
    let valid = npy_bytes(&dict("<f8", "(3,)"), &data);
    assert!(read_bytes(&valid).is_ok());
    // Every truncation, and every byte of the preamble and header replaced by
    // characters that matter to the parser.
    for cut in 0..valid.len() {
        let error = message(&valid[..cut]);
        let expected = match cut {
            0..6 => "not a .npy file",
            6..128 => "truncated file",
            _ => "truncated data",
        };
        assert!(error.starts_with(expected), "cut at {cut}: {error}");
    }
    for at in 0..valid.len() - data.len() {
        for byte in [
            0u8, b'(', b')', b'\'', b',', b':', b'9', b'-', b'{', b'\n', 0xff,
        ] {
            let mut bytes = valid.clone();
            bytes[at] = byte;
            let _ = read_bytes(&bytes);
        }
    }
}
