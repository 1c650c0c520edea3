#!/usr/bin/env python3
"""Times numpy.gradient on an array saved by benches/cpu_vs_numpy.rs.

That example starts it once per case, on the array it computes itself, and
interleaves numpy's runs with its own so both see the same machine load:

    python3 benches/numpy_time.py ARRAY.npy --edge-order 1 [--nonuniform] --serve

With --serve it runs one warm-up, prints "ready", then for each line "run" on
stdin times one numpy.gradient call and prints its seconds. Without --serve
it times --reps runs and prints {"median_s": ..., "min_s": ..., "runs_s": [...]}.
The coordinates for --nonuniform are x[i] = i + 0.25 * (i % 3) on every
axis, the formula the Rust side uses (exact in binary, so both sides build
identical coefficients).
"""

import argparse
import json
import sys
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--edge-order", type=int, default=1)
    parser.add_argument("--nonuniform", action="store_true")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()

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

if __name__ == "__main__":
    main()
