# Times numpy.gradient for `ndgrad bench` on the identical array, in the same run.
#
# Usage: python3 -c "$(cat numpy_bench.py)" JOB.json
# The job names the input .npy, the spacing (numbers, or paths of coordinate
# .npy files), the axes, the edge order and the repeat count. The first call is
# the warm-up; its results are saved next to the job (OUT0.npy, OUT1.npy, ...)
# so that the bench can check numpy against the reference too. Prints one JSON
# line: the median time of the timed calls and numpy's version.
import json
import sys
import time

import numpy as np

job = json.load(open(sys.argv[1]))
f = np.load(job["f"])
spacing = [np.load(s) if isinstance(s, str) else s for s in job["spacing"]]
kwargs = {"edge_order": job["edge_order"]}
if job["axes"] is not None:
    kwargs["axis"] = tuple(job["axes"])

out = np.gradient(f, *spacing, **kwargs)
if not isinstance(out, (list, tuple)):
    out = [out]
for i, o in enumerate(out):
    np.save(f"{job['out']}{i}.npy", o)

times = []
for _ in range(job["repeat"]):
    t = time.perf_counter()
    np.gradient(f, *spacing, **kwargs)
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"median_s": times[len(times) // 2], "version": np.__version__}))
