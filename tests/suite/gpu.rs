//! The GPU backend against the reference. Every test gets its context from
//! `gpu_common`, which skips (or fails, with NDGRAD_REQUIRE_GPU=1) when no
//! adapter exists.

use crate::gpu_common;

use gpu_common::{assert_matches_reference, context, Layout, Rng, LAYOUTS};
use ndarray::ArrayD;
use ndgrad::gpu::GpuContext;
use ndgrad::{AxisSpacing, EdgeOrder, Element, GradientOptions, Spacing};
use proptest::prelude::*;

/// How one requested axis is spaced.
#[derive(Debug, Clone, Copy)]
enum AxisKind {
    Scalar,
    /// Coordinates with exactly equal differences (numpy's uniform path).
    EvenCoordinates,
    /// Unevenly spaced coordinates, increasing or decreasing.
    UnevenCoordinates,
}

/// One generated request.
#[derive(Debug, Clone)]
struct Case {
    shape: Vec<usize>,
    /// `None`: all axes (numpy's `axis=None`).
    axes: Option<Vec<isize>>,
    edge_order: EdgeOrder,
    /// 0: unit spacing, 1: one scalar for all axes, 2: one item per axis.
    spacing_form: u8,
    kinds: Vec<AxisKind>,
    layout: Layout,
    non_finite: bool,
    seed: u64,
}

/// The largest array a property case builds: big enough for several
/// workgroups, small enough that lavapipe runs hundreds of cases quickly.
const MAX_ELEMENTS: usize = 3000;

fn case() -> impl Strategy<Value = Case> {
    (1usize..=5, any::<bool>()).prop_flat_map(|(ndim, second)| {
        let edge_len = if second { 3 } else { 2 };
        let extent = prop_oneof![4 => 1usize..=6, 2 => Just(edge_len), 1 => 7usize..=70];
        (
            prop::collection::vec(extent, ndim),
            prop_oneof![
                1 => Just(None),
                3 => prop::sample::subsequence((0..ndim as isize).collect::<Vec<_>>(), 1..=ndim)
                    .prop_shuffle()
                    .prop_map(Some),
            ],
            any::<bool>(),
            0u8..3,
            prop::collection::vec(
                prop_oneof![
                    Just(AxisKind::Scalar),
                    Just(AxisKind::EvenCoordinates),
                    Just(AxisKind::UnevenCoordinates)
                ],
                ndim,
            ),
            prop::sample::select(LAYOUTS.to_vec()),
            prop::bool::weighted(0.3),
            any::<u64>(),
        )
            .prop_map(
                move |(
                    mut shape,
                    axes,
                    negative,
                    spacing_form,
                    kinds,
                    layout,
                    non_finite,
                    seed,
                )| {
                    let requested: Vec<usize> = match &axes {
                        None => (0..ndim).collect(),
                        Some(list) => list.iter().map(|&a| a as usize).collect(),
                    };
                    for &k in &requested {
                        shape[k] = shape[k].max(edge_len);
                    }
                    while shape.iter().product::<usize>() > MAX_ELEMENTS {
                        let (k, _) = shape.iter().enumerate().max_by_key(|&(_, &s)| s).unwrap();
                        shape[k] =
                            (shape[k] / 2).max(if requested.contains(&k) { edge_len } else { 1 });
                    }
                    // Some cases name axes from the end, as numpy allows.
                    let axes = axes.map(|list| {
                        list.into_iter()
                            .map(|a| if negative { a - ndim as isize } else { a })
                            .collect()
                    });
                    Case {
                        shape,
                        axes,
                        edge_order: if second {
                            EdgeOrder::Second
                        } else {
                            EdgeOrder::First
                        },
                        spacing_form,
                        kinds,
                        layout,
                        non_finite,
                        seed,
                    }
                },
            )
    })
}

impl Case {
    fn requested(&self) -> Vec<usize> {
        let ndim = self.shape.len() as isize;
        match &self.axes {
            None => (0..self.shape.len()).collect(),
            Some(list) => list.iter().map(|&a| a.rem_euclid(ndim) as usize).collect(),
        }
    }

