#!/usr/bin/env bash
# The AE vs VAE protocol's replicates (bench.smoothness --protocol, bench.quality): the four
# bundled AEs and VAEs' recipes for training seeds 1 and 2, on the same split (seed 0), one
# thread each, into runs/seeds/. About 20 minutes per model on one quiet core; run two at once
# with `checkpoints/train_seeds.sh 1 & checkpoints/train_seeds.sh 2`.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
seeds="${*:-1 2}"
for seed in $seeds; do
  for spec in "vae 16 vae" "ae 16 ae" "vae 2 vae2d" "ae 2 ae2d"; do
    set -- $spec
    python -m explorer.train "$1" --latent-dim "$2" --seed "$seed" --split-seed 0 \
      --out "runs/seeds/$3-seed$seed.safetensors" --run-dir "runs/seeds/$3-seed$seed" --no-progress
  done
done
