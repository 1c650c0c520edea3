//! Zarr: `IN.zarr -o OUT.zarr`, `.npy -> .zarr` and `.zarr -> .npz` give,
//! bit for bit, what the in-memory path gives for the same array; the
//! output group has one array per axis with the input's chunks, an explicit
//! dtype and attributes; missing chunks read as the fill value; an output
//! that is the input, or is not a zarr hierarchy, is refused.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use ndarray::ArrayD;
use ndarray_npy::write_npy;
use zarrs::array::{data_type, Array, ArrayBuilder, ArraySubset};
use zarrs::filesystem::FilesystemStore;

/// Opens the array at `node` (`/` or `/axis0`) of the hierarchy at `path`.
fn open(path: &Path, node: &str) -> Array<FilesystemStore> {
    Array::open(Arc::new(FilesystemStore::new(path).unwrap()), node).unwrap()
}

/// The whole array at `node`, as `f64`.
fn read(path: &Path, node: &str) -> ArrayD<f64> {
    let array = open(path, node);
    array
        .retrieve_array_subset::<ArrayD<f64>>(&array.subset_all())
        .unwrap()
}

/// Writes `f` as a zarr v3 array at `path`, gzip-compressed, in chunks of
/// `chunks`, with fill value `fill`, leaving out every chunk in `missing`.
fn write_zarr(path: &Path, f: &ArrayD<f64>, chunks: &[u64], fill: f64, missing: &[&[u64]]) {
    let store = Arc::new(FilesystemStore::new(path).unwrap());
    let shape: Vec<u64> = f.shape().iter().map(|&n| n as u64).collect();
    let mut builder = ArrayBuilder::new(shape, chunks.to_vec(), data_type::float64(), fill);
    builder.bytes_to_bytes_codecs(vec![Arc::new(
        zarrs::array::codec::GzipCodec::new(5).unwrap(),
    )]);
    let array = builder.build(store, "/").unwrap();
    array.store_metadata().unwrap();
    array
        .store_array_subset(&array.subset_all(), f.clone())
        .unwrap();
    for index in missing {
        array.erase_chunk(index).unwrap();
    }
}

/// The bits of every element.
fn bits(a: &ArrayD<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// The arrays of an `.npz`, by name.
fn npz(path: &Path) -> Vec<(String, ArrayD<f64>)> {
    read_npz::<f64>(path)
}

#[test]
fn zarr_to_zarr_matches_the_in_memory_path_chunk_by_chunk() {
    let scratch = Scratch::new();
    let mut rng = Rng::new(41);
    let f = rng.array(&[10, 13, 7], -10.0, 10.0);
    let input = scratch.input("f.zarr");
    write_zarr(&input, &f, &[4, 5, 3], 1.5, &[&[1, 1, 1], &[2, 0, 2]]);
    // What the zarr holds, missing chunks read as the fill value, as .npy.
    let held = read(&input, "/");
    assert_eq!(held[[4, 5, 3]], 1.5);
    write_npy(scratch.input("f.npy"), &held).unwrap();
    let x = ndarray::Array1::from(coordinates(&mut rng, 13));
    write_npy(scratch.input("x.npy"), &x).unwrap();
    let coords = format!("--spacing=0.5,@{},2", scratch.input("x.npy").display());
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--edge-order", "2", "--magnitude"],
        vec!["--accuracy", "6", &coords],
        vec!["--accuracy", "4", "--boundary=periodic,one-sided,periodic"],
        vec!["--axis=-1,0", "--magnitude"],
    ];
    for backend in ["cpu", "reference"] {
        for args in &cases {
            let whole = scratch.output("whole.npz");
            assert_success(&gradient_on(backend, &scratch.input("f.npy"), &whole, args));
            let expected = npz(&whole);
            let out = scratch.output("g.zarr");
            assert_success(&gradient_on(backend, &input, &out, args));
            for (name, values) in &expected {
                let node = format!("/{name}");
                let got = read(&out, &node);
                assert_eq!(bits(&got), bits(values), "{backend} {args:?} {name}");
                let array = open(&out, &node);
                assert_eq!(array.chunk_shape_usize(&[0, 0, 0]).unwrap(), vec![4, 5, 3]);
                assert!(array.data_type().to_string().starts_with("float64"));
                let attrs = &array.attributes()["ndgrad"];
                assert!(attrs["edge_order"].is_u64(), "{attrs}");
                assert!(attrs["accuracy"].is_u64(), "{attrs}");
                assert!(attrs["spacing"].is_array(), "{attrs}");
                assert!(attrs["boundary"].is_array(), "{attrs}");
            }
            // .zarr -> .npz and .npy -> .zarr give the same.
            let streamed = scratch.output("z.npz");
            assert_success(&gradient_on(backend, &input, &streamed, args));
            let got = npz(&streamed);
            assert_eq!(got.len(), expected.len());
            for ((n1, a), (n2, b)) in got.iter().zip(&expected) {
                assert_eq!(n1, n2);
                assert_eq!(bits(a), bits(b), "zarr -> npz {backend} {args:?} {n1}");
            }
            let out2 = scratch.output("n.zarr");
            assert_success(&gradient_on(backend, &scratch.input("f.npy"), &out2, args));
            for (name, values) in &expected {
                let got = read(&out2, &format!("/{name}"));
                assert_eq!(
                    bits(&got),
                    bits(values),
                    "npy -> zarr {backend} {args:?} {name}"
                );
            }
            std::fs::remove_file(&whole).unwrap();
            std::fs::remove_file(&streamed).unwrap();
            std::fs::remove_dir_all(&out2).unwrap();
        }
    }
    assert_eq!(scratch.outputs(), ["g.zarr"], "no temporary directory left");
}

