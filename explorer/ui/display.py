"""Showing digits, strips and formulas the same way on every page."""

from __future__ import annotations

import functools

import numpy as np
import streamlit as st
import torch

from explorer import images
from explorer.ui import setup


def show_digit(image: torch.Tensor, caption: str = "", scale: int = images.DISPLAY_SCALE) -> None:
    pixels = image.detach().float().contiguous().numpy()
    png = _digit_png(pixels.tobytes(), pixels.shape, scale)
    st.image(png, caption=caption, output_format="PNG")


@functools.lru_cache(maxsize=256)
def _digit_png(raw: bytes, shape: tuple[int, ...], scale: int) -> bytes:
    """A digit's PNG, encoded once per pixels: a release redraws the same start image."""
    pixels = np.frombuffer(raw, dtype=np.float32).reshape(shape)
    return images.digit_png(torch.from_numpy(pixels.copy()), scale)


def show_strip(frames: torch.Tensor, caption: str = "", scale: int = 3) -> None:
    st.image(
        images.png_bytes(images.grid(frames, ncol=len(frames)), scale),
        caption=caption,
        output_format="PNG",
    )


def formula(latex: str | list[str], text: str, fold: bool = True) -> None:
    """The formula a view uses (a list: one line each, so a phone need not scroll one long line),
    and a sentence or two for a student. In presentation mode it is folded into an expander
    (``fold=False`` where the caller already is inside one: expanders cannot nest)."""
    with st.expander("The formula, explained") if fold and setup.presenting() else st.container():
        for line in [latex] if isinstance(latex, str) else latex:
            st.latex(line)
        st.caption(text)


# CommonMark lets a backslash escape any ASCII punctuation; Streamlit's Markdown adds :colour[…]
# directives, :emoji: codes and $math$, all of which start with punctuation too.
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def plain(text: str, limit: int = 400) -> str:
    """``text`` as Markdown that renders exactly as written: every punctuation character
    escaped (no link, image, emphasis, colour, emoji or formula can come from it), line breaks
    as spaces, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join("\\" + c if c in _PUNCTUATION else c for c in text)


def error(text: str) -> None:
    """An error whose text may carry values from a URL, an upload or a file, as plain text."""
    st.error(plain(text))


def notice(text: str) -> None:
    """A warning whose text may carry values from a URL, an upload or a file: shown as plain
    text (see :func:`plain`)."""
    st.warning(plain(text), icon=":material/link_off:")
