#!/usr/bin/env bash
# The release models' recipe: each of the four trained with the fast defaults (cpu profile: 128 px crops, batch 8,
# bf16 where the CPU has it, encoder frozen) on the offline corpus, by optimiser steps, with the task's article loss.
# Resumable: run it again after a stop and every model continues from its last checkpoint (or is skipped when done).
#   release/train.sh [OUT_DIR] [STEPS]     (defaults: ~/.cache/enhance_lab/release, 4000)
set -euo pipefail
out=${1:-$HOME/.cache/enhance_lab/release}
steps=${2:-4000}
mkdir -p "$out"
enhance-lab corpus >/dev/null
train() {  # name, then the task's arguments
  local name=$1; shift
  if [ -e "$out/$name.safetensors" ]; then echo "$name: done"; return; fi
  local resume=(); [ -d "$out/$name.ckpt" ] && resume=(--resume)
  enhance-lab train "$@" --source corpus --profile cpu --steps "$steps" --freeze --seed 0 --out "$out/$name" "${resume[@]}"
}
train superres-x2 superres --scale 2
train superres-x4 superres --scale 4
train colorize colorize
train style-starry-night style
