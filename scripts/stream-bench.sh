#!/usr/bin/env bash
# Streaming against in-memory, and zarr -> zarr, side by side in one run.
#
#   scripts/stream-bench.sh [RUNS] [BACKEND]
#
# Builds the release CLI, writes a 512 MiB float32 volume (512^3) as a .npy
# and as an uncompressed zarr v2 array in 128^3 chunks (plain Python, no
# numpy needed), then times, RUNS times each (default 3), interleaved:
#   in-memory   ndgrad gradient f.npy  -o g.npz  (fits under the default ceiling)
#   streaming   ndgrad gradient f.npy  -o g.npz  --max-memory (input/2)
#   zarr        ndgrad gradient f.zarr -o g.zarr
# and prints each wall time, the throughput in MB/s of input, and the load
# average before each run.
set -euo pipefail
runs=${1:-3}
backend=${2:-cpu}
root=$(cd "$(dirname "$0")/.." && pwd)
# NDGRAD_BIN runs another build (a debug one, say) instead of the release one.
if [ -z "${NDGRAD_BIN:-}" ]; then
  cargo build --release -p ndgrad-cli --manifest-path "$root/Cargo.toml" >&2
fi
bin=${NDGRAD_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/ndgrad}
work=$(mktemp -d "${TMPDIR:-/tmp}/ndgrad-stream-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
n=${N:-512}
c=$((n / 4))
python3 - "$work" "$n" "$c" <<'EOF'
import array, math, os, sys
work, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# A smooth field: eight planes, each scaled a little, cycled along axis 0;
# every value a normal float32 (denormals would slow the CPU down).
plane = [math.sin(0.013 * i) + 2.0 for i in range(n * n)]
planes = [array.array('f', [v * (1 + 1e-2 * k) for v in plane]).tobytes() for k in range(8)]
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }" % (n, n, n)
header += ' ' * (63 - (10 + len(header)) % 64) + '\n'
with open(os.path.join(work, 'f.npy'), 'wb') as f:
    f.write(b'\x93NUMPY\x01\x00' + len(header).to_bytes(2, 'little') + header.encode())
    for k in range(n):
        f.write(planes[k % 8])
z = os.path.join(work, 'f.zarr')
os.mkdir(z)
with open(os.path.join(z, '.zarray'), 'w') as f:
    f.write('{"zarr_format": 2, "shape": [%d, %d, %d], "chunks": [%d, %d, %d], '
            '"dtype": "<f4", "compressor": null, "fill_value": 0.0, "order": "C", '
            '"filters": null}' % (n, n, n, c, c, c))
chunk = array.array('f', [math.sin(0.013 * i) + 2.0 for i in range(c * c * c)]).tobytes()
for i in range(n // c):
    for j in range(n // c):
        for k in range(n // c):
            with open(os.path.join(z, '%d.%d.%d' % (i, j, k)), 'wb') as f:
                f.write(chunk)
EOF
bytes=$((n * n * n * 4))
echo "input: ${n}^3 float32, $((bytes >> 20)) MiB; backend $backend; $(nproc) cores"
run() {
  local name=$1
  shift
  local load start end
  load=$(cut -d' ' -f1 /proc/loadavg)
  rm -rf "$work/g.npz" "$work/g.zarr"
  start=$(date +%s.%N)
  "$bin" gradient "$@" --backend "$backend" --quiet
  end=$(date +%s.%N)
  python3 -c "import sys; t = $end - $start; print('%-10s %7.2f s  %7.0f MB/s  (load %s)' % ('$name', t, $bytes / t / 1e6, '$load'))"
}
for r in $(seq "$runs"); do
  echo "run $r"
  run in-memory "$work/f.npy" -o "$work/g.npz"
  run streaming "$work/f.npy" -o "$work/g.npz" --max-memory $((bytes / 2))
  run zarr "$work/f.zarr" -o "$work/g.zarr"
done
