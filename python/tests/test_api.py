"""The Python API beyond numpy's suite: dtypes, errors, return types,
layouts read in place, the GIL, out=, and the ndgrad-only keywords."""

import threading
import time
import tracemalloc

import numpy as np
import pytest

import ndgrad

try:
    from numpy.exceptions import AxisError
except ImportError:  # numpy < 1.25
    from numpy import AxisError

ALL_DTYPES = ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16"]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_output_dtype_is_numpys(dtype, backend):
    f = (np.arange(12) % 5).reshape(3, 4).astype(dtype)
    ours = ndgrad.gradient(f, backend=backend)
    theirs = np.gradient(f)
    assert type(ours) is type(theirs)
    for o, t in zip(ours, theirs):
        assert o.dtype == t.dtype
        np.testing.assert_array_equal(o, t)


def test_array_likes_and_scalars():
    assert ndgrad.gradient([1, 2, 4]).tolist() == [1.0, 1.5, 2.0]
    assert ndgrad.gradient(((1, 2), (3, 5)))[1].tolist() == [[1.0, 1.0], [2.0, 2.0]]
    assert ndgrad.gradient(np.float64(3.0)) == np.gradient(np.float64(3.0)) == ()
    assert ndgrad.gradient(np.array(3.0), 2.0) == ()
    with pytest.raises(TypeError):
        ndgrad.gradient(np.array(3.0), [1.0, 2.0])


@pytest.mark.parametrize("call, exc", [
    (lambda g: g(np.arange(5), axis=1), AxisError),
    (lambda g: g(np.ones((3, 3)), axis=(0, 0)), ValueError),
    (lambda g: g(np.ones((3, 3)), 1.0, 2.0, 3.0), TypeError),
    (lambda g: g(np.ones((3, 3)), np.ones(2), 1.0), ValueError),
    (lambda g: g(np.ones((3, 3)), np.ones((3, 3)), 1.0), ValueError),
    (lambda g: g(np.ones(3), edge_order=3), ValueError),
    (lambda g: g(np.ones(2), edge_order=2), ValueError),
    (lambda g: g(np.ones(0)), ValueError),
    (lambda g: g(np.array([True, False, True])), TypeError),
    (lambda g: g(np.array(["a", "b", "c"])), TypeError),
])
def test_errors_are_numpys(call, exc):
    with pytest.raises(exc):
        call(np.gradient)
    with pytest.raises(exc):
        call(ndgrad.gradient)


def test_ndgrad_only_errors():
    with pytest.raises(ValueError, match="backend"):
        ndgrad.gradient(np.ones(3), backend="tpu")
    with pytest.raises(ValueError, match="accuracy"):
        ndgrad.gradient(np.ones(9), accuracy=3)
    with pytest.raises(ValueError, match="boundary"):
        ndgrad.gradient(np.ones(9), boundary="mirror")
    with pytest.raises(ValueError, match="period"):
        ndgrad.gradient(np.ones(9), np.arange(9.0) ** 2, boundary="periodic")
    with pytest.raises(TypeError, match="spacing"):
        ndgrad.gradient(np.ones(9), 1 + 1j)
    with pytest.raises(TypeError, match="float128|extended"):
        if np.dtype(np.longdouble).itemsize > 8:
            ndgrad.gradient(np.ones(3, np.longdouble))
        else:
            raise TypeError("extended")


@pytest.mark.parametrize("make", [
    lambda a: a[::-1],
    lambda a: a[::2, ::-3],
    lambda a: np.asfortranarray(a),
    lambda a: a.T,
    lambda a: a[1:, ::-1].T,
    lambda a: np.broadcast_to(a[:1], a.shape),
])
def test_any_strides(make, backend):
    a = np.arange(30 * 24, dtype=np.float32).reshape(30, 24) ** 1.5
    f = make(a)
    for o, t in zip(ndgrad.gradient(f, backend=backend), np.gradient(f)):
        np.testing.assert_allclose(o, t, rtol=1e-5, atol=1e-3)


def test_byte_order_and_alignment():
    f = np.arange(10.0) ** 2
    np.testing.assert_array_equal(ndgrad.gradient(f.astype(">f8")), np.gradient(f))
    raw = np.zeros(10 * 8 + 1, np.uint8)[1:].view(np.float64)
    raw[:] = f
    assert not raw.flags.aligned
    np.testing.assert_array_equal(ndgrad.gradient(raw), np.gradient(f))


