"""ONNX export of the bundled models: valid graphs that compute what torch computes.

ONNX Runtime Web runs these graphs in the browser (tests/test_browser.py checks its pixels);
here onnx's own reference evaluator (plain numpy) runs them, so no runtime is needed."""

import gzip
import hashlib

import numpy as np
import pytest
import torch

from explorer import checkpoints, onnx_export
from tests.conftest import BUNDLED, ROOT


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    ckpts = {
        n: checkpoints.load(BUNDLED / f"{n}.safetensors")
        for n in ("vae", "ae2d", "gan", "classifier")
    }
    return folder, ckpts, {n: onnx_export.export(c, folder) for n, c in ckpts.items()}


def _run(path, array: np.ndarray) -> np.ndarray:
    import onnx
    from onnx.reference import ReferenceEvaluator

    model = onnx.load_from_string(onnx_export.read(path))
    return ReferenceEvaluator(model).run(None, {"input": array.astype(np.float32)})[0]


def test_each_kind_exports_the_graphs_the_browser_needs(exported):
    folder, ckpts, paths = exported
    assert set(paths["vae"]) == {"decoder", "encoder"}
    assert set(paths["gan"]) == {"decoder"}
    assert set(paths["classifier"]) == {"classifier"}
    sha = ckpts["vae"].sha256
    assert paths["vae"]["decoder"].name == f"vae-{sha[:16]}-decoder.onnx.gz"
    assert not list(folder.glob("*.tmp"))  # written atomically


@pytest.mark.parametrize(
    "name",
    ["vae", "ae2d", pytest.param("gan", marks=pytest.mark.slow)],  # the GAN: 9 s
)
def test_decoder_matches_torch_for_a_batch(exported, name):
    _, ckpts, paths = exported
    model = ckpts[name].model
    z = torch.randn(5, model.latent_dim, generator=torch.Generator().manual_seed(1)) * 1.5
    with torch.no_grad():
        expected = model.decode(z)[:, 0].numpy()
    got = _run(paths[name]["decoder"], z.numpy())
    assert got.shape == (5, 28, 28)
    assert np.abs(got - expected).max() < 1e-4


def test_encoder_and_classifier_match_torch(exported):
    _, ckpts, paths = exported
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        codes = ckpts["vae"].model.encode(x).numpy()
        probs = torch.softmax(ckpts["classifier"].model(x), 1).numpy()
    assert np.abs(_run(paths["vae"]["encoder"], x.numpy()) - codes).max() < 1e-4
    got = _run(paths["classifier"]["classifier"], x.numpy())
    assert np.allclose(got.sum(1), 1.0, atol=1e-5) and np.abs(got - probs).max() < 1e-5


def test_export_reuses_files_of_the_same_checkpoint(exported):
    folder, ckpts, paths = exported
    before = paths["gan"]["decoder"].stat().st_mtime_ns
    again = onnx_export.export(ckpts["gan"], folder)
    assert again == paths["gan"] and again["decoder"].stat().st_mtime_ns == before
    assert onnx_export.urls(again) == {
        "decoder": f"app/static/models/{paths['gan']['decoder'].name}"
    }


def test_vendored_runtime_matches_its_manifest():
    """The committed ONNX Runtime Web files are the ones update.sh took from the npm package."""
    folder = ROOT / "static" / "vendor" / "onnxruntime-web"
    lines = (folder / "SHA256SUMS").read_text().split("\n")
    sums = dict(reversed(line.split("  ")) for line in lines if line.strip())
    wasm = "ort-wasm-simd-threaded.wasm"
    assert set(sums) == {"ort.wasm.bundle.min.mjs", wasm, f"{wasm}.gz"}
    for name in ("ort.wasm.bundle.min.mjs", f"{wasm}.gz"):
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sums[name], name
    inside = gzip.decompress((folder / f"{wasm}.gz").read_bytes())
    assert hashlib.sha256(inside).hexdigest() == sums[wasm]  # the npm package's file, unchanged
    assert inside[:4] == b"\0asm"
    assert "MIT License" in (folder / "LICENSE").read_text()
