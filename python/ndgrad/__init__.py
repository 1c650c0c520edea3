"""ndgrad: ``numpy.gradient`` on any GPU (wgpu: Vulkan, Metal, DX12) or the CPU.

``ndgrad.gradient`` is a drop-in for :func:`numpy.gradient`: the same
signature, results, dtypes, exceptions and return type, computed by the
ndgrad Rust library with the GIL released. ``ndgrad.dask.gradient`` does the
same for Dask arrays (``dask.array.gradient``).

>>> import numpy as np, ndgrad
>>> ndgrad.gradient(np.array([1.0, 2.0, 4.0, 7.0]))
array([1. , 1.5, 2.5, 3. ])
"""

from __future__ import annotations

import numpy as np

from . import _ndgrad

try:  # numpy >= 2
    from numpy.lib.array_utils import normalize_axis_tuple as _normalize_axis_tuple
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.numeric import normalize_axis_tuple as _normalize_axis_tuple

__all__ = ["gradient", "gradient_magnitude", "info", "__version__"]

__version__ = "0.1.0"

# numpy 2 returns a tuple for several axes, numpy 1 a list: match the
# installed one.
_SEQUENCE = tuple if int(np.__version__.split(".")[0]) >= 2 else list

_BACKENDS = ("auto", "gpu", "cpu", "reference")

_BOOL_MESSAGE = (
    "numpy boolean subtract, the `-` operator, is not supported, use the "
    "bitwise_xor, the `^` operator, or the logical_xor function instead."
)


def _scalar_spacing(value):
    """One scalar spacing item as a float, refusing what numpy would not
    treat as a real number (complex spacing loses its imaginary part in
    numpy, numpy#18898)."""
    arr = np.asarray(value)
    if arr.dtype.kind in "iuf":
        return float(arr)
    if arr.dtype.kind == "b":
        raise TypeError(_BOOL_MESSAGE)
    raise TypeError(
        f"spacing must be a real number or a 1-D array of real coordinates, "
        f"not {arr.dtype}"
    )


def _coordinates(distances):
    """A 1-D coordinate array as float64, as numpy converts integer ones."""
    kind = distances.dtype.kind
    if kind == "b":
        raise TypeError(_BOOL_MESSAGE)
    if kind not in "iuf":
        raise TypeError(
            f"coordinates must be a 1-D array of real numbers, not {distances.dtype}"
        )
    x = np.ascontiguousarray(distances, dtype=np.float64)
    # Unaligned (as arrays unpickled from a network frame can be): copy.
    return x if x.flags.aligned else x.copy()


def _parse_spacing(shape, axes, varargs):
    """numpy.gradient's reading of ``*varargs`` for an array of ``shape``:
    one spacing item (a float, or float64 coordinates) per axis."""
    len_axes = len(axes)
    n = len(varargs)
    if n == 0:
        return [1.0] * len_axes
    if n == 1 and np.ndim(varargs[0]) == 0:
        return [_scalar_spacing(varargs[0])] * len_axes
    if n != len_axes:
        raise TypeError("invalid number of arguments")
    dx = []
    for i, distances in enumerate(varargs):
        distances = np.asanyarray(distances)
        if distances.ndim == 0:
            dx.append(_scalar_spacing(distances))
            continue
        if distances.ndim != 1:
            raise ValueError("distances must be either scalars or 1d")
        if len(distances) != shape[axes[i]]:
            raise ValueError(
                "when 1d, distances must match "
                "the length of the corresponding dimension"
            )
        dx.append(_coordinates(np.asarray(distances)))
    return dx


