"""Views that compute in the browser (issue 11): the drawing canvas and the atlas probe.

Both are Streamlit components (``static/components/draw_canvas.js``, ``atlas_probe.js``) that
run the exported ONNX models with ``runtime.js`` there while the student moves: the drawing's
28x28 (``digit_preprocess.js``, a port of :func:`explorer.images.preprocess_digit`), its
AE and VAE reconstructions and its point on both 2-D planes follow the stroke; the AE vs VAE
atlas decodes the point under the pointer and the clicked point with both models. Python stays
the source of truth: on stroke end (or a click) the values come back here, and every run sends
the component Python's own images, which replace the browser's. Without the runtime (WebAssembly
or a model that cannot load) the component says so once and shows only Python's images; with
``LATENT_EXPLORER_BROWSER_DECODE=0`` the pages draw plain ``st.image`` elements instead.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import streamlit as st
import torch

from explorer import compare, images, plots, views
from explorer.ui import cache, controls, display, setup

RECONSTRUCTED = ("ae", "vae")  # the drawing's reconstructions (d = 16)
PLANES = ("ae2d", "vae2d")  # the drawing's point on each 2-D latent plane


@functools.cache
def _components() -> dict | None:
    """Register the components once per server; None when this Streamlit cannot host them."""
    try:
        return {name: controls.component(name) for name in ("draw_canvas", "atlas_probe")}
    except (AttributeError, OSError, st.errors.StreamlitAPIException):
        return None


def _send(name: str, key: str, payload: dict, **callbacks) -> None:
    # One JSON string: a list or dict in ``data`` makes Streamlit import pandas (see controls._send).
    _components()[name](key=key, data={"json": json.dumps(payload)}, **callbacks)


def _browser(key: str, graphs: dict[str, tuple[str, ...]]) -> dict[str, list[str]] | None:
    """Per graph kind, the URLs of those models' ONNX graphs, or None when one is missing or
    this browser already said the runtime cannot load (the component then shows Python's)."""
    if controls.runtime_failed(key):
        return None
    urls: dict[str, list[str]] = {}
    for graph, names in graphs.items():
        for name in names:
            found = controls.onnx_urls(name)
            if found is None or graph not in found:
                return None
            urls.setdefault(graph, []).append(found[graph])
    return urls


def _present(names: tuple[str, ...]) -> list[str]:
    """The names among ``names`` whose checkpoints are bundled and load."""
    found = cache.available(("ae", "vae"))
    return [n for n in names if n in found and cache.load_or_explain(n) is not None]


def _url(image: torch.Tensor) -> str:
    return images.data_url(images.to_uint8(image))


# ---- Drawing a digit ---------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=4)
def _planes(names: tuple[str, ...], shas: tuple[str, ...]) -> list[dict]:
    """The 2-D planes a drawing is placed on: per model, its held-out codes, their digits and a
    window that holds them and the prior's ±3 box. Each plane has its own window: at a tile's
    size the VAE's codes would be a dot on the AE's scale (the atlas compares scales)."""
    if not names:
        return []
    labels = cache.held_out(cache.load(names[0]))[1].tolist()
    planes = []
    for name, sha in zip(names, shas, strict=True):
        codes = cache.held_out_codes(name, sha)
        planes.append(
            {
                "label": cache.label(name),
                "codes": np.round(codes, 3).tolist(),
                "labels": labels,
                "window": list(compare.atlas_window(codes)),
                "prior": compare.PRIOR_BOX,
            }
        )
    return planes


def drawing_exact(digit: torch.Tensor | None, recon: list[str], planes: list[str]) -> dict | None:
    """What Python shows for a drawing: the digit the models see, each model's reconstruction
    (data URLs) and its code on each 2-D plane; None when nothing is drawn."""
    if digit is None:
        return None
    x = digit.unsqueeze(0)
    return {
        "digit": _url(digit),
        "recons": [_url(views.reconstruct(cache.load(n).model, x)[0]) for n in recon],
        "points": [views.encode(cache.load(n).model, x)[0].tolist() for n in planes],
    }


def draw_digit(key: str, models: tuple[str, ...] = RECONSTRUCTED) -> torch.Tensor | None:
    """A canvas to draw a digit on (with Clear); returns it as a (1, 28, 28) digit, made as an
    upload is (:func:`explorer.images.preprocess_digit`), or None until something is drawn.

    Beside it: the digit the models see, the reconstructions of ``models`` (the AE and the VAE
    a page shows) and its point on each d = 2 latent plane. They follow the stroke in the
    browser and show Python's values once the stroke ends."""
    if _components() is None:
        st.caption("The drawing canvas could not load here; upload a picture instead.")
        return None
    gray = images.drawing_pixels((st.session_state.get(key) or {}).get("drawing"))
    digit = images.preprocess_digit(gray) if gray is not None else None
    digit = digit if digit is not None and bool(digit.any()) else None
    size = 280 if setup.presenting() else 196
    if not controls.BROWSER_DECODE:  # the server path: Python's images beside the canvas
        pad, shown = st.columns([1, 2] if setup.presenting() else [2, 3])
        with pad:
            _send("draw_canvas", key, {"size": size}, on_drawing_change=lambda: None)
        if digit is None:
            shown.caption(
                "Draw a digit with the mouse or a finger; it is encoded when you lift it."
            )
        else:
            with shown:
                show_encodings(digit, models)
        return digit
    recon, planes = _present(models), _present(PLANES)
    planes = planes if len(planes) == len(PLANES) else []  # both planes, or none
    payload = {
        "size": size,
        "tile": 140 if setup.presenting() else 112,
        "recons": [f"{cache.label(n)} reconstruction" for n in recon],
        "planes": _planes(tuple(planes), tuple(cache.load(n).sha256 for n in planes)),
        "colors": plots.DIGIT_COLORS,
        "exact": drawing_exact(digit, recon, planes),
        "browser": _drawing_browser(key, recon, planes),
    }
    _send(
        "draw_canvas", key, payload, on_drawing_change=lambda: None, on_runtime_change=lambda: None
    )
    if digit is None:
        st.caption("Draw a digit with the mouse or a finger: the models encode it as you draw.")
    return digit


def _drawing_browser(key: str, recon: list[str], planes: list[str]) -> dict | None:
    urls = _browser(key, {"encoder": (*recon, *planes), "decoder": tuple(recon)})
    if urls is None:
        return None
    encoders = urls["encoder"]
    return {
        "recons": [
            {"encoder": e, "decoder": d}
            for e, d in zip(encoders[: len(recon)], urls["decoder"], strict=True)
        ],
        "planes": encoders[len(recon) :],
    }


def show_encodings(digit: torch.Tensor, models: tuple[str, ...] = RECONSTRUCTED) -> None:
    """The server path: the 28x28 digit the models see and the reconstructions of ``models``,
    side by side, as images."""
    columns = st.columns(3)
    with columns[0]:
        display.show_digit(digit, "what the models see", scale=setup.scale(4, 6))
    for name, column in zip(models, columns[1:], strict=True):
        ckpt = cache.load_or_explain(name) if name in cache.available(("ae", "vae")) else None
        if ckpt is not None:
            with column:
                image = views.reconstruct(ckpt.model, digit.unsqueeze(0))[0]
                display.show_digit(
                    image, f"{cache.label(name)} reconstruction", scale=setup.scale(4, 6)
                )


# ---- The AE vs VAE atlas ------------------------------------------------------------------------


def point_reading(name: str, classifier: torch.nn.Module, point: tuple[float, float]) -> tuple:
    """(decoded image (1, 28, 28), caption) of model ``name`` at a point of its plane."""
    x, y = point
    image = views.decode(cache.load(name).model, torch.tensor([[x, y]], dtype=torch.float32))
    probs = compare.probabilities(classifier, image)[0]
    caption = (
        f"{cache.label(name)} at ({x:.2f}, {y:.2f}): reads {int(probs.argmax())} "
        f"({float(probs.max()):.2f})"
    )
    return image[0], caption


def atlas_probe(
    key: str,
    names: tuple[str, ...],
    classifier: torch.nn.Module,
    point: tuple[float, float],
    charts: list[str],
) -> bool:
    """Both models' decode of ``point`` (Python's), in a component that also decodes, in the
    browser, the point under the pointer on the atlases (plotly charts with keys ``charts``)
    and a clicked point at once, before the click's rerun answers. False when the component
    cannot load or the browser path is off: the page then shows images."""
    if _components() is None or not controls.BROWSER_DECODE:
        return False
    shown = [point_reading(n, classifier, point) for n in names]
    urls = _browser(key, {"decoder": names, "classifier": ("classifier",)})
    browser = urls and {"decoders": urls["decoder"], "classifier": urls["classifier"][0]}
    payload = {
        "charts": charts,
        "labels": [cache.label(n) for n in names],
        "size": 120,  # both, captions included, beside the atlases on a 1280x720 first screen
        "point": list(point),
        "exact": [_url(image) for image, _ in shown],
        "captions": [caption for _, caption in shown],
        "browser": browser,
    }
    _send("atlas_probe", key, payload, on_runtime_change=lambda: None)
    return True
