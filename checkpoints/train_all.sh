#!/usr/bin/env bash
# Re-create every bundled checkpoint with the exact commands quoted in checkpoints/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m explorer.train classifier --no-progress
python -m explorer.train vae --no-progress
python -m explorer.train ae --no-progress
python -m explorer.train vae --latent-dim 2 --out checkpoints/vae2d.safetensors --no-progress
python -m explorer.train ae --latent-dim 2 --out checkpoints/ae2d.safetensors --no-progress
python -m explorer.train gan --no-progress
