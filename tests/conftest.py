"""Shared fixtures: small models and checkpoints made in seconds on the 8x8 sklearn digits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "checkpoints"

torch.set_num_threads(int(os.environ.get("TEST_TORCH_THREADS", "2")))


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> dict[str, Path]:
    """One-epoch checkpoints of every kind on sklearn's digits (about 5 s together)."""
    from explorer import train

    folder = tmp_path_factory.mktemp("tiny")
    paths = {}
    for kind, extra in [("ae", {}), ("vae", {}), ("gan", {"width": 16}), ("classifier", {})]:
        out = folder / f"{kind}.safetensors"
        args = train.make_args(
            kind,
            epochs=1,
            dataset="digits",
            out=str(out),
            run_dir=str(folder / f"run-{kind}"),
            progress=False,
            **extra,
        )
        train.run(args)
        paths[kind] = out
    return paths
