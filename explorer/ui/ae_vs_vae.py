"""The AE vs VAE page's views: the latent atlas, samples from N(0, I) and many pairs, with
their caches (in memory per server, on disk per checkpoint) and presets.

The page (pages/0_AE_vs_VAE.py) picks the pair and the view and calls one ``show_*`` here with
a :class:`Comparison`; the measures themselves are in :mod:`explorer.compare` and
:mod:`explorer.smoothness`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from explorer import compare, data, images, plots, smoothness, urlstate, views
from explorer.checkpoints import Checkpoint
from explorer.ui import browser_views, cache, display, setup, state

VIEWS = {"atlas": "Latent atlas", "samples": "Samples from N(0, I)", "pairs": "Many pairs"}
PAIR_LABELS = {"2d": "d = 2", "16d": "d = 16"}
PRESET_TITLES = {
    "hole": "A hole in the AE",
    "prior": "The VAE's prior is filled",
    "ae_wins": "Where the AE wins",
}
FIELDS = [
    urlstate.Field("cmp_pair", "pair", "2d", urlstate.choice(list(PAIR_LABELS))),
    urlstate.Field("cmp_view", "view", "atlas", urlstate.choice(list(VIEWS))),
    urlstate.Field("cmp_preset", "preset", None, urlstate.choice(tuple(PRESET_TITLES))),
    urlstate.Field("cmp_n_pairs", "pairs", 200, urlstate.integer(20, 1000)),
    urlstate.Field("cmp_pair_seed", "pair_seed", 0, urlstate.integer(0, 10_000)),
    urlstate.Field("cmp_selected", "selected", None, urlstate.integer(0, 999)),
    urlstate.Field("cmp_sample_seed", "seed", 0, urlstate.integer(0, 10_000)),
    urlstate.Field("cmp_window", "window", "codes", urlstate.choice(list(compare.ATLAS_WINDOWS))),
    urlstate.Field("cmp_point", "z", None, urlstate.floats(2, -100, 100), urlstate.dump_floats),
]
TITLES = {
    "lowest_confidence": ("Lowest confidence between a and b", "p(top class)"),
    "confident_share": ("Share of frames read as a digit", "share of the 9 frames between a and b"),
    "largest_jump": ("Largest jump between frames", "mean |Δ pixel|"),
}


@dataclass(frozen=True)
class Comparison:
    """One AE/VAE pair on screen: its name (``"2d"``, ``"16d"``), the two checkpoints (AE
    first), the classifier that reads their decodes and the held-out digits' labels."""

    pair: str
    names: tuple[str, str]
    ckpts: dict[str, Checkpoint]
    classifier: Checkpoint
    labels: np.ndarray

    @property
    def ae(self) -> str:
        return self.names[0]

    @property
    def vae(self) -> str:
        return self.names[1]


def comparison(pair: str, classifier: Checkpoint) -> Comparison | None:
    """The pair's checkpoints loaded, or None after a clear error for one that is not."""
    names = compare.PAIRS[pair]
    ckpts = {name: cache.load_or_explain(name) for name in names}
    if any(c is None for c in ckpts.values()):
        return None
    labels = cache.held_out(ckpts[names[1]])[1]
    return Comparison(pair, names, ckpts, classifier, labels)


# ---- Caches ------------------------------------------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="Measuring paths between held-out pairs…")
def study(name: str, sha: str, n_pairs: int, seed: int) -> compare.PairStudy:
    """Kept in memory per server and on disk per checkpoint (a first visit takes seconds)."""
    classifier = cache.load("classifier")

    def measure() -> dict:
        labels = cache.held_out(cache.load(name))[1]
        codes = torch.from_numpy(cache.held_out_codes(name, sha))
        pairs = smoothness.random_pairs(labels, n_pairs, seed)
        return compare.pair_study(cache.load(name).model, classifier.model, codes, pairs).arrays()

    key = f"pairs-v1-{sha[:16]}-{classifier.sha256[:8]}-{n_pairs}-{seed}"
    return compare.PairStudy(**data.cached_arrays(key, measure))


@st.cache_resource(max_entries=4, show_spinner="Decoding the latent plane…")
def atlas(name: str, sha: str, window: tuple[float, float]) -> tuple[compare.Atlas, str]:
    """The plane and its background as a PNG data URL, in memory and on disk."""
    classifier = cache.load("classifier")

    def draw() -> dict:
        return compare.atlas(cache.load(name).model, classifier.model, window).arrays()

    key = f"atlas-v1-{sha[:16]}-{classifier.sha256[:8]}-{window[0]:.4f}-{window[1]:.4f}"
    grid = compare.Atlas(**data.cached_arrays(key, draw))
    tiles = images.grid(grid.tiles[:, None] / 255.0, ncol=grid.n_tiles, pad=0)
    return grid, images.data_url(tiles)


