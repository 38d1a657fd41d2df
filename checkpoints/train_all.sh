#!/usr/bin/env bash
# Re-create every bundled checkpoint with the exact commands quoted in checkpoints/README.md.
# The bundled files were trained with one thread per run (OMP_NUM_THREADS=1); more threads give
# the same recipe with float rounding that differs in the last bits.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
python -m explorer.train classifier --no-progress
python -m explorer.train vae --no-progress
python -m explorer.train ae --no-progress
python -m explorer.train vae --latent-dim 2 --out checkpoints/vae2d.safetensors --no-progress
python -m explorer.train ae --latent-dim 2 --out checkpoints/ae2d.safetensors --no-progress
# The DCGAN predates the validation split: it trains on all 4,500 training digits.
python -m explorer.train gan --val-size 0 --no-progress
