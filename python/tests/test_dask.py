"""ndgrad.dask.gradient against dask.array.gradient and numpy: dask's own
test_gradient cases, uneven and small chunks, on the threaded scheduler and
on a dask.distributed LocalCluster of worker processes."""

import importlib

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import ndgrad  # noqa: E402
import ndgrad.dask as ndask  # noqa: E402

from conftest import need  # noqa: E402

routines = importlib.import_module("dask.array.tests.test_routines")


@pytest.fixture
def ours(monkeypatch):
    """dask.array.gradient rebound to ndgrad.dask.gradient."""
    monkeypatch.setattr(da, "gradient", ndask.gradient)
    monkeypatch.setattr(routines.da, "gradient", ndask.gradient)


# dask's own cases (dask/array/tests/test_routines.py::test_gradient, all
# of its parameters), collected here and run unchanged, with
# dask.array.gradient rebound to ndgrad.dask.gradient.
test_dask_test_gradient = pytest.mark.usefixtures("ours")(routines.test_gradient)


def _check(x, chunks, *varargs, scheduler="threads", **kw):
    d = da.from_array(x, chunks=chunks)
    want = np.gradient(x, *varargs, axis=kw.get("axis"), edge_order=kw.get("edge_order", 1))
    got = ndask.gradient(d, *varargs, **kw)
    if isinstance(want, np.ndarray):
        want, got = [want], [got]
    got = dask.compute(*got, scheduler=scheduler)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("chunks", [
    ((3, 7, 1, 9), (5, 5, 2)),      # uneven, with a chunk of one point
    ((1,) * 20, (12,)),              # every chunk too small for the stencil
    ((19, 1), (1, 11)),              # a last chunk of one point
    ((20,), (12,)),                  # one block
])
def test_uneven_and_small_chunks(chunks, edge_order, backend):
    rng = np.random.default_rng(1)
    x = rng.random((20, 12))
    coords = np.cumsum(rng.uniform(0.5, 2, 12))
    _check(x, chunks, edge_order=edge_order, backend=backend)
    _check(x, chunks, 0.5, coords, edge_order=edge_order, backend=backend)
    _check(x, chunks, coords, axis=1, edge_order=edge_order, backend=backend)


def test_dtypes_and_magnitude():
    x = (np.arange(200) % 17).reshape(10, 20).astype(np.uint16)
    d = da.from_array(x, chunks=(3, 6))
    g = ndask.gradient(d)
    assert [a.dtype for a in g] == [np.float64, np.float64]
    for a, w in zip(dask.compute(*g), np.gradient(x)):
        np.testing.assert_array_equal(a, w)
    m = ndask.gradient_magnitude(d).compute()
    np.testing.assert_allclose(m, np.sqrt(sum(w ** 2 for w in np.gradient(x))), rtol=1e-12)
    f = x.astype(np.float32)
    g = ndask.gradient(da.from_array(f, chunks=4), axis=1, backend="cpu")
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g.compute(), ndgrad.gradient(f, axis=1, backend="cpu"))


def test_accuracy_and_periodic():
    x = np.sin(np.linspace(0, 2 * np.pi, 48, endpoint=False))[:, None] * np.arange(1, 9)
    d = da.from_array(x, chunks=(5, 3))
    for kw in [dict(accuracy=4), dict(accuracy=6, edge_order=2), dict(boundary="periodic")]:
        want = ndgrad.gradient(x, 0.1, backend="cpu", **kw)
        got = dask.compute(*ndask.gradient(d, 0.1, backend="cpu", **kw))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_blocks_equal_the_whole_array_bit_for_bit():
    x = np.random.default_rng(2).random((31, 17, 9))
    d = da.from_array(x, chunks=(7, 5, 4))
    coords = np.cumsum(np.random.default_rng(3).uniform(0.5, 2, 17))
    for kw in [{}, dict(edge_order=2)]:
        want = ndgrad.gradient(x, 1.5, coords, 0.25, backend="cpu", **kw)
        got = dask.compute(*ndask.gradient(d, 1.5, coords, 0.25, backend="cpu", **kw))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_errors():
    d = da.ones((4, 5), chunks=2)
    with pytest.raises(TypeError):
        ndask.gradient(d, 1.0, 2.0, 3.0)
    with pytest.raises(ValueError):
        ndask.gradient(d, np.ones(3), 1.0)
    with pytest.raises(ValueError):
        ndask.gradient(d, edge_order=3)
    from numpy.exceptions import AxisError
    with pytest.raises(AxisError):
        ndask.gradient(d, axis=2)


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_on_a_local_cluster_of_processes(cluster_client):
    """The same results from two worker processes of dask.distributed."""
    x = np.random.default_rng(4).random((40, 30))
    coords = np.cumsum(np.random.default_rng(5).uniform(0.5, 2, 30))
    d = da.from_array(x, chunks=((13, 1, 26), (7, 8, 15)))
    for kw in [{}, dict(edge_order=2)]:
        futures = cluster_client.compute(ndask.gradient(d, 2.0, coords, backend="cpu", **kw))
        got = cluster_client.gather(futures)
        for g, w in zip(got, np.gradient(x, 2.0, coords, **kw)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    workers = cluster_client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
