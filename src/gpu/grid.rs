//! The dispatch geometry: how many workgroups a dispatch of a given number
//! of threads runs, folded into 2-D or 3-D grids under the device's
//! per-dimension limit.

/// The workgroup grid of one dispatch: `workgroups` in a row, folded into
/// 2-D or 3-D when a row would exceed `max_per_dimension` (65,535 on most
/// devices). `thread_index` in `shaders/dispatch.wgsl` unfolds it; threads
/// past the end of the dispatch return at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) z: u32,
}

impl Grid {
    /// The grid for `threads` threads in workgroups of `workgroup_size`, or
    /// `None` when even a 3-D grid of `max_per_dimension`³ is too small.
    pub(crate) fn fold(threads: u64, workgroup_size: u32, max_per_dimension: u32) -> Option<Grid> {
        let groups = threads.div_ceil(u64::from(workgroup_size));
        let max = u64::from(max_per_dimension);
        if groups > max * max * max {
            return None;
        }
        let x = groups.min(max);
        let rest = groups.div_ceil(x.max(1));
        let y = rest.min(max);
        let z = rest.div_ceil(y.max(1));
        Some(Grid {
            x: x as u32,
            y: y as u32,
            z: z as u32,
        })
    }

    /// How many threads the grid runs.
    #[cfg(test)]
    pub(crate) fn threads(&self, workgroup_size: u32) -> u64 {
        u64::from(self.x) * u64::from(self.y) * u64::from(self.z) * u64::from(workgroup_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_cover_every_thread_within_the_per_dimension_limit() {
        for &(threads, wg, max) in &[
            (1u64, 64u32, 65_535u32),
            (64, 64, 65_535),
            (65, 64, 65_535),
            (65_535 * 256 + 1, 256, 65_535),
            (1 << 31, 256, 65_535),
            (1000, 1, 10),
            (700, 1, 9),
            (9 * 9 * 9 * 3, 3, 9),
        ] {
            let g = Grid::fold(threads, wg, max).expect("fits");
            assert!(g.x <= max && g.y <= max && g.z <= max, "{g:?}");
            assert!(g.threads(wg) >= threads, "{g:?} covers {threads}");
            // No whole workgroup layer is wasted: one fewer z-layer would not cover.
            let fewer = Grid { z: g.z - 1, ..g };
            assert!(fewer.threads(wg) < threads || g.z == 1, "{g:?}");
        }
        assert_eq!(Grid::fold(1001, 1, 10), None);
    }
}
