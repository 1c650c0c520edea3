//! The block API against the whole-array result, bit for bit, on every
//! backend:
//!
//! - random requests of every form (spacing, edge order, accuracy,
//!   periodic axes, axis subsets) cut into random chunkings with
//!   `block::halo`'s depth and chunks of at least `block::min_block`:
//!   components and magnitude, `f64`, `f32`, `u16` into `f32` and `c64`;
//! - random wanted boxes read through `block::window`;
//! - every way a block can be wrong is an `Error::Block`, never a
//!   different result.
//!
//! Inputs are fresh random values; the assembled outputs are filled with
//! NaN first, so a point no block wrote fails.

mod common;

use std::ops::Range;

use common::random_request_with_forms;
use ndarray::{ArrayD, IxDyn, Slice};
use ndgrad::block::{self, Place};
use ndgrad::{
    Accuracy, Backend, Boundary, Complex, EdgeOrder, Error, GradientOptions, Scalar, Spacing,
};
use ndgrad_rng::Rng;

/// Cuts `n` points into consecutive chunks of at least `min` points
/// (the whole axis when it is shorter than two such chunks).
fn chunks(rng: &mut Rng, n: usize, min: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let left = n - start;
        let len = if left < 2 * min {
            left
        } else {
            min + rng.below(left - 2 * min + 1).min(rng.below(6))
        };
        out.push(start..start + len);
        start += len;
    }
    if out.is_empty() {
        out.push(0..0);
    }
    out
}

/// Every box of a chunking: one range per axis.
fn boxes(chunkings: &[Vec<Range<usize>>]) -> Vec<Vec<Range<usize>>> {
    chunkings.iter().fold(vec![vec![]], |acc, axis| {
        acc.into_iter()
            .flat_map(|prefix| {
                axis.iter().map(move |r| {
                    let mut b = prefix.clone();
                    b.push(r.clone());
                    b
                })
            })
            .collect()
    })
}

fn slice<'a, T>(a: &'a ArrayD<T>, ranges: &[Range<usize>]) -> ndarray::ArrayViewD<'a, T> {
    a.slice_each_axis(|ax| Slice::from(ranges[ax.axis.index()].clone()))
}

/// The block of `wanted` with `halo` points each side (clipped to the
/// array), and its place.
fn with_halo(
    shape: &[usize],
    wanted: &[Range<usize>],
    halo: &[usize],
) -> (Vec<Range<usize>>, Place) {
    let read: Vec<Range<usize>> = wanted
        .iter()
        .zip(shape.iter().zip(halo))
        .map(|(w, (&n, &h))| w.start.saturating_sub(h)..(w.end + h).min(n))
        .collect();
    let place = Place {
        shape: shape.to_vec(),
        origin: read.iter().map(|r| r.start).collect(),
        region: wanted
            .iter()
            .zip(&read)
            .map(|(w, r)| w.start - r.start..w.end - r.start)
            .collect(),
    };
    (read, place)
}

/// Bitwise equality that also holds for NaN results.
trait Bits: Copy {
    fn bits(self) -> (u64, u64);
}
impl Bits for f64 {
    fn bits(self) -> (u64, u64) {
        (self.to_bits(), 0)
    }
}
impl Bits for f32 {
    fn bits(self) -> (u64, u64) {
        (self.to_bits() as u64, 0)
    }
}
impl Bits for Complex<f32> {
    fn bits(self) -> (u64, u64) {
        (self.re.to_bits() as u64, self.im.to_bits() as u64)
    }
}

fn assert_same<T: Bits + std::fmt::Debug>(got: &ArrayD<T>, want: &ArrayD<T>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (g, w)) in got
        .indexed_iter()
        .zip(want.iter())
        .map(|((i, g), w)| (i, (g, w)))
    {
        assert_eq!(
            g.bits(),
            w.bits(),
            "{what}: at {i:?}, block {g:?}, whole {w:?}"
        );
    }
}

