"""Checkpoints round-trip, and every bad file is refused with one clear error and no code run."""

import io
import json
import os
import pickle
import struct

import pytest
import torch

from explorer import checkpoints
from explorer.models import ModelConfig, build


@pytest.fixture
def saved(tmp_path):
    model = build(ModelConfig("vae", 4, 32)).eval()
    path = tmp_path / "vae.safetensors"
    checkpoints.save(path, model, {"epochs": 3, "metrics": {"test_elbo": -99.5}})
    return model, path


def test_round_trip_rebuilds_the_same_model(saved):
    model, path = saved
    ckpt = checkpoints.load(path)
    assert ckpt.config == model.config and not ckpt.model.training
    assert ckpt.meta["metrics"]["test_elbo"] == -99.5
    z = torch.randn(3, 4)
    torch.testing.assert_close(ckpt.model.decode(z), model.decode(z), rtol=0, atol=0)
    assert len(ckpt.sha256) == 64 and oct(path.stat().st_mode)[-3:] != "600"


class _Payload:
    """Unpickling this would create a file: the test proves loading never unpickles."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_pickle_is_refused_and_its_payload_never_runs(tmp_path):
    target = tmp_path / "pwned.txt"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Payload(str(target))))
    with pytest.raises(checkpoints.CheckpointError, match="evil.safetensors: looks like a pickle"):
        checkpoints.load(path)
    assert not target.exists()


def test_a_torch_save_file_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(checkpoints.CheckpointError, match="torch.save zip"):
        checkpoints.load(path)


def test_truncated_file_is_refused(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(checkpoints.CheckpointError, match="vae.safetensors"):
        checkpoints.load(path)
    path.write_bytes(data[:5])
    with pytest.raises(checkpoints.CheckpointError, match="truncated"):
        checkpoints.load(path)


def test_tensors_that_do_not_match_the_config(saved, tmp_path):
    _, path = saved
    wrong = build(ModelConfig("vae", 8, 32))
    tensors = wrong.state_dict()
    checkpoints.write_tensors(path, tensors, {"config": ModelConfig("vae", 4, 32).to_dict()})
    with pytest.raises(checkpoints.CheckpointError, match="has shape .* the config needs"):
        checkpoints.load(path)
    del tensors["to_mu.bias"]
    checkpoints.write_tensors(path, tensors, {"config": ModelConfig("vae", 8, 32).to_dict()})
    with pytest.raises(checkpoints.CheckpointError, match="missing \\['to_mu.bias'\\]"):
        checkpoints.load(path)


def _rewrite_header(path, **changes):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header["__metadata__"].update(changes)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n :])


def test_unknown_format_version_and_foreign_files(saved):
    _, path = saved
    _rewrite_header(path, format_version="99")
    with pytest.raises(checkpoints.CheckpointError, match="format version '99' is not supported"):
        checkpoints.load(path)
    _rewrite_header(path, format="something-else")
    with pytest.raises(checkpoints.CheckpointError, match="not a Latent Explorer checkpoint"):
        checkpoints.load(path)


def test_missing_file_and_empty_folder(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="checkpoint not found"):
        checkpoints.load(tmp_path / "none.safetensors")
    assert checkpoints.discover(tmp_path) == {}
    assert checkpoints.discover(tmp_path / "absent") == {}


def test_a_failed_write_keeps_the_previous_file_and_no_temp(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "save_file", explode)
    with pytest.raises(OSError, match="disk full"):
        checkpoints.save(path, model, {})
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


def _write_config(path, config: dict, tensors=None) -> None:
    """A checkpoint whose config claims ``config`` (with small, unrelated tensors)."""
    tensors = tensors if tensors is not None else {"w": torch.zeros(2)}
    checkpoints.write_tensors(path, tensors, {"config": config})


@pytest.mark.parametrize(
    "config,message",
    [
        ({"kind": "vae", "latent_dim": 4, "width": 100_000}, "width 100000 is above the limit"),
        ({"kind": "vae", "latent_dim": 4, "width": 10_000_000}, "width 10000000 is above"),
        ({"kind": "vae", "latent_dim": 10**7, "width": 32}, "latent_dim 10000000 is above"),
        ({"kind": "vae", "latent_dim": 4.5, "width": 32}, "latent_dim must be an integer"),
        ({"kind": "vae", "latent_dim": -1, "width": 32}, "latent dim must be at least 1"),
        ({"kind": "mystery"}, "unknown model kind"),
        ({"kind": "vae", "evil": 1}, "bad model config"),
    ],
    ids=["width-1e5", "width-1e7", "latent-1e7", "float", "negative", "kind", "extra-key"],
)
def test_a_config_out_of_range_is_refused_before_anything_is_built(
    tmp_path, monkeypatch, config, message
):
    def never(*args, **kwargs):
        raise AssertionError("a model was built from an unchecked config")

    monkeypatch.setattr(checkpoints, "build", never)
    path = tmp_path / "vae.safetensors"
    _write_config(path, config)
    with pytest.raises(checkpoints.CheckpointError, match=message):
        checkpoints.load(path)


def test_shapes_are_checked_from_the_header_before_weights_are_read(saved, monkeypatch):
    _, path = saved
    wrong = build(ModelConfig("vae", 8, 32)).state_dict()
    checkpoints.write_tensors(path, wrong, {"config": ModelConfig("vae", 4, 32).to_dict()})
    monkeypatch.setattr(
        checkpoints, "read_tensors", lambda p: pytest.fail("weights read before the shape check")
    )
    with pytest.raises(checkpoints.CheckpointError, match="has shape .* the config needs"):
        checkpoints.load(path)


def test_nan_weights_and_a_kind_that_does_not_match_are_refused(saved):
    model, path = saved
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    tensors["to_mu.bias"][0] = float("nan")
    checkpoints.write_tensors(path, tensors, {"config": model.config.to_dict()})
    with pytest.raises(checkpoints.CheckpointError, match="to_mu.bias holds NaN"):
        checkpoints.load(path)
    checkpoints.save(path, model, {})
    with pytest.raises(checkpoints.CheckpointError, match="holds a 'vae' model, expected a 'gan'"):
        checkpoints.load(path, kind="gan")
    assert checkpoints.load(path, kind="vae").config.kind == "vae"
    assert [checkpoints.kind_of(n) for n in ("vae2d", "ae", "gan_big", "classifier", "x")] == [
        "vae", "ae", "gan", "classifier", None
    ]  # fmt: skip
