//! Which cases `ndgrad bench` times, and the arrays and options of each.

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndgrad::{AxisSpacing, EdgeOrder, Element, GradientOptions, Spacing};
use ndgrad_rng::Rng;
use serde::Serialize;

use super::args::{BenchArgs, Dtype, Layout, SpacingForm};

/// One case of the suite.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Case {
    pub(super) shape: Vec<usize>,
    pub(super) dtype: Dtype,
    pub(super) spacing: SpacingForm,
    pub(super) edge_order: u8,
    pub(super) axes: Option<Vec<isize>>,
    pub(super) layout: Layout,
}

impl Case {
    /// The case in a few words, e.g. `3d 24x24x24 f32 h e1`: the table's first column.
    pub(super) fn label(&self) -> String {
        let shape: Vec<String> = self.shape.iter().map(|n| n.to_string()).collect();
        let spacing = match self.spacing {
            SpacingForm::Uniform => "h",
            SpacingForm::Coords => "x",
        };
        let mut label = format!(
            "{}d {} {:?} {} e{}",
            self.shape.len(),
            shape.join("x"),
            self.dtype,
            spacing,
            self.edge_order
        )
        .to_lowercase();
        if let Some(axes) = &self.axes {
            let axes: Vec<String> = axes.iter().map(|a| a.to_string()).collect();
            label.push_str(&format!(" ax{}", axes.join(",")));
        }
        if self.layout == Layout::Fortran {
            label.push_str(" fortran");
        }
        label
    }

    /// The number of elements of the input.
    pub(super) fn len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The default suite, narrowed by whatever options were given.
pub(super) fn suite(args: &BenchArgs) -> Vec<Case> {
    let shapes = match &args.shape {
        Some(shape) => vec![shape.clone()],
        None if args.quick => vec![vec![1 << 14], vec![128, 128], vec![24, 24, 24]],
        None => vec![vec![1 << 22], vec![2048, 2048], vec![160, 160, 160]],
    };
    let dtypes = args.dtype.map_or(vec![Dtype::F32, Dtype::F64], |d| vec![d]);
    let spacings = args
        .spacing
        .map_or(vec![SpacingForm::Uniform, SpacingForm::Coords], |s| vec![s]);
    let orders = args.edge_order.map_or(vec![1, 2], |e| vec![e]);
    let mut cases = Vec::new();
    for shape in &shapes {
        for &dtype in &dtypes {
            for &spacing in &spacings {
                for &edge_order in &orders {
                    cases.push(Case {
                        shape: shape.clone(),
                        dtype,
                        spacing,
                        edge_order,
                        axes: args.axis.clone(),
                        layout: args.layout,
                    });
                }
            }
        }
    }
    cases
}

/// The input and the options of a case.
pub(super) struct Inputs<T> {
    pub(super) f: ArrayD<T>,
    pub(super) opts: GradientOptions,
    /// The smallest spacing step over the requested axes (for tolerances).
    pub(super) min_step: f64,
    pub(super) naxes: usize,
}

/// The case's input, uniform in [−1, 1), and its options; coordinates
/// (for [`SpacingForm::Coords`]) step by 0.5 to 1.5. Both are drawn from one
/// stream seeded by the case's size, so every run times the same arrays; a
/// Fortran-order input holds the same values as the C-order one.
pub(super) fn inputs<T: Element>(case: &Case) -> Result<Inputs<T>, String> {
    let mut rng = Rng::new(0x5EED ^ case.len() as u64);
    let mut f =
        ArrayD::from_shape_simple_fn(IxDyn(&case.shape), || T::from_f64(2.0 * rng.unit() - 1.0));
    if case.layout == Layout::Fortran {
        let mut fortran = ArrayD::from_elem(IxDyn(&case.shape).f(), T::from_f64(0.0));
        fortran.assign(&f);
        f = fortran;
    }
    let ndim = case.shape.len() as isize;
    let axes: Vec<usize> = match &case.axes {
        None => (0..case.shape.len()).collect(),
        Some(list) => list
            .iter()
            .map(|&a| {
                if a < 0 {
                    (a + ndim) as usize
                } else {
                    a as usize
                }
            })
            .collect(),
    };
    let mut opts = GradientOptions::new().edge_order(if case.edge_order == 2 {
        EdgeOrder::Second
    } else {
        EdgeOrder::First
    });
    if let Some(list) = &case.axes {
        opts = opts.axes(list.iter().copied());
    }
    let (spacing, min_step) = match case.spacing {
        SpacingForm::Uniform => (Spacing::Uniform(0.5), 0.5),
        SpacingForm::Coords => {
            let mut min_step = f64::INFINITY;
            let items = axes
                .iter()
                .map(|&k| {
                    let n = case.shape.get(k).copied().unwrap_or(0);
                    let mut x = 0.0;
                    let coords: Vec<f64> = (0..n)
                        .map(|_| {
                            let step = 0.5 + rng.unit();
                            min_step = min_step.min(step);
                            x += step;
                            x
                        })
                        .collect();
                    AxisSpacing::from(coords)
                })
                .collect();
            (Spacing::PerAxis(items), min_step)
        }
    };
    Ok(Inputs {
        f,
        opts: opts.spacing(spacing),
        min_step,
        naxes: axes.len(),
    })
}
