"""Latent map: t-SNE and PCA of the held-out codes, AE and VAE side by side, clickable."""

import numpy as np
import streamlit as st
import torch

from explorer import plots, projection, urlstate, views
from explorer.ui import cache, display, setup, state

setup.page_setup("Latent map")
st.title("Latent map")
display.formula(
    r"p_{j|i} \propto \exp\!\left(-\tfrac{\|z_i - z_j\|^2}{2\sigma_i^2}\right), \quad "
    r"q_{ij} \propto \left(1 + \|y_i - y_j\|^2\right)^{-1}",
    "t-SNE places each code z in 2-D so that codes that are neighbours in the latent space stay "
    "neighbours on the map (van der Maaten & Hinton, 2008); perplexity sets how many neighbours "
    "count. PCA is the linear view: the two directions of largest variance. Click points (or "
    "lasso them from the toolbar) to see the digits; pick two and send them to Interpolation.",
)

OVERLAYS = {"prior": "prior samples", "path": "interpolation path"}
FIELDS = [
    urlstate.Field("map_method", "method", "tsne", urlstate.choice(["tsne", "pca"])),
    urlstate.Field("map_perplexity", "perplexity", int(projection.DEFAULT_PERPLEXITY),
                   urlstate.integer(5, 50)),
    urlstate.Field("map_overlay", "overlay", [], *urlstate.subset(OVERLAYS)),
]  # fmt: skip
state.url_state(FIELDS, "map")
c1, c2, c3 = st.columns(3)
method = c1.radio(
    "Method",
    ["tsne", "pca"],
    format_func=lambda m: {"tsne": "t-SNE", "pca": "PCA"}[m],
    horizontal=True,
    key="map_method",
)
perplexity = c2.slider(
    "Perplexity",
    5,
    50,
    key="map_perplexity",
    disabled=method == "pca",
)
overlay = c3.multiselect("Overlay", list(OVERLAYS.values()), key="map_overlay")
params = projection.MapParams(method, float(perplexity) if method == "tsne" else 0.0)


def send_pair(name: str, rows: list[int], labels: np.ndarray) -> None:
    """Pick a and b among the selected points and open them on the Interpolation page."""

    def tag(row: int) -> str:
        return f"#{row} (digit {labels[row]})"

    a, b = views.default_pair(rows, labels)
    c1, c2, c3 = st.columns([2, 2, 3], vertical_alignment="bottom")
    a = c1.selectbox("a", rows, rows.index(a), format_func=tag, key=f"map_a_{name}")
    b = c2.selectbox("b", rows, rows.index(b), format_func=tag, key=f"map_b_{name}")
    if c3.button(f"Interpolate {tag(a)} → {tag(b)}", key=f"map_send_{name}"):
        state.open_interpolation((a, b), "the Latent map")


names = [n for n in cache.available(("ae", "vae")) if n in ("ae", "vae")]
if not names:
    st.error("No AE or VAE checkpoint found; the map needs an encoder.")
for name, column in zip(names, st.columns(max(len(names), 1)), strict=False):
    ckpt = cache.load_or_explain(name)
    if ckpt is None:
        continue
    with column:
        codes = cache.held_out_codes(name, ckpt.sha256)
        pixels, labels = cache.held_out(ckpt)
        coords = cache.latent_map(ckpt, codes, params)
        extra = {}
        if "prior samples" in overlay:
            samples = ckpt.model.sample(50, torch.Generator().manual_seed(0)).numpy()
            extra["prior samples"] = cache.place_points(ckpt.sha256, codes, coords, samples, params)
        if "interpolation path" in overlay and f"ip_path_{name}" in st.session_state:
            path = np.asarray(st.session_state[f"ip_path_{name}"], dtype=np.float32)
            extra["path a→b"] = cache.place_points(ckpt.sha256, codes, coords, path, params)
        fig = plots.latent_map(
            coords, labels, f"{cache.label(name)}: {len(codes)} held-out codes", extra
        )
        if setup.presenting():  # the map and its controls above a projector's fold
            fig.update_layout(height=420)
        event = st.plotly_chart(
            fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key=f"map_{name}"
        )
        rows = plots.selected_rows(event)
        if rows:
            shown = torch.as_tensor(rows[:10])
            display.show_strip(
                pixels[shown], f"selected originals: #{', #'.join(map(str, rows[:10]))}"
            )
            display.show_strip(
                views.reconstruct(ckpt.model, pixels[shown]), "their reconstructions"
            )
            if len(rows) >= 2:
                send_pair(name, rows, labels)
        else:
            st.caption(
                "Click a point (shift-click adds more), or pick box or lasso select in the "
                "chart's toolbar and drag, to see digits."
            )

state.write_url_state(FIELDS, "map")