    fn options(&self, rng: &mut Rng) -> GradientOptions {
        let mut opts = GradientOptions::new().edge_order(self.edge_order);
        if let Some(axes) = &self.axes {
            opts = opts.axes(axes.iter().copied());
        }
        let step = |rng: &mut Rng| {
            let h = rng.range(0.1, 10.0);
            if rng.unit() < 0.2 {
                -h
            } else {
                h
            }
        };
        opts.spacing(match self.spacing_form {
            0 => Spacing::Unit,
            1 => Spacing::Uniform(step(rng)),
            _ => Spacing::PerAxis(
                self.requested()
                    .into_iter()
                    .zip(&self.kinds)
                    .map(|(k, kind)| {
                        let n = self.shape[k];
                        match kind {
                            AxisKind::Scalar => AxisSpacing::Scalar(step(rng)),
                            AxisKind::EvenCoordinates => {
                                let x0 = (rng.below(9) as f64) - 4.0;
                                let h = [0.25, 0.5, 2.0, -1.0][rng.below(4)];
                                AxisSpacing::from(
                                    (0..n).map(|i| x0 + h * i as f64).collect::<Vec<_>>(),
                                )
                            }
                            AxisKind::UnevenCoordinates => {
                                let mut x = vec![rng.range(-5.0, 5.0)];
                                for _ in 1..n {
                                    let last = *x.last().unwrap();
                                    x.push(last + rng.range(0.1, 2.0));
                                }
                                if rng.unit() < 0.3 {
                                    x.reverse();
                                }
                                AxisSpacing::from(x)
                            }
                        }
                    })
                    .collect(),
            ),
        })
    }
}

/// Runs `case` on the GPU in `T` and compares with the reference.
fn check_case<T: Element>(ctx: &GpuContext, case: &Case) {
    check_case_or_limits::<T>(ctx, case, false);
}

/// [`check_case`], where `may_exceed_limits` accepts
/// [`ndgrad::Error::ExceedsGpuLimits`] exactly when one plane of the
/// outermost axis with its halo is larger than a slab may be.
fn check_case_or_limits<T: Element>(ctx: &GpuContext, case: &Case, may_exceed_limits: bool) {
    let mut rng = Rng::new(case.seed);
    let density = if case.non_finite { 0.05 } else { 0.0 };
    let owner = gpu_common::array_in_layout::<T>(&mut rng, &case.shape, case.layout, density);
    let f = gpu_common::view(&owner, case.layout);
    assert_eq!(f.shape(), case.shape.as_slice());
    let opts = case.options(&mut rng);
    let got = match ctx.gradient(&f, &opts) {
        Err(ndgrad::Error::ExceedsGpuLimits { .. }) if may_exceed_limits => {
            let plane: usize = case.shape[1..].iter().product();
            let halo = if case.requested().contains(&0) {
                case.edge_order.get()
            } else {
                0
            };
            let budget = ctx
                .limits()
                .max_slab_elements(std::mem::size_of::<T>() as u64);
            assert!(
                (plane * (1 + 2 * halo)) as u64 > budget,
                "{case:?}: refused although a slab of {} elements fits {budget}",
                plane * (1 + 2 * halo)
            );
            return;
        }
        other => other.unwrap_or_else(|e| panic!("{case:?}: {e}")),
    };
    for g in &got {
        assert_eq!(g.shape(), f.shape());
    }
    let got: Vec<Vec<T>> = got.iter().map(|g| g.iter().copied().collect()).collect();
    let input: Vec<T> = f.iter().copied().collect();
    assert_matches_reference(&input, &case.shape, &opts, &got, &format!("{case:?}"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn gpu_equals_reference_f32(case in case()) {
        let Some(ctx) = context() else { return Ok(()) };
        check_case::<f32>(ctx, &case);
    }

    #[test]
    fn gpu_equals_reference_f64(case in case()) {
        let Some(ctx) = context() else { return Ok(()) };
        if !ctx.supports_f64() {
            eprintln!("skipping: {} has no SHADER_F64", ctx.adapter_info().name);
            return Ok(());
        }
        check_case::<f64>(ctx, &case);
    }
}

/// A context whose limits are tiny: 512-byte bindings and grids of at most
/// 3×3×3 workgroups of 4 threads, so a slab holds at most 108 f32 or 64 f64
/// elements and a coefficient window at most 40 (f32) or 20 (f64) rows.
fn tiny_context() -> Option<&'static GpuContext> {
    static CTX: std::sync::OnceLock<Option<GpuContext>> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        gpu_common::context_with(
            ndgrad::gpu::GpuOptions::new()
                .max_storage_buffer_binding_size(512)
                .max_workgroups_per_dimension(3)
                .workgroup_size(4),
        )
    })
    .as_ref()
}

