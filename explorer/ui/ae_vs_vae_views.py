"""The AE vs VAE page's pictures: the latent atlas (d = 2), samples from N(0, I) and many pairs,
each for the pair and the reader chosen (explorer.ui.ae_vs_vae.Comparison)."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import compare, findings, images, plots, precompute, protocol, smoothness, views
from explorer.ui import ae_vs_vae, browser_views, cache, display, setup, state, studies
from explorer.ui.ae_vs_vae import Comparison

# ---- The latent atlas --------------------------------------------------------------------------


def _selected_pair() -> int | None:
    """The chosen pair, if it is one of the pairs measured now (fewer pairs may drop it)."""
    selected = st.session_state["cmp_selected"]
    return selected if selected is not None and selected < st.session_state["cmp_n_pairs"] else None


def _clicked(name: str) -> None:
    """A click on an atlas: that point of the plane becomes the one decoded below."""
    point = compare.point_from_selection(st.session_state.get(f"cmp_atlas_{name}"))
    if point is not None:
        st.session_state["cmp_point"] = list(point)


def rings(ckpt) -> tuple[plots.Ring, ...]:
    """N(0, I)'s 2σ and 3σ circles, and for an AE the 2σ ellipse of the Gaussian fitted to its
    codes (where its "Random from the fitted Gaussian" samples)."""
    found = [plots.Ring((0.0, 0.0), (r, r), f"N(0, I) {r}σ", "dot") for r in (2.0, 3.0)]
    if ckpt.config.kind == "ae":
        mean, std = ckpt.model.code_mean.tolist(), ckpt.model.code_std.tolist()
        found.append(plots.Ring(tuple(mean), (2 * std[0], 2 * std[1]), "fitted 2σ", "dash"))
    return tuple(found)


def show_atlas(cmp: Comparison) -> None:
    if cmp.pair != "2d":
        st.info("The atlas draws a 2-D latent plane: switch the pair to d = 2.")
        return
    codes = {name: studies.codes(cmp.ckpts[name])["held_out"] for name in cmp.names}
    windows = compare.atlas_windows(codes, st.session_state["cmp_window"])
    selected, point = _selected_pair(), st.session_state["cmp_point"]
    study = ae_vs_vae.paths(cmp) if selected is not None else None
    overlay = st.session_state["cmp_overlay"]
    # The decoded point beside the atlases, so that pointing at a plane and the digits it decodes
    # share the first screen (a projector's, and a laptop's with the sidebar open).
    columns = st.columns([2, 2, 1.3])
    for i, (name, column) in enumerate(zip(cmp.names, columns[:2], strict=True)):
        grid = studies.atlas(cmp.ckpts[name], windows[name])
        if overlay == "coverage":
            shading = plots.coverage_shading(grid["distance"], float(grid["far_radius"]))
        else:
            r = cmp.reader
            shading = plots.reader_shading(
                grid[f"{r}:top"], grid[f"{r}:second"], grid[f"{r}:labels"]
            )
        tiles = images.grid(torch.from_numpy(grid["tiles"][:, None] / 255.0), ncol=15, pad=0)
        path = {f"pair #{selected}": study[i]["codes"][selected]} if study else None
        fig = plots.atlas(
            images.data_url(tiles),
            windows[name],
            shading,
            codes[name],
            cmp.labels,
            cache.label(name),
            path,
            point,
            rings(cmp.ckpts[name]),
        )
        if setup.presenting():  # the whole plane above a projector's fold
            fig.update_layout(height=380)
        column.plotly_chart(
            fig,
            key=f"cmp_atlas_{name}",
            on_select=lambda n=name: _clicked(n),
            selection_mode="points",
            config={"displaylogo": False},
        )
    st.html(plots.digit_key())
    choices = (
        ("Window", "cmp_window", compare.ATLAS_WINDOWS),
        ("Shading", "cmp_overlay", ae_vs_vae.OVERLAYS),
    )
    for (title, key, options), column in zip(choices, st.columns(2), strict=True):
        column.segmented_control(
            title, list(options), key=key, required=True, format_func=options.get
        )
    same = len({windows[name] for name in cmp.names}) == 1
    shade = (
        "red: points farther from every code the decoder was trained on than 99 % of those codes "
        "are from their nearest neighbour (where sampling would land on nothing it learned)"
        if overlay == "coverage"
        else f"amber: {cmp.reader_label} reads a blend of two digits there; red: garbage"
    )
    st.caption(
        "Background: what each model decodes on a regular grid of "
        + ("the same window" if same else "its own window (the scales differ: read the axes)")
        + f"; {shade}. Dotted: N(0, I)'s 2σ and 3σ circles; dashed: the AE's fitted Gaussian (2σ). "
        "Dots: the held-out digits' codes"
        + (f"; yellow: pair #{selected}'s path" if study else "")
        + ". Click anywhere to decode that point with both models (pointing previews it)."
    )
    decode_point(cmp, point, columns[2])


def _typed_point() -> None:
    st.session_state["cmp_point"] = [st.session_state["cmp_x"], st.session_state["cmp_y"]]


def decode_point(cmp: Comparison, point: list[float] | None, beside=None) -> None:
    """Both models' decode of one point of the plane (clicked, or typed in), in ``beside`` if
    given; in the browser the point under the pointer and a click decode at once
    (explorer.ui.browser_views)."""
    x, y = point or (0.0, 0.0)
    st.session_state["cmp_x"], st.session_state["cmp_y"] = float(x), float(y)
    c0, c1, shown = st.columns([1, 1, 4])
    c0.number_input("z0", -100.0, 100.0, step=0.1, key="cmp_x", on_change=_typed_point)
    c1.number_input("z1", -100.0, 100.0, step=0.1, key="cmp_y", on_change=_typed_point)
    reader = cache.load(cmp.reader).model
    with beside or shown:
        charts = [f"cmp_atlas_{name}" for name in cmp.names]
        if browser_views.atlas_probe("cmp_probe", cmp.names, reader, (x, y), charts):
            return
        for name, column in zip(cmp.names, st.columns(2), strict=True):
            image, caption = browser_views.point_reading(name, reader, (x, y))
            with column:
                display.show_digit(image, caption, scale=4)


# ---- Samples from N(0, I) ----------------------------------------------------------------------


def _share(arrays: dict, key: str) -> str:
    """A stored share with its interval, or "none of the n" where it is exactly 0."""
    found = precompute.estimate(arrays, key)
    if found.high == 0:
        return f"none of the {found.n:,}"
    return findings.share(found.to_dict())


def show_samples(cmp: Comparison) -> None:
    seed = int(st.session_state["cmp_sample_seed"])
    rows = [
        (cmp.ae, "prior", "N(0, I)"),
        (cmp.vae, "prior", "N(0, I)"),
        (cmp.ae, "fitted", "a Gaussian fitted to the AE's codes"),
    ]
    found = studies.samples([(cmp.ckpts[name], source) for name, source, _ in rows], seed)
    if found is None:
        st.number_input("Seed of the codes", 0, 10_000, key="cmp_sample_seed")
        return
    r = cmp.reader
    for (name, source, what), arrays, column in zip(rows, found, st.columns(3), strict=True):
        confident = arrays[f"{r}:top"] >= smoothness.CONFIDENT
        kid = precompute.estimate(arrays, f"{r}:kid")  # with the samples, once
        with column:
            st.markdown(f"**{cache.label(name)}**, codes from {what}")
            grid = images.grid(torch.from_numpy(arrays["images"] / 255.0), ncol=6)
            st.image(images.png_bytes(grid, scale=2), output_format="PNG")
            st.caption(
                f"Read as a digit by {cmp.reader_label}: **{_share(arrays, f'{r}:confident_share')}**; KID to real "
                f"digits {findings.interval(kid.to_dict(), 1)}; far from every training code: "
                f"**{_share(arrays, 'far_share_share')}** (samples spread like the codes: about 0.01); "
                f"no stroke at all: {_share(arrays, 'no_stroke_share')}."
            )
            labels = arrays[f"{r}:labels"][confident]
            shares = np.bincount(labels, minlength=10) / max(len(labels), 1)
            st.plotly_chart(
                plots.digit_shares(shares),
                key=f"cmp_digits_{name}_{source}",
                config={"displayModeBar": False},
            )
    diff = protocol.difference(
        protocol.BY_KEY["confident"],
        (found[0][f"{r}:top"] >= smoothness.CONFIDENT).astype(float),
        (found[1][f"{r}:top"] >= smoothness.CONFIDENT).astype(float),
    )
    verdict = {1: "more often than", -1: "less often than"}.get(
        diff.winner, "about as often as (the interval holds 0)"
    )
    places = max(0, protocol.decimals_for(100 * diff.low, 100 * diff.high, 0))
    st.markdown(
        f"From the same 1,000 N(0, I) codes, {cmp.reader_label} reads the VAE's images as a digit "
        f"**{verdict}** the AE's: VAE − AE {100 * diff.value:+.{places}f} percentage points, 95 % "
        f"interval [{100 * diff.low:+.{places}f}, {100 * diff.high:+.{places}f}]. 36 of the 1,000 "
        "are shown; the bars count the digits read, among the samples read as one."
    )
    st.number_input("Seed of the codes", 0, 10_000, key="cmp_sample_seed")
    st.caption(
        "The first two grids decode the same N(0, I) codes. Only the VAE was trained to make that "
        "prior decode to digits; an AE has no prior, so sampling it needs a distribution fitted "
        "to its codes afterwards (right). Another seed is measured on the server's queue, one "
        "custom study at a time."
    )


# ---- Many pairs --------------------------------------------------------------------------------

BOXES = {
    "lowest_confidence": ("Lowest confidence between a and b", "p(top class)"),
    "confident_share": ("Share of frames read as a digit", "share of the 9 frames between a and b"),
    "largest_jump": ("Largest jump between frames (no reader)", "mean |Δ pixel|"),
}


def pair_strips(cmp: Comparison, study: tuple[dict, dict], index: int) -> None:
    """Both models' frames between pair ``index``, with the reader's reading under each."""
    row_a, row_b = study[0]["pairs"][index]
    st.markdown(
        f"**Pair #{index}**: held-out #{row_a} (a, a {cmp.labels[row_a]}) → #{row_b} "
        f"(b, a {cmp.labels[row_b]}); '?' marks a frame {cmp.reader_label} reads with "
        "confidence below 0.9"
    )
    r = cmp.reader
    for name, arrays in zip(cmp.names, study, strict=True):
        frames = views.decode(cmp.ckpts[name].model, torch.from_numpy(arrays["codes"][index]))
        marks = zip(arrays[f"{r}:labels"][index], arrays[f"{r}:top"][index], strict=True)
        reads = " ".join(str(d) if c >= smoothness.CONFIDENT else "?" for d, c in marks)
        lowest = arrays[f"{r}:top"][index][1:-1].min()
        caption = f"{cache.label(name)}: reads {reads} · lowest confidence {lowest:.2f}"
        display.show_strip(frames, caption, scale=3)
    if st.button(
        "Open this pair in Interpolation", key="cmp_open_ip", icon=":material/open_in_new:"
    ):
        rows = (int(row_a), int(row_b))
        state.open_interpolation(rows, f"AE vs VAE (pair #{index})", cmp.pair)


def _picked_row() -> None:
    """A row picked in the pair table becomes the selected pair."""
    rows = st.session_state["cmp_table"].selection.rows
    if rows:
        st.session_state["cmp_selected"] = int(st.session_state["cmp_order"][rows[0]])
        st.session_state["cmp_preset"] = None


# Short headers and narrow columns: every column fits a 390 px phone, the VAE's included.
TABLE_COLUMNS = {
    "pair": st.column_config.NumberColumn("#", width=44),
    "digits": st.column_config.TextColumn("a → b", width=56),
    "AE lowest": st.column_config.NumberColumn("AE", width=64, help="lowest confidence"),
    "VAE lowest": st.column_config.NumberColumn("VAE", width=64, help="lowest confidence"),
    "VAE − AE": st.column_config.NumberColumn(width=80),
}


def _mean(values: np.ndarray, measure: str) -> str:
    """A measure's mean over the pairs with its interval (a share in percent)."""
    return findings.quote(smoothness.bootstrap(values).to_dict(), protocol.BY_KEY[measure])


