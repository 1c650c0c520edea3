#!/usr/bin/env python3
"""Generate the golden fixtures in tests/fixtures/ from numpy.gradient.

Run from anywhere: `python3 scripts/gen_fixtures.py` (needs numpy). CI never
runs it; its output is committed, and tests/suite/fixtures.rs checks every backend
against it. The random generator has a fixed seed, so a rerun with the same
numpy writes the same files.

Layout of tests/fixtures/:
  manifest.json   {"generator", "numpy_version", "cases": [case, ...]}
  <name>.npz      f (the input, in the case's memory order), the coordinate
                  arrays named in its spacing (always float64), the outputs
                  g0, g1, ... in requested-axis order (numpy's output dtype:
                  the input's for floats, float64 for integers), and for a
                  magnitude case m = np.sqrt(sum(g**2 for g in outputs)).
                  float16 arrays are stored as their uint16 bit patterns
                  (the case says "bits": "uint16"), as the Rust npz reader
                  has no float16.

A case: name, file, dtype ("float32" | "float64" | "float16" | "uint8" |
"uint16" | "int16" | "int32"), shape, order ("C" | "F"),
axes (null = all, or a list, negative and reordered allowed), edge_order,
spacing: null (numpy.gradient(f)), {"scalar": h} (numpy.gradient(f, h)), or a
list with one item per requested axis, each {"scalar": h} or
{"coords": "<array name in the npz>"}; "magnitude" (whether m is present);
and a short `covers` note.

Scalar spacings are short decimals (at most 15 significant digits) so that any
JSON parser reads them back to the same f64 that numpy received.
"""

import json
import os
import sys

import numpy as np

SEED = 20240601
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "fixtures")
MAX_TOTAL_BYTES = 5 * 1024 * 1024

rng = np.random.default_rng(SEED)
cases = []


# ---------------------------------------------------------------- inputs