@st.cache_resource(max_entries=8, show_spinner="Decoding samples…")
def samples(name: str, sha: str, source: str, seed: int) -> compare.SampleReport:
    model = cache.load(name).model
    if source == "prior":
        codes = compare.prior_codes(1000, model.latent_dim, seed)
    else:
        codes = compare.fitted_codes(model, 1000, seed)
    return compare.sample_report(model, cache.load("classifier").model, codes)


def studies(cmp: Comparison) -> tuple[compare.PairStudy, compare.PairStudy]:
    """Both models' study of the pairs the settings name."""
    ss = st.session_state
    n_pairs, seed = int(ss["cmp_n_pairs"]), int(ss["cmp_pair_seed"])
    ae, vae = (study(n, cmp.ckpts[n].sha256, n_pairs, seed) for n in cmp.names)
    return ae, vae


# ---- Presets -----------------------------------------------------------------------------------


def apply_preset(key: str) -> None:
    """Open the view a preset names, with its pair (or samples) chosen."""
    ss = st.session_state
    ss["cmp_preset"] = key
    if key == "prior":
        ss["cmp_view"] = "samples"
        return
    names = compare.PAIRS[ss["cmp_pair"]]
    n_pairs, seed = int(ss["cmp_n_pairs"]), int(ss["cmp_pair_seed"])
    found = [study(n, cache.load(n).sha256, n_pairs, seed) for n in names]
    ss["cmp_selected"] = compare.presets(*found)[key].index
    ss["cmp_view"] = "pairs"


def preset_buttons() -> None:
    for (key, title), column in zip(PRESET_TITLES.items(), st.columns(3), strict=True):
        column.button(
            title,
            on_click=apply_preset,
            args=(key,),
            key=f"cmp_p_{key}",
            icon=":material/bookmark:",
            use_container_width=True,
        )


def preset_note(cmp: Comparison, view: str) -> None:
    """Say how the preset in force was chosen and how common what it shows is."""
    preset, selected = st.session_state.get("cmp_preset"), st.session_state.get("cmp_selected")
    if preset in ("hole", "ae_wins") and selected is not None:
        study_ae, study_vae = studies(cmp)
        chosen = compare.presets(study_ae, study_vae)[preset]
        if chosen.index == selected:
            st.info(
                f"**{chosen.title}**: {chosen.rule}, among {len(study_ae.pairs)} random held-out "
                f"pairs of different digits. {100 * chosen.share:.0f} % of the pairs differ that "
                "way by at least 0.1; the boxes below show all of them."
            )
    elif preset == "prior" and view == "samples":
        st.info(
            "**The VAE's prior is filled?** Both models decode the same 1,000 codes drawn from "
            "N(0, I) (the seed below); the share the classifier reads as a digit is under each "
            "grid, and the verdict compares them. Nothing is picked: every sample counts."
        )


def explain(cmp: Comparison) -> None:
    with st.expander("What is compared, and how it is measured"):
        st.markdown(
            f"**{cache.label(cmp.ae)}** and **{cache.label(cmp.vae)}** share the encoder, the "
            "decoder, the data, the batch size, the epochs and the seed; only the objective "
            "differs. The AE only reconstructs; the VAE also pays KL(q(z|x) ‖ N(0, I)) for each "
            "code, which pulls the codes towards the prior so that its region decodes to digits."
        )
        display.formula(
            r"\text{confident} \iff \max_k p(k \mid \hat{x}) \ge 0.9",
            "The digit classifier reads every decoded image; where it reads no digit "
            "confidently, the model decodes no digit: a hole. Pairs are random held-out pairs of "
            "different digits (seeded). Intervals are 95 % bootstrap intervals over pairs or "
            "samples; the verdicts compare the paired differences with 0. The path length "
            "(Karras et al. 2019) and three training seeds per model are in "
            "`python -m bench.smoothness` (README).",
            fold=False,  # already inside an expander
        )


# ---- The latent atlas --------------------------------------------------------------------------


def selected_pair() -> int | None:
    """The chosen pair, if it is one of the pairs measured now (fewer pairs may drop it)."""
    selected = st.session_state["cmp_selected"]
    return selected if selected is not None and selected < st.session_state["cmp_n_pairs"] else None


