#!/usr/bin/env bash
# CI of the Python package: a virtual environment with maturin, numpy,
# dask[distributed], pytest and hypothesis from PyPI; a dev-profile build
# installed with `maturin develop`; the Python tests with the GPU required
# (lavapipe on CI).
#
# The binding crate is a member of the root workspace, so the root's
# `cargo fmt --all --check` and `cargo clippy --workspace --all-targets`
# (run by .ci/run before this script) already cover it.
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
"$venv/bin/maturin" develop --quiet
echo "python/ci.sh: built in $((SECONDS - start)) s"

# No home directory for a Wayland/X socket on CI: lavapipe needs none.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
NDGRAD_REQUIRE_GPU=${NDGRAD_REQUIRE_GPU:-1} "$venv/bin/python" -m pytest -q -p no:cacheprovider tests
echo "python/ci.sh: done in $((SECONDS - start)) s"
