# Times a peer's gradient for `ndgrad bench` on the identical array, in the
# same run: numpy.gradient on the host, cupy.gradient and torch.gradient on
# the device (CUDA; torch falls back to the CPU when it has no GPU).
#
# Usage: python3 -c "$(cat peer_bench.py)" JOB.json
# The job names the library, the input .npy, the spacing (numbers, or paths
# of coordinate .npy files), the axes, the edge order and the repeat count.
# cupy and torch get the input and the coordinates on the device before any
# timing: they are timed device-resident, each call followed by a device
# synchronisation (like ndgrad's `gpu resident` row). The first call is the
# warm-up; its results are saved next to the job (OUT0.npy, OUT1.npy, ...)
# in the input's dtype, so that the bench checks the peer against the
# reference too. Prints one JSON line: the median time of the timed calls,
# the library's version and the device it ran on.
import json
import sys
import time

import numpy as np

job = json.load(open(sys.argv[1]))
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
print(json.dumps({"median_s": times[len(times) // 2], "version": version, "device": device}))
