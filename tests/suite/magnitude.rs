//! The CPU's fused magnitude and converting reads, on poisoned outputs:
//! inputs big enough to be split across threads (row ranges, column ranges,
//! slabs of transposed inputs, gathered lanes), in pools of several sizes
//! (1: the serial path), in every layout family, with compact integer and
//! float16 inputs and every output type. Buffers start as NaN and the inputs
//! are finite, so a NaN left over is an element the backend did not write.
//!
//! The truth is the reference's `f64` derivatives (and `sqrt(Σ g²)` of them,
//! summed in axis order). Tolerances, with `scale` = max |f| × the largest
//! Σ|w| of an axis's taps: `f64` output bit for bit (the CPU computes
//! numpy's expressions in `f64` in the same order, and sums the squares in
//! the same order); `f32` 8 epsilons × scale (+ k + 2 for the magnitude's
//! squares, sum and root); `f16` that plus 2⁻¹⁰ × |value| (computed in `f32`,
//! rounded once) — tests/input_types.rs explains each.

use crate::common;

use common::{tap_magnitudes, Rng};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};
use ndgrad::{
    cpu, f16, reference, AxisSpacing, EdgeOrder, Element, GradientOptions, Input, Plan, Spacing,
};

/// `(abs, rel)` tolerance of output type `O` at `scale` with `extra`
/// roundings (see the file's header).
fn tolerance<O: Element>(scale: f64, extra: f64) -> (f64, f64) {
    let eps32 = f64::from(f32::EPSILON);
    match O::NUMPY_NAME {
        "float64" => (0.0, 0.0),
        "float32" => ((8.0 + extra) * eps32 * scale, 0.0),
        _ => (
            (8.0 + extra) * eps32 * scale + 2f64.powi(-24),
            2f64.powi(-10),
        ),
    }
}

fn assert_close<O: Element>(what: &str, got: &[O], want: &[f64], (abs, rel): (f64, f64)) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(k) = got.iter().position(|v| v.to_f64().is_nan()) {
        panic!("{what}: element {k} of {} left unwritten", got.len());
    }
    for (k, (g, &e)) in got.iter().zip(want).enumerate() {
        let g = g.to_f64();
        let ok = if abs == 0.0 && rel == 0.0 {
            g.to_bits() == e.to_bits()
        } else {
            (g - e).abs() <= abs + rel * e.abs()
        };
        assert!(ok, "{what}: element {k}: got {g:e}, truth {e:e}");
    }
}

/// `cpu::gradient_into` and `cpu::magnitude_into` on NaN-filled buffers,
/// against the reference.
fn check_poisoned<I: Input, O: Element>(
    input: ArrayViewD<'_, I>,
    opts: &GradientOptions,
    what: &str,
) {
    let what = format!("{what}, {} → {}", I::NUMPY_NAME, O::NUMPY_NAME);
    let plan = Plan::new(input.shape(), opts).expect("valid options");
    let c_order = input.as_standard_layout();
    let truth: Vec<Vec<f64>> = reference::gradient(&plan, c_order.as_slice().unwrap());
    let max_f = input.iter().map(|v| v.to_f64().abs()).fold(0.0, f64::max);
    let scales: Vec<f64> = tap_magnitudes(&plan).iter().map(|m| m * max_f).collect();

    let poison = O::from_f64(f64::NAN);
    let mut outputs: Vec<Vec<O>> = plan.axes.iter().map(|_| vec![poison; plan.len()]).collect();
    let mut slices: Vec<&mut [O]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
    cpu::gradient_into(&plan, input.view(), &mut slices);
    for (p, (got, want)) in outputs.iter().zip(&truth).enumerate() {
        assert_close(
            &format!("{what}: output {p}"),
            got,
            want,
            tolerance::<O>(scales[p], 0.0),
        );
    }

    let magnitude: Vec<f64> = (0..plan.len())
        .map(|j| truth.iter().fold(0.0, |s, c| s + c[j] * c[j]).sqrt())
        .collect();
    let scale = scales.iter().fold(0.0, |t, s| t + s * s).sqrt();
    let mut got = vec![poison; plan.len()];
    cpu::magnitude_into(&plan, input.view(), &mut got);
    let extra = plan.axes.len() as f64 + 2.0;
    assert_close(
        &format!("{what}: magnitude"),
        &got,
        &magnitude,
        tolerance::<O>(scale, extra),
    );
}