/// A poison value for the assembled outputs.
trait Poison {
    fn poison() -> Self;
}
impl Poison for f64 {
    fn poison() -> Self {
        f64::NAN
    }
}
impl Poison for f32 {
    fn poison() -> Self {
        f32::NAN
    }
}
impl Poison for Complex<f32> {
    fn poison() -> Self {
        Complex::new(f32::NAN, f32::NAN)
    }
}

/// Assembles the components and magnitude of `f` from a random chunking
/// with `block::halo`'s depth and compares them with the whole array's.
///
/// Returns the number of blocks.
fn check_chunked<I>(rng: &mut Rng, f: &ArrayD<I>, opts: &GradientOptions, what: &str) -> usize
where
    I: Scalar,
    I::Gradient: Bits + Poison + Clone + std::fmt::Debug,
    I::Magnitude: Bits + Poison + std::fmt::Debug,
{
    let shape = f.shape().to_vec();
    let whole = ndgrad::gradient_with_backend(f, opts).unwrap();
    let magnitude = ndgrad::gradient_magnitude(f, opts).unwrap();
    let halo = block::halo(&shape, opts).unwrap();
    let min = block::min_block(&shape, opts).unwrap();
    let chunking: Vec<Vec<Range<usize>>> = shape
        .iter()
        .zip(&min)
        .map(|(&n, &m)| chunks(rng, n, m))
        .collect();
    let mut parts: Vec<ArrayD<I::Gradient>> = whole
        .arrays
        .iter()
        .map(|_| ArrayD::from_elem(IxDyn(&shape), I::Gradient::poison()))
        .collect();
    let mut m = ArrayD::from_elem(IxDyn(&shape), I::Magnitude::poison());
    let boxes = boxes(&chunking);
    for wanted in &boxes {
        let wanted = wanted.clone();
        let (read, place) = with_halo(&shape, &wanted, &halo);
        let data = slice(f, &read);
        let g = block::gradient(&data, &place, opts)
            .unwrap_or_else(|e| panic!("{what}: block {wanted:?} of {shape:?}: {e}"));
        assert_eq!(g.backend, whole.backend, "{what}");
        for (part, a) in parts.iter_mut().zip(g.arrays) {
            let mut dst =
                part.slice_each_axis_mut(|ax| Slice::from(wanted[ax.axis.index()].clone()));
            dst.assign(&a);
        }
        let mb = block::gradient_magnitude(&data, &place, opts).unwrap();
        m.slice_each_axis_mut(|ax| Slice::from(wanted[ax.axis.index()].clone()))
            .assign(&mb);
    }
    for (k, (got, want)) in parts.iter().zip(&whole.arrays).enumerate() {
        assert_same(
            got,
            want,
            &format!("{what}: component {k}, chunks {chunking:?}"),
        );
    }
    assert_same(
        &m,
        &magnitude,
        &format!("{what}: magnitude, chunks {chunking:?}"),
    );
    boxes.len()
}

fn backends() -> Vec<Backend> {
    common::backends_under_test()
}

#[test]
fn random_chunkings_equal_the_whole_array_bit_for_bit() {
    let mut rng = Rng::new(0xb10c);
    for backend in backends() {
        let cases = if backend == Backend::Gpu { 40 } else { 160 };
        let mut blocks = 0;
        for case in 0..cases {
            let (shape, opts) = random_request_with_forms(&mut rng, &[40, 12, 6], 0.3);
            let opts = opts.backend(backend);
            let what = format!("{backend} case {case}: {shape:?} {opts:?}");
            let f = rng.array(&shape, -10.0, 10.0);
            blocks += match case % 4 {
                0 | 1 => check_chunked(&mut rng, &f, &opts, &what),
                2 => check_chunked(&mut rng, &f.mapv(|v| v as f32), &opts, &what),
                _ => {
                    let z = f.mapv(|v| Complex::new(v as f32, (v * 0.37).sin() as f32));
                    check_chunked(&mut rng, &z, &opts, &what)
                }
            };
        }
        // The chunkings really cut the arrays: several blocks per case.
        assert!(
            blocks > 4 * cases,
            "{backend}: {blocks} blocks in {cases} cases"
        );
    }
}