#[test]
fn zarr_v2_is_read() {
    let scratch = Scratch::new();
    let f = Rng::new(42).array(&[6, 5], -1.0, 1.0);
    write_npy(scratch.input("f.npy"), &f).unwrap();
    // A v2 array by hand: its metadata and raw little-endian chunks.
    let input = scratch.input("v2.zarr");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        input.join(".zarray"),
        r#"{"zarr_format": 2, "shape": [6, 5], "chunks": [4, 3], "dtype": "<f8",
            "compressor": null, "fill_value": 0.0, "order": "C", "filters": null}"#,
    )
    .unwrap();
    for (ci, cj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let mut bytes = Vec::new();
        for i in ci * 4..ci * 4 + 4 {
            for j in cj * 3..cj * 3 + 3 {
                let v = if i < 6 && j < 5 { f[[i, j]] } else { 0.0 };
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        std::fs::write(input.join(format!("{ci}.{cj}")), bytes).unwrap();
    }
    let whole = scratch.output("whole.npz");
    assert_success(&gradient_on("cpu", &scratch.input("f.npy"), &whole, &[]));
    let out = scratch.output("g.zarr");
    assert_success(&gradient_on("cpu", &input, &out, &[]));
    for (name, values) in npz(&whole) {
        assert_eq!(
            bits(&read(&out, &format!("/{name}"))),
            bits(&values),
            "{name}"
        );
    }
}

#[test]
fn an_existing_zarr_output_is_replaced_and_anything_else_refused() {
    let scratch = Scratch::new();
    let f = Rng::new(43).array(&[5, 4], -1.0, 1.0);
    let input = scratch.input("f.zarr");
    write_zarr(&input, &f, &[2, 2], 0.0, &[]);
    let out = scratch.output("g.zarr");
    assert_success(&gradient(&input, &out, &["--axis", "0"]));
    assert!(out.join("axis0").is_dir() && !out.join("axis1").exists());
    assert_success(&gradient(&input, &out, &["--axis", "1"]));
    assert!(out.join("axis1").is_dir() && !out.join("axis0").exists());
    assert_eq!(scratch.outputs(), ["g.zarr"]);

    // A directory that is not zarr stays as it was.
    let other = scratch.output("other.zarr");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep").unwrap();
    let result = gradient(&input, &other, &[]);
    assert_clean_failure_leaving(
        &result,
        &scratch,
        1,
        "not replaced",
        &["g.zarr", "other.zarr"],
    );
    assert_eq!(
        std::fs::read_to_string(other.join("notes.txt")).unwrap(),
        "keep"
    );

    // The input itself is never the output.
    let result = gradient(&input, &input, &[]);
    assert_eq!(result.status.code(), Some(1), "{}", stderr(&result));
    assert!(
        stderr(&result).contains("it is the input"),
        "{}",
        stderr(&result)
    );
    assert!(input.join("zarr.json").is_file());
    let subset = ArraySubset::new_with_ranges(&[0..5, 0..4]);
    let kept = open(&input, "/")
        .retrieve_array_subset::<ArrayD<f64>>(&subset)
        .unwrap();
    assert_eq!(bits(&kept), bits(&f));
}
