"""Under the Latent map (explorer/ui/latent_map.py draws the maps): the two models' mean
neighbourhood overlap, a picked digit's nearest codes in each model side by side, and the
selected digits with their reconstructions and a hand-off of two of them to Interpolation."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import mapfiles, maps, neighbours, views
from explorer.checkpoints import Checkpoint
from explorer.ui import cache, display, setup, state
from explorer.ui.latent_map import overlap


def overlap_summary(ckpts: list[Checkpoint], pts: maps.Points, all_codes: list[np.ndarray]) -> None:
    """The two models' mean neighbourhood overlap, with its interval and chance's level."""
    if len(ckpts) != 2:
        return
    found = overlap(tuple(c.sha256 for c in ckpts), st.session_state["map_points"], *all_codes)
    a, b = (cache.label(c.name) for c in ckpts)
    st.caption(
        f"**Neighbourhood overlap, {a} vs {b}:** of each digit's {neighbours.K} nearest codes, "
        f"the share the two models agree on (Jaccard, in the codes, not the map) is "
        f"{found.mean.text()} on average over these {len(pts):,} digits (95 % bootstrap interval "
        f"over digits; {found.chance:.3f} by chance). Colour by neighbourhood overlap to see where "
        "they agree."
    )


def _tag(pts: maps.Points, row: int) -> str:
    part, index = pts.where(row)
    return f"#{row}: digit {pts.labels[row]}, {part} #{index}"


def neighbour_strips(
    ckpts: list[Checkpoint], pts: maps.Points, all_codes: list[np.ndarray]
) -> None:
    """The picked digit (by click, tap or its number) and its nearest codes in each model,
    side by side; a neighbour both models share has a green frame."""
    k = neighbours.K
    st.subheader("Who does each model think is similar?")
    left, right = st.columns([1, 4] if not setup.presenting() else [1, 5])
    with left:
        row = st.number_input(
            f"Digit # (0–{len(pts) - 1}), or pick one on a map", 0, len(pts) - 1, key="map_pick"
        )
        display.show_digit(pts.images[row], _tag(pts, row), scale=setup.scale(4, 5))
    found = [neighbours.nearest(z, row, k)[0] for z in all_codes]
    shared = set(found[0].tolist()).intersection(*[set(f.tolist()) for f in found[1:]])
    with right:
        for ckpt, index in zip(ckpts, found, strict=True):
            frames = mapfiles.framed_strip(
                pts.images[torch.as_tensor(index)], [int(i) in shared for i in index]
            )
            digits = " ".join(str(pts.labels[i]) for i in index)
            st.image(
                frames,
                output_format="PNG",
                caption=f"{cache.label(ckpt.name)}: its {k} nearest codes, nearest first "
                f"(digits {digits})",
            )
        if len(found) == 2:
            st.caption(
                f"{len(shared)} of {k} neighbours shared (Jaccard "
                f"{len(shared) / (2 * k - len(shared)):.2f}), framed in green."
            )


def selection(ckpts: list[Checkpoint], pts: maps.Points) -> None:
    """The selected digits (a lasso, or a picked digit), the models' reconstructions of them, and
    two of the held-out ones sent to Interpolation."""
    rows = [r for r in st.session_state.get("map_selected", []) if r < len(pts)]
    if not rows:
        st.caption(
            "Pick the Lasso tool above the maps (or hold Shift and drag) to select digits "
            "on either map: the same digits light up on the other."
        )
        return
    shown = torch.as_tensor(rows[:12])
    source = st.session_state.get("map_source")
    where = f" on the {cache.label(source)} map" if source else ""
    st.subheader(f"{len(rows):,} selected{where}")
    counts = np.bincount(pts.labels[rows], minlength=10)
    st.caption("digits: " + ", ".join(f"{d}: {c}" for d, c in enumerate(counts) if c))
    display.show_strip(pts.images[shown], f"selected originals: #{', #'.join(map(str, rows[:12]))}")
    for ckpt in ckpts:
        display.show_strip(
            views.reconstruct(ckpt.model, pts.images[shown]),
            f"{cache.label(ckpt.name)} reconstructions",
        )
    held = [r for r in rows if r < pts.held_out]
    if len(held) >= 2:
        _send_pair(held, pts.labels)
    elif len(rows) >= 2:
        st.caption("Interpolation takes held-out digits: select two of them to send a pair.")


def _send_pair(rows: list[int], labels: np.ndarray) -> None:
    """Pick a and b among the selected held-out digits and open them on Interpolation."""

    def tag(row: int) -> str:
        return f"#{row} (digit {labels[row]})"

    a, b = views.default_pair(rows, labels)
    c1, c2, c3 = st.columns([2, 2, 3], vertical_alignment="bottom")
    a = c1.selectbox("a", rows, rows.index(a), format_func=tag, key="map_a")
    b = c2.selectbox("b", rows, rows.index(b), format_func=tag, key="map_b")
    if c3.button(f"Interpolate {tag(a)} → {tag(b)}", key="map_send"):
        state.open_interpolation((a, b), "the Latent map")