def _clicked(name: str) -> None:
    """A click on an atlas: that point of the plane becomes the one decoded below."""
    point = compare.point_from_selection(st.session_state.get(f"cmp_atlas_{name}"))
    if point is not None:
        st.session_state["cmp_point"] = list(point)


def show_atlas(cmp: Comparison) -> None:
    if cmp.pair != "2d":
        st.info("The atlas draws a 2-D latent plane: switch the pair to d = 2.")
        return
    codes = {name: cache.held_out_codes(name, cmp.ckpts[name].sha256) for name in cmp.names}
    windows = compare.atlas_windows(codes, st.session_state["cmp_window"])
    selected, point = selected_pair(), st.session_state["cmp_point"]
    paths = dict(zip(cmp.names, studies(cmp), strict=True)) if selected is not None else {}
    # Presenting: the decoded point beside the atlases, so that pointing at a plane and the
    # digits it decodes share a projector's first screen.
    columns = st.columns([2, 2, 1] if setup.presenting() else [1, 1])
    for name, column in zip(cmp.names, columns[:2], strict=True):
        grid, tiles = atlas(name, cmp.ckpts[name].sha256, windows[name])
        path = {f"pair #{selected}": paths[name].codes[selected]} if paths else None
        fig = plots.atlas(
            tiles,
            windows[name],
            grid.confidence,
            codes[name],
            cmp.labels,
            cache.label(name),
            path,
            point,
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
    st.segmented_control(
        "Window",
        list(compare.ATLAS_WINDOWS),
        key="cmp_window",
        required=True,
        format_func=compare.ATLAS_WINDOWS.get,
    )
    same = len({windows[name] for name in cmp.names}) == 1
    st.caption(
        "Background: what each model decodes on a regular grid of "
        + ("the same window" if same else "its own window (the scales differ: read the axes)")
        + " (dashed: the prior's ±3σ box). Red: the classifier reads no digit with confidence "
        "≥ 0.9 there. Dots: the 500 held-out digits' codes"
        + (f"; yellow: pair #{selected}'s path" if paths else "")
        + ". Click anywhere to decode that point with both models (pointing previews it)."
    )
    decode_point(cmp, point, columns[2] if setup.presenting() else None)


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
    with beside or shown:
        charts = [f"cmp_atlas_{name}" for name in cmp.names]
        probe = browser_views.atlas_probe
        if probe("cmp_probe", cmp.names, cmp.classifier.model, (x, y), charts):
            return
        for name, column in zip(cmp.names, st.columns(2), strict=True):
            image, caption = browser_views.point_reading(name, cmp.classifier.model, (x, y))
            with column:
                display.show_digit(image, caption, scale=4)


# ---- Samples from N(0, I) ----------------------------------------------------------------------


def show_samples(cmp: Comparison) -> None:
    seed = int(st.session_state["cmp_sample_seed"])
    rows = [
        (cmp.ae, "prior", "N(0, I)"),
        (cmp.vae, "prior", "N(0, I)"),
        (cmp.ae, "fitted", "a Gaussian fitted to the AE's codes"),
    ]
    reports = [samples(name, cmp.ckpts[name].sha256, source, seed) for name, source, _ in rows]
    for (name, source, what), report, column in zip(rows, reports, st.columns(3), strict=True):
        with column:
            st.markdown(f"**{cache.label(name)}**, codes from {what}")
            grid = images.grid(report.images[:36], ncol=6)
            st.image(images.png_bytes(grid, scale=2), output_format="PNG")
            st.caption(
                f"Read as a digit (confidence ≥ 0.9): **{report.share().text(percent=True)}**; "
                f"mean classifier entropy {report.mean_entropy().text()} nats; digits produced: "
                f"diversity **{report.diversity().text()}** nats (ln 10 = 2.30 is all ten "
                "equally often)."
            )
            st.plotly_chart(
                plots.digit_shares(report.digit_shares()),
                key=f"cmp_digits_{name}_{source}",
                config={"displayModeBar": False},
            )
    diff = smoothness.bootstrap(reports[1].confident - reports[0].confident)
    if diff.low > 0:
        verdict = "more often than"
    elif diff.high < 0:
        verdict = "less often than"
    else:
        verdict = "about as often as (the interval holds 0)"
    st.markdown(
        f"From the same 1,000 N(0, I) codes, the VAE's images are read as a digit **{verdict}** "
        f"the AE's: VAE − AE {100 * diff.value:+.0f} percentage points, 95 % interval "
        f"[{100 * diff.low:+.0f}, {100 * diff.high:+.0f}]. 36 of the 1,000 are shown."
    )
    st.number_input("Seed of the codes", 0, 10_000, key="cmp_sample_seed")
    st.caption(
        "The first two grids decode the same N(0, I) codes. Only the VAE was trained to make that "
        "prior decode to digits; an AE has no prior, so sampling it needs a distribution fitted "
        "to its codes afterwards (right)."
    )


# ---- Many pairs --------------------------------------------------------------------------------


def pair_strips(cmp: Comparison, index: int) -> None:
    """Both models' frames between pair ``index``, with the classifier's reading under each."""
    study_ae, study_vae = studies(cmp)
    row_a, row_b = study_ae.pairs[index]
    st.markdown(
        f"**Pair #{index}**: held-out #{row_a} (a, a {cmp.labels[row_a]}) → #{row_b} "
        f"(b, a {cmp.labels[row_b]}); '?' marks a frame read with confidence below 0.9"
    )
    for name, result in ((cmp.ae, study_ae), (cmp.vae, study_vae)):
        frames = views.decode(cmp.ckpts[name].model, torch.from_numpy(result.codes[index]))
        marks = zip(result.frame_labels[index], result.frame_confidence[index], strict=True)
        reads = " ".join(str(d) if c >= smoothness.CONFIDENT else "?" for d, c in marks)
        lowest = result.measures.lowest_confidence[index]
        caption = f"{cache.label(name)}: reads {reads} · lowest confidence {lowest:.2f}"
        display.show_strip(frames, caption, scale=3)
    if st.button(
        "Open this pair in Interpolation", key="cmp_open_ip", icon=":material/open_in_new:"
    ):
        state.open_interpolation((int(row_a), int(row_b)), f"AE vs VAE pair #{index}", cmp.pair)


def _picked_row() -> None:
    """A row picked in the pair table becomes the selected pair."""
    rows = st.session_state["cmp_table"].selection.rows
    if rows:
        st.session_state["cmp_selected"] = int(st.session_state["cmp_order"][rows[0]])
        st.session_state["cmp_preset"] = None


def show_pairs(cmp: Comparison) -> None:
    study_ae, study_vae = studies(cmp)
    selected = selected_pair()
    if selected is not None:
        pair_strips(cmp, selected)
    ae_m, vae_m = study_ae.measures.as_dict(), study_vae.measures.as_dict()
    for (measure, (title, unit)), column in zip(TITLES.items(), st.columns(3), strict=True):
        with column:
            fig = plots.distributions({"AE": ae_m[measure], "VAE": vae_m[measure]}, title, unit)
            st.plotly_chart(fig, key=f"cmp_box_{measure}")
            diff = smoothness.bootstrap(vae_m[measure] - ae_m[measure])
            verdict = "differ" if diff.excludes(0) else "do not differ beyond the interval"
            st.caption(
                f"Mean AE {smoothness.bootstrap(ae_m[measure]).text()}, VAE "
                f"{smoothness.bootstrap(vae_m[measure]).text()}; VAE − AE {diff.text()}: "
                f"the models **{verdict}**."
            )
    gap = vae_m["lowest_confidence"] - ae_m["lowest_confidence"]
    order = gap.argsort()[::-1]
    st.session_state["cmp_order"] = [int(i) for i in order]
    table = {
        "pair": [int(i) for i in order],
        "digits": [f"{cmp.labels[a]} → {cmp.labels[b]}" for a, b in study_ae.pairs[order]],
        "AE lowest confidence": ae_m["lowest_confidence"][order].round(3),
        "VAE lowest confidence": vae_m["lowest_confidence"][order].round(3),
        "VAE − AE": gap[order].round(3),
    }
    st.caption(
        "Every pair, sorted by VAE − AE lowest confidence (click a header to re-sort); "
        "pick a row to see its frames above."
    )
    st.dataframe(
        table,
        key="cmp_table",
        on_select=_picked_row,
        selection_mode="single-row",
        hide_index=True,
        height=280,
    )
    c1, c2, _ = st.columns([1, 1, 3])
    c1.number_input("Pairs", 20, 1000, step=20, key="cmp_n_pairs")
    c2.number_input("Pair seed", 0, 10_000, key="cmp_pair_seed")


SHOW = {"atlas": show_atlas, "samples": show_samples, "pairs": show_pairs}
