"""ONNX graphs of the bundled models, for ONNX Runtime Web in the browser.

The browser decodes every animation frame of a drag itself (``static/components/runtime.js``), so it
needs each model's networks as ONNX: the decoder (the GAN's generator), the encoder of an AE or
VAE and the classifier. Like the checkpoints' other caches these are derived, never the source of
truth: each file is exported from the loaded checkpoint, named by the checkpoint's SHA-256, and
written atomically (temp file, ``os.replace``), so a retrained checkpoint gets fresh files and a
crash leaves no half-written graph. Nothing here unpickles anything.

The files live in ``static/models/`` because Streamlit serves only the ``static/`` folder next to
the main script (``server.enableStaticServing``, at ``app/static/``); the folder is git-ignored.
Each is gzipped once here (``.onnx.gz``): Streamlit compresses that route's responses on the fly,
at level 9, for every request, unless they are compressed already, and a class's students each
fetch every graph their pages use. The browser inflates them (``static/components/runtime.js``).

Every graph has a dynamic batch axis ``n`` and returns what the app shows, so the browser adds no
maths of its own: ``decoder`` z (n, d) -> images (n, 28, 28) in [0, 1] (the sigmoid included);
``encoder`` x (n, 1, 28, 28) -> codes (n, d) (the AE's code, the VAE's posterior mean);
``classifier`` x (n, 1, 28, 28) -> class probabilities (n, 10) (the softmax included).
"""

from __future__ import annotations

import gzip
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from explorer.checkpoints import Checkpoint
from explorer.models import Classifier, LatentModel

OPSET = 17  # ONNX Runtime Web 1.30 runs opsets 7 to 22 on its WebAssembly backend
ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "static" / "models"
URL_PREFIX = "app/static/models"  # relative to a page's URL (see static/components/runtime.js)


class _Decoder(nn.Module):
    """z (n, d) -> images (n, 28, 28) in [0, 1]."""

    def __init__(self, model: LatentModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z)[:, 0]


class _Encoder(nn.Module):
    """x (n, 1, 28, 28) -> codes (n, d)."""

    def __init__(self, model: LatentModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode(x)


class _Probabilities(nn.Module):
    """x (n, 1, 28, 28) -> class probabilities (n, 10)."""

    def __init__(self, model: Classifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=1)


def graphs(ckpt: Checkpoint) -> dict[str, tuple[nn.Module, torch.Tensor]]:
    """The graphs a checkpoint exports, each with an example input: ``decoder`` for every latent
    model, ``encoder`` for an AE or VAE, ``classifier`` for the classifier."""
    model, kind = ckpt.model, ckpt.config.kind
    digit = torch.zeros(1, 1, 28, 28)
    if kind == "classifier":
        return {"classifier": (_Probabilities(model), digit)}
    out = {"decoder": (_Decoder(model), torch.zeros(1, model.latent_dim))}
    if model.has_encoder:
        out["encoder"] = (_Encoder(model), digit)
    return out


def file_name(name: str, sha256: str, graph: str) -> str:
    """``<checkpoint>-<first 16 hex digits of its SHA-256>-<graph>.onnx.gz``."""
    return f"{name}-{sha256[:16]}-{graph}.onnx.gz"


def read(path: Path) -> bytes:
    """The ONNX model (serialized ``ModelProto``) in an exported ``.onnx.gz`` file."""
    return gzip.decompress(Path(path).read_bytes())


def export_graph(module: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Export one module to ONNX, gzipped at ``path`` (batch axis dynamic), atomically and
    checked (the gzip header holds no time or name, so an export is byte-for-byte repeatable)."""
    import onnx

    module = module.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            # The TorchScript exporter (dynamo=False) needs only the onnx package; the dynamo one
            # would add onnxscript. It is deprecated upstream but handles these plain CNNs.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                module,
                (example,),
                tmp,
                dynamo=False,
                opset_version=OPSET,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "n"}, "output": {0: "n"}},
            )
        onnx.checker.check_model(tmp, full_check=True)
        raw = Path(tmp).read_bytes()
        Path(tmp).write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export(ckpt: Checkpoint, folder: Path = MODELS_DIR) -> dict[str, Path]:
    """Every graph of ``ckpt`` as an ONNX file in ``folder``, exported only where missing."""
    if not ckpt.sha256:
        raise ValueError(f"{ckpt.name}: a checkpoint without a SHA-256 cannot name its ONNX files")
    paths = {}
    for graph, (module, example) in graphs(ckpt).items():
        path = Path(folder) / file_name(ckpt.name, ckpt.sha256, graph)
        if not path.is_file():
            export_graph(module, example, path)
        paths[graph] = path
    return paths


def urls(paths: dict[str, Path]) -> dict[str, str]:
    """The page-relative URLs Streamlit serves ``static/models/`` files at."""
    return {graph: f"{URL_PREFIX}/{path.name}" for graph, path in paths.items()}
