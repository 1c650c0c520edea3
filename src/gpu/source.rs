//! The input of a host call as the uploads read it: the caller's C-ordered
//! memory as it is, or a view of any other layout copied into C order
//! straight into the memory wgpu uploads from, slab by slab.
//!
//! The device always holds the input in C order, whatever the caller's
//! layout. A kernel reading the caller's strides instead would not make the
//! upload free (wgpu copies the bytes into its staging memory either way,
//! and the bytes a view covers include its gaps), and on a hardware GPU it
//! would read badly: the threads of a workgroup walk the innermost axis, so
//! on a Fortran-order input neighbouring threads would read elements a whole
//! plane apart instead of sharing coalesced loads. The tiled copy is not
//! free: about 0.1 s of one core for a 256³ f32 Fortran-order input, against
//! 0.01 s for a memcpy of the same bytes, but less than the whole-array copy
//! it replaces (0.18 s, then the memcpy), and it needs no memory of its own
//! (BENCHMARKS.md, "Strided inputs on the GPU").

use std::ops::Range;

use ndarray::{ArrayBase, ArrayViewD, Axis, Data, Dimension, Slice};

use crate::element::Input;
use crate::layout::copy_in_c_order;

/// The elements of a host input, in the order the device stores them (C
/// order), wherever they lie in the caller's memory.
#[derive(Debug, Clone)]
pub(crate) enum HostInput<'a, I> {
    /// C-ordered elements, uploaded straight from the caller's memory.
    Contiguous(&'a [I]),
    /// A view of any other layout (Fortran order, transposed, stepped,
    /// reversed): its elements are copied in C order, tile by tile, into the
    /// upload's destination, with no copy of their own on the host.
    Strided(ArrayViewD<'a, I>),
}

impl<'a, I: Input> HostInput<'a, I> {
    /// `f` as an upload reads it: its own memory when it is in standard
    /// layout (zero-copy), otherwise a view to copy from as it is uploaded.
    pub(crate) fn of<S, D>(f: &'a ArrayBase<S, D>) -> HostInput<'a, I>
    where
        S: Data<Elem = I>,
        D: Dimension,
    {
        match f.as_slice() {
            Some(data) => HostInput::Contiguous(data),
            None => HostInput::Strided(f.view().into_dyn()),
        }
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> usize {
        match self {
            HostInput::Contiguous(data) => data.len(),
            HostInput::Strided(view) => view.len(),
        }
    }

    /// The planes `planes` of axis 0, each `plane_len` elements long: a slab.
    pub(crate) fn planes(&self, planes: Range<usize>, plane_len: usize) -> HostInput<'a, I> {
        match self {
            HostInput::Contiguous(data) => {
                HostInput::Contiguous(&data[planes.start * plane_len..planes.end * plane_len])
            }
            HostInput::Strided(view) => {
                HostInput::Strided(view.clone().slice_axis_move(Axis(0), Slice::from(planes)))
            }
        }
    }

    /// The number of bytes the elements take on the device before padding.
    pub(crate) fn byte_len(&self) -> u64 {
        (self.len() * std::mem::size_of::<I>()) as u64
    }

    /// Writes the elements' bytes in C order at the start of `dst`, and
    /// zeros over the rest of it (`dst` holds at least
    /// [`HostInput::byte_len`] bytes).
    pub(crate) fn write_padded(&self, mut dst: wgpu::WriteOnly<'_, [u8]>) {
        let len = self.byte_len() as usize;
        match self {
            HostInput::Contiguous(data) => {
                dst.slice(..len).copy_from_slice(bytemuck::cast_slice(data));
            }
            HostInput::Strided(view) => {
                let size = std::mem::size_of::<I>();
                copy_in_c_order(
                    view,
                    |x| x,
                    |at, run: &[I]| {
                        dst.slice(at * size..(at + run.len()) * size)
                            .copy_from_slice(bytemuck::cast_slice(run));
                    },
                );
            }
        }
        dst.slice(len..).fill(0);
    }

    /// Whether `c_order` holds exactly these elements, bit for bit, in C
    /// order.
    pub(crate) fn same_bits(&self, c_order: &[I]) -> bool {
        match self {
            HostInput::Contiguous(data) => {
                bytemuck::cast_slice::<I, u8>(data) == bytemuck::cast_slice::<I, u8>(c_order)
            }
            HostInput::Strided(view) => {
                view.len() == c_order.len()
                    && view
                        .iter()
                        .zip(c_order)
                        .all(|(a, b)| bytemuck::bytes_of(a) == bytemuck::bytes_of(b))
            }
        }
    }

    /// The elements in C order, each converted by `load`, in a new vector.
    pub(crate) fn to_vec<T: bytemuck::Pod>(&self, load: impl Fn(I) -> T) -> Vec<T> {
        match self {
            HostInput::Contiguous(data) => data.iter().map(|&x| load(x)).collect(),
            HostInput::Strided(view) => {
                let mut out = vec![T::zeroed(); view.len()];
                copy_in_c_order(view, load, |at, run| {
                    out[at..at + run.len()].copy_from_slice(run);
                });
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array3};

    #[test]
    fn slabs_of_a_strided_input_write_the_bytes_of_its_c_ordered_copy() {
        let a = Array3::from_shape_fn((9, 5, 7), |(i, j, k)| (i * 100 + j * 10 + k) as u16);
        let views = [
            a.view().reversed_axes(),
            a.slice(s![..;-2, .., 1..;3]),
            a.view().permuted_axes([1, 2, 0]),
        ];
        for v in views {
            let input = HostInput::of(&v);
            assert!(matches!(input, HostInput::Strided(_)));
            let plane_len = v.len() / v.shape()[0];
            let c = v.as_standard_layout();
            let c = c.as_slice().expect("standard layout");
            for planes in [0..1, 1..3, 0..v.shape()[0]] {
                let slab = input.planes(planes.clone(), plane_len);
                let want = &c[planes.start * plane_len..planes.end * plane_len];
                let padded = (slab.byte_len() as usize).next_multiple_of(4) + 4;
                let mut bytes = vec![0xffu8; padded];
                slab.write_padded(wgpu::WriteOnly::from_mut(bytes.as_mut_slice()));
                let (data, pad) = bytes.split_at(want.len() * 2);
                assert_eq!(data, bytemuck::cast_slice::<u16, u8>(want));
                assert!(pad.iter().all(|&b| b == 0));
                assert_eq!(slab.to_vec(|x| x), want);
            }
        }
        let c = HostInput::of(&a);
        assert!(matches!(c, HostInput::Contiguous(_)));
        assert_eq!(
            c.planes(2..4, 35).to_vec(|x| x),
            a.as_slice().unwrap()[70..140]
        );
    }
}
