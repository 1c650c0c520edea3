//! numpy's own results for the compact input types (uint8, uint16, int16,
//! int32: float64 out), for float16 (float16 out), and numpy's gradient
//! magnitude `np.sqrt(sum(g**2 for g in np.gradient(f, ...)))`: the `dtype_*`
//! golden fixtures of scripts/gen_fixtures.py, on every backend that runs
//! here and with the input in every memory layout.
//!
//! Tolerances, with scale_k = max finite |f| / min |step_k| per requested
//! axis (`FixtureCase::derivative_scale`) and, for the magnitude, the root of
//! the summed squared scales:
//!
//! * float64 output (integer and float64 input) on the reference and the
//!   CPU: bit for bit. numpy widens integers to float64 and evaluates the
//!   same expressions in the same order; the magnitude's Python `sum` starts
//!   at 0 and adds the squares in axis order, as the backends do.
//! * float64 on the GPU: 1e-12 × scale (tests/fixtures.rs says why).
//! * float32: 8 f32 epsilons × scale (tests/fixtures.rs), plus k + 2 for a
//!   magnitude's k squares, their sum and the root.
//! * float16: [`F16_ULPS`] × 2⁻¹⁰ × scale. numpy computes float16 partly in
//!   float16 (each subtraction rounded to float16 for a uniform interior,
//!   squares and sums of the magnitude too) and partly in float64 (products
//!   with float64 weights); ndgrad computes in f32 and rounds once. Each of
//!   numpy's roundings costs half an f16 ulp of a term of at most ~2 × scale.

use crate::common;

use common::{
    backends_under_test, compare, load_case, manifest_cases, with_layout, FixtureCase,
    FixtureElement, Layout, Tolerance,
};
use ndarray::ArrayD;
use ndgrad::{f16, gradient, gradient_magnitude, Backend, Element, Input};
use serde_json::Value;

/// float16: this many f16 epsilons (2⁻¹⁰) times the derivative scale.
/// Measured: 0.5 fails five elements of one case by one f16 ulp (numpy's
/// float16 rounding of the edge-order-2 differences); 4 leaves room for the
/// magnitude's float16 squares while still catching a wrong coefficient.
const F16_ULPS: f64 = 4.0;
/// float32: this many f32 epsilons times the derivative scale.
const F32_ULPS: f64 = 8.0;

/// The tolerance for output type `O` on `backend` at `scale`, with `extra`
/// roundings (a magnitude's) on top.
fn tolerance<O: Element>(backend: Backend, scale: f64, extra: f64) -> Tolerance {
    match O::NUMPY_NAME {
        "float64" if backend == Backend::Gpu => Tolerance::Abs(1e-12 * scale),
        "float64" => Tolerance::Exact,
        "float32" => Tolerance::Abs((F32_ULPS + extra) * f64::from(f32::EPSILON) * scale),
        "float16" => Tolerance::Abs((F16_ULPS + extra) * 2f64.powi(-10) * scale),
        other => panic!("no tolerance for {other}"),
    }
}

/// Checks one case on every backend and layout, appending failures.
fn check_case<I: Input>(case: &FixtureCase<I>, failures: &mut Vec<String>) {
    let scales: Vec<f64> = (0..case.expected.len())
        .map(|k| case.derivative_scale(k))
        .collect();
    let magnitude_scale = scales.iter().fold(0.0, |t, s| t + s * s).sqrt();
    for backend in backends_under_test() {
        let opts = case.options.clone().backend(backend);
        for layout in Layout::ALL {
            let what = format!("{} on {backend} with {layout:?} input", case.name);
            let (components, magnitude) = with_layout(&case.input, layout, |v| {
                (gradient(&v, &opts), gradient_magnitude(&v, &opts))
            });
            match components {
                Ok(got) if got.len() == case.expected.len() => {
                    for (k, (g, e)) in got.iter().zip(&case.expected).enumerate() {
                        let tol = tolerance::<I::NumpyOutput>(backend, scales[k], 0.0);
                        if let Err(msg) = compare(g, e, tol) {
                            failures.push(format!("{what}: output {k} vs numpy: {msg}"));
                        }
                    }
                }
                Ok(got) => failures.push(format!("{what}: {} outputs", got.len())),
                Err(e) => failures.push(format!("{what}: gradient failed: {e}")),
            }
            let Some(want) = &case.magnitude else {
                continue;
            };
            let extra = case.expected.len() as f64 + 2.0;
            match magnitude {
                Ok(got) => {
                    let got: ArrayD<I::NumpyOutput> = got;
                    let tol = tolerance::<I::NumpyOutput>(backend, magnitude_scale, extra);
                    if let Err(msg) = compare(&got, want, tol) {
                        failures.push(format!("{what}: magnitude vs numpy: {msg}"));
                    }
                }
                Err(e) => failures.push(format!("{what}: magnitude failed: {e}")),
            }
        }
    }
}

fn check_typed<I>(json: &Value, failures: &mut Vec<String>) -> FixtureCase<I>
where
    I: FixtureElement,
    I::NumpyOutput: FixtureElement,
{
    let case = load_case::<I>(json);
    check_case(&case, failures);
    case
}

/// Every case with a compact or float16 input, or with a magnitude.
#[test]
fn compact_float16_and_magnitude_fixtures_match_numpy() {
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for json in manifest_cases() {
        let dtype = json["dtype"].as_str().expect("dtype");
        let magnitude = json["magnitude"].as_bool() == Some(true);
        if !magnitude && (dtype == "float32" || dtype == "float64") {
            continue; // tests/fixtures.rs
        }
        let has_magnitude = match dtype {
            "uint8" => check_typed::<u8>(&json, &mut failures).magnitude.is_some(),
            "uint16" => check_typed::<u16>(&json, &mut failures).magnitude.is_some(),
            "int16" => check_typed::<i16>(&json, &mut failures).magnitude.is_some(),
            "int32" => check_typed::<i32>(&json, &mut failures).magnitude.is_some(),
            "float16" => check_typed::<f16>(&json, &mut failures).magnitude.is_some(),
            "float32" => check_typed::<f32>(&json, &mut failures).magnitude.is_some(),
            "float64" => check_typed::<f64>(&json, &mut failures).magnitude.is_some(),
            other => panic!("unknown dtype {other}"),
        };
        seen.insert(dtype.to_string());
        if has_magnitude {
            seen.insert(format!("{dtype} magnitude"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A regenerated set that drops a type fails here rather than testing less.
    for dtype in [
        "uint8", "uint16", "int16", "int32", "float16", "float32", "float64",
    ] {
        let what = format!("{dtype} magnitude");
        assert!(seen.contains(&what), "the fixtures lack {what}");
    }
}
