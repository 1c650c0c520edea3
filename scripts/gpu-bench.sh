#!/usr/bin/env bash
# scripts/gpu-bench.sh: the hardware GPU run of `ndgrad bench`, in one command.
#
#   scripts/gpu-bench.sh [--quick] [--bin PATH] [--out DIR] [--python PY]
#
# Runs `ndgrad info` once, then the suite that matters, one `ndgrad bench`
# call per shape (each times both spacing forms), every backend side by side
# (gpu, cpu, numpy, cupy, torch):
#   - 3-D 512³ and 256³ f32, uniform spacing and coordinates;
#   - 2-D 8192² f32, uniform and coordinates;
#   - 1-D 2²⁶ f32, uniform and coordinates;
# all edge order 1, all axes. Every case also has the u16-input rows (`gpu u16
# end to end`, `cpu u16`: the same array quantised to u16) and the GPU rows:
# end to end, resident, kernel (fused and per-axis), upload, download, and the
# yardsticks moving the same bytes on the device: the WGSL copy kernel and
# `copy_buffer_to_buffer`. It writes every JSON record into
# DIR/gpu-bench.json (one array) and `ndgrad info` plus the printed tables
# into DIR/gpu-bench.txt, and prints each call's and the total wall time.
# `--quick` runs a tiny suite (32³, 64², 1-D 4096) for a smoke test on any
# adapter (lavapipe, CI).
#
# Options (defaults): --bin target/release/ndgrad, --out gpu-bench-out,
# --python "$NDGRAD_PYTHON" or python3 (the interpreter that has numpy, cupy
# and torch: the bench finds its peers through NDGRAD_PYTHON). The exit status
# is non-zero if any call failed (a result that differs from the reference
# fails its call, after its table and JSON are written); the other calls
# still run.
#
# Time budget of the full suite on one H200 machine (16 cores): estimates,
# not yet measured there; the per-call times the script prints replace them.
# A 512³ f32 array is 512 MiB, its three outputs 1.5 GiB. Besides the timed
# repeats, each case makes its array, computes the reference three times
# (gradient, magnitude, u16) on one thread and checks every result: 4.3 s for
# 256³ on a 2-core lavapipe box, so ~35 s there for 512³ and ~20-25 s on a
# faster core. Each Python peer starts once per call (its probe) and once
# per case (import torch or cupy: ~2-4 s each), and gets the array through
# .npy files (~2 GiB written and read per peer at 512³). numpy.gradient on
# 512³ takes ~1.5-3 s per call, the CPU backend ~0.2 s, a GPU end-to-end
# call ~0.3-0.5 s (PCIe), the kernels milliseconds. Per case, with the repeats below:
#   512³   (--repeat 3): ~55-65 s    256³  (--repeat 5): ~12-18 s
#   8192²  (--repeat 3): ~25-30 s    2²⁶   (--repeat 3): ~20-25 s
# Two spacing forms (cases) per call: ~4-4.5 min in all, under 5. Memory:
# the peers hold the input and three outputs (2 GiB) on the device, ndgrad
# about as much: far below the H200's 139 GiB; host memory peaks near 10 GiB
# at 512³.
#
# How to run it on a rented Linux machine with an NVIDIA GPU and driver:
#   1. Vulkan loader and the driver's ICD. Check `ldconfig -p | grep
#      libvulkan`; if it prints nothing, install the loader (Debian/Ubuntu:
#      `apt-get install libvulkan1`, or `apt-get download libvulkan1` and
#      `dpkg -x libvulkan1_*.deb /` then `ldconfig` where apt cannot install).
#      If `ndgrad info` finds no NVIDIA adapter, point the loader at the
#      driver's ICD file, e.g.
#      `export VK_DRIVER_FILES=/usr/share/vulkan/icd.d/nvidia_icd.json`
#      (containers often ship it elsewhere, e.g.
#      /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; `find / -name
#      'nvidia_icd*.json'`).
#   2. The peers: `python3 -m pip install numpy cupy-cuda12x torch` (or pass
#      --python for a virtual environment that has them).
#   3. Build: `cargo build --release -p ndgrad-cli` (or copy a release binary
#      built elsewhere for x86-64 Linux and pass --bin).
#   4. Run: `scripts/gpu-bench.sh --out gpu-bench-out`, then keep
#      gpu-bench-out/gpu-bench.{txt,json} and add the figures, with the
#      command, to BENCHMARKS.md.
set -euo pipefail