def _result_dtype(dtype, magnitude):
    """numpy.gradient's output dtype for ``dtype`` (the magnitude's is real)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return np.dtype(np.float64)
    if magnitude and dtype.kind == "c":
        return np.dtype(dtype.char.lower())
    return dtype


def _parse(f, varargs, axis, edge_order):
    """numpy.gradient's argument handling, with its checks in its order and
    its exception types and messages. Returns the array, the axes and one
    spacing item (a float or float64 coordinates) per axis."""
    f = np.asanyarray(f)
    ndim = f.ndim
    if axis is None:
        axes = tuple(range(ndim))
    else:
        axes = _normalize_axis_tuple(axis, ndim)
    dx = _parse_spacing(f.shape, axes, varargs)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    if edge_order not in (1, 2):
        raise ValueError(f"edge_order must be 1 or 2, not {edge_order!r}")
    for ax in axes:
        if f.shape[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
    return f, axes, dx


def _boundaries(boundary, period, len_axes):
    """The boundary keyword (one mode or one per axis) and the period (one
    value or one per axis) as a (periodic, period) pair per axis."""

    def mode(b):
        if b in ("one-sided", "onesided", None):
            return False
        if b in ("periodic", "wrap"):
            return True
        raise ValueError(
            f"boundary must be 'one-sided' or 'periodic', not {b!r}"
        )

    if isinstance(boundary, str) or boundary is None:
        modes = [mode(boundary)] * len_axes
    else:
        modes = [mode(b) for b in boundary]
        if len(modes) != len_axes:
            raise ValueError(
                f"{len(modes)} boundary modes were given for {len_axes} "
                "requested axes: give one, or one per requested axis"
            )
    if period is None or np.ndim(period) == 0:
        periods = [None if period is None else float(period)] * len_axes
    else:
        periods = [None if p is None else float(p) for p in period]
        if len(periods) != len_axes:
            raise ValueError(
                f"{len(periods)} periods were given for {len_axes} "
                "requested axes: give one, or one per requested axis"
            )
    for periodic, p in zip(modes, periods):
        if p is not None and not periodic:
            raise ValueError("period= is given for an axis whose boundary is not 'periodic'")
    return [(m, p) for m, p in zip(modes, periods)]


def _native(f):
    """``f`` as an ndarray the native module reads in place: the array
    itself whenever it is aligned and in native byte order (any strides,
    negative ones included); otherwise an aligned, native copy."""
    a = np.asarray(f)
    if a.dtype.kind == "O":
        return a.astype(np.float64)
    if a.dtype.kind == "b":
        raise TypeError(_BOOL_MESSAGE)
    if a.dtype.kind in "fc" and a.dtype.itemsize > (8 if a.dtype.kind == "f" else 16):
        raise TypeError(
            f"ndgrad does not compute in {a.dtype} (extended precision); "
            "convert to float64 or complex128"
        )
    itemsize = a.dtype.itemsize
    if (
        not a.dtype.isnative
        or not a.flags.aligned
        or any(s % itemsize for s in a.strides)
    ):
        a = np.array(a, dtype=a.dtype.newbyteorder("="), order="C")
    return a


def _timedelta(f, axes, dx, edge_order):
    """datetime64 and timedelta64: numpy differentiates them as timedelta64
    of the same unit, with integer arithmetic the library's float stencils
    cannot reproduce, so they have an exact kernel of their own."""
    tdtype = np.dtype(f.dtype.name.replace("datetime", "timedelta"))
    counts = _native(f.view(tdtype)).view(np.int64)
    steps = []
    for d in dx:
        if isinstance(d, float):
            steps.append(d)
        else:
            diffx = np.diff(d)
            steps.append(float(diffx[0]) if (diffx == diffx[0]).all() else diffx)
    outs = _ndgrad.timedelta(counts, list(axes), steps, int(edge_order))
    return [o.view(tdtype) for o in outs]


def _mask_footprint(mask, axes, dx, edge_order, accuracy, boundary):
    """The mask numpy.ma's arithmetic gives each result: a point is masked
    when a sample its stencil reads is masked."""
    masks = []
    for ax, d, (periodic, _) in zip(axes, dx, boundary):
        m = np.moveaxis(mask, ax, 0)
        out = np.zeros_like(m)
        n = m.shape[0]
        r = accuracy // 2
        if periodic or accuracy > 2:
            for k in range(-r, r + 1):
                if periodic:
                    out |= np.roll(m, k, axis=0)
                else:
                    for i in range(n):
                        lo = min(max(i - r, 0), max(n - accuracy - 1, 0))
                        out[i] |= m[lo : lo + accuracy + 1].any(axis=0)
                    break
        else:
            out[1:-1] = m[:-2] | m[2:]
            if not isinstance(d, float):
                out[1:-1] |= m[1:-1]
            w = edge_order + 1
            out[0] = m[:w].any(axis=0)
            out[-1] = m[-w:].any(axis=0)
        masks.append(np.moveaxis(out, 0, ax))
    return masks


def _run(f, varargs, axis, edge_order, backend, boundary, period, accuracy, out, magnitude):
    f, axes, dx = _parse(f, varargs, axis, edge_order)
    if backend not in _BACKENDS:
        raise ValueError(
            f"backend must be one of {', '.join(map(repr, _BACKENDS))}, not {backend!r}"
        )
    bounds = _boundaries(boundary, period, len(axes))
    masked = isinstance(f, np.ma.MaskedArray)
    kind = f.dtype.kind
    if kind in "mM":
        if magnitude:
            raise TypeError("gradient_magnitude is not defined for datetime64 or timedelta64")
        if accuracy != 2 or any(b[0] for b in bounds) or out is not None:
            raise TypeError(
                "datetime64 and timedelta64 take numpy's own stencils only: "
                "no accuracy=, boundary= or out="
            )
        data = np.ma.getdata(f) if masked else f
        results = _timedelta(data, axes, dx, edge_order)
    else:
        if len(axes) == 0 and not magnitude:
            return _SEQUENCE()
        data = _native(np.ma.getdata(f) if masked else f)
        outs = None
        if out is not None:
            outs = [out] if isinstance(out, np.ndarray) else list(out)
            want = 1 if magnitude else len(axes)
            if len(outs) != want:
                raise ValueError(
                    f"out: {len(outs)} arrays were given for {want} results: "
                    "give one per requested axis"
                )
        results = _ndgrad.compute(
            data, list(axes), dx, int(edge_order), int(accuracy), bounds, backend,
            magnitude, outs,
        )
    if masked:
        mask = np.ma.getmaskarray(f)
        masks = _mask_footprint(mask, axes, dx, edge_order, accuracy, bounds)
        if magnitude:
            masks = [np.logical_or.reduce(masks) if masks else np.zeros_like(mask)]
        results = [np.ma.MaskedArray(r, mask=m) for r, m in zip(results, masks)]
    elif type(f) is not np.ndarray and out is None:
        results = [r.view(type(f)) for r in results]
    if magnitude or len(axes) == 1:
        return results[0]
    return _SEQUENCE(results)


def gradient(f, *varargs, axis=None, edge_order=1, backend="auto",
             boundary="one-sided", period=None, accuracy=2, out=None):
    """Return the gradient of an N-dimensional array: :func:`numpy.gradient`.

    The same signature, results, output dtypes, exceptions and return type
    as ``numpy.gradient(f, *varargs, axis=axis, edge_order=edge_order)``:
    second-order central differences inside, first- or second-order
    one-sided differences at the ends, scalar or coordinate spacing per axis.

    Parameters
    ----------
    f : array_like
        Any array-like of integers, float16/32/64, complex64/128,
        datetime64 or timedelta64, of any layout (read in place, never
        copied, for aligned native-endian arrays).
    *varargs : scalar or 1-D array_like, optional
        The spacing, as numpy: none (1 everywhere), one scalar, or one
        scalar or coordinate array per axis.
    axis : None or int or tuple of ints, optional
        The axes to differentiate (numpy's ``axis``).
    edge_order : {1, 2}, optional
        The order of the one-sided differences at the ends.
    backend : {"auto", "gpu", "cpu", "reference"}, optional
        ``"auto"`` picks a hardware GPU when there is one, else the CPU.
    boundary : {"one-sided", "periodic"} or sequence, optional
        ndgrad only: ``"periodic"`` wraps the axis around (the equivalent of
        ``np.gradient(np.pad(f, 1, mode="wrap"), h)[1:-1]``); one mode for
        every axis or one per requested axis.
    period : float or sequence, optional
        ndgrad only: the period L of a periodic axis with coordinates.
    accuracy : {2, 4, 6}, optional
        ndgrad only: the order of accuracy of every point (2 is numpy's;
        findiff's ``acc``).
    out : ndarray or sequence of ndarrays, optional
        ndgrad only: arrays of the result's shape and dtype to write into
        (any layout); they are returned.

    Returns
    -------
    ndarray or tuple of ndarrays
        One array per axis, a bare array when one axis is differentiated, as
        the installed numpy returns.
    """
    return _run(f, varargs, axis, edge_order, backend, boundary, period, accuracy,
                out, magnitude=False)


def gradient_magnitude(f, *varargs, axis=None, edge_order=1, backend="auto",
                       boundary="one-sided", period=None, accuracy=2, out=None):
    """The gradient magnitude ``sqrt(sum(g**2))`` over the requested axes.

    The numpy equivalent is
    ``np.sqrt(sum(np.abs(g)**2 for g in np.gradient(f, *varargs, axis=axis)))``
    (for one axis, ``np.abs(np.gradient(...))``), computed in one pass
    without the per-axis arrays. Arguments as :func:`gradient`; the result
    is real (a complex input's magnitude has its parts' dtype).
    """
    return _run(f, varargs, axis, edge_order, backend, boundary, period, accuracy,
                out, magnitude=True)


def info():
    """What this machine offers: ``{"version", "adapters", "auto", "gpu"}``.

    ``adapters`` lists every GPU adapter wgpu finds (name, vendor, backend,
    device type, whether it is software and has f64/f16 shaders), ``auto``
    is the backend ``backend="auto"`` runs on, ``gpu`` whether
    ``backend="gpu"`` can run. numpy has no equivalent.
    """
    return _ndgrad.info()
