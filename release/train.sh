#!/usr/bin/env bash
# The release models' recipe: RELEASE_RECIPES in enhance_lab/experiments.py (09a_experiments), run stage by stage with the
# cpu profile's fast defaults on the offline corpus, by optimiser steps.
# Resumable: run it again after a stop and every model continues from its last checkpoint (or is skipped when done).
#   release/train.sh [OUT_DIR] [STEPS]     (defaults: ~/.cache/enhance_lab/release, 4000)
set -euo pipefail
out=${1:-$HOME/.cache/enhance_lab/release}
steps=${2:-4000}
mkdir -p "$out"
enhance-lab corpus >/dev/null
python - "$out" "$steps" <<'PY'
import sys
from enhance_lab.experiments import RELEASE_RECIPES, train_release
for name in RELEASE_RECIPES: print(train_release(name, sys.argv[1], int(sys.argv[2])))
PY
