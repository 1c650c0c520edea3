#!/usr/bin/env python3
"""Times a peer library's gradient on an array ndgrad times too, in the same run.

One timer for both Rust callers, in two modes:

job JOB.json -- for `ndgrad bench` (cli/src/bench/peers.rs), which embeds
    this file and runs it as `python3 -c "$(cat peer_bench.py)" job JOB.json`.
    The job names the library (numpy, cupy or torch), the input .npy, the
    spacing (numbers, or paths of coordinate .npy files), the axes, the edge
    order, the repeat count and an output prefix OUT. numpy.gradient runs on
    the host; cupy.gradient and torch.gradient on the device (CUDA; torch
    falls back to the CPU when it has no GPU). cupy and torch get the input
    and the coordinates on the device before any timing: they are timed
    device-resident, each call followed by a device synchronisation (like
    ndgrad's `gpu resident` row). The first call is the warm-up; its results
    are saved as OUT0.npy, OUT1.npy, ... in the input's dtype, so that the
    bench checks the peer against the reference too. Prints one JSON line:
    the median, fastest and slowest time of the timed calls, the library's
    version and the device it ran on.

array ARRAY.npy [--edge-order N] [--nonuniform] [--reps N] [--serve] -- for
    benches/cpu_vs_numpy.rs, which starts it once per case on the array it
    computes itself and interleaves numpy's runs with its own, so both see
    the same machine load:

        python3 scripts/peer_bench.py array ARRAY.npy --edge-order 1 [--nonuniform] --serve

    It times numpy.gradient. With --serve it runs one warm-up, prints
    "ready", then for each line "run" on stdin times one numpy.gradient call
    and prints its seconds. Without --serve it times --reps runs and prints
    {"median_s": ..., "min_s": ..., "runs_s": [...]}. The coordinates for
    --nonuniform are x[i] = i + 0.25 * (i % 3) on every axis, the formula
    the Rust side uses (exact in binary, so both sides build identical
    coefficients).
"""

import argparse
import json
import sys
import time

import numpy as np


def run_job(path):
    """The `job` mode: one peer on one case, as `ndgrad bench` asks."""
    job = json.load(open(path))
    library = job["library"]
    f = np.load(job["f"])
    spacing = [np.load(s) if isinstance(s, str) else s for s in job["spacing"]]
    axes = None if job["axes"] is None else tuple(job["axes"])
    edge_order = job["edge_order"]
    # numpy.gradient's keywords, which cupy.gradient shares.
    kwargs = {"edge_order": edge_order}
    if axes is not None:
        kwargs["axis"] = axes

    if library == "numpy":
        version, device = np.__version__, "cpu"

        def sync():
            pass

        def run():
            return np.gradient(f, *spacing, **kwargs)

        def host(a):
            return a

    elif library == "cupy":
        import cupy

        version, device = cupy.__version__, f"cuda:{cupy.cuda.Device().id}"
        f_dev = cupy.asarray(f)
        spacing_dev = [cupy.asarray(s) if isinstance(s, np.ndarray) else s for s in spacing]

        def sync():
            cupy.cuda.Device().synchronize()

        def run():
            return cupy.gradient(f_dev, *spacing_dev, **kwargs)

        def host(a):
            return cupy.asnumpy(a)

    elif library == "torch":
        import torch

        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        version, device = torch.__version__, str(dev)
        f_dev = torch.from_numpy(f).to(dev)
        # torch takes one scalar, or one scalar or coordinate tensor per
        # differentiated dimension, in the input's dtype.
        dims = axes if axes is not None else tuple(range(f.ndim))
        if not spacing:
            spacing_dev = 1.0
        elif len(spacing) == 1 and not isinstance(spacing[0], np.ndarray):
            spacing_dev = float(spacing[0])
        else:
            items = spacing if len(spacing) == len(dims) else spacing * len(dims)
            spacing_dev = [
                torch.from_numpy(s).to(dev, f_dev.dtype) if isinstance(s, np.ndarray) else float(s)
                for s in items
            ]

        def sync():
            if dev.type == "cuda":
                torch.cuda.synchronize()

        def run():
            return torch.gradient(f_dev, spacing=spacing_dev, dim=dims, edge_order=edge_order)

        def host(a):
            return a.cpu().numpy()

    else:
        raise SystemExit(f"unknown library {library}")

    out = run()
    sync()
    if not isinstance(out, (list, tuple)):
        out = [out]
    for i, o in enumerate(out):
        np.save(f"{job['out']}{i}.npy", host(o).astype(f.dtype, copy=False))

    times = []
    for _ in range(job["repeat"]):
        t = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"median_s": times[len(times) // 2], "min_s": times[0], "max_s": times[-1],
                      "version": version, "device": device}))


def run_array(args):
    """The `array` mode: numpy.gradient on a saved array, served or timed."""
    f = np.load(args.path)
    spacing = []
    if args.nonuniform:
        spacing = [np.arange(n, dtype=np.float64) + 0.25 * (np.arange(n) % 3) for n in f.shape]

    def run():
        return np.gradient(f, *spacing, edge_order=args.edge_order)

    def timed():
        start = time.perf_counter()
        g = run()
        elapsed = time.perf_counter() - start
        del g
        return elapsed

    timed()  # warm-up: page in the input, settle the allocator
    if args.serve:
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() != "run":
                break
            print(timed(), flush=True)
        return
    runs = [timed() for _ in range(args.reps)]
    print(json.dumps({"median_s": float(np.median(runs)), "min_s": min(runs), "runs_s": runs}))


def main():
    parser = argparse.ArgumentParser(
        prog="peer_bench.py",
        description="Times a peer library's gradient on an array ndgrad times too.",
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    job = modes.add_parser("job", help="one peer on one case of `ndgrad bench`")
    job.add_argument("job", help="the job's JSON file")
    array = modes.add_parser("array", help="numpy.gradient on a saved array (benches)")
    array.add_argument("path")
    array.add_argument("--edge-order", type=int, default=1)
    array.add_argument("--nonuniform", action="store_true")
    array.add_argument("--reps", type=int, default=5)
    array.add_argument("--serve", action="store_true")
    args = parser.parse_args()
    if args.mode == "job":
        run_job(args.job)
    else:
        run_array(args)


if __name__ == "__main__":
    main()
