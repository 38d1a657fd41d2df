"""The same request ("+1 px of thickness") applied to the AE's, the VAE's and the GAN's version
of one digit, side by side: the attribute view of Latent sliders (explorer/ui/attributes.py).

A model's version of the digit: the AE's and the VAE's code of it. The GAN has no encoder: its
version is the sample, of those its directions were fitted on, that the first reader reads
confidently as the same digit with the six measures closest to the digit's
(:func:`explorer.attribute_views.gan_version`: samples are read closest first, 100 at a time).
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
import torch

from explorer import attribute_views, attributes, checkpoints, images, metrics, views
from explorer.ui import attributes as attribute_ui
from explorer.ui import cache


def trio() -> dict[str, str]:
    """The AE, the VAE and the GAN the side-by-side uses: per kind, the checkpoint named just
    that (``ae``, ``vae``, ``gan``), else the first of that kind."""
    out = {}
    for kind in ("ae", "vae", "gan"):
        names = [n for n in cache.available((kind,)) if checkpoints.kind_of(n) == kind]
        if names:
            out[kind] = kind if kind in names else names[0]
    return out


def show(page, start, current: torch.Tensor) -> None:
    """One request ("+1 px of thickness") applied to the AE's, the VAE's and the GAN's version
    of the digit this page started from (or shows, for a sample)."""
    st.subheader("The same request, three models")
    ss = st.session_state
    name, amount = ss[attribute_ui.ASK_KEY]
    ss["sl_ask_name"], ss["sl_ask_amount"] = name, float(amount)

    def keep(new_name: bool) -> None:
        chosen = ss["sl_ask_name"]
        default = attribute_views.DEFAULT_ASK[chosen]
        ss[attribute_ui.ASK_KEY] = (chosen, default if new_name else float(ss["sl_ask_amount"]))

    left, right = st.columns(2)
    left.selectbox("Attribute", attributes.NAMES, key="sl_ask_name", on_change=keep, args=(True,))
    unit = attributes.UNITS[name]
    right.number_input(
        f"Change ({unit})", -1e4, 1e4, step=0.5, key="sl_ask_amount", on_change=keep, args=(False,)
    )
    own = start.image is not None and not ss.get(f"sl_randomised_{page.name}")
    source = start.image if own else current
    models = tuple((n, cache.load(n).sha256) for n in trio().values())
    digest = hashlib.sha256(source.numpy().tobytes()).hexdigest()
    shown = _same_request(digest, source, name, float(amount), models)
    what = "the start digit" if own else "the digit the sliders show"
    st.caption(
        f"{amount:+g} {unit} of {name}, asked of {what} in each model: the AE and the VAE edit "
        "its code. The GAN has no encoder: its version is the sample, of those its directions "
        "were fitted on, that the first reader reads as the same digit with the six measures "
        "closest to the digit's (in SDs). Left: before; right: after."
    )
    for column, (png, text) in zip(st.columns(max(len(shown), 1)), shown, strict=False):
        column.image(png, caption=text, output_format="PNG")


@st.cache_data(show_spinner=False, max_entries=32)
def _same_request(
    digest: str, _source: torch.Tensor, name: str, amount: float, models: tuple
) -> list[tuple[bytes, str]]:
    """(PNG of before | after, caption) per model; cached by the source's hash and the request."""
    target = attributes.measure(_source[None])[0]
    reads = attribute_ui.read(_source)
    out = []
    for model_name, sha in models:
        found = attribute_ui.directions(model_name, sha)
        model = cache.load(model_name).model
        if model.has_encoder:
            code = views.encode(model, _source[None])
        else:
            first = next(iter(reads), None)
            digit = reads[first][0] if first else None
            read = _reader(model, attribute_ui.readers()[first]) if first else None
            code = attribute_views.gan_version(found, target, digit, read)
        edited = attribute_views.edit_version(model, found, code, name, amount, attribute_ui.read)
        text = edited.caption(cache.label(model_name), name)
        out.append((images.png_bytes(images.grid(edited.pair, ncol=2), scale=4), text))
    return out


def _reader(model, reader):
    """codes -> a reader's (digit, confidence) of the model's images of them, as numpy."""

    def read(codes: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        digits, confidence = metrics.classifier_confidence(reader, views.decode(model, codes))
        return digits.numpy(), confidence.numpy()

    return read
