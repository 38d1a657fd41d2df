"""Training state on disk: the resume file beside a checkpoint, and the live metrics log.

The resume file (``<out>.resume.safetensors``) holds the weights, every optimizer slot tensor
and the RNG states, with the run's arguments, epoch and history as JSON, so ``--resume``
continues exactly where a run stopped. It is written with the same atomic
:func:`explorer.checkpoints.write_tensors` as a checkpoint, and read without unpickling.

The metrics log (``<run dir>/metrics.jsonl``) opens with a ``start`` record naming the process
that trains the run, so :func:`run_status` can tell a run whose process was killed from one
still training.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
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
    _check_position(path, saved, position, groups)
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
    try:
        _load_tensors(run, tensors, groups)
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as err:
        detail = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ValueError(f"{path}: its tensors do not fit this run ({detail})") from err
    run.epoch, run.step, run.seconds, run.history = position


def _check_position(path: Path, saved: object, position: tuple, groups: object) -> None:
    """The header's run arguments, position and optimizer groups have the types a resume state
    writes (a hand-edited or foreign file gets one ValueError, not a traceback later)."""
    epoch, step, seconds, history = position
    whole = [isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (epoch, step)]
    if not isinstance(saved, dict) or not isinstance(groups, dict):
        raise ValueError(f"{path}: not a resume state ('train' and 'optim_groups' must be objects)")
    if not all(whole) or not isinstance(seconds, int | float) or not isinstance(history, list):
        raise ValueError(f"{path}: not a resume state (a bad epoch, step, seconds or history)")


def _load_tensors(run, tensors: dict[str, torch.Tensor], groups: dict) -> None:
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


def start_record(epochs: int, epoch: int) -> dict:
    """The record a run writes to its metrics log when it starts (or resumes at ``epoch``):
    the process that trains it, so a reader can tell a run whose process is gone
    (:func:`run_status`) from one still training."""
    return {
        "type": "start",
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "process_start": _process_start(os.getpid()),
        "epochs": epochs,
        "from_epoch": epoch,
    }


def process_gone(start: dict) -> bool:
    """Whether the process a start record names has ended. Only a process on this machine can
    be checked (another host's run counts as alive); a pid reused by a newer process counts as
    gone (Linux: its start time differs)."""
    pid = start.get("pid")
    if start.get("host") != socket.gethostname() or type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: does it exist? (sends nothing)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):  # someone else's process: it exists
        pass
    began = start.get("process_start")
    return began is not None and _process_start(pid) not in (None, began)


def _process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks after boot (Linux /proc; None elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])  # field 22, after "pid (comm)"
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class RunStatus:
    """Whether a run is still training, from its metrics log and the process that writes it."""

    state: str  # "running", "finished", "stopped", or "unknown" (a log without a start record)
    reason: str = ""  # why it stopped

    @property
    def note(self) -> str:
        """What a caption adds after the run's progress: " (stopped: …)" or nothing."""
        return f" ({self.reason})" if self.state == "stopped" else ""


def run_status(path: Path) -> RunStatus:
    """The status of the run that writes the metrics log ``path``.

    A run's ``start`` record (:func:`start_record`; a resumed run writes another)
    names its process. The run is finished once it logged its last epoch or its test numbers;
    stopped when an ``end`` record follows the start (an in-app run that failed or was
    stopped), or when its process on this machine is gone (a killed command-line run, or an
    in-app run of a server that has since restarted); running otherwise. A log written before
    start records existed, or one whose run is on another machine and not finished, is
    "unknown" or "running" as far as can be told."""
    start, end, last_epoch, tested = None, None, 0, False
    if not Path(path).is_file():
        return RunStatus("unknown")
    for record in records(path, kinds=("start", "end", "epoch", "test")):
        kind = record.get("type")
        if kind == "start":
            start, end, last_epoch, tested = record, None, 0, False
        elif kind == "end":
            end = record
        elif kind == "epoch" and isinstance(record.get("epoch"), int):
            last_epoch = record["epoch"]
        elif kind == "test":
            tested = True
    epochs = start.get("epochs") if start else None
    if tested or (isinstance(epochs, int) and last_epoch >= epochs):
        return RunStatus("finished")
    if end is not None:
        reason = str(end.get("reason") or "stopped")[:200]
        return RunStatus(
            "stopped", reason if reason.startswith("stopped") else f"stopped: {reason}"
        )
    if start is None:
        return RunStatus("unknown")
    if process_gone(start):
        return RunStatus("stopped", "stopped: its training process has ended")
    return RunStatus("running")


def records(path: Path, kinds: tuple[str, ...] | None = None) -> Iterator[dict]:
    """The records of a metrics JSONL (none when it cannot be read); a half-written line or a
    line that is not an object is skipped. With ``kinds``, only lines of those types are parsed
    (a run's log is mostly step lines)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return
    for line in text.splitlines():
        if kinds is not None and not any(f'"type": "{kind}"' in line for kind in kinds):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record


def log_end(path: Path, reason: str) -> None:
    """Append an ``end`` record to an in-app run's log (nothing when the log cannot be written:
    a run whose folder failed never had one)."""
    record = {"time": round(time.time(), 3), "type": "end", "reason": reason}
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    except OSError:
        pass


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
