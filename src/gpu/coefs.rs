//! The coefficient table: every requested axis's interior and end
//! coefficients from [`crate::stencil::Stencil`], laid out for one upload,
//! each part at the storage offset alignment the per-axis kernels bind it
//! at (or unpadded for the fused kernel, which binds it whole).

use super::config::GpuLimits;
use super::types::{Real, Stored};
use crate::plan::Plan;
use crate::stencil::{Interior, Tap};

/// A run of coefficients in the coefficient buffer, starting at an offset a
/// storage binding may start at.
#[derive(Debug, Clone, Copy)]
pub(super) struct Part {
    pub(super) start: usize,
    pub(super) len: usize,
}

/// Where one axis's coefficients lie in the coefficient buffer.
#[derive(Debug, Clone, Copy)]
pub(super) struct AxisCoefs {
    /// `2h` (uniform) or `[a, b, c]` per interior point (non-uniform); for
    /// a form other than numpy's, every row [`super::wide::rows`] packs
    /// (and the ends are empty parts).
    pub(super) interior: Part,
    pub(super) non_uniform: bool,
    /// The first end's [`crate::stencil::Tap::coefficients`].
    pub(super) first: Part,
    /// The last end's [`crate::stencil::Tap::coefficients`].
    pub(super) last: Part,
}

/// Every requested axis's coefficients, from [`crate::stencil::Stencil`],
/// laid out for one upload (rounded once to the compute type by
/// [`CoefTable::bytes`]).
pub(super) struct CoefTable {
    values: Vec<f64>,
    pub(super) axes: Vec<AxisCoefs>,
}

impl CoefTable {
    /// The table of `plan`, each part starting at a multiple of `align`
    /// elements. An end contributes its tap's coefficients in the order
    /// `shaders/boundary.wgsl` reads them ([`crate::stencil::Tap::coefficients`]).
    pub(super) fn new(plan: &Plan, align: usize) -> CoefTable {
        let mut values: Vec<f64> = Vec::new();
        let mut push = |coefs: &mut dyn Iterator<Item = f64>| {
            values.resize(values.len().next_multiple_of(align), 0.0);
            let start = values.len();
            values.extend(coefs);
            Part {
                start,
                len: values.len() - start,
            }
        };
        let axes = plan
            .axes
            .iter()
            .map(|ax| {
                if !ax.stencil.is_numpy() {
                    // Only the fused kernel computes these forms: one part,
                    // its rows ([`super::wide::rows`]).
                    let interior = push(&mut super::wide::rows(&ax.stencil).into_iter());
                    let ends = Part {
                        start: interior.start,
                        len: 0,
                    };
                    return AxisCoefs {
                        interior,
                        non_uniform: super::wide::non_uniform(&ax.stencil),
                        first: ends,
                        last: ends,
                    };
                }
                let (interior, non_uniform) = match ax.stencil.interior() {
                    Interior::Uniform { two_h } => (push(&mut std::iter::once(*two_h)), false),
                    Interior::NonUniform { x } => {
                        (push(&mut (1..x.len() - 1).flat_map(|i| x.weights(i))), true)
                    }
                    Interior::Central { .. } | Interior::Table { .. } => {
                        unreachable!("numpy's stencils are of accuracy 2")
                    }
                };
                let first = push(&mut ax.stencil.first().coefficients().iter().copied());
                let last = push(&mut ax.stencil.last().coefficients().iter().copied());
                AxisCoefs {
                    interior,
                    non_uniform,
                    first,
                    last,
                }
            })
            .collect();
        CoefTable { values, axes }
    }

    /// The length of `CoefTable::new(plan, 1)`, without computing it.
    pub(super) fn unpadded_len(plan: &Plan) -> usize {
        plan.axes
            .iter()
            .map(|ax| {
                if !ax.stencil.is_numpy() {
                    return super::wide::rows_len(&ax.stencil);
                }
                let interior = match ax.stencil.interior() {
                    Interior::Uniform { .. } => 1,
                    Interior::NonUniform { x } => 3 * (x.len() - 2),
                    Interior::Central { .. } | Interior::Table { .. } => {
                        unreachable!("numpy's stencils are of accuracy 2")
                    }
                };
                interior
                    + ax.stencil.first().coefficients().len()
                    + ax.stencil.last().coefficients().len()
            })
            .sum()
    }

