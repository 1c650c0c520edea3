//! [`Tap`]: how one output point is formed from the samples of its lane,
//! and which samples those are (the one home of tap geometry).

use std::ops::{Add, Div, Mul, Sub};

/// The most samples one tap reads: the stencils of accuracy 6 read 7.
pub const MAX_TAP: usize = 7;

/// How one output point is formed from the samples `f` of its lane along the axis.
///
/// The coefficients are `f64` as computed here (`C = f64`); a backend that
/// computes in another type rounds them once with [`Tap::map`] and evaluates
/// the same formula with [`Tap::apply`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tap<C = f64> {
    /// `(f[hi] − f[lo]) / denom`: the uniform interior (`denom = 2h`) and the
    /// first-order edges (`denom = h` or the edge's `dx`).
    Difference {
        /// Index of the subtracted sample.
        lo: usize,
        /// Index of the other sample.
        hi: usize,
        /// The divisor.
        denom: C,
    },
    /// `w[0]·f[first] + w[1]·f[first + 1] + w[2]·f[first + 2]`, summed left to
    /// right: the non-uniform interior and the second-order edges.
    Weighted {
        /// Index of the first of the three samples.
        first: usize,
        /// The three weights.
        w: [C; 3],
    },
    /// `Σₖ w[k]·f[(first + k) mod n]` for `k < len`, summed left to right:
    /// every point of accuracy 4 and 6, and the ends of a periodic axis
    /// whose samples wrap around past `n − 1` to `0`.
    Wide {
        /// Index of the first sample (`< n`).
        first: usize,
        /// How many samples it reads (`≤ MAX_TAP`).
        len: usize,
        /// The length of the axis: sample indices wrap around at `n`.
        n: usize,
        /// The weights; those past `len` are zero.
        w: [C; MAX_TAP],
    },
}

impl<C> Tap<C> {
    /// The tap of point `i` of an axis of `n` points: `head[i]` for the
    /// first `head.len()` points, the matching `tail` tap for the last
    /// `tail.len()` points, and inside the tap `inside` builds
    /// ([`Tap::centred`], [`Tap::inside`], or a [`Tap::Wide`] of higher
    /// accuracy). [`Stencil::tap`](super::Stencil::tap) and each backend's
    /// converted stencil pick taps through it.
    #[inline(always)]
    pub fn of_point(
        i: usize,
        n: usize,
        head: &[Self],
        tail: &[Self],
        inside: impl FnOnce() -> Self,
    ) -> Self
    where
        C: Copy,
    {
        if i < head.len() {
            head[i]
        } else if i + tail.len() >= n {
            tail[i + tail.len() - n]
        } else {
            inside()
        }
    }

    /// Interior point `i` of a uniform axis: `(f[i + 1] − f[i − 1]) / two_h`.
    #[inline(always)]
    pub fn centred(i: usize, two_h: C) -> Self {
        Tap::Difference {
            lo: i - 1,
            hi: i + 1,
            denom: two_h,
        }
    }

    /// Interior point `i` of a non-uniform axis: `w` over `f[i − 1 ..= i + 1]`.
    #[inline(always)]
    pub fn inside(i: usize, w: [C; 3]) -> Self {
        Tap::Weighted { first: i - 1, w }
    }

    /// The same tap with every coefficient converted by `convert` (e.g. rounded
    /// to the compute type once per axis).
    pub fn map<T>(self, convert: impl Fn(C) -> T) -> Tap<T> {
        match self {
            Tap::Difference { lo, hi, denom } => Tap::Difference {
                lo,
                hi,
                denom: convert(denom),
            },
            Tap::Weighted { first, w } => Tap::Weighted {
                first,
                w: w.map(convert),
            },
            Tap::Wide { first, len, n, w } => Tap::Wide {
                first,
                len,
                n,
                w: w.map(convert),
            },
        }
    }

    /// Whether the samples wrap around the end of the axis (the ends of a
    /// periodic axis): then they are not one run `start()..span().1`.
    pub fn wraps(&self) -> bool {
        match *self {
            Tap::Difference { lo, hi, .. } => lo > hi,
            Tap::Weighted { .. } => false,
            Tap::Wide { first, len, n, .. } => first + len > n,
        }
    }