#[test]
fn integer_input_in_f32_blocks_equals_the_whole_array() {
    let mut rng = Rng::new(0x16);
    for backend in backends() {
        let shape = [33, 20];
        let f = ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.below(65536) as u16);
        let opts = GradientOptions::new()
            .spacing(Spacing::Uniform(0.3))
            .edge_order(EdgeOrder::Second)
            .backend(backend);
        let whole = ndgrad::gradient_as::<f32, _, _, _>(&f, &opts).unwrap();
        let whole_m = ndgrad::gradient_magnitude_as::<f32, _, _, _>(&f, &opts).unwrap();
        for start in (0..33).step_by(4) {
            let wanted = [start..(start + 4).min(33), 0..20];
            let w = block::window(&shape, &wanted, &opts).unwrap();
            let data = slice(&f, &w.read);
            let g = block::gradient_as::<f32, _, _, _>(&data, &w.place, &opts).unwrap();
            for (got, want) in g.arrays.iter().zip(&whole) {
                assert_same(got, &slice(want, &wanted).to_owned(), &format!("{backend}"));
            }
            let m = block::gradient_magnitude_as::<f32, _, _, _>(&data, &w.place, &opts).unwrap();
            assert_same(
                &m,
                &slice(&whole_m, &wanted).to_owned(),
                &format!("{backend}"),
            );
        }
    }
}

#[test]
fn windows_of_random_boxes_equal_the_whole_array() {
    let mut rng = Rng::new(0x3d);
    for backend in backends() {
        for case in 0..60 {
            let (shape, opts) = random_request_with_forms(&mut rng, &[50, 14, 7], 0.5);
            let opts = opts.backend(backend);
            let f = rng.array(&shape, -5.0, 5.0);
            let whole = ndgrad::gradient(&f, &opts).unwrap();
            let wanted: Vec<Range<usize>> = shape
                .iter()
                .map(|&n| {
                    let a = rng.below(n + 1);
                    let b = rng.below(n + 1);
                    a.min(b)..a.max(b)
                })
                .collect();
            let w = block::window(&shape, &wanted, &opts).unwrap();
            for (r, want) in w.read.iter().zip(&wanted) {
                assert!(r.start <= want.start && want.end <= r.end);
            }
            let g = block::gradient(&slice(&f, &w.read), &w.place, &opts).unwrap();
            for (got, want) in g.arrays.iter().zip(&whole) {
                let what = format!("{backend} case {case}: {shape:?} {wanted:?} {opts:?}");
                assert_same(got, &slice(want, &wanted).to_owned(), &what);
            }
        }
    }
}

#[test]
fn halo_and_min_block_follow_the_stencil() {
    let shape = [30, 20, 10];
    let numpy = GradientOptions::new();
    assert_eq!(block::halo(&shape, &numpy).unwrap(), [1, 1, 1]);
    assert_eq!(block::min_block(&shape, &numpy).unwrap(), [1, 1, 1]);
    let second = GradientOptions::new()
        .edge_order(EdgeOrder::Second)
        .axes([2, 0]);
    assert_eq!(block::halo(&shape, &second).unwrap(), [1, 0, 1]);
    assert_eq!(block::min_block(&shape, &second).unwrap(), [2, 1, 2]);
    let sixth = GradientOptions::new()
        .accuracy(Accuracy::Sixth)
        .per_axis_boundary([Boundary::OneSided, Boundary::PERIODIC, Boundary::OneSided]);
    assert_eq!(block::halo(&shape, &sixth).unwrap(), [3, 0, 3]);
    assert_eq!(block::min_block(&shape, &sixth).unwrap(), [4, 20, 4]);
}