/// A deterministic, never-constant input in `I`'s range.
fn input<I: Input>(shape: &[usize], seed: u64, from: impl Fn(f64) -> I) -> ArrayD<I> {
    let mut rng = Rng::new(seed);
    ArrayD::from_shape_simple_fn(IxDyn(shape), || from(rng.unit()))
}

/// Views of `a` in each layout family the CPU treats differently: in place
/// (C order, reversed outer axes), slabs (Fortran order), gathered lanes
/// (stepped innermost axis).
fn layouts<I: Input>(a: &ArrayD<I>) -> Vec<(&'static str, ArrayViewD<'_, I>)> {
    let mut reversed = a.view();
    reversed.invert_axis(Axis(0));
    let fortran = a.view().reversed_axes();
    let last = a.ndim() - 1;
    let stepped = a.slice_axis(Axis(last), Slice::new(0, None, 2));
    vec![
        ("C order", a.view()),
        ("reversed axis 0", reversed),
        ("transposed", fortran),
        ("stepped innermost", stepped),
    ]
}

fn options(shape: &[usize], edge_order: EdgeOrder, seed: u64) -> GradientOptions {
    let spacing = Spacing::PerAxis(
        shape
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                if (k as u64 + seed).is_multiple_of(2) {
                    // Non-uniform coordinates: steps between 0.2 and 1.2.
                    let x: Vec<f64> = (0..n)
                        .map(|i| i as f64 * 0.7 + 0.5 * ((i as f64 * 1.3 + seed as f64).sin()))
                        .collect();
                    AxisSpacing::from(x)
                } else {
                    AxisSpacing::Scalar(0.75)
                }
            })
            .collect(),
    );
    GradientOptions::new()
        .spacing(spacing)
        .edge_order(edge_order)
}

#[test]
fn poisoned_outputs_are_all_written_with_converted_inputs() {
    let shapes: &[&[usize]] = &[
        &[100_003],
        &[3, 40_001],
        &[301, 211],
        &[37, 29, 41],
        &[5, 24, 2500],
        &[3, 4, 5, 210],
    ];
    let mut seed = 0;
    for threads in [1, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for &shape in shapes {
            for edge_order in [EdgeOrder::First, EdgeOrder::Second] {
                seed += 1;
                let u16s = input(shape, seed, |u| (u * 65535.0).round() as u16);
                // Small enough that the derivatives stay inside f16's range.
                let i16s = input(shape, seed, |u| (u * 1000.0 - 500.0).round() as i16);
                let halves = input(shape, seed, |u| f16::from_f64(u * 200.0 - 100.0));
                let floats = input(shape, seed, |u| u * 200.0 - 100.0);
                pool.install(|| {
                    for (layout, view) in layouts(&u16s) {
                        let opts = options(view.shape(), edge_order, seed);
                        let what = format!("{shape:?} {layout}, {threads} threads");
                        check_poisoned::<u16, f32>(view.clone(), &opts, &what);
                        check_poisoned::<u16, f64>(view, &opts, &what);
                    }
                    for (layout, view) in layouts(&i16s) {
                        let opts = options(view.shape(), edge_order, seed);
                        let what = format!("{shape:?} {layout}, {threads} threads");
                        check_poisoned::<i16, f16>(view, &opts, &what);
                    }
                    for (layout, view) in layouts(&halves) {
                        let opts = options(view.shape(), edge_order, seed);
                        let what = format!("{shape:?} {layout}, {threads} threads");
                        check_poisoned::<f16, f16>(view, &opts, &what);
                    }
                    for (layout, view) in layouts(&floats) {
                        let opts = options(view.shape(), edge_order, seed);
                        let what = format!("{shape:?} {layout}, {threads} threads");
                        check_poisoned::<f64, f64>(view.clone(), &opts, &what);
                        check_poisoned::<f64, f32>(view, &opts, &what);
                    }
                });
            }
        }
    }
}

/// With no axes requested, every element of the magnitude is +0.0 (numpy's
/// `np.sqrt(sum(()))`), written over the poison.
#[test]
fn magnitude_of_no_axes_is_positive_zero() {
    let f = input(&[7, 9], 3, |u| (u * 255.0) as u8);
    let plan = Plan::new(f.shape(), &GradientOptions::new().axes(Vec::<isize>::new())).unwrap();
    let mut out = vec![f32::NAN; plan.len()];
    cpu::magnitude_into(&plan, f.view(), &mut out);
    assert!(out.iter().all(|v| v.to_bits() == 0), "{out:?}");
}