def test_strided_input_is_read_in_place():
    """No copy of a non-contiguous, negative-stride input: numpy's traced
    allocations during the call stay far below the input's size."""
    base = np.ones((64, 64, 128), np.float32)
    f = base[::-1, :, ::2]
    ndgrad.gradient(f, axis=0, backend="cpu")
    tracemalloc.start()
    try:
        ndgrad.gradient(f, axis=0, backend="cpu")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < f.nbytes // 4, peak


def test_gil_is_released():
    """A Python thread runs while gradients are computed."""
    f = np.random.default_rng(0).random((96, 96, 96), dtype=np.float32)
    ticks = 0
    done = threading.Event()

    def tick():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0)

    t = threading.Thread(target=tick)
    t.start()
    try:
        start = time.perf_counter()
        calls = 0
        while time.perf_counter() - start < 1.0:
            before = ticks
            ndgrad.gradient(f, backend="cpu")
            calls += 1
        progressed = ticks - before
    finally:
        done.set()
        t.join()
    assert progressed > 0, (ticks, calls)


def test_datetime_and_timedelta():
    x = np.array(["1910-08-16", "1910-08-11", "1910-08-10", "1910-08-12",
                  "1910-10-12", "1910-12-12", "1912-12-12"], dtype="datetime64[D]")
    t = x - x[0]
    for f in (x, t):
        for args, eo in [((), 1), ((), 2), ((2.5,), 2), ((np.arange(7.0) ** 2,), 1),
                         ((np.arange(7.0) ** 2,), 2)]:
            ours = ndgrad.gradient(f, *args, edge_order=eo)
            theirs = np.gradient(f, *args, edge_order=eo)
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs)
    nat = t.copy()
    nat[3] = np.timedelta64("NaT")
    np.testing.assert_array_equal(ndgrad.gradient(nat), np.gradient(nat))


def test_masked_arrays():
    x = np.ma.arange(7.0) ** 2
    x[3] = np.ma.masked
    for eo in (1, 2):
        ours = ndgrad.gradient(x, edge_order=eo)
        theirs = np.gradient(x, edge_order=eo)
        assert type(ours) is type(theirs)
        np.testing.assert_array_equal(np.ma.getmaskarray(ours), np.ma.getmaskarray(theirs))
        np.testing.assert_array_equal(ours.compressed(), theirs.compressed())


def test_out(backend):
    f = np.arange(20.0).reshape(4, 5) ** 2
    o0 = np.full((4, 5), np.nan)
    o1 = np.full((5, 4), np.nan).T
    r = ndgrad.gradient(f, out=(o0, o1), backend=backend)
    assert r[0] is o0 and r[1] is o1
    for o, t in zip(r, np.gradient(f)):
        np.testing.assert_array_equal(o, t)
    o = np.empty(20)
    assert ndgrad.gradient(np.arange(20.0), out=o) is o
    with pytest.raises(TypeError, match="dtype"):
        ndgrad.gradient(f, out=(o0.astype(np.float32), o1))
    with pytest.raises(ValueError, match="out"):
        ndgrad.gradient(f, out=(o0,))
    with pytest.raises(ValueError):
        ndgrad.gradient(f, out=(o0, np.empty((3, 3))))
    m = np.empty((4, 5))
    assert ndgrad.gradient_magnitude(f, out=m, backend=backend) is m


def test_magnitude_dtypes():
    for dtype, want in [("u2", "f8"), ("f4", "f4"), ("f2", "f2"), ("c8", "f4"), ("c16", "f8")]:
        f = np.arange(12).reshape(3, 4).astype(dtype)
        assert ndgrad.gradient_magnitude(f).dtype == np.dtype(want)


def test_periodic_and_accuracy(backend):
    n = 64
    x = np.arange(n) * (2 * np.pi / n)
    f = np.sin(x)
    g = ndgrad.gradient(f, x[1], boundary="periodic", backend=backend)
    want = np.gradient(np.pad(f, 1, mode="wrap"), x[1])[1:-1]
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)
    g4 = ndgrad.gradient(f, x[1], boundary="periodic", accuracy=4, backend=backend)
    assert np.max(np.abs(g4 - np.cos(x))) < np.max(np.abs(g - np.cos(x))) / 50
    gp = ndgrad.gradient(f, x, boundary="periodic", period=2 * np.pi, backend=backend)
    np.testing.assert_allclose(gp, want, rtol=1e-9, atol=1e-12)


def test_info():
    i = ndgrad.info()
    assert i["auto"] in ("gpu", "cpu")
    assert isinstance(i["adapters"], list)
    assert i["version"] == ndgrad.__version__
