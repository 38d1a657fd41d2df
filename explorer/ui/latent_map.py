"""The Latent map page's Streamlit side: its settings (in the URL), the AE's and the VAE's maps
linked in one browser component (``static/components/latent_map.js``), the neighbourhood overlap
of the two models, a picked digit's nearest codes in each model, and the selected digits.

Everything a view shows is read from the disk caches of :mod:`explorer.maps` (computed once per
checkpoint hash, behind a progress bar or spinner the first time); the browser fetches the points,
their sprite sheet and the coordinates as files named by their content, once.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from explorer import data, mapfiles, maps, plots, projection, urlstate
from explorer.checkpoints import Checkpoint
from explorer.ui import cache, controls, setup, state

NAMES = ("ae", "vae")  # the two models the map compares (d = 16: the same network, two objectives)
OVERLAYS = {"prior": "prior samples", "path": "interpolation path"}
COLOURS = {
    "digit": "digit",
    "overlap": "neighbourhood overlap",
    **{name: name for name in maps.ATTRIBUTES},
}
FIELDS = [
    urlstate.Field("map_method", "method", "tsne", urlstate.choice(list(projection.METHODS))),
    urlstate.Field("map_points", "points", "held_out", urlstate.choice(maps.POINT_SETS)),
    urlstate.Field("map_colour", "colour", "digit", urlstate.choice(list(COLOURS))),
    urlstate.Field(
        "map_perplexity", "perplexity", int(projection.DEFAULT_PERPLEXITY), urlstate.integer(5, 50)
    ),
    urlstate.Field("map_overlay", "overlay", [], *urlstate.subset(OVERLAYS)),
    urlstate.Field("map_pick", "pick", 0, urlstate.integer(0, 100_000)),
]
KEY = "map_component"


@dataclass(frozen=True)
class View:
    """What the maps show: the method and its parameters, which digits, coloured by what."""

    params: projection.MapParams
    points: str
    colour: str
    overlays: tuple[str, ...]


def models() -> list[Checkpoint]:
    """The AE and the VAE that load (an error on the page for one that does not)."""
    found = cache.available(NAMES)
    loaded = [cache.load_or_explain(n) for n in NAMES if n in found]
    if not found:
        st.error("No AE or VAE checkpoint found; the map needs an encoder.")
    return [c for c in loaded if c is not None]


def point_set(ckpt: Checkpoint, which: str) -> maps.Points:
    return maps.points(data.Split.from_dict(ckpt.meta.get("split", {})), which)


def settings(first: Checkpoint | None) -> View:
    """The map's controls, in one row: method, which digits, colour, and the rest folded."""
    state.url_state(FIELDS, "map")
    split = data.Split.from_dict(first.meta.get("split", {})) if first else None
    sizes = {w: maps.size(split, w) if split else 0 for w in maps.POINT_SETS}
    c1, c2, c3, c4 = st.columns([3, 3, 2, 2], vertical_alignment="bottom")
    method = c1.radio(
        "Method",
        list(projection.METHODS),
        format_func=projection.METHODS.get,
        horizontal=True,
        key="map_method",
    )
    which = c2.radio(
        "Digits",
        maps.POINT_SETS,
        horizontal=True,
        key="map_points",
        format_func=lambda w: f"{sizes[w]:,} held-out" if w == "held_out" else f"all {sizes[w]:,}",
    )
    colour = c3.selectbox("Colour by", list(COLOURS), format_func=COLOURS.get, key="map_colour")
    with c4.popover("Perplexity, overlays", width="stretch"):
        perplexity = st.slider(
            "Perplexity (t-SNE)", 5, 50, key="map_perplexity", disabled=method != "tsne"
        )
        overlays = st.multiselect("Overlay", list(OVERLAYS.values()), key="map_overlay")
    params = projection.MapParams(method, float(perplexity) if method == "tsne" else 0.0)
    return View(params, which, colour, tuple(overlays))


# ---- Cached computations (disk first: explorer.maps) ---------------------------------------------


