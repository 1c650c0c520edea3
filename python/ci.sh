#!/usr/bin/env bash
# CI of the Python package: a virtual environment with maturin, numpy,
# dask[distributed], pytest and hypothesis from PyPI; fmt and clippy of the
# binding crate; a dev-profile build installed with `maturin develop`; the
# Python tests with the GPU required (lavapipe on CI).
#
# Run after the workspace's own build and tests: with CARGO_TARGET_DIR
# shared (the default here, <repo>/target), the library and wgpu are
# already compiled and only pyo3 and the binding are.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
venv=${NDGRAD_VENV:-$root/.venv}
start=$SECONDS

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    maturin numpy "dask[distributed]" pytest hypothesis
export VIRTUAL_ENV=$venv PYO3_PYTHON=$venv/bin/python

cd "$root/python"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
"$venv/bin/maturin" develop --quiet
echo "python/ci.sh: built in $((SECONDS - start)) s"

# No home directory for a Wayland/X socket on CI: lavapipe needs none.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
NDGRAD_REQUIRE_GPU=${NDGRAD_REQUIRE_GPU:-1} "$venv/bin/python" -m pytest -q -p no:cacheprovider tests
echo "python/ci.sh: done in $((SECONDS - start)) s"
