//! Copying a strided block of the input into C order, converting it to the
//! compute type, for the slab path ([`crate::layout::copy_in_c_order`] does
//! the tiled walk).

use ndarray::ArrayViewD;

use crate::element::{convert, Element, Input};
use crate::layout::copy_in_c_order;

/// Copies `src` (any strides) into `dst` in C order, converting each sample
/// from the input type `I` to the compute type `C`, tile by tile so that a
/// transposed source is read a cache line at a time.
pub(super) fn copy_to_c_order<I: Input, C: Element>(src: &ArrayViewD<'_, I>, dst: &mut [C]) {
    assert_eq!(
        src.len(),
        dst.len(),
        "one destination element per source element"
    );
    copy_in_c_order(src, convert::<I, C>, |at, run| {
        dst[at..at + run.len()].copy_from_slice(run);
    });
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
            let mut dst = vec![f32::NAN; v.len()];
            copy_to_c_order(&v, &mut dst);
            let want: Vec<f32> = v.iter().map(|&x| x as f32).collect();
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
