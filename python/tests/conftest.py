"""Shared fixtures: the backends every test runs on."""

import os

import pytest

import ndgrad

REQUIRE_GPU = os.environ.get("NDGRAD_REQUIRE_GPU") == "1"
HAVE_GPU = ndgrad.info()["gpu"]


def need(backend):
    """Skips a GPU test where there is no adapter; fails it instead when
    NDGRAD_REQUIRE_GPU=1 (as CI sets on lavapipe)."""
    if backend == "gpu" and not HAVE_GPU:
        if REQUIRE_GPU:
            pytest.fail("NDGRAD_REQUIRE_GPU=1 but no GPU adapter is available")
        pytest.skip("no GPU adapter")


@pytest.fixture(params=["cpu", "gpu"])
def backend(request):
    """Each backend ndgrad computes on (the reference is the Rust tests' oracle)."""
    need(request.param)
    return request.param
