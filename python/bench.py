"""Times ndgrad.gradient against numpy.gradient (and CuPy or torch when
present), and ndgrad.dask.gradient against dask.array.gradient on a
dask.distributed LocalCluster, in one run.

    python python/bench.py [--quick] [--no-dask]

Each line: the best and median time of several runs (and their spread).
"""

import argparse
import os
import statistics
import time

import numpy as np

import ndgrad


def timed(fn, reps, warm=1):
    for _ in range(warm):
        fn()
    t = []
    for _ in range(reps):
        s = time.perf_counter()
        fn()
        t.append(time.perf_counter() - s)
    return min(t), statistics.median(t), max(t)


def line(name, t, unit=1e3, suffix="ms"):
    best, med, worst = t
    print(f"{name:<48} best {best * unit:9.3f} {suffix}  median {med * unit:9.3f} {suffix}"
          f"  max {worst * unit:9.3f} {suffix}", flush=True)
    return med


def small(reps):
    f = np.random.default_rng(0).random(100)
    n = line("numpy.gradient 100 f64", timed(lambda: np.gradient(f), reps), 1e6, "us")
    o = line("ndgrad.gradient 100 f64 (cpu)",
             timed(lambda: ndgrad.gradient(f, backend="cpu"), reps), 1e6, "us")
    line("ndgrad.gradient 100 f64 (auto)",
         timed(lambda: ndgrad.gradient(f), reps), 1e6, "us")
    print(f"  ratio ndgrad/numpy (median, cpu): {o / n:.2f} (target <= 2)")


def large(n, reps):
    f = np.random.default_rng(0).random((n, n, n), dtype=np.float32)
    line(f"numpy.gradient {n}^3 f32", timed(lambda: np.gradient(f), max(3, reps // 3)))
    line(f"ndgrad.gradient {n}^3 f32 (cpu)",
         timed(lambda: ndgrad.gradient(f, backend="cpu"), reps))
    info = ndgrad.info()
    if info["gpu"]:
        names = ", ".join(a["name"] for a in info["adapters"])
        line(f"ndgrad.gradient {n}^3 f32 (gpu: {names[:20]})",
             timed(lambda: ndgrad.gradient(f, backend="gpu"), max(3, reps // 3)))
    try:
        import cupy
        g = cupy.asarray(f)
        line(f"cupy.gradient {n}^3 f32", timed(lambda: (cupy.gradient(g),
             cupy.cuda.Device().synchronize()), reps))
    except Exception:
        pass
    try:
        import torch
        t = torch.from_numpy(f)
        line(f"torch.gradient {n}^3 f32 (cpu)", timed(lambda: torch.gradient(t), reps))
    except Exception:
        pass


def overhead(n, reps):
    """The loop of the repository's examples/binding_overhead.rs in Python:
    15 calls of ndgrad.gradient(f, backend="cpu") on n^3 f32, each result
    dropped before the next, for the binding-overhead comparison."""
    f = np.random.default_rng(0).random((n, n, n), dtype=np.float32)
    ndgrad.gradient(f, backend="cpu")
    t = []
    for _ in range(reps):
        s = time.perf_counter()
        g = ndgrad.gradient(f, backend="cpu")
        t.append(time.perf_counter() - s)
        del g
    t.sort()
    print(f"python gradient {n}^3 f32 cpu: best {t[0] * 1e3:.2f} ms, "
          f"median {t[reps // 2] * 1e3:.2f} ms ({reps} runs)")


def dask_side_by_side(n, chunk, reps):
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    import ndgrad.dask as ndask

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        x = da.random.random((n, n, n), chunks=chunk).astype(np.float32).persist()
        client.wait_for_workers(2)
        from dask.distributed import wait
        wait(x)

        def run(fn):
            # Results stay on the workers: the computation, not the transfer.
            return lambda: wait(client.persist(fn(x)))

        print(f"dask: {n}^3 f32, chunks {chunk}, LocalCluster(2 worker processes, 1 thread each)")
        d = line("  dask.array.gradient", timed(run(da.gradient), reps))
        o = line("  ndgrad.dask.gradient (cpu)",
                 timed(run(lambda a: ndask.gradient(a, backend="cpu")), reps))
        print(f"  ratio ndgrad/dask (median): {o / d:.2f} (target <= 1)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--no-dask", action="store_true")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--overhead", action="store_true",
                   help="only the loop that examples/binding_overhead.rs times in Rust")
    a = p.parse_args()
    if a.overhead:
        overhead(a.n, 15)
        return
    print(f"ndgrad {ndgrad.__version__}, numpy {np.__version__}, "
          f"auto backend: {ndgrad.info()['auto']}, cpus: {os.cpu_count()}, "
          f"load average: {os.getloadavg()[0]:.2f}")
    small(200 if a.quick else 2000)
    large(64 if a.quick else a.n, 3 if a.quick else 15)
    if not a.no_dask:
        dask_side_by_side(64 if a.quick else 192, 32 if a.quick else 64, 2 if a.quick else 5)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
