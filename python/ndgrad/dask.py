"""``dask.array.gradient`` with ndgrad in every block.

``ndgrad.dask.gradient(x, *varargs, axis=None, edge_order=1, ...)`` takes a
Dask array and returns Dask arrays, one ``map_overlap`` task per block and
per differentiated axis, with the smallest halo the stencil needs along that
axis only (1 point for numpy's stencils, ``accuracy // 2`` above). Each
block is differentiated with ndgrad's block API, which knows where the block
lies in the whole array: its domain edges get numpy's one-sided formulas,
its edges inside the array the central ones, and no result is computed for
halo points only to be trimmed away. Coordinates are given for the whole
axis, as to ``numpy.gradient``; each block's stencils use their slice.

Chunks shorter than the stencil needs are merged with their neighbours
first (a rechunk), not refused (dask#7025). A periodic axis is rechunked to
lie whole in every block.

It runs on any Dask scheduler: threads, processes, or a
``dask.distributed`` cluster.
"""

from __future__ import annotations

import numpy as np

from . import _ndgrad
from . import _boundaries, _coordinates, _native, _parse_spacing, _result_dtype

__all__ = ["gradient", "gradient_magnitude"]


def _merge_small(chunks, minimum):
    """Chunks of one axis with every chunk at least ``minimum`` long (or
    the whole axis when it is shorter), merging neighbours left to right."""
    total = sum(chunks)
    if total <= minimum:
        return (total,)
    out = []
    for c in chunks:
        if out and out[-1] < minimum:
            out[-1] += c
        else:
            out.append(c)
    if len(out) > 1 and out[-1] < minimum:
        last = out.pop()
        out[-1] += last
    return tuple(out)


def _kernel(block, *, block_info=None, chunks_, depth_, axes, dx, edge_order,
            accuracy, bounds, backend, magnitude, shape):
    """One block with its halo: its part of the whole array's result."""
    loc = block_info[0]["chunk-location"]
    origin, region = [], []
    for ax, k in enumerate(loc):
        start = sum(chunks_[ax][:k])
        d = depth_[ax] if k > 0 else 0
        origin.append(start - d)
        region.append((d, d + chunks_[ax][k]))
    # A block received from another process may sit unaligned in its
    # network frame: _native copies only then.
    dx = [d if isinstance(d, float) else _coordinates(d) for d in dx]
    out = _ndgrad.block(
        _native(block), list(axes), dx, edge_order, accuracy, bounds, backend,
        magnitude, list(shape), origin, region,
    )
    return out[0]


def _run(x, varargs, axis, edge_order, backend, boundary, period, accuracy, magnitude):
    import dask.array as da

    x = da.asarray(x)
    from . import _normalize_axis_tuple

    ndim = x.ndim
    axes = tuple(range(ndim)) if axis is None else _normalize_axis_tuple(axis, ndim)
    dx = _parse_spacing(x.shape, axes, varargs)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    if edge_order not in (1, 2):
        raise ValueError(f"edge_order must be 1 or 2, not {edge_order!r}")
    for ax in axes:
        if x.shape[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
    if x.dtype.kind in "bmMO" or (x.dtype.kind in "fc" and x.dtype.itemsize > 16):
        raise TypeError(f"ndgrad.dask cannot differentiate arrays of dtype {x.dtype}")
    if backend == "auto":
        # One backend for every block, so that blocks agree to the last bit.
        backend = _ndgrad.info()["auto"]
    bounds = _boundaries(boundary, period, len(axes))
    shape = tuple(int(n) for n in x.shape)
    dtype = _result_dtype(x.dtype, magnitude)

    def one(axes_here, dx_here, bounds_here):
        depth, minimum = _ndgrad.halo(
            list(shape), list(axes_here), list(dx_here), edge_order, accuracy,
            bounds_here,
        )
        # Every chunk at least the shortest the stencil allows and at
        # least its halo (map_overlap's own requirement).
        chunks = tuple(
            _merge_small(c, max(minimum[i], depth[i]))
            if min(c) < max(minimum[i], depth[i]) else c
            for i, c in enumerate(x.chunks)
        )
        y = x.rechunk(chunks) if chunks != x.chunks else x
        return da.map_overlap(
            _kernel, y,
            depth={i: d for i, d in enumerate(depth)},
            boundary="none",
            trim=False,
            allow_rechunk=False,
            chunks=y.chunks,
            dtype=dtype,
            meta=np.empty((0,) * ndim, dtype),
            chunks_=y.chunks,
            depth_=depth,
            axes=tuple(axes_here),
            dx=tuple(dx_here),
            edge_order=edge_order,
            accuracy=accuracy,
            bounds=tuple(bounds_here),
            backend=backend,
            magnitude=magnitude,
            shape=shape,
        )

    if magnitude:
        return one(axes, dx, bounds)
    results = [one((ax,), (d,), (b,)) for ax, d, b in zip(axes, dx, bounds)]
    if len(axes) == 1 and axis is not None and np.ndim(axis) == 0:
        return results[0]
    return results


def gradient(x, *varargs, axis=None, edge_order=1, backend="auto",
             boundary="one-sided", period=None, accuracy=2):
    """The gradient of a Dask array: ``dask.array.gradient`` (and
    :func:`numpy.gradient`) computed by ndgrad block by block.

    Arguments as :func:`ndgrad.gradient`. Returns a list of Dask arrays, one
    per axis (a bare Dask array when ``axis`` is one integer), as
    ``dask.array.gradient``, of numpy's dtypes, chunked as ``x`` (after any
    merge of chunks too short for the stencil).
    """
    return _run(x, varargs, axis, edge_order, backend, boundary, period, accuracy, False)


def gradient_magnitude(x, *varargs, axis=None, edge_order=1, backend="auto",
                       boundary="one-sided", period=None, accuracy=2):
    """The gradient magnitude of a Dask array, one task per block:
    :func:`ndgrad.gradient_magnitude` block by block (the Dask equivalent is
    ``da.sqrt(sum(g**2 for g in da.gradient(x, ...)))``)."""
    return _run(x, varargs, axis, edge_order, backend, boundary, period, accuracy, True)
