#!/usr/bin/env bash
# One device call for issue #32: install the carried wheels, point the cache at the carried loss network, run
# release/device.py with the results under $OUT. Build .device/ here first (release/device_pack.py), set the release
# weights aside (75 of the tree's 86 MB) so the tree fits in 64 MiB, then call the device tool with
#   command: bash release/device.sh [device.py arguments]    carry: [".device"]    timeout_s: 570
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/wheels/*.whl
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 ENHANCE_LAB_CACHE="$PWD/.device/cache" MPLBACKEND=Agg
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 release/device.py --out "$OUT" "$@" 2>&1 | tr '\r' '\n' | grep -v '^ *Epoch [0-9]*/[0-9]* *:' > "$OUT/log.txt"
tail -n 40 "$OUT/log.txt"
