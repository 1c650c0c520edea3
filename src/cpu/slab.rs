//! Copying a strided block of the input into C order, tile by tile.

use ndarray::ArrayViewD;

use crate::element::{convert, Element, Input};

/// The side of the square tiles the copy moves at a time: a tile's source
/// columns and destination rows are whole cache lines for `f32`.
const TILE: usize = 16;

/// Copies `src` (any strides, at least 2-D) into `dst` in C order,
/// converting each sample from the input type `I` to the compute type `C`.
///
/// A plain element-by-element copy of a transposed array reads one cache
/// line per element at a large, often power-of-two, stride, and the lines
/// evict each other before their other elements are used. Here the axis
/// along which `src` is contiguous and the innermost axis of `dst` are
/// walked in `TILE`×`TILE` tiles through a small buffer: each source line is
/// read whole, then each destination line is written whole.
pub(super) fn copy_to_c_order<I: Input, C: Element>(src: &ArrayViewD<'_, I>, dst: &mut [C]) {
    assert_eq!(
        src.len(),
        dst.len(),
        "one destination element per source element"
    );
    let ndim = src.ndim();
    let (shape, strides) = (src.shape(), src.strides());
    let q = ndim - 1;
    let p = (0..ndim)
        .min_by_key(|&k| strides[k].unsigned_abs())
        .expect("at least one axis");
    if p == q || src.is_empty() {
        // Already (nearly) in the destination's order: no tiling needed.
        for (d, s) in dst.iter_mut().zip(src.iter()) {
            *d = convert(*s);
        }
        return;
    }
    let mut dst_strides = vec![1; ndim];
    for k in (0..ndim - 1).rev() {
        dst_strides[k] = dst_strides[k + 1] * shape[k + 1];
    }
    let others: Vec<usize> = (0..ndim).filter(|&k| k != p && k != q).collect();
    let (sp, sq, dp) = (strides[p], strides[q], dst_strides[p]);
    let base = src.as_ptr();
    let mut tile = [C::from_f64(0.0); TILE * TILE];
    let mut index = vec![0; ndim];
    let count: usize = others.iter().map(|&k| shape[k]).product();
    for _ in 0..count {
        let src_at: isize = others.iter().map(|&k| index[k] as isize * strides[k]).sum();
        let dst_at: usize = others.iter().map(|&k| index[k] * dst_strides[k]).sum();
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
                        let run = unsafe { std::slice::from_raw_parts(base.offset(column), TILE) };
                        for (ip, &v) in run.iter().enumerate() {
                            tile[ip * TILE + iq] = convert(v);
                        }
                    }
                } else {
                    for iq in 0..qn {
                        let column = src_at + (q0 + iq) as isize * sq;
                        for ip in 0..pn {
                            // SAFETY: the multi-index (others = index, p = p0 + ip,
                            // q = q0 + iq) lies inside `src`'s shape, so the
                            // offset addresses one of its elements, readable for
                            // the view's lifetime.
                            tile[ip * TILE + iq] =
                                convert(unsafe { *base.offset(column + (p0 + ip) as isize * sp) });
                        }
                    }
                }
                for ip in 0..pn {
                    let row = dst_at + (p0 + ip) * dp + q0;
                    dst[row..row + qn].copy_from_slice(&tile[ip * TILE..ip * TILE + qn]);
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

    #[test]
    fn copies_transposed_stepped_and_reversed_blocks_in_c_order() {
        let a = ArrayD::from_shape_fn(IxDyn(&[19, 7, 37]), |i| {
            (i[0] * 1000 + i[1] * 50 + i[2]) as f64
        });
        let views = [
            a.view().reversed_axes(),
            a.slice(s![..;2, .., ..;-3])
                .into_dyn()
                .permuted_axes(vec![2, 0, 1]),
            a.slice(s![3..17, 1, ..;-1]).into_dyn().reversed_axes(),
        ];
        for v in views {
            let mut dst = vec![f64::NAN; v.len()];
            copy_to_c_order(&v, &mut dst);
            let want: Vec<f64> = v.iter().copied().collect();
            assert_eq!(
                dst,
                want,
                "shape {:?}, strides {:?}",
                v.shape(),
                v.strides()
            );
        }
    }
}
