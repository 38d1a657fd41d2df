"""Showing digits, strips and formulas the same way on every page."""

from __future__ import annotations

import functools
import hashlib

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


def show_strip(
    frames: torch.Tensor,
    caption: str = "",
    scale: int = 3,
    ends: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> None:
    """A row of frames; ``ends`` (two images) stand at its ends, set off by grey bars (the
    originals a and b beside a model's path). On a phone the strip scrolls sideways at a size
    that can be read (STRIP_CSS) rather than shrinking to the screen."""
    array = images.grid(frames, ncol=len(frames))
    if ends is not None:
        array = images.strip_with_ends(frames, *ends)
    png = images.png_bytes(array, scale)
    # Keyed by what it shows, so that a rerun keeps the element; styled by the key's prefix.
    key = hashlib.sha256(png + caption.encode()).hexdigest()[:16]
    with st.container(key=f"le_strip_{key}"):
        st.image(png, caption=caption, output_format="PNG")


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


def literal(value: str, limit: int = 80) -> str:
    """A value from a URL, an upload's name or a file, as a Markdown code span: shown exactly as
    written, in monospace, where nothing (a link, an image, a style, a bare URL that Streamlit
    would otherwise make clickable) can come from it; line breaks become spaces and it is cut to
    ``limit`` characters."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    fence = "`" * (1 + max((len(r) for r in _backtick_runs(text)), default=0))
    return f"{fence} {text} {fence}" if text else "` `"


def _backtick_runs(text: str) -> list[str]:
    runs, current = [], ""
    for char in text:
        if char == "`":
            current += char
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def error(text: str, value: str | None = None, limit: int = 80) -> None:
    """An error in our words, with a value from a URL, an upload or a file after it, if any,
    shown as a literal of at most ``limit`` characters."""
    st.error(plain(text) + (" " + literal(value, limit) if value is not None else ""))


def notice(found) -> None:
    """A URL parameter that could not be used (an :class:`explorer.urlstate.Notice`): its value
    as a literal, the rest in our words."""
    st.warning(
        rf"{plain(found.param)}\={literal(found.value)} "
        + plain(f"ignored ({found.reason}); using the default."),
        icon=":material/link_off:",
    )