def show_pairs(cmp: Comparison) -> None:
    study = ae_vs_vae.paths(cmp)
    if study is None:
        _pair_inputs()
        return
    selected = _selected_pair()
    if selected is not None:
        pair_strips(cmp, study, selected)
    ae_m, vae_m = (
        {**protocol.path_measures(s, None), **protocol.path_measures(s, cmp.reader)} for s in study
    )
    for (measure, (title, unit)), column in zip(BOXES.items(), st.columns(3), strict=True):
        with column:
            fig = plots.distributions({"AE": ae_m[measure], "VAE": vae_m[measure]}, title, unit)
            st.plotly_chart(fig, key=f"cmp_box_{measure}")
            diff = protocol.difference(protocol.BY_KEY[measure], ae_m[measure], vae_m[measure])
            verdict = "differ" if diff.winner else "do not differ beyond the interval"
            st.caption(
                f"Mean AE {_mean(ae_m[measure], measure)}, VAE {_mean(vae_m[measure], measure)}; "
                f"VAE − AE {findings.interval(diff.to_dict())}: the models **{verdict}** here."
            )
    gap = vae_m["lowest_confidence"] - ae_m["lowest_confidence"]
    order = gap.argsort()[::-1]
    st.session_state["cmp_order"] = [int(i) for i in order]
    table = {
        "pair": [int(i) for i in order],
        "digits": [f"{cmp.labels[a]} → {cmp.labels[b]}" for a, b in study[0]["pairs"][order]],
        "AE lowest": ae_m["lowest_confidence"][order].round(3),
        "VAE lowest": vae_m["lowest_confidence"][order].round(3),
        "VAE − AE": gap[order].round(3),
    }
    st.caption(
        f"Every pair, sorted by VAE − AE lowest confidence between a and b as {cmp.reader_label} "
        "reads it (click a header to re-sort); pick a row to see its frames above."
    )
    st.dataframe(
        table,
        key="cmp_table",
        on_select=_picked_row,
        selection_mode="single-row",
        hide_index=True,
        height=280,
        column_config=TABLE_COLUMNS,
    )
    _pair_inputs()


def _pair_inputs() -> None:
    c1, c2, _ = st.columns([1, 1, 3])
    c1.number_input("Pairs", 20, 1000, step=20, key="cmp_n_pairs")
    c2.number_input("Pair seed", 0, 10_000, key="cmp_pair_seed")


SHOW = {"atlas": show_atlas, "samples": show_samples, "pairs": show_pairs}