#[test]
fn a_wrong_block_is_an_error_not_a_different_result() {
    let f = Array2Ext::ramp(20, 6);
    let opts = GradientOptions::new()
        .edge_order(EdgeOrder::Second)
        .backend(Backend::Cpu);
    let shape = vec![20, 6];
    let is_block = |r: ndgrad::Result<ndgrad::Gradients<f64, IxDyn>>| match r {
        Err(Error::Block { reason }) => reason,
        other => panic!("expected a block error, got {other:?}"),
    };
    // No halo below rows 5..10.
    let place = Place {
        shape: shape.clone(),
        origin: vec![5, 0],
        region: vec![0..5, 0..6],
    };
    let reason = is_block(block::gradient(&slice(&f, &[5..11, 0..6]), &place, &opts));
    assert!(reason.contains("point 5 reads points 4..7"), "{reason}");
    // Point 0 of edge order 2 reads points 0..3; the block holds 0..2.
    let place = Place {
        shape: shape.clone(),
        origin: vec![0, 0],
        region: vec![0..1, 0..6],
    };
    let reason = is_block(block::gradient(&slice(&f, &[0..2, 0..6]), &place, &opts));
    assert!(reason.contains("needs at least 3"), "{reason}");
    // A block that does not fit where it is placed.
    let place = Place {
        shape: shape.clone(),
        origin: vec![15, 0],
        region: vec![1..5, 0..6],
    };
    let reason = is_block(block::gradient(&slice(&f, &[10..20, 0..6]), &place, &opts));
    assert!(reason.contains("does not fit"), "{reason}");
    // A region outside the block, and a place of the wrong dimension.
    let place = Place {
        shape: shape.clone(),
        origin: vec![0, 0],
        region: vec![0..21, 0..6],
    };
    is_block(block::gradient(&f.view(), &place, &opts));
    let place = Place {
        shape: vec![20],
        origin: vec![0],
        region: std::iter::once(0..20).collect(),
    };
    is_block(block::gradient(&f.view(), &place, &opts));
    // A periodic axis split between blocks.
    let periodic = GradientOptions::new()
        .boundary(Boundary::PERIODIC)
        .backend(Backend::Cpu);
    let place = Place {
        shape: shape.clone(),
        origin: vec![0, 0],
        region: vec![0..10, 0..6],
    };
    let reason = is_block(block::gradient(
        &slice(&f, &[0..11, 0..6]),
        &place,
        &periodic,
    ));
    assert!(reason.contains("periodic"), "{reason}");
    // The whole array's own errors come first.
    let place = Place {
        shape: vec![20, 2],
        origin: vec![0, 0],
        region: vec![0..20, 0..2],
    };
    let r = block::gradient(&slice(&f, &[0..20, 0..2]), &place, &opts);
    assert!(
        matches!(r, Err(Error::AxisTooShort { axis: 1, .. })),
        "{r:?}"
    );
    // A wanted box outside the array.
    let r = block::window(&shape, &[0..21, 0..6], &opts);
    assert!(matches!(r, Err(Error::Block { .. })), "{r:?}");
}

#[test]
fn an_empty_region_gives_empty_results() {
    let f = Array2Ext::ramp(10, 4);
    let opts = GradientOptions::new().backend(Backend::Cpu);
    let place = Place {
        shape: vec![10, 4],
        origin: vec![2, 0],
        region: vec![3..3, 0..4],
    };
    let g = block::gradient(&slice(&f, &[2..7, 0..4]), &place, &opts).unwrap();
    assert_eq!(g.arrays.len(), 2);
    assert!(g.arrays.iter().all(|a| a.shape() == [0, 4]));
    let m = block::gradient_magnitude(&slice(&f, &[2..7, 0..4]), &place, &opts).unwrap();
    assert_eq!(m.shape(), [0, 4]);
}

/// A small non-linear test array.
struct Array2Ext;
impl Array2Ext {
    fn ramp(rows: usize, cols: usize) -> ArrayD<f64> {
        let mut rng = Rng::new(rows as u64 * 31 + cols as u64);
        rng.array(&[rows, cols], -3.0, 3.0)
    }
}
