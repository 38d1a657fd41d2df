"""Checkpoints: safetensors weights with their JSON configuration in the same file's header.

One file per model (``checkpoints/vae.safetensors``). The safetensors header carries string
metadata; ours holds the format name and version, the model config and a training summary (data
split, seed, epochs, held-out metrics, history) as JSON. One file means one atomic
``os.replace`` on save, so a crash mid-write never leaves weights and config out of step.

Loading never unpickles: safetensors is a JSON header plus raw tensor bytes, and anything else is
refused before a byte of it is interpreted (a pickle or ``torch.save`` zip is named as such).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from explorer.models import KINDS, ModelConfig, build

FORMAT = "latent-explorer"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
# Far above every model here (latent 100, width 128) and small enough that the largest model
# these allow stays under ~200 MB of weights: a config is checked against them before anything
# is allocated, so a file claiming width 10,000,000 costs nothing.
MAX_LATENT_DIM = 1024
MAX_WIDTH = 1024


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and the problem."""


@dataclass
class Checkpoint:
    """A loaded model in eval mode, with its config and training summary."""

    model: torch.nn.Module
    config: ModelConfig
    meta: dict = field(default_factory=dict)
    path: Path | None = None
    sha256: str = ""

    @property
    def name(self) -> str:
        return self.path.stem if self.path else self.config.kind


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Write tensors and JSON metadata atomically: temp file, fsync, os.replace, fsync dir."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION)}
    header.update({key: json.dumps(value) for key, value in meta.items()})
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=header)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a checkpoint is an ordinary file
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and decoded JSON metadata of a file written by :func:`write_tensors`."""
    path = Path(path)
    _check_container(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, RuntimeError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from err
    return tensors, _decode_header(path, header)


def _decode_header(path: Path, header: dict[str, str]) -> dict:
    """Check the format tag and version; the other entries decoded from JSON."""
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Latent Explorer checkpoint (no format tag)")
    if header.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path}: format version {header.get('format_version')!r} is not supported "
            f"(this version reads {FORMAT_VERSION})"
        )
    meta = {}
    for key, value in header.items():
        if key in ("format", "format_version"):
            continue
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{path}: metadata {key!r} is not valid JSON") from err
        except RecursionError as err:  # "[[[[…" a hundred thousand deep
            raise CheckpointError(f"{path}: metadata {key!r} is nested too deeply") from err
    return meta


def _check_container(path: Path) -> None:
    """Refuse files that are not safetensors before any parser sees them."""
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(9)
    if head[:2] == b"PK":
        raise CheckpointError(f"{path}: a torch.save zip (pickle) file; refusing to unpickle it")
    if len(head) == 9 and head[8:9] == b"{":
        (header_len,) = struct.unpack("<Q", head[:8])
        if header_len <= MAX_HEADER_BYTES and 8 + header_len <= size:
            return
        raise CheckpointError(f"{path}: truncated (header of {header_len} bytes, file of {size})")
    if head[:1] == b"\x80":  # pickle protocol 2+ opcode
        raise CheckpointError(f"{path}: looks like a pickle; refusing to unpickle it")
    if len(head) < 9:
        raise CheckpointError(f"{path}: truncated ({size} bytes)")
    raise CheckpointError(f"{path}: not a safetensors file")


def save(path: Path, model: torch.nn.Module, summary: dict | None = None) -> None:
    """Save a model's weights, its config and a training summary to one file."""
    write_tensors(
        path, model.state_dict(), {"config": model.config.to_dict(), "summary": summary or {}}
    )


def check_config(config: dict | ModelConfig) -> ModelConfig:
    """A ModelConfig whose sizes lie in the ranges this app can build; ValueError otherwise.

    Checked before any model is built, so a config claiming a huge width allocates nothing.
    """
    if isinstance(config, ModelConfig):
        config = config.to_dict()
    if not isinstance(config, dict):
        raise ValueError(f"config is a {type(config).__name__}, not an object")
    for key, top in (("latent_dim", MAX_LATENT_DIM), ("width", MAX_WIDTH)):
        value = config.get(key, 1)
        if type(value) is not int:  # bool, float and str are not sizes
            raise ValueError(f"{key} must be an integer, got {value!r}")
        if value > top:
            raise ValueError(f"{key} {value} is above the limit of {top}")
    return ModelConfig(**config)


def kind_of(name: str) -> str | None:
    """The model kind a checkpoint's file name announces (``vae2d`` -> ``vae``), if any."""
    matches = [kind for kind in KINDS if name.startswith(kind)]
    return max(matches, key=len) if matches else None


def load(path: Path | str, kind: str | None = None) -> Checkpoint:
    """Rebuild a model from its checkpoint, in eval mode; CheckpointError names what is wrong.

    Order matters for hostile files: the container is sniffed, the config's ranges and every
    tensor's shape and dtype (from the safetensors header alone) are checked, and only then is
    the model built and the weights read; NaN or infinite weights are refused. With ``kind``
    the config must be that kind of model.
    """
    path = Path(path)
    meta = _read_meta(path)
    try:
        config = check_config(meta["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: bad model config ({err})") from err
    if kind is not None and config.kind != kind:
        raise CheckpointError(f"{path}: holds a {config.kind!r} model, expected a {kind!r} one")
    with torch.device("meta"):  # shapes only: nothing is allocated
        expected = build(config).state_dict()
    _check_state(path, expected, _header_shapes(path))
    tensors, _ = read_tensors(path)
    _check_finite(path, tensors)
    model = build(config)
    model.load_state_dict(tensors)
    model.eval()
    return Checkpoint(model, config, _check_summary(path, meta), path, file_sha256(path))


def _check_summary(path: Path, meta: dict) -> dict:
    """The training summary, its data split checked like the config (before any page reads
    digits by it): a bad one is one CheckpointError naming the field."""
    from explorer import data

    summary = meta.get("summary", {})
    if not isinstance(summary, dict):
        raise CheckpointError(f"{path}: summary is a {type(summary).__name__}, not an object")
    if "split" in summary:
        try:
            data.Split.from_dict(summary["split"])
        except data.DatasetError as err:
            raise CheckpointError(f"{path}: bad data split ({err})") from err
    return summary


def _read_meta(path: Path) -> dict:
    """The decoded JSON metadata, read from the header without touching the tensors."""
    _check_container(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError, RuntimeError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from err
    return _decode_header(path, header)


def _header_shapes(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Each tensor's (shape, dtype) as the safetensors header declares them."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {
                key: (tuple(handle.get_slice(key).get_shape()), handle.get_slice(key).get_dtype())
                for key in handle.keys()  # noqa: SIM118
            }
    except (SafetensorError, OSError, RuntimeError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from err


def _check_state(
    path: Path,
    expected: dict[str, torch.Tensor],
    found: dict[str, tuple[tuple[int, ...], str]],
) -> None:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: tensors do not match the config "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for key, tensor in expected.items():
        shape, dtype = found[key]
        if shape != tuple(tensor.shape):
            raise CheckpointError(
                f"{path}: tensor {key} has shape {shape}, the config needs {tuple(tensor.shape)}"
            )
        want = "F32" if tensor.is_floating_point() else "I64"
        if dtype != want:
            raise CheckpointError(f"{path}: tensor {key} is {dtype}, expected {want}")


def _check_finite(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: tensor {key} holds NaN or infinite values")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover(folder: Path | str) -> dict[str, Path]:
    """Checkpoint files in a folder by name (``vae`` -> ``folder/vae.safetensors``)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {
        p.stem: p
        for p in sorted(folder.glob("*.safetensors"))
        if not p.name.endswith(".resume.safetensors")
    }