quick=0
bin=target/release/ndgrad
out=gpu-bench-out
python=${NDGRAD_PYTHON:-python3}

usage() { sed -n '4p' "$0" | sed 's/^#   //' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) quick=1 ;;
        --bin) bin=${2:?--bin needs a path}; shift ;;
        --out) out=${2:?--out needs a directory}; shift ;;
        --python) python=${2:?--python needs an interpreter}; shift ;;
        -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu-bench.sh: unknown option $1" >&2; usage ;;
    esac
    shift
done

if [[ ! -x $bin ]]; then
    echo "gpu-bench.sh: no ndgrad binary at $bin: build it with 'cargo build --release -p ndgrad-cli' or pass --bin PATH" >&2
    exit 1
fi
export NDGRAD_PYTHON=$python
mkdir -p "$out"
table=$out/gpu-bench.txt
json=$out/gpu-bench.json
parts=$(mktemp -d "${TMPDIR:-/tmp}/gpu-bench.XXXXXX")
trap 'rm -rf "$parts"' EXIT

# The suite: "shape repeat" per call; each call runs both spacing forms.
if [[ $quick == 1 ]]; then
    calls=("32,32,32 3" "64,64 3" "4096 3")
else
    calls=("512,512,512 3" "256,256,256 5" "8192,8192 3" "67108864 3")
fi

start=$SECONDS
{
    echo "# scripts/gpu-bench.sh$([[ $quick == 1 ]] && echo ' --quick'), $(date -u '+%Y-%m-%d %H:%M UTC'), $("$bin" --version 2>/dev/null || echo ndgrad)"
    echo "# peers through: $python"
    echo
    "$bin" info || echo "(ndgrad info failed: exit $?)"
    echo
} | tee "$table"

failed=0
n=0
for c in "${calls[@]}"; do
    read -r shape repeat <<<"$c"
    n=$((n + 1))
    t0=$SECONDS
    echo "## call $n/${#calls[@]}: --shape $shape --repeat $repeat (uniform and coords)" | tee -a "$table"
    if ! "$bin" bench --shape "$shape" --dtype f32 --edge-order 1 \
        --backends gpu,cpu,numpy,cupy,torch --repeat "$repeat" \
        --json "$parts/$(printf '%02d' "$n").json" 2>&1 | tee -a "$table"; then
        echo "## call $n FAILED (see above)" | tee -a "$table"
        failed=$((failed + 1))
    fi
    echo "## call $n took $((SECONDS - t0)) s" | tee -a "$table"
    echo | tee -a "$table"
done

# One array of every record, in case order.
merge=$python
"$merge" -c 'import json' 2>/dev/null || merge=python3
shopt -s nullglob
"$merge" - "$json" "$parts"/*.json <<'EOF'
import json, sys
records = []
for path in sys.argv[2:]:
    with open(path) as f:
        records.extend(json.load(f))
with open(sys.argv[1], "w") as f:
    json.dump(records, f, indent=2)
print(f"{len(records)} records from {len(sys.argv) - 2} calls in {sys.argv[1]}")
EOF

total=$((SECONDS - start))
echo "total wall time: $((total / 60)) min $((total % 60)) s; table in $table" | tee -a "$table"
if [[ $failed -gt 0 ]]; then
    echo "gpu-bench.sh: $failed call(s) failed" | tee -a "$table" >&2
    exit 1
fi