    /// The index of each sample the tap reads, in the order of its
    /// coefficients ([`Tap::Difference`]: `lo`, then `hi`).
    pub fn samples(&self) -> impl Iterator<Item = usize> + '_ {
        let (first, len, n) = match *self {
            Tap::Difference { lo, hi, .. } => return TapSamples::Two([lo, hi].into_iter()),
            Tap::Weighted { first, .. } => (first, 3, usize::MAX),
            Tap::Wide { first, len, n, .. } => (first, len, n),
        };
        TapSamples::Run((0..len).map(move |k| wrap(first + k, n)))
    }

    /// The lowest and one past the highest sample index the tap reads.
    pub fn span(&self) -> (usize, usize) {
        match *self {
            Tap::Difference { lo, hi, .. } => (lo.min(hi), lo.max(hi) + 1),
            Tap::Weighted { first, .. } => (first, first + 3),
            Tap::Wide { first, len, n, .. } if first + len > n => (0, n),
            Tap::Wide { first, len, .. } => (first, first + len),
        }
    }

    /// The index of the first (lowest) sample the tap reads: `lo` of a
    /// difference, `first` of a weighted tap. A boundary tap reads
    /// `order() + 1` adjacent samples from there (numpy's first-order ends
    /// difference neighbours; its second-order ends weigh three).
    pub fn start(&self) -> usize {
        self.span().0
    }

    /// The edge order a boundary tap of this form gives: 1 for a
    /// [`Tap::Difference`] of two samples, 2 for a [`Tap::Weighted`] sum of
    /// three. (An interior tap of either form is second-order accurate.)
    /// A [`Tap::Wide`] of `len` samples is of order `len − 1`.
    pub fn order(&self) -> usize {
        match self {
            Tap::Difference { .. } => 1,
            Tap::Weighted { .. } => 2,
            Tap::Wide { len, .. } => len - 1,
        }
    }

    /// The tap's coefficients in the order [`Tap::apply`] uses them: the
    /// divisor of a difference (one value), the three weights of a
    /// weighted tap.
    pub fn coefficients(&self) -> &[C] {
        match self {
            Tap::Difference { denom, .. } => std::slice::from_ref(denom),
            Tap::Weighted { w, .. } => w,
            Tap::Wide { w, len, .. } => &w[..*len],
        }
    }
}

impl Tap<f64> {
    /// `Σₖ |wₖ|` (`2 / |denom|` for a difference): the most the tap can
    /// scale `max|f|` by, and so the scale of its rounding errors.
    pub fn gain(&self) -> f64 {
        match self {
            Tap::Difference { denom, .. } => 2.0 / denom.abs(),
            _ => self.coefficients().iter().map(|w| w.abs()).sum(),
        }
    }
}

/// Sample `j` of an axis that wraps at `n` (`j < 2n`).
#[inline(always)]
fn wrap(j: usize, n: usize) -> usize {
    if j >= n {
        j - n
    } else {
        j
    }
}

/// The iterator [`Tap::samples`] returns.
enum TapSamples<R> {
    Two(std::array::IntoIter<usize, 2>),
    Run(R),
}

impl<R: Iterator<Item = usize>> Iterator for TapSamples<R> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            TapSamples::Two(it) => it.next(),
            TapSamples::Run(it) => it.next(),
        }
    }
}

impl<C> Tap<C>
where
    C: Copy + Add<Output = C> + Sub<Output = C> + Mul<Output = C> + Div<Output = C>,
{
    /// Evaluates the tap on the values of its samples, given in the order
    /// [`Tap::samples`] lists them (as [`Tap::apply`] would read them).
    #[inline]
    pub fn apply_to(&self, v: &[C]) -> C {
        match *self {
            Tap::Difference { denom, .. } => (v[1] - v[0]) / denom,
            Tap::Weighted { w, .. } => w[0] * v[0] + w[1] * v[1] + w[2] * v[2],
            Tap::Wide { len, w, .. } => {
                let mut sum = w[0] * v[0];
                for k in 1..len {
                    sum = sum + w[k] * v[k];
                }
                sum
            }
        }
    }

    /// Evaluates the tap on the samples that `f` returns by index, in numpy's
    /// order of operations (a division; a left-to-right sum of products).
    #[inline(always)]
    pub fn apply(&self, f: impl Fn(usize) -> C) -> C {
        match *self {
            Tap::Difference { lo, hi, denom } => (f(hi) - f(lo)) / denom,
            Tap::Weighted { first, w } => {
                w[0] * f(first) + w[1] * f(first + 1) + w[2] * f(first + 2)
            }
            Tap::Wide { first, len, n, w } => {
                let mut sum = w[0] * f(first);
                for (k, &w) in w.iter().enumerate().take(len).skip(1) {
                    sum = sum + w * f(wrap(first + k, n));
                }
                sum
            }
        }
    }
}