@st.cache_data(show_spinner="Encoding the digits…", max_entries=8)
def codes(name: str, sha: str, which: str) -> np.ndarray:
    ckpt = cache.load(name)
    return maps.codes(ckpt.model, sha, point_set(ckpt, which), cache.CACHE_DIR)


@st.cache_data(show_spinner="Measuring each digit's neighbourhood in the map…", max_entries=32)
def trust(key: str, _codes: np.ndarray, _coords: np.ndarray) -> float:
    return maps.trustworthiness(_codes, _coords, cache.CACHE_DIR)


@st.cache_data(show_spinner="Comparing the two models' neighbours of every digit…", max_entries=8)
def overlap(shas: tuple[str, ...], which: str, _a: np.ndarray, _b: np.ndarray) -> maps.Overlap:
    return maps.overlap(_a, _b, cache.CACHE_DIR)


@st.cache_data(
    show_spinner="Measuring thickness, slant, width… of every digit (once)…", max_entries=4
)
def attributes(digest: str, _pts: maps.Points) -> dict[str, np.ndarray]:
    return maps.attributes(_pts, cache.CACHE_DIR)


@st.cache_data(show_spinner=False, max_entries=64)
def _url(kind: str, key: str, _value) -> str:
    """A browser file's URL, made once per content key (hashing and writing cost ms)."""
    if kind == "coords":
        return mapfiles.coords_url(_value)
    if kind == "overlap":
        return mapfiles.values_url("overlap", _value)
    if kind == "sprite":
        return mapfiles.sprite_url(_value)
    return mapfiles.points_url(*_value)


# ---- The linked maps -----------------------------------------------------------------------------


@functools.cache
def _component():
    """The component, with its own styles beside the shared sheet; None where it cannot load."""
    try:
        sheet = (controls.COMPONENTS / "components.css").read_text()
        extra = (controls.COMPONENTS / "latent_map.css").read_text()
        loader = controls._LOADER.format(url=controls.COMPONENTS_URL, name="latent_map")
        return st.components.v2.component(
            "latent_explorer.latent_map", html="", css=sheet + extra, js=loader
        )
    except (AttributeError, OSError, st.errors.StreamlitAPIException):
        return None


def clean_selection(raw: object, n: int) -> tuple[list[int], int | None, str, int] | None:
    """(rows, pick, source, seq) of a selection a browser sent, each row a point of n; None
    unless it is one. A browser is not trusted: anyone can send the component any JSON."""
    if not isinstance(raw, dict):
        return None
    rows, pick, seq = raw.get("rows"), raw.get("pick"), raw.get("seq")
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    if not isinstance(rows, list) or not whole(seq) or not (pick is None or whole(pick)):
        return None
    clean = list(dict.fromkeys(r for r in rows[:n] if whole(r) and 0 <= r < n))
    source = raw.get("source") if raw.get("source") in NAMES else ""
    return clean, pick if pick is not None and 0 <= pick < n else None, source, seq


def _selected(n: int) -> None:
    """The component's callback: store a pick and selection the browser sent."""
    found = clean_selection((st.session_state.get(KEY) or {}).get("selection"), n)
    if found is None:
        return
    rows, pick, source, seq = found
    st.session_state.update(map_selected=rows, map_source=source, map_seq=seq)
    if pick is not None:
        st.session_state["map_pick"] = pick