def values(shape, dtype, kind="random"):
    """A random input of `shape`; never all zeros, never integer-valued."""
    if kind == "random":
        f = rng.standard_normal(shape) * 3.0 + rng.uniform(-1.0, 1.0)
    elif kind == "smooth":
        # A smooth field plus a little noise: the differences are meaningful.
        grids = np.meshgrid(*[np.linspace(0.0, 2.0, n) for n in shape], indexing="ij")
        f = sum(np.sin((k + 1.3) * g) for k, g in enumerate(grids))
        f = f + 0.01 * rng.standard_normal(shape)
    elif kind == "offset":
        # Large offset, small signal: the differences cancel most digits.
        signal = rng.standard_normal(shape)
        if dtype == np.float32:
            # f32 ulp at 1e8 is 8: the signal must be larger to survive.
            f = 1e8 + 1000.0 * signal
        else:
            f = 1e8 + 1e-3 * signal
    elif kind == "nonfinite":
        f = rng.standard_normal(shape) * 5.0
        flat = f.reshape(-1)
        count = max(3, flat.size // 25)
        where = rng.choice(flat.size, size=count, replace=False)
        specials = np.array([np.nan, np.inf, -np.inf])
        flat[where] = specials[np.arange(count) % 3]
        f = flat.reshape(shape)
    else:
        raise ValueError(kind)
    return np.asarray(f, dtype=dtype)


def coords(n, kind):
    """Coordinates of an axis of length n, always float64."""
    if kind == "uniform":
        # Exactly equal differences: numpy reduces them to a scalar.
        x = -1.0 + 0.25 * np.arange(n)
    elif kind == "uniform_decreasing":
        x = 3.0 - 0.5 * np.arange(n)
    elif kind == "linspace":
        # Nearly equal differences that are not exactly equal in binary:
        # numpy takes the non-uniform path. The first end point that gives
        # unequal differences for this n is used.
        for stop in (1.0, 0.7, 1.1, 0.3, 2.9, 0.9):
            x = np.linspace(0.1, stop, n)
            if not (np.diff(x) == np.diff(x)[0]).all():
                break
    elif kind == "nonuniform":
        x = np.cumsum(rng.uniform(0.2, 2.0, n)) - 1.0
    elif kind == "decreasing":
        x = -np.cumsum(rng.uniform(0.2, 2.0, n)) + 5.0
    elif kind == "log":
        x = np.logspace(-2.0, 1.0, n)
    elif kind == "log_wide":
        x = np.logspace(-3.0, 3.0, n)
    elif kind == "ratio":
        # Neighbouring steps that differ by up to 100x.
        steps = np.where(np.arange(n - 1) % 2 == 0, 0.01, 1.0) * rng.uniform(0.5, 1.0, n - 1)
        x = np.concatenate([[0.0], np.cumsum(steps)])
    elif kind == "repeated":
        # Two equal coordinates: a zero step, so numpy divides by zero.
        x = np.cumsum(rng.uniform(0.5, 1.5, n))
        x[n // 2] = x[n // 2 - 1]
    else:
        raise ValueError(kind)
    x = np.asarray(x, dtype=np.float64)
    assert x.shape == (n,)
    d = np.diff(x)
    exactly_uniform = bool((d == d[0]).all())
    if kind in ("uniform", "uniform_decreasing"):
        assert exactly_uniform, kind
    elif n > 2 and kind != "repeated":
        assert not exactly_uniform, (kind, n)
    return x


SCALARS = [0.5, 0.1, 2.0, -0.75, 3.0, 0.3, 1.5, 0.7, -2.5, 0.125, 7.0, 0.05]


def scalar(i):
    h = SCALARS[i % len(SCALARS)]
    assert len(repr(h).lstrip("-").replace(".", "").lstrip("0")) <= 15
    return h


# ---------------------------------------------------------------- one case


def add(name, f, axes, edge_order, spacing, covers, order="C", magnitude=False):
    """Record one case. spacing: None, ("scalar", h), or a list of
    ("scalar", h) | ("coords", x) with one item per requested axis.
    magnitude: also record np.sqrt(sum(g**2 for g in gradients)) as m."""
    assert all(c["name"] != name for c in cases), name
    if order == "F":
        f = np.asfortranarray(f)
    else:
        f = np.ascontiguousarray(f)
    arrays = {"f": f}
    numpy_args = []
    manifest_spacing = None
    if spacing is None:
        pass
    elif isinstance(spacing, tuple):
        assert spacing[0] == "scalar"
        numpy_args = [float(spacing[1])]
        manifest_spacing = {"scalar": float(spacing[1])}
    else:
        manifest_spacing = []
        for i, (kind, v) in enumerate(spacing):
            if kind == "scalar":
                numpy_args.append(float(v))
                manifest_spacing.append({"scalar": float(v)})
            else:
                key = f"x{i}"
                arrays[key] = np.asarray(v, dtype=np.float64)
                numpy_args.append(arrays[key])
                manifest_spacing.append({"coords": key})
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.gradient(f, *numpy_args, axis=axes, edge_order=edge_order)
    if not isinstance(out, tuple):
        out = (out,)
    naxes = f.ndim if axes is None else len(axes)
    assert len(out) == naxes
    otype = np.float64 if np.issubdtype(f.dtype, np.integer) else f.dtype
    for k, g in enumerate(out):
        assert g.dtype == otype and g.shape == f.shape
        arrays[f"g{k}"] = g
    if magnitude:
        with np.errstate(over="ignore", invalid="ignore"):
            m = np.sqrt(sum(g**2 for g in out))
        assert m.dtype == otype
        arrays["m"] = m
    bits = f.dtype == np.float16
    if bits:
        arrays = {k: (v.view(np.uint16) if v.dtype == np.float16 else v) for k, v in arrays.items()}
    fname = name + ".npz"
    np.savez(os.path.join(OUT_DIR, fname), **arrays)
    cases.append(
        {
            "name": name,
            "file": fname,
            "dtype": str(f.dtype),
            "shape": list(f.shape),
            "order": order,
            "axes": None if axes is None else list(axes),
            "edge_order": edge_order,
            "spacing": manifest_spacing,
            "magnitude": magnitude,
            **({"bits": "uint16"} if bits else {}),
            "covers": covers,
        }
    )


DTYPES = [(np.float64, "f64"), (np.float32, "f32")]
SHAPES = {1: (37,), 2: (13, 17), 3: (7, 9, 11), 4: (4, 5, 6, 7), 5: (3, 4, 3, 5, 4)}
COORD_KINDS = ["nonuniform", "uniform", "decreasing", "log", "linspace", "uniform_decreasing", "ratio"]


def mixed_spacing(shape, axes, start):
    """Alternate coordinates and scalars over the requested axes."""
    items = []
    for j, ax in enumerate(axes):
        if (j + start) % 2 == 0 or len(axes) == 1:
            items.append(("coords", coords(shape[ax], COORD_KINDS[(j + start) % len(COORD_KINDS)])))
        else:
            items.append(("scalar", scalar(j + start)))
    return items


# ---------------------------------------------------------------- the cases


def grid_cases():
    """1 to 5 dims x f32/f64 x edge order 1/2 x four spacing forms."""
    i = 0
    for dt, dtn in DTYPES:
        for nd, shape in SHAPES.items():
            for eo in (1, 2):
                all_axes = list(range(nd))
                forms = {
                    "unit": None,
                    "scalar": ("scalar", scalar(i)),
                    "peraxis": [("scalar", scalar(i + k + 1)) for k in all_axes],
                    "mixed": mixed_spacing(shape, all_axes, i),
                }
                for form, spacing in forms.items():
                    kind = "smooth" if (i % 3 == 0) else "random"
                    add(
                        f"grid_{dtn}_{nd}d_e{eo}_{form}",
                        values(shape, dt, kind),
                        None,
                        eo,
                        spacing,
                        f"{nd}-D {dtn}, edge order {eo}, spacing form {form}",
                    )
                    i += 1


def coordinate_cases():
    """Every coordinate kind on its own, 1-D and along one axis of a 2-D array."""
    kinds = COORD_KINDS + ["log_wide"]
    for j, kind in enumerate(kinds):
        for dt, dtn in DTYPES:
            for eo in (1, 2):
                n = 23
                add(
                    f"coords_{kind}_{dtn}_1d_e{eo}",
                    values((n,), dt, "smooth"),
                    None,
                    eo,
                    [("coords", coords(n, kind))],
                    f"1-D coordinates: {kind}",
                )
        shape = (6, 19)
        add(
            f"coords_{kind}_f64_2d_axis1_e{1 + j % 2}",
            values(shape, np.float64),
            [1],
            1 + j % 2,
            [("coords", coords(19, kind))],
            f"coordinates ({kind}) along the last axis only",
        )


def axes_cases():
    """Axis subsets, negative and reordered, with spacing that follows the request order."""
    specs = [
        ((7, 9, 11), [0]),
        ((7, 9, 11), [-1]),
        ((7, 9, 11), [2, 0]),
        ((7, 9, 11), [-1, 0, 1]),
        ((7, 9, 11), [1, -3]),
        ((7, 9, 11), [-2]),
        ((4, 5, 6, 7), [3, 1]),
        ((4, 5, 6, 7), [-4, -1, 2]),
        ((4, 5, 6, 7), [2, 3, 0, 1]),
        ((3, 4, 3, 5, 4), [4, -5, 2]),
        ((13, 17), [-1, -2]),
        ((37,), [-1]),
    ]
    for j, (shape, axes) in enumerate(specs):
        dt, dtn = DTYPES[j % 2]
        eo = 1 + (j // 2) % 2
        norm = [a % len(shape) for a in axes]
        forms = ["none", "scalar", "mixed"]
        form = forms[j % 3]
        if form == "none":
            spacing = None
        elif form == "scalar":
            spacing = ("scalar", scalar(j))
        else:
            spacing = mixed_spacing(shape, norm, j)
        tag = "_".join(str(a).replace("-", "m") for a in axes)
        add(
            f"axes_{len(shape)}d_{tag}_{dtn}_e{eo}_{form}",
            values(shape, dt),
            axes,
            eo,
            spacing,
            f"axes {axes} of a {len(shape)}-D array, spacing {form}",
        )
    # One scalar for a subset (numpy's single-scalar rule with an axis list),
    # and a one-item list holding that scalar (the same thing).
    add("axes_single_scalar_for_subset", values((5, 6, 7), np.float64), [2, 0], 2, ("scalar", 0.3),
        "one scalar applied to every requested axis of a subset")
    add("axes_one_item_scalar_list", values((5, 6, 7), np.float64), [-2], 1, [("scalar", -0.7)],
        "a one-item spacing list holding a scalar")


def thin_cases():
    """Axes of exactly edge_order + 1 points, and length-1 axes left alone."""
    specs = [
        (1, (2,), None),
        (1, (2, 9), None),
        (1, (9, 2), None),
        (1, (2, 2, 2), None),
        (1, (3, 2, 5), [1]),
        (1, (1, 7), [1]),
        (2, (3,), None),
        (2, (3, 8), None),
        (2, (8, 3), [-1]),
        (2, (3, 3, 3), None),
        (2, (3, 1, 5), [0, 2]),
        (2, (2, 3, 4), [2, 1]),
        (2, (3, 4, 3, 2, 3), [0, 2, -1]),
    ]
    for j, (eo, shape, axes) in enumerate(specs):
        for dt, dtn in DTYPES:
            norm = list(range(len(shape))) if axes is None else [a % len(shape) for a in axes]
            if j % 2 == 0:
                # Coordinates on the thin axes: 2 points always reduce to uniform;
                # 3 points are non-uniform.
                spacing = [("coords", coords(shape[a], "nonuniform" if shape[a] > 2 else "uniform"))
                           for a in norm]
                form = "coords"
            else:
                spacing = ("scalar", scalar(j))
                form = "scalar"
            tag = "x".join(map(str, shape))
            add(
                f"thin_{tag}_{dtn}_e{eo}_{form}",
                values(shape, dt),
                axes,
                eo,
                spacing,
                f"shape {list(shape)}: differentiated axes of edge_order + 1 = {eo + 1} points",
            )


def nonfinite_cases():
    """NaN and +-inf scattered through the input, and zero steps that divide by zero."""
    specs = [
        ((41,), None, None),
        ((11, 13), None, ("scalar", 0.5)),
        ((6, 7, 8), None, "mixed"),
        ((5, 6, 7), [2, 0], "mixed"),
        ((3, 4, 5, 6), None, None),
    ]
    for j, (shape, axes, spacing) in enumerate(specs):
        norm = list(range(len(shape))) if axes is None else [a % len(shape) for a in axes]
        for dt, dtn in DTYPES:
            for eo in (1, 2):
                sp = mixed_spacing(shape, norm, j) if spacing == "mixed" else spacing
                add(
                    f"nonfinite_{len(shape)}d_{j}_{dtn}_e{eo}",
                    values(shape, dt, "nonfinite"),
                    axes,
                    eo,
                    sp,
                    "NaN, +inf and -inf scattered through the input",
                )
    for eo in (1, 2):
        add(
            f"nonfinite_repeated_coordinate_e{eo}",
            values((4, 15), np.float64),
            [1],
            eo,
            [("coords", coords(15, "repeated"))],
            "two equal coordinates: zero step, inf and NaN from division by zero",
        )
    # Zero scalar spacing (edge order 1 only: with edge order 2 numpy itself
    # raises ZeroDivisionError computing -1.5 / 0.0 in Python floats).
    add("nonfinite_zero_scalar_spacing", values((5, 9), np.float64), None, 1, ("scalar", 0.0),
        "zero spacing: every derivative is +-inf or NaN")


def fortran_cases():
    """Fortran-order input (numpy's result is the same; the reader must honour the flag)."""
    specs = [
        ((13, 17), None, 1, None),
        ((13, 17), [1], 2, "mixed"),
        ((7, 9, 11), None, 2, "mixed"),
        ((7, 9, 11), [-1, 0], 1, ("scalar", 1.5)),
        ((4, 5, 6, 7), None, 1, "mixed"),
        ((3, 4, 3, 5, 4), [1, 3], 2, None),
    ]
    for j, (shape, axes, eo, spacing) in enumerate(specs):
        norm = list(range(len(shape))) if axes is None else [a % len(shape) for a in axes]
        for dt, dtn in DTYPES:
            sp = mixed_spacing(shape, norm, j + 1) if spacing == "mixed" else spacing
            add(
                f"fortran_{len(shape)}d_{j}_{dtn}_e{eo}",
                values(shape, dt),
                axes,
                eo,
                sp,
                "Fortran-order input",
                order="F",
            )


def offset_cases():
    """1e8 + a small signal: the subtraction cancels most significant digits."""
    specs = [
        ((57,), None, 1, ("scalar", 0.1)),
        ((57,), None, 2, [("coords", None)]),
        ((15, 16), None, 2, ("scalar", 0.05)),
        ((15, 16), [-1], 1, [("coords", None)]),
        ((6, 7, 8), None, 1, "mixed"),
        ((6, 7, 8), [0, 2], 2, "mixed"),
    ]
    for j, (shape, axes, eo, spacing) in enumerate(specs):
        norm = list(range(len(shape))) if axes is None else [a % len(shape) for a in axes]
        for dt, dtn in DTYPES:
            if spacing == "mixed":
                sp = mixed_spacing(shape, norm, j)
            elif isinstance(spacing, list):
                sp = [("coords", coords(shape[norm[0]], "nonuniform"))]
            else:
                sp = spacing
            add(
                f"offset_{len(shape)}d_{j}_{dtn}_e{eo}",
                values(shape, dt, "offset"),
                axes,
                eo,
                sp,
                "values of 1e8 plus a small signal (cancellation)",
            )


def integers(shape, dtype):
    """Uniform samples over the whole range of an integer dtype, with the
    minimum and maximum planted at a few places."""
    info = np.iinfo(dtype)
    f = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    flat = f.reshape(-1)
    where = rng.choice(flat.size, size=max(4, flat.size // 20), replace=False)
    flat[where] = np.where(np.arange(where.size) % 2 == 0, info.min, info.max)
    return flat.reshape(shape)


def dtype_cases():
    """Compact integer inputs (float64 out) and float16 (float16 out), with
    the gradient magnitude; and magnitude cases for float32 and float64."""
    specs = [
        # name, input, axes, edge order, spacing, order
        ("u8_image_e1", integers((13, 17), np.uint8), None, 1, None, "C"),
        ("u8_1d_e2_scalar", integers((37,), np.uint8), None, 2, ("scalar", 0.5), "C"),
        ("u16_ct_e2_mixed", integers((7, 9, 11), np.uint16), None, 2, "mixed", "C"),
        ("u16_fortran_e1_axes", integers((13, 17), np.uint16), [-1, 0], 1, ("scalar", 0.3), "F"),
        ("i16_3d_e1_peraxis", integers((7, 9, 11), np.int16), None, 1,
         [("scalar", 0.5), ("scalar", -2.0), ("scalar", 1.5)], "C"),
        ("i16_2d_e2_coords", integers((6, 19), np.int16), [1], 2, "mixed", "C"),
        ("i32_2d_e2_mixed", integers((11, 13), np.int32), None, 2, "mixed", "C"),
        ("f16_1d_e1", values((37,), np.float16, "smooth"), None, 1, None, "C"),
        ("f16_2d_e2_scalar", values((13, 17), np.float16), None, 2, ("scalar", 0.5), "C"),
        ("f16_3d_e1_mixed", values((7, 9, 11), np.float16, "smooth"), None, 1, "mixed", "C"),
        ("f16_2d_e2_nonfinite", values((11, 13), np.float16, "nonfinite"), [0], 2, None, "C"),
        ("f32_3d_e2_mixed", values((7, 9, 11), np.float32), None, 2, "mixed", "C"),
        ("f32_4d_e1_axes", values((4, 5, 6, 7), np.float32), [3, 1], 1, ("scalar", 0.7), "F"),
        ("f64_3d_e1_mixed", values((7, 9, 11), np.float64, "smooth"), None, 1, "mixed", "C"),
        ("f64_2d_e2_nonfinite", values((11, 13), np.float64, "nonfinite"), None, 2, None, "C"),
    ]
    for j, (name, f, axes, eo, spacing, order) in enumerate(specs):
        norm = list(range(f.ndim)) if axes is None else [a % f.ndim for a in axes]
        sp = mixed_spacing(f.shape, norm, j) if spacing == "mixed" else spacing
        add(
            f"dtype_{name}",
            f,
            axes,
            eo,
            sp,
            f"{f.dtype} input, with numpy's gradient magnitude",
            order=order,
            magnitude=True,
        )


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for old in os.listdir(OUT_DIR):
        if old.endswith(".npz") or old == "manifest.json":
            os.remove(os.path.join(OUT_DIR, old))
    grid_cases()
    coordinate_cases()
    axes_cases()
    thin_cases()
    nonfinite_cases()
    fortran_cases()
    offset_cases()
    dtype_cases()
    manifest = {
        "generator": "scripts/gen_fixtures.py",
        "numpy_version": np.__version__,
        "seed": SEED,
        "cases": cases,
    }
    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, p)) for p in os.listdir(OUT_DIR))
    print(f"{len(cases)} cases, {total} bytes in {os.path.normpath(OUT_DIR)}")
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"fixtures are {total} bytes, over the {MAX_TOTAL_BYTES} byte budget")


if __name__ == "__main__":
    main()
