"""ndgrad.gradient against numpy.gradient over random shapes, dtypes,
memory layouts, spacings, axes and edge orders (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ndgrad

from conftest import need

DTYPES = [
    np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
    np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128,
]

# Relative tolerance per result dtype: a few roundings of that precision.
RTOL = {np.float16: 4e-3, np.float32: 4e-6, np.float64: 1e-12,
        np.complex64: 4e-6, np.complex128: 1e-12}


@st.composite
def problems(draw):
    ndim = draw(st.integers(1, 4))
    edge_order = draw(st.sampled_from([1, 2]))
    shape = tuple(draw(st.lists(st.integers(edge_order + 1, 7), min_size=ndim, max_size=ndim)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # The layout: made over a bigger base, then stepped, flipped, transposed.
    steps = [draw(st.sampled_from([1, 1, 2, -1, -2])) for _ in range(ndim)]
    base_shape = tuple(n * abs(s) for n, s in zip(shape, steps))
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -1000), min(info.max, 1000)
        base = rng.integers(lo, hi, size=base_shape, endpoint=True).astype(dtype)
    elif dtype.kind == "c":
        base = (rng.uniform(-100, 100, base_shape)
                + 1j * rng.uniform(-100, 100, base_shape)).astype(dtype)
    else:
        base = rng.uniform(-100, 100, base_shape).astype(dtype)
    if draw(st.booleans()):
        base = np.asfortranarray(base)
    f = base[tuple(slice(None, None, s) for s in steps)]
    if draw(st.booleans()) and ndim > 1:
        perm = draw(st.permutations(range(ndim)))
        f = f.transpose(perm)
    # Axes: None, one axis, or a permuted subset (negative indices too).
    which = draw(st.sampled_from(["none", "one", "some"]))
    if which == "none":
        axis, axes = None, list(range(ndim))
    elif which == "one":
        a = draw(st.integers(-ndim, ndim - 1))
        axis, axes = a, [a % ndim]
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    # Spacing: none, one scalar, or one scalar or coordinate array per axis.
    form = draw(st.sampled_from(["none", "scalar", "each"]))
    if form == "none":
        varargs = ()
    elif form == "scalar":
        varargs = (draw(st.sampled_from([0.5, 2.0, 3, -1.5, 0.1])),)
    else:
        varargs = []
        for a in axes:
            n = f.shape[a]
            kind = draw(st.sampled_from(["scalar", "even", "uneven", "int"]))
            if kind == "scalar":
                varargs.append(draw(st.sampled_from([0.25, 1.0, 7, -2.0])))
            elif kind == "even":
                varargs.append(np.arange(n) * 0.5 + 3.0)
            elif kind == "int":
                varargs.append(np.arange(n, dtype=np.int32) * 3 - 4)
            else:
                d = rng.uniform(0.5, 2.0, n - 1)
                x = np.concatenate([[0.0], np.cumsum(d)])
                varargs.append(x if draw(st.booleans()) else -x)
        varargs = tuple(varargs)
    return f, varargs, axis, edge_order


def compare(ours, theirs, dtype):
    assert type(ours) is type(theirs)
    if not isinstance(theirs, (tuple, list)):
        ours, theirs = [ours], [theirs]
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.dtype == t.dtype
        assert o.shape == t.shape
        rtol = RTOL[t.dtype.type]
        scale = max(float(np.max(np.abs(t))), 1.0)
        np.testing.assert_allclose(o, t, rtol=rtol, atol=rtol * scale * 8)


@pytest.mark.parametrize("backend", ["cpu", "gpu"])
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(problems())
def test_matches_numpy(backend, problem):
    need(backend)
    f, varargs, axis, edge_order = problem
    before = f.copy()
    theirs = np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    ours = ndgrad.gradient(f, *varargs, axis=axis, edge_order=edge_order, backend=backend)
    compare(ours, theirs, f.dtype)
    np.testing.assert_array_equal(f, before)


@pytest.mark.parametrize("backend", ["cpu", "gpu"])
@settings(max_examples=60, deadline=None)
@given(problems())
def test_magnitude_matches_numpy(backend, problem):
    need(backend)
    f, varargs, axis, edge_order = problem
    g = np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    g = [g] if isinstance(g, np.ndarray) else g
    # Summed in float64 and rounded once: numpy's float16 squares would
    # overflow where ndgrad's (computed in float32) do not.
    dtype = np.abs(g[0]).dtype
    theirs = np.sqrt(sum(np.abs(c.astype(np.complex128 if c.dtype.kind == "c" else np.float64)) ** 2
                         for c in g)).astype(dtype)
    ours = ndgrad.gradient_magnitude(f, *varargs, axis=axis, edge_order=edge_order,
                                     backend=backend)
    assert ours.dtype == theirs.dtype
    rtol = RTOL[theirs.dtype.type]
    scale = max(float(np.max(theirs)), 1.0)
    np.testing.assert_allclose(ours, theirs, rtol=rtol * 4, atol=rtol * scale * 8)
