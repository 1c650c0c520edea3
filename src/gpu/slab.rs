//! Splitting an array into slabs that fit the device's buffer limits.
//!
//! A slab is a run of planes along the outermost axis (axis 0). It is
//! uploaded once and every requested axis is computed from it. When axis 0 is
//! itself differentiated, its stencil reaches across slab borders, so each
//! slab also loads the halo planes the stencil needs: ±1 plane for the
//! interior and first-order edges, up to 2 planes for second-order edges
//! (`Stencil::first()` of order 2 reads planes 0..=2, `last()` reads n−3..n).
//! Along any other axis every lane lies inside one slab and no halo is needed.

use std::ops::Range;

use crate::error::{Error, Result};

/// One slab: the planes of axis 0 whose outputs it computes, and the planes
/// it loads (those plus the halo, clipped to the array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slab {
    /// Planes loaded into the input buffer.
    pub(crate) load: Range<usize>,
    /// Planes whose outputs this slab computes; a subrange of `load`.
    pub(crate) compute: Range<usize>,
}

/// How an array of `planes` planes of `plane_len` elements is streamed
/// through buffers of at most `budget` elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlabPlan {
    /// Elements per plane of axis 0 (the product of the other extents).
    pub(crate) plane_len: usize,
    /// The slabs, in order; their `compute` ranges tile `0..planes`.
    pub(crate) slabs: Vec<Slab>,
}

impl SlabPlan {
    /// Plans the slabs of an array with `planes` planes of `plane_len`
    /// elements, loading `halo` extra planes on each side of a slab, with at
    /// most `budget` elements in a buffer.
    ///
    /// # Errors
    ///
    /// [`Error::ExceedsGpuLimits`] when one plane and its halo do not fit.
    pub(crate) fn new(
        planes: usize,
        plane_len: usize,
        halo: usize,
        budget: u64,
        elem_size: u64,
    ) -> Result<SlabPlan> {
        let total = planes as u64 * plane_len as u64;
        if total <= budget {
            return Ok(SlabPlan {
                plane_len,
                slabs: vec![Slab {
                    load: 0..planes,
                    compute: 0..planes,
                }],
            });
        }
        let smallest = (1 + 2 * halo) as u64 * plane_len as u64;
        if smallest > budget {
            return Err(Error::ExceedsGpuLimits {
                what: format!(
                    "one plane of {plane_len} elements along the outermost axis with {halo} halo planes on each side"
                ),
                needed: smallest * elem_size,
                limit: budget * elem_size,
            });
        }
        let per_slab = (budget / plane_len as u64) as usize - 2 * halo;
        let slabs = (0..planes)
            .step_by(per_slab)
            .map(|start| {
                let end = (start + per_slab).min(planes);
                Slab {
                    load: start.saturating_sub(halo)..(end + halo).min(planes),
                    compute: start..end,
                }
            })
            .collect();
        Ok(SlabPlan { plane_len, slabs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_array_that_fits_is_one_slab_without_halo() {
        let p = SlabPlan::new(10, 7, 2, 70, 4).unwrap();
        assert_eq!(
            p.slabs,
            vec![Slab {
                load: 0..10,
                compute: 0..10
            }]
        );
    }

    #[test]
    fn slabs_tile_the_planes_and_load_their_halo_within_budget() {
        for planes in 1..40 {
            for plane_len in 1..5 {
                for halo in 0..3 {
                    for budget in 1..60u64 {
                        let Ok(p) = SlabPlan::new(planes, plane_len, halo, budget, 4) else {
                            assert!(
                                ((1 + 2 * halo) * plane_len) as u64 > budget
                                    && (planes * plane_len) as u64 > budget
                            );
                            continue;
                        };
                        let mut next = 0;
                        for s in &p.slabs {
                            assert_eq!(s.compute.start, next);
                            assert!(s.compute.end > s.compute.start);
                            next = s.compute.end;
                            assert!(s.load.start <= s.compute.start && s.compute.end <= s.load.end);
                            assert!(s.load.len() as u64 * plane_len as u64 <= budget);
                            if p.slabs.len() > 1 {
                                assert_eq!(s.load.start, s.compute.start.saturating_sub(halo));
                                assert_eq!(s.load.end, (s.compute.end + halo).min(planes));
                            }
                        }
                        assert_eq!(next, planes);
                    }
                }
            }
        }
    }

    #[test]
    fn a_plane_too_large_for_the_budget_is_an_error() {
        let e = SlabPlan::new(4, 100, 1, 250, 4).unwrap_err();
        assert!(matches!(
            e,
            Error::ExceedsGpuLimits {
                needed: 1200,
                limit: 1000,
                ..
            }
        ));
    }
}
