#!/usr/bin/env python3
"""Generate tests/fixtures/complex/ from numpy.gradient of complex arrays.

Run from anywhere: `python3 scripts/gen_complex_fixtures.py` (needs numpy).
CI never runs it; its output is committed and tests/suite/complex.rs checks every
backend against it. The seed is fixed, so a rerun with the same numpy writes
the same files.

The cases follow the complex cases of CuPy's and PyTorch's gradient test
grids: complex64 and complex128, 1-D to 3-D, no spacing, one scalar, a
scalar per axis, coordinate arrays and a mix, edge order 1 and 2, axis
subsets.

Each <name>.npz holds:
  f       the input (C order; the Rust test views it in other layouts),
  x<k>    the coordinate array of requested axis k, where it has one (float64),
  g<k>    numpy.gradient(f, ...)[k], numpy's complex arithmetic,
  p<k>    numpy.gradient(f.real, ...)[k] + 1j * numpy.gradient(f.imag, ...)[k],
          the parts differentiated alone (ndgrad's definition, bit for bit),
  m       the magnitude sqrt(sum_k (re_k^2 + im_k^2)), summed left to right
          over k, each axis's real square before its imaginary one, in the
          parts' type.
manifest.json lists the cases: name, dtype, shape, axes (null or a list),
edge_order, spacing (null, {"scalar": h}, or a list of {"scalar": h} /
{"coords": "x<k>"}).
"""

import json
import os

import numpy as np

SEED = 20261203
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "complex")

rng = np.random.default_rng(SEED)
cases = []


def coords(n):
    """Strictly increasing, not uniform."""
    return np.cumsum(rng.uniform(0.2, 2.0, n)) - 1.0


def add(name, dtype, shape, axes, edge_order, spacing):
    f = (rng.standard_normal(shape) * 3 + 1j * rng.standard_normal(shape) * 2).astype(dtype)
    ndim = len(shape)
    requested = list(range(ndim)) if axes is None else [a % ndim for a in axes]
    arrays = {"f": f}
    args, manifest = [], None
    if spacing == "scalar":
        args, manifest = [0.7], {"scalar": 0.7}
    elif spacing is not None:
        manifest = []
        for k, (kind, a) in enumerate(zip(spacing, requested)):
            if kind == "coords":
                x = coords(shape[a])
                arrays[f"x{k}"] = x
                args.append(x)
                manifest.append({"coords": f"x{k}"})
            else:
                h = float(kind)
                args.append(h)
                manifest.append({"scalar": h})
    kw = {"edge_order": edge_order}
    if axes is not None:
        kw["axis"] = tuple(axes)
    g = np.gradient(f, *args, **kw)
    gr = np.gradient(f.real, *args, **kw)
    gi = np.gradient(f.imag, *args, **kw)
    if ndim == 1 or (axes is not None and len(axes) == 1):
        g, gr, gi = [g], [gr], [gi]
    real = f.real.dtype.type
    s = np.zeros(shape, dtype=real)
    for k, (a, r, i) in enumerate(zip(g, gr, gi)):
        p = (r + 1j * i).astype(dtype)
        assert np.array_equal(p.real, r) and np.array_equal(p.imag, i)
        arrays[f"g{k}"] = a
        arrays[f"p{k}"] = p
        s = s + r * r
        s = s + i * i
    arrays["m"] = np.sqrt(s).astype(real)
    np.savez(os.path.join(OUT, name + ".npz"), **arrays)
    cases.append({"name": name, "dtype": np.dtype(dtype).name, "shape": list(shape),
                  "axes": axes, "edge_order": edge_order, "spacing": manifest})


for dtype, tag in [(np.complex64, "c64"), (np.complex128, "c128")]:
    for eo in (1, 2):
        add(f"{tag}_1d_e{eo}_none", dtype, (17,), None, eo, None)
        add(f"{tag}_1d_e{eo}_scalar", dtype, (9,), None, eo, "scalar")
        add(f"{tag}_1d_e{eo}_coords", dtype, (12,), None, eo, ["coords"])
        add(f"{tag}_2d_e{eo}_scalars", dtype, (6, 7), None, eo, ["0.3", "1.5"])
        add(f"{tag}_2d_e{eo}_mixed", dtype, (8, 5), None, eo, ["coords", "0.7"])
        add(f"{tag}_2d_e{eo}_axis1", dtype, (4, 9), [1], eo, ["coords"])
        add(f"{tag}_3d_e{eo}_none", dtype, (4, 5, 6), None, eo, None)
        add(f"{tag}_3d_e{eo}_coords", dtype, (5, 3, 4), None, eo, ["coords", "coords", "coords"])
        add(f"{tag}_3d_e{eo}_axes_m1_0", dtype, (3, 4, 5), [-1, 0], eo, ["0.25", "coords"])

with open(os.path.join(OUT, "manifest.json"), "w") as out:
    json.dump({"generator": "scripts/gen_complex_fixtures.py", "numpy_version": np.__version__,
               "cases": cases}, out, indent=1)
    out.write("\n")
print(f"{len(cases)} cases in {OUT}")
