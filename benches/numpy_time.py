#!/usr/bin/env python3
"""Times numpy.gradient on an array saved by examples/cpu_vs_numpy.rs.

Called by that example, once per case, so both sides run on the same array in
the same session:

    python3 benches/numpy_time.py ARRAY.npy --edge-order 1 [--nonuniform] --reps 5

Prints one JSON object: {"median_s": ..., "runs_s": [...]}. The coordinates
for --nonuniform are x[i] = i + 0.25 * (i % 3) on every axis, the formula the
Rust side uses (exact in binary, so both sides build identical coefficients).
"""

import argparse
import json
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--edge-order", type=int, default=1)
    parser.add_argument("--nonuniform", action="store_true")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()

    f = np.load(args.path)
    spacing = []
    if args.nonuniform:
        spacing = [np.arange(n, dtype=np.float64) + 0.25 * (np.arange(n) % 3) for n in f.shape]

    def run():
        return np.gradient(f, *spacing, edge_order=args.edge_order)

    run()  # warm-up: page in the input, settle the allocator
    runs = []
    for _ in range(args.reps):
        start = time.perf_counter()
        g = run()
        runs.append(time.perf_counter() - start)
        del g
    print(json.dumps({"median_s": float(np.median(runs)), "runs_s": runs}))


if __name__ == "__main__":
    main()
