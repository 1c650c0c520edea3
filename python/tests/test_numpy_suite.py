"""numpy's own test-suite for numpy.gradient, run against ndgrad.

numpy ships numpy/lib/tests/test_function_base.py, whose TestGradient class
calls `gradient` (imported by name at module level) and `np.gradient`. Both
are rebound to ndgrad.gradient on one backend, and every TestGradient test
runs unchanged, inherited by one class per backend.
"""

import functools
import importlib

import numpy as np
import pytest

import ndgrad

from conftest import need

suite = importlib.import_module("numpy.lib.tests.test_function_base")

# Tests that cannot pass, by name, with the reason (also in the README).
# Empty: every TestGradient test passes on every backend.
CANNOT_PASS = {}


def _bind(monkeypatch, backend):
    need(backend)
    ours = functools.partial(ndgrad.gradient, backend=backend)
    monkeypatch.setattr(suite, "gradient", ours)
    monkeypatch.setattr(np, "gradient", ours)


class TestGradientCpu(suite.TestGradient):
    """numpy's TestGradient on ndgrad's CPU backend."""

    @pytest.fixture(autouse=True)
    def _ndgrad(self, monkeypatch):
        _bind(monkeypatch, "cpu")


class TestGradientGpu(suite.TestGradient):
    """numpy's TestGradient on ndgrad's GPU backend."""

    @pytest.fixture(autouse=True)
    def _ndgrad(self, monkeypatch):
        _bind(monkeypatch, "gpu")


class TestGradientAuto(suite.TestGradient):
    """numpy's TestGradient on backend="auto", what a drop-in user gets."""

    @pytest.fixture(autouse=True)
    def _ndgrad(self, monkeypatch):
        _bind(monkeypatch, "auto")


def test_the_suite_is_numpys_and_complete():
    """The suite is the installed numpy's, and it is not empty."""
    assert suite.__file__.startswith(str(np.__path__[0]))
    names = [n for n in dir(suite.TestGradient) if n.startswith("test_")]
    assert len(names) >= 15, names
    assert set(CANNOT_PASS) <= set(names)


def test_never_calls_numpy_gradient(monkeypatch):
    """ndgrad never falls back on numpy.gradient."""

    def refuse(*args, **kwargs):
        raise AssertionError("numpy.gradient was called")

    monkeypatch.setattr(np, "gradient", refuse)
    f = np.arange(24.0).reshape(4, 6) ** 2
    ndgrad.gradient(f, 0.5, np.linspace(0, 1, 6) ** 2, edge_order=2)
    ndgrad.gradient(np.arange(5, dtype="timedelta64[s]"))
    ndgrad.gradient(np.ma.arange(5.0))
