//! numpy's `gradient` of timedelta64 (and datetime64, viewed as
//! timedelta64) input: numpy differentiates their int64 counts with its
//! timedelta arithmetic, which rounds every product to a whole count and
//! propagates `NaT`, so the library's float backends cannot reproduce it.
//! This small exact kernel does.

use super::*;

/// numpy's timedelta64 arithmetic on int64 counts, `NaT` being `i64::MIN`.
mod td {
    /// Not a time.
    pub const NAT: i64 = i64::MIN;

    /// A double converted to a count as numpy's C cast does on x86: out of
    /// range and NaN give `NaT`'s bit pattern.
    pub fn from_f64(v: f64) -> i64 {
        // 2⁶³, exactly: counts lie in [-2⁶³, 2⁶³); NaN lies nowhere.
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        if !(-TWO_63..TWO_63).contains(&v) {
            NAT
        } else {
            v as i64
        }
    }

    /// `m8 - m8`.
    pub fn sub(a: i64, b: i64) -> i64 {
        if a == NAT || b == NAT {
            NAT
        } else {
            a.wrapping_sub(b)
        }
    }

    /// `m8 + m8`.
    pub fn add(a: i64, b: i64) -> i64 {
        if a == NAT || b == NAT {
            NAT
        } else {
            a.wrapping_add(b)
        }
    }

    /// `f8 * m8`.
    pub fn mul(w: f64, a: i64) -> i64 {
        if a == NAT || w.is_nan() {
            NAT
        } else {
            from_f64(w * a as f64)
        }
    }

    /// `m8 / f8`.
    pub fn div(a: i64, d: f64) -> i64 {
        if a == NAT {
            NAT
        } else {
            from_f64(a as f64 / d)
        }
    }

    /// `a*f0 + b*f1 + c*f2`, each product rounded to a count first.
    pub fn three(a: f64, f0: i64, b: f64, f1: i64, c: f64, f2: i64) -> i64 {
        add(add(mul(a, f0), mul(b, f1)), mul(c, f2))
    }
}

/// numpy.gradient's formulas for one lane of timedelta counts, with the
/// same operations in the same order, so every rounding and `NaT` is
/// numpy's. `dx` is the uniform step or the coordinates' differences.
fn timedelta_lane(
    f: ndarray::ArrayView1<'_, i64>,
    mut out: ndarray::ArrayViewMut1<'_, i64>,
    dx: &Result<f64, Vec<f64>>,
    second: bool,
) {
    use td::*;
    let n = f.len();
    for i in 1..n - 1 {
        out[i] = match dx {
            Ok(h) => div(sub(f[i + 1], f[i - 1]), 2.0 * h),
            Err(d) => {
                let (dx1, dx2) = (d[i - 1], d[i]);
                let a = -dx2 / (dx1 * (dx1 + dx2));
                let b = (dx2 - dx1) / (dx1 * dx2);
                let c = dx1 / (dx2 * (dx1 + dx2));
                three(a, f[i - 1], b, f[i], c, f[i + 1])
            }
        };
    }
    if !second {
        let (d0, dn) = match dx {
            Ok(h) => (*h, *h),
            Err(d) => (d[0], d[d.len() - 1]),
        };
        out[0] = div(sub(f[1], f[0]), d0);
        out[n - 1] = div(sub(f[n - 1], f[n - 2]), dn);
        return;
    }
    let (a, b, c) = match dx {
        Ok(h) => (-1.5 / h, 2. / h, -0.5 / h),
        Err(d) => {
            let (dx1, dx2) = (d[0], d[1]);
            (
                -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2)),
                (dx1 + dx2) / (dx1 * dx2),
                -dx1 / (dx2 * (dx1 + dx2)),
            )
        }
    };
    out[0] = three(a, f[0], b, f[1], c, f[2]);
    let (a, b, c) = match dx {
        Ok(h) => (0.5 / h, -2. / h, 1.5 / h),
        Err(d) => {
            let (dx1, dx2) = (d[d.len() - 2], d[d.len() - 1]);
            (
                dx2 / (dx1 * (dx1 + dx2)),
                -(dx2 + dx1) / (dx1 * dx2),
                (2. * dx2 + dx1) / (dx2 * (dx1 + dx2)),
            )
        }
    };
    out[n - 1] = three(a, f[n - 3], b, f[n - 2], c, f[n - 1]);
}

/// numpy.gradient of timedelta64 (and datetime64, viewed as timedelta64)
/// counts, given as int64: numpy's own integer-and-double arithmetic, which
/// rounds every product to a whole count, so the float backends cannot
/// reproduce it. `spacing` holds, per axis, a float step or the float64
/// differences of the coordinates (numpy collapses equal ones to a step
/// before this). Arguments are validated by the caller.
#[pyfunction]
pub(crate) fn timedelta<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyArrayDyn<i64>>,
    axes: Vec<usize>,
    spacing: &Bound<'py, PyList>,
    edge_order: usize,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let steps = spacing
        .iter()
        .map(|s| match s.cast::<PyArray1<f64>>() {
            Ok(d) => {
                check_layout(d)?;
                let d = d.try_readonly().map_err(|e| {
                    PyValueError::new_err(format!("the coordinates cannot be read: {e}"))
                })?;
                Ok(Err(d.as_array().to_vec()))
            }
            Err(_) => s.extract::<f64>().map(Ok),
        })
        .collect::<PyResult<Vec<Result<f64, Vec<f64>>>>>()?;
    check_layout(f)?;
    let input = f
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("the input array cannot be read: {e}")))?;
    let view = input.as_array();
    if axes.len() != steps.len() || axes.iter().any(|&a| a >= view.ndim()) {
        return Err(PyValueError::new_err(
            "one spacing item per valid axis is required",
        ));
    }
    let second = edge_order == 2;
    let outs: Vec<ArrayD<i64>> = detached(py, || {
        let mut outs = Vec::with_capacity(axes.len());
        for (&axis, dx) in axes.iter().zip(&steps) {
            let n = view.len_of(Axis(axis));
            if n < if second { 3 } else { 2 } {
                return Err(PyValueError::new_err(
                    "Shape of array too small to calculate a numerical gradient, at least (edge_order + 1) elements are required.",
                ));
            }
            if let Err(d) = dx {
                if d.len() + 1 != n {
                    return Err(PyValueError::new_err(
                        "when 1d, distances must match the length of the corresponding dimension",
                    ));
                }
            }
            let mut out = ArrayD::<i64>::zeros(IxDyn(view.shape()));
            Zip::from(out.lanes_mut(Axis(axis)))
                .and(view.lanes(Axis(axis)))
                .for_each(|o, f| timedelta_lane(f, o, dx, second));
            outs.push(out);
        }
        Ok(outs)
    })?;
    Ok(outs
        .into_iter()
        .map(|a| PyArrayDyn::from_owned_array(py, a).into_any())
        .collect())
}
