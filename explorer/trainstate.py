"""Training state on disk: the resume file beside a checkpoint, and the live metrics log.

The resume file (``<out>.resume.safetensors``) holds the weights, every optimizer slot tensor
and the RNG states, with the run's arguments, epoch and history as JSON, so ``--resume``
continues exactly where a run stopped. It is written with the same atomic
:func:`explorer.checkpoints.write_tensors` as a checkpoint, and read without unpickling.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from explorer import checkpoints


def save_resume(run) -> None:
    """Write ``run``'s (an ``explorer.train.Run``) resume state beside its checkpoint."""
    tensors = {f"model.{k}": v for k, v in run.model.state_dict().items()}
    groups = {}
    for name, optimizer in run.optimizers.items():
        state = optimizer.state_dict()
        groups[name] = state["param_groups"]
        for pid, slots in state["state"].items():
            for slot, value in slots.items():
                tensors[f"optim.{name}.{pid}.{slot}"] = torch.as_tensor(value)
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.shuffle"] = run.shuffle.get_state()
    meta = {
        "train": asdict(run.args),
        "epoch": run.epoch,
        "step": run.step,
        "seconds": run.seconds,
        "history": run.history,
        "optim_groups": groups,
    }
    checkpoints.write_tensors(run.args.resume_path, tensors, meta)


# Values of settings that resume states written before the setting existed were trained with.
_BEFORE_KEY = {"arch": "conv", "val_size": 0}
_SAME_RUN = ("model", "latent_dim", "width", "arch", "dataset", "seed", "test_size", "val_size")


def restore(run) -> None:
    """Load a resume state into ``run``'s model, optimizers, RNGs and position (epoch, step,
    seconds, history); check it is the same run. A file that is not a resume state raises
    ValueError with one line."""
    args = run.args
    path = args.resume_path
    tensors, meta = checkpoints.read_tensors(path)
    try:
        saved = meta["train"]
        position = (meta["epoch"], meta["step"], meta["seconds"], meta["history"])
        groups = meta["optim_groups"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a resume state (no {err} in its header)") from err
    for key in _SAME_RUN:
        if saved.get(key, _BEFORE_KEY.get(key)) != getattr(args, key):
            raise ValueError(
                f"{path}: saved run has {key}={saved.get(key, _BEFORE_KEY.get(key))!r}, "
                f"this run {getattr(args, key)!r}"
            )
    if position[0] >= args.epochs:
        raise ValueError(
            f"{path}: already trained {position[0]} epochs; ask for more with --epochs"
        )
    run.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    for name, optimizer in run.optimizers.items():
        state: dict = {}
        prefix = f"optim.{name}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                pid, slot = key[len(prefix) :].split(".")
                state.setdefault(int(pid), {})[slot] = value
        optimizer.load_state_dict({"state": state, "param_groups": groups[name]})
    torch.set_rng_state(tensors["rng.torch"])
    run.shuffle.set_state(tensors["rng.shuffle"])
    run.epoch, run.step, run.seconds, run.history = position


class MetricsLog:
    """Append-only JSONL, one object a line, flushed on every write so readers see it live."""

    def __init__(self, path: Path, append: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115

    def write(self, record: dict) -> None:
        self.handle.write(json.dumps({"time": round(time.time(), 3), **record}) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()