/// Cases shaped for [`tiny_context`]: a long outermost axis (8 to 100
/// planes) and planes of at most 12 elements, so that nearly every case
/// streams through several slabs (with halos when axis 0 is requested),
/// folds its grids into 2-D or 3-D, and splits non-uniform coefficients
/// into several windows.
fn slab_case() -> impl Strategy<Value = Case> {
    (case(), 8usize..=100).prop_map(|(mut case, planes)| {
        let requested = case.requested();
        let edge_len = case.edge_order.get() + 1;
        case.shape[0] = case.shape[0].max(planes);
        while case.shape[1..].iter().product::<usize>() > 12 {
            let (k, _) = case.shape[1..]
                .iter()
                .enumerate()
                .max_by_key(|&(_, &s)| s)
                .unwrap();
            let k = k + 1;
            let min = if requested.contains(&k) { edge_len } else { 1 };
            if case.shape[k] == min {
                // Every other axis is at its minimum: drop requested axes' extra
                // dimensions by making them unrequested is not possible here,
                // so accept the larger plane.
                break;
            }
            case.shape[k] = (case.shape[k] / 2).max(min);
        }
        case
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn gpu_equals_reference_under_tiny_limits_f32(case in slab_case()) {
        let Some(ctx) = tiny_context() else { return Ok(()) };
        check_case_or_limits::<f32>(ctx, &case, true);
    }

    #[test]
    fn gpu_equals_reference_under_tiny_limits_f64(case in slab_case()) {
        let Some(ctx) = tiny_context() else { return Ok(()) };
        if !ctx.supports_f64() {
            return Ok(());
        }
        check_case_or_limits::<f64>(ctx, &case, true);
    }
}

/// With finite input the reference is finite everywhere, so an element the
/// GPU never wrote still holds the NaN poison and fails; checked for every
/// layout of the kernels' work: both edge orders, both interior kinds, sizes
/// around the workgroup size.
#[test]
fn every_output_element_is_written() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new(7);
    for shape in [
        vec![255usize],
        vec![257],
        vec![3, 86],
        vec![3, 3, 43],
        vec![3, 4, 3, 5, 4],
    ] {
        for edge_order in [EdgeOrder::First, EdgeOrder::Second] {
            for uneven in [false, true] {
                let len = shape.iter().product();
                let data: Vec<f32> = gpu_common::values(&mut rng, len, 0.0);
                let f = ArrayD::from_shape_vec(shape.clone(), data.clone()).unwrap();
                let spacing = if uneven {
                    Spacing::PerAxis(
                        shape
                            .iter()
                            .map(|&n| {
                                AxisSpacing::from(
                                    (0..n).map(|i| (i * i) as f64 * 0.5).collect::<Vec<_>>(),
                                )
                            })
                            .collect(),
                    )
                } else {
                    Spacing::Uniform(0.75)
                };
                let opts = GradientOptions::new()
                    .edge_order(edge_order)
                    .spacing(spacing);
                let got = ctx.gradient(&f, &opts).unwrap();
                let got: Vec<Vec<f32>> = got
                    .into_iter()
                    .map(|g| g.into_raw_vec_and_offset().0)
                    .collect();
                assert!(
                    got.iter().flatten().all(|v| v.is_finite()),
                    "{shape:?}: an unwritten element"
                );
                assert_matches_reference(
                    &data,
                    &shape,
                    &opts,
                    &got,
                    &format!("{shape:?} {edge_order:?} uneven={uneven}"),
                );
            }
        }
    }
}