    /// The coefficients of `part`, in `f64`.
    pub(super) fn part(&self, part: Part) -> &[f64] {
        &self.values[part.start..part.start + part.len]
    }

    /// Number of coefficients (padding included).
    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// The size in bytes of the table in the compute type of `stored`.
    pub(super) fn byte_len(&self, stored: Stored) -> u64 {
        self.len() as u64 * stored.real().size()
    }

    /// The coefficients in the compute type of `stored`, rounded once from
    /// f64, as bytes.
    pub(super) fn bytes(&self, stored: Stored) -> Vec<u8> {
        match stored.real() {
            Real::F32 => {
                let v: Vec<f32> = self.values.iter().map(|&c| c as f32).collect();
                bytemuck::cast_slice(&v).to_vec()
            }
            Real::F64 => bytemuck::cast_slice(&self.values).to_vec(),
        }
    }
}

/// An end of an axis as every kernel takes it, derived from the
/// [`Tap`]'s own geometry ([`Tap::order`], [`Tap::start`],
/// [`Tap::coefficients`]) and nothing else: the one GPU encoding of a
/// boundary tap. The per-axis boundary kernel reads `order` (its
/// `EDGE_ORDER`), `start` and [`EndTap::second`], and the tap's coefficients
/// from the table ([`CoefTable::new`]); the fused kernel reads `start` and
/// `constants` from its uniform block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct EndTap {
    /// 1 for a difference of two samples, 2 for three weights.
    pub(super) order: u32,
    /// The global index along the axis of the first sample.
    pub(super) start: usize,
    /// The coefficients, zero-padded to three: `[d, 0, 0]` or the weights.
    pub(super) constants: [f64; 3],
}

impl EndTap {
    /// The encoding of the end tap `tap`.
    pub(super) fn of(tap: Tap) -> EndTap {
        debug_assert_eq!(
            tap.span(),
            (tap.start(), tap.start() + tap.order() + 1),
            "numpy's end taps read adjacent samples"
        );
        let coefficients = tap.coefficients();
        let mut constants = [0.0; 3];
        constants[..coefficients.len()].copy_from_slice(coefficients);
        EndTap {
            order: tap.order() as u32,
            start: tap.start(),
            constants,
        }
    }

    /// The boundary kernel's `tap_second`: the difference's other sample;
    /// a weighted end does not read it (it is left at `start`).
    pub(super) fn second(&self) -> usize {
        match self.order {
            1 => self.start + 1,
            _ => self.start,
        }
    }
}

/// The alignment, in elements, of a storage binding's offset.
pub(super) fn coefficient_alignment(limits: &GpuLimits, stored: Stored) -> usize {
    (limits.storage_offset_alignment as usize / stored.real().size() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::CoefTable;
    use crate::options::{AxisSpacing, EdgeOrder, GradientOptions};
    use crate::plan::Plan;

    #[test]
    fn the_unpadded_length_is_the_length_of_the_unpadded_table() {
        let coords =
            |n: usize| AxisSpacing::from((0..n).map(|i| (i * i) as f64).collect::<Vec<_>>());
        for order in [EdgeOrder::First, EdgeOrder::Second] {
            for opts in [
                GradientOptions::new(),
                GradientOptions::new().per_axis_spacing([
                    coords(5),
                    AxisSpacing::Scalar(2.0),
                    coords(7),
                ]),
                GradientOptions::new().per_axis_spacing([
                    coords(5),
                    coords(4),
                    AxisSpacing::Scalar(0.5),
                ]),
            ] {
                let plan = Plan::new(&[5, 4, 7], &opts.edge_order(order)).unwrap();
                assert_eq!(
                    CoefTable::unpadded_len(&plan),
                    CoefTable::new(&plan, 1).len()
                );
                assert!(CoefTable::new(&plan, 16).len() >= CoefTable::new(&plan, 1).len());
            }
        }
    }
}