def linked_maps(ckpts: list[Checkpoint], view: View) -> tuple[maps.Points, list[np.ndarray]]:
    """Both models' maps in the component; returns the points and each model's codes."""
    pts = point_set(ckpts[0], view.points)
    all_codes = [codes(c.name, c.sha256, view.points) for c in ckpts]
    state.clamp_number_state("map_pick", 0, len(pts) - 1)
    selected = [r for r in st.session_state.get("map_selected", []) if r < len(pts)]
    shas = tuple(c.sha256 for c in ckpts)
    found = overlap(shas, view.points, *all_codes) if len(ckpts) == 2 else None
    attrs = attributes(pts.digest, pts) if view.colour in maps.ATTRIBUTES else None
    method = projection.METHODS[view.params.method]
    entries = []
    for ckpt, z in zip(ckpts, all_codes, strict=True):
        coords = _coords(ckpt, z, view.params)
        key = view.params.key(ckpt.sha256, z)
        t = trust(key, z, coords)
        entries.append(
            {
                "name": ckpt.name,
                "coords": _url("coords", key, coords),
                "title": f"{cache.label(ckpt.name)}: {method} · trustworthiness {t:.3f}",
                "trust": t,
                "marks": _marks(ckpt, z, coords, view),
            }
        )
    component = _component()
    if component is None:
        _plotly_maps(ckpts, entries, pts, view)
        return pts, all_codes
    payload = {
        "points": _url("points", f"{pts.digest}-{attrs is not None}", (pts, attrs)),
        "sprite": {
            "url": _url("sprite", pts.digest, pts),
            "cols": mapfiles.sprite_columns(len(pts)),
        },
        "maps": entries,
        "overlap": _url("overlap", "-".join([*shas, pts.digest]), found.values) if found else None,
        "colour": _colour(view.colour, found),
        "digitColors": plots.DIGIT_COLORS,
        "method": view.params.method,
        "selected": selected,
        "picked": int(st.session_state["map_pick"]),
        "seq": int(st.session_state.get("map_seq", 0)),
        "height": 330 if setup.presenting() else 440,
        "tile": 140 if setup.presenting() else 112,
    }
    component(
        key=KEY, data={"json": json.dumps(payload)}, on_selection_change=lambda: _selected(len(pts))
    )
    return pts, all_codes


def _coords(ckpt: Checkpoint, z: np.ndarray, params: projection.MapParams) -> np.ndarray:
    """A map from the disk cache, or computed now: t-SNE behind a progress bar, UMAP and PCA
    behind a spinner (UMAP's first use in a server compiles its code, up to a minute)."""
    if (
        params.method == "tsne"
        or projection.cached(z, params, ckpt.sha256, cache.CACHE_DIR) is not None
    ):
        return cache.latent_map(ckpt, z, params)
    name = projection.METHODS[params.method]
    with st.spinner(
        f"Computing the {name} map of {cache.label(ckpt.name)}'s {len(z):,} codes "
        "(once per model; the first UMAP of a server compiles its code first)…"
    ):
        return cache.latent_map(ckpt, z, params)


def _colour(by: str, found: maps.Overlap | None) -> dict:
    if by == "overlap":
        note = f"mean {found.mean.text()}, chance {found.chance:.3f}" if found else ""
        return {
            "by": "overlap",
            "label": "neighbourhood overlap (Jaccard, k = 10)",
            "unit": "",
            "short": "neighbourhood overlap",
            "note": note,
        }
    if by in maps.ATTRIBUTES:
        return {"by": by, "label": by, "unit": maps.UNITS[by]}
    return {"by": "digit", "label": "digit", "unit": ""}


def _marks(ckpt: Checkpoint, z: np.ndarray, coords: np.ndarray, view: View) -> list[dict]:
    """Prior samples (×) and the current interpolation path (a line) placed into the map."""
    marks = []
    if "prior samples" in view.overlays:
        samples = ckpt.model.sample(50, torch.Generator().manual_seed(0)).numpy()
        placed = cache.place_points(ckpt.sha256, z, coords, samples, view.params)
        marks.append({"name": "prior samples", "line": False, "points": placed.tolist()})
    path = st.session_state.get(f"ip_path_{ckpt.name}")
    if "interpolation path" in view.overlays and path is not None:
        path = np.asarray(path, dtype=np.float32)
        placed = cache.place_points(ckpt.sha256, z, coords, path, view.params)
        marks.append({"name": "path a→b", "line": True, "points": placed.tolist()})
    return marks


def _plotly_maps(ckpts, entries, pts, view) -> None:
    """Where the component cannot load: plotly charts of the same maps, coloured by digit."""
    st.caption("The linked maps could not load here; showing plain charts.")
    for ckpt, entry, column in zip(ckpts, entries, st.columns(len(entries)), strict=True):
        z = codes(ckpt.name, ckpt.sha256, view.points)
        fig = plots.latent_map(cache.latent_map(ckpt, z, view.params), pts.labels, entry["title"])
        column.plotly_chart(fig, key=f"map_{ckpt.name}")
