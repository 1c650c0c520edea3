//! Copying a view of any strides into C order, tile by tile: the one copy
//! behind the CPU's slabs of strided inputs and the GPU's uploads of them
//! (where the destination is the device's staging memory, so a strided
//! input never gets a whole-array copy of its own on the host).

use bytemuck::Zeroable;
use ndarray::ArrayViewD;

/// The side of the square tiles the copy moves at a time: a tile's source
/// columns and destination rows are whole cache lines for `f32`.
const TILE: usize = 16;

/// Walks `src` (any dimension, any strides) in C order, converting each
/// sample with `load`, and hands the converted samples to `store` in runs:
/// `store(at, run)` receives the samples whose C-order positions are
/// `at..at + run.len()`. Every position is stored exactly once, in runs of
/// at most `TILE`² samples, in no particular order of runs.
///
/// A plain element-by-element copy of a transposed array reads one cache
/// line per element at a large, often power-of-two, stride, and the lines
/// evict each other before their other elements are used. Here the axis
/// along which `src` is most nearly contiguous and the innermost axis of the
/// destination are walked in `TILE`×`TILE` tiles through a small buffer:
/// each source line is read whole, then each destination run is stored
/// whole. When the innermost axis is already the most nearly contiguous one
/// (C order with stepped or reversed axes, sub-views) rows are copied in
/// runs along it instead.
pub(crate) fn copy_in_c_order<I, C>(
    src: &ArrayViewD<'_, I>,
    load: impl Fn(I) -> C,
    mut store: impl FnMut(usize, &[C]),
) where
    I: Copy,
    C: Copy + Zeroable,
{
    let ndim = src.ndim();
    let (shape, strides) = (src.shape(), src.strides());
    // Axes of extent 1 move nothing: the destination's innermost axis is
    // the last longer one, and the source's most contiguous axis is chosen
    // among the longer ones, the innermost first on a tie.
    let Some(q) = (0..ndim).rev().find(|&k| shape[k] > 1) else {
        // No axis longer than 1: one sample, or none.
        if let Some(&x) = src.first() {
            store(0, &[load(x)]);
        }
        return;
    };
    if src.is_empty() {
        return;
    }
    let p = (0..ndim)
        .rev()
        .filter(|&k| shape[k] > 1)
        .min_by_key(|&k| strides[k].unsigned_abs())
        .unwrap_or(q);
    let tiled = p != q;
    let mut dst_strides = vec![1; ndim];
    for k in (0..ndim - 1).rev() {
        dst_strides[k] = dst_strides[k + 1] * shape[k + 1];
    }
    let others: Vec<usize> = (0..ndim)
        .filter(|&k| k != q && !(tiled && k == p))
        .collect();
    let (sp, sq, dp) = (strides[p], strides[q], dst_strides[p]);
    let base = src.as_ptr();
    let mut tile = [C::zeroed(); TILE * TILE];
    let mut index = vec![0; ndim];
    let count: usize = others.iter().map(|&k| shape[k]).product();
    for _ in 0..count {
        let src_at: isize = others.iter().map(|&k| index[k] as isize * strides[k]).sum();
        let dst_at: usize = others.iter().map(|&k| index[k] * dst_strides[k]).sum();
        if !tiled {
            for q0 in (0..shape[q]).step_by(TILE * TILE) {
                let n = (shape[q] - q0).min(TILE * TILE);
                let row = src_at + q0 as isize * sq;
                if sq == 1 {
                    // SAFETY: the multi-index (others = index, q = q0..q0 + n)
                    // lies inside `src`'s shape, and with stride 1 along `q`
                    // those `n` samples are consecutive elements of `src`,
                    // readable for the view's lifetime.
                    let run = unsafe { std::slice::from_raw_parts(base.offset(row), n) };
                    for (t, &v) in tile.iter_mut().zip(run) {
                        *t = load(v);
                    }
                } else {
                    for (i, t) in tile[..n].iter_mut().enumerate() {
                        // SAFETY: the multi-index (others = index, q = q0 + i)
                        // lies inside `src`'s shape, so the offset addresses
                        // one of its elements, readable for the view's
                        // lifetime.
                        *t = load(unsafe { *base.offset(row + i as isize * sq) });
                    }
                }
                store(dst_at + q0, &tile[..n]);
            }
        } else {
            for p0 in (0..shape[p]).step_by(TILE) {
                let pn = (shape[p] - p0).min(TILE);
                for q0 in (0..shape[q]).step_by(TILE) {
                    let qn = (shape[q] - q0).min(TILE);
                    if sp == 1 && pn == TILE && qn == TILE {
                        // The common full tile of a contiguous source axis:
                        // fixed bounds and slices let the compiler unroll it.
                        for iq in 0..TILE {
                            let column = src_at + (q0 + iq) as isize * sq + p0 as isize;
                            // SAFETY: as below; with stride 1 along `p`, the
                            // `TILE` samples p0..p0 + TILE of this column are
                            // consecutive elements of `src`.
                            let run =
                                unsafe { std::slice::from_raw_parts(base.offset(column), TILE) };
                            for (ip, &v) in run.iter().enumerate() {
                                tile[ip * TILE + iq] = load(v);
                            }
                        }
                    } else {
                        for iq in 0..qn {
                            let column = src_at + (q0 + iq) as isize * sq;
                            for ip in 0..pn {
                                // SAFETY: the multi-index (others = index,
                                // p = p0 + ip, q = q0 + iq) lies inside `src`'s
                                // shape, so the offset addresses one of its
                                // elements, readable for the view's lifetime.
                                tile[ip * TILE + iq] =
                                    load(unsafe { *base.offset(column + (p0 + ip) as isize * sp) });
                            }
                        }
                    }
                    for ip in 0..pn {
                        let at = dst_at + (p0 + ip) * dp + q0;
                        store(at, &tile[ip * TILE..ip * TILE + qn]);
                    }
                }
            }
        }
        for &k in others.iter().rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, ArrayD, IxDyn};

    /// The copy of `v` in C order, through runs stored into a vector.
    fn copied(v: &ArrayViewD<'_, f64>) -> Vec<f64> {
        let mut dst = vec![f64::NAN; v.len()];
        let mut stored = vec![0u8; v.len()];
        copy_in_c_order(
            v,
            |x| x,
            |at, run| {
                dst[at..at + run.len()].copy_from_slice(run);
                for s in &mut stored[at..at + run.len()] {
                    *s += 1;
                }
            },
        );
        assert!(stored.iter().all(|&s| s == 1), "each position stored once");
        dst
    }

    #[test]
    fn copies_transposed_stepped_reversed_and_degenerate_views_in_c_order() {
        let a = ArrayD::from_shape_fn(IxDyn(&[19, 7, 37]), |i| {
            (i[0] * 1000 + i[1] * 50 + i[2]) as f64
        });
        let b = ArrayD::from_shape_fn(IxDyn(&[300, 1, 5]), |i| (i[0] * 10 + i[2]) as f64);
        let views = [
            a.view(),
            a.view().reversed_axes(),
            a.slice(s![..;2, .., ..;-3])
                .into_dyn()
                .permuted_axes(vec![2, 0, 1]),
            a.slice(s![3..17, 1, ..;-1]).into_dyn().reversed_axes(),
            a.slice(s![.., 2..5, ..;-1]).into_dyn(),
            a.slice(s![..;-1, 3, 5]).into_dyn(),
            a.slice(s![4, 3, 5]).into_dyn(),
            a.slice(s![4..4, .., ..]).into_dyn().reversed_axes(),
            b.view().reversed_axes(),
            b.slice(s![..;7, .., ..;2]).into_dyn(),
        ];
        for v in views {
            let want: Vec<f64> = v.iter().copied().collect();
            assert_eq!(
                copied(&v),
                want,
                "shape {:?}, strides {:?}",
                v.shape(),
                v.strides()
            );
        }
    }
}
