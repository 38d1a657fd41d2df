"""AE vs VAE: the same network trained with two objectives, shown and measured side by side."""

import streamlit as st
import torch

from explorer import compare, data, images, plots, smoothness, ui, urlstate, views
from explorer.ui import browser_views

ui.page_setup("AE vs VAE")
st.title("AE vs VAE")

VIEWS = {"atlas": "Latent atlas", "samples": "Samples from N(0, I)", "pairs": "Many pairs"}
PAIR_LABELS = {"2d": "d = 2", "16d": "d = 16"}
PRESET_TITLES = {"hole": "A hole in the AE", "prior": "The VAE's prior is filled",
                 "ae_wins": "Where the AE wins"}  # fmt: skip
PRESETS = tuple(PRESET_TITLES)
FIELDS = [
    urlstate.Field("cmp_pair", "pair", "2d", urlstate.choice(list(PAIR_LABELS))),
    urlstate.Field("cmp_view", "view", "atlas", urlstate.choice(list(VIEWS))),
    urlstate.Field("cmp_preset", "preset", None, urlstate.choice(PRESETS)),
    urlstate.Field("cmp_n_pairs", "pairs", 200, urlstate.integer(20, 1000)),
    urlstate.Field("cmp_pair_seed", "pair_seed", 0, urlstate.integer(0, 10_000)),
    urlstate.Field("cmp_selected", "selected", None, urlstate.integer(0, 999)),
    urlstate.Field("cmp_sample_seed", "seed", 0, urlstate.integer(0, 10_000)),
    urlstate.Field("cmp_window", "window", "codes", urlstate.choice(list(compare.ATLAS_WINDOWS))),
    urlstate.Field("cmp_point", "z", None, urlstate.floats(2, -100, 100), urlstate.dump_floats),
]
from_link = ui.url_state(FIELDS, "cmp")

classifier = ui.load_or_explain("classifier")
if classifier is None:
    st.stop()


@st.cache_resource(max_entries=4, show_spinner="Measuring paths between held-out pairs…")
def study(name: str, sha: str, n_pairs: int, seed: int) -> compare.PairStudy:
    """Kept in memory per server and on disk per checkpoint (a first visit takes seconds)."""

    def measure() -> dict:
        labels = ui.held_out(ui.load(name))[1]
        codes = torch.from_numpy(ui.held_out_codes(name, sha))
        pairs = smoothness.random_pairs(labels, n_pairs, seed)
        return compare.pair_study(ui.load(name).model, classifier.model, codes, pairs).arrays()

    key = f"pairs-v1-{sha[:16]}-{classifier.sha256[:8]}-{n_pairs}-{seed}"
    return compare.PairStudy(**data.cached_arrays(key, measure))


@st.cache_resource(max_entries=4, show_spinner="Decoding the latent plane…")
def atlas(name: str, sha: str, window: tuple[float, float]) -> tuple[compare.Atlas, str]:
    """The plane and its background as a PNG data URL, in memory and on disk."""

    def draw() -> dict:
        return compare.atlas(ui.load(name).model, classifier.model, window).arrays()

    key = f"atlas-v1-{sha[:16]}-{classifier.sha256[:8]}-{window[0]:.4f}-{window[1]:.4f}"
    grid = compare.Atlas(**data.cached_arrays(key, draw))
    tiles = images.grid(grid.tiles[:, None] / 255.0, ncol=grid.n_tiles, pad=0)
    return grid, images.data_url(tiles)


@st.cache_resource(max_entries=8, show_spinner="Decoding samples…")
def samples(name: str, sha: str, source: str, seed: int) -> compare.SampleReport:
    model = ui.load(name).model
    codes = (compare.prior_codes(1000, model.latent_dim, seed) if source == "prior"
             else compare.fitted_codes(model, 1000, seed))  # fmt: skip
    return compare.sample_report(model, ui.load("classifier").model, codes)


def apply_preset(key: str) -> None:
    """Open the view a preset names, with its pair (or samples) chosen."""
    ss = st.session_state
    ss["cmp_preset"] = key
    if key == "prior":
        ss["cmp_view"] = "samples"
        return
    ae_name, vae_name = compare.PAIRS[ss["cmp_pair"]]
    ss["cmp_selected"] = compare.presets(*(run_study(n) for n in (ae_name, vae_name)))[key].index
    ss["cmp_view"] = "pairs"


def run_study(name: str) -> compare.PairStudy:
    ss = st.session_state
    return study(name, ui.load(name).sha256, int(ss["cmp_n_pairs"]), int(ss["cmp_pair_seed"]))


if from_link and st.session_state["cmp_preset"] and st.session_state["cmp_selected"] is None:
    apply_preset(st.session_state["cmp_preset"])  # a lesson's link names only the preset

top = st.columns([1, 3], vertical_alignment="bottom")
pair = top[0].segmented_control("Pair", list(PAIR_LABELS), format_func=PAIR_LABELS.get,
                                key="cmp_pair", required=True)  # fmt: skip
view = top[1].segmented_control("View", list(VIEWS), format_func=VIEWS.get, key="cmp_view",
                                required=True)  # fmt: skip
for (key, title), column in zip(PRESET_TITLES.items(), st.columns(3), strict=True):
    column.button(title, on_click=apply_preset, args=(key,), key=f"cmp_p_{key}",
                  icon=":material/bookmark:", use_container_width=True)  # fmt: skip

names = compare.PAIRS[pair]
ckpts = {name: ui.load_or_explain(name) for name in names}
if any(c is None for c in ckpts.values()):
    st.stop()
ae_name, vae_name = names
labels = ui.held_out(ckpts[vae_name])[1]
with st.expander("What is compared, and how it is measured"):
    st.markdown(
        f"**{ui.label(ae_name)}** and **{ui.label(vae_name)}** share the encoder, the decoder, the "
        "data, the batch size, the epochs and the seed; only the objective differs. The AE only "
        "reconstructs; the VAE also pays KL(q(z|x) ‖ N(0, I)) for each code, which pulls the codes "
        "towards the prior so that its region decodes to digits."
    )
    ui.formula(
        r"\text{confident} \iff \max_k p(k \mid \hat{x}) \ge 0.9",
        "The digit classifier reads every decoded image; where it reads no digit confidently, "
        "the model decodes no digit: a hole. Pairs are random held-out pairs of different digits "
        "(seeded). Intervals are 95 % bootstrap intervals over pairs or samples; the verdicts "
        "compare the paired differences with 0. The path length (Karras et al. 2019) and three "
        "training seeds per model are in `python -m bench.smoothness` (README).",
        fold=False,  # already inside an expander
    )


def studies() -> tuple[compare.PairStudy, compare.PairStudy]:
    return run_study(ae_name), run_study(vae_name)


def selected_pair() -> int | None:
    """The chosen pair, if it is one of the pairs measured now (fewer pairs may drop it)."""
    selected = st.session_state["cmp_selected"]
    return selected if selected is not None and selected < st.session_state["cmp_n_pairs"] else None


def preset_note() -> None:
    """Say how the preset in force was chosen and how common what it shows is."""
    preset, selected = st.session_state.get("cmp_preset"), st.session_state.get("cmp_selected")
    if preset in ("hole", "ae_wins") and selected is not None:
        study_ae, study_vae = studies()
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


def pair_strips(index: int) -> None:
    """Both models' frames between pair ``index``, with the classifier's reading under each."""
    study_ae, study_vae = studies()
    row_a, row_b = study_ae.pairs[index]
    st.markdown(f"**Pair #{index}**: held-out #{row_a} (a, a {labels[row_a]}) → #{row_b} "
                f"(b, a {labels[row_b]}); '?' marks a frame read with confidence below 0.9")  # fmt: skip
    for name, result in ((ae_name, study_ae), (vae_name, study_vae)):
        frames = views.decode(ckpts[name].model, torch.from_numpy(result.codes[index]))
        reads = " ".join(str(d) if c >= smoothness.CONFIDENT else "?"
                         for d, c in zip(result.frame_labels[index], result.frame_confidence[index],
                                         strict=True))  # fmt: skip
        ui.show_strip(frames, f"{ui.label(name)}: reads {reads} · lowest confidence "
                      f"{result.measures.lowest_confidence[index]:.2f}", scale=3)  # fmt: skip
    if st.button(
        "Open this pair in Interpolation", key="cmp_open_ip", icon=":material/open_in_new:"
    ):
        st.session_state["map_pair"] = (int(row_a), int(row_b))
        st.session_state["ip_source"] = "Map selection"
        st.session_state["ip_models"] = pair
        st.switch_page("pages/2_Interpolation.py")


def clicked(name: str) -> None:
    """A click on an atlas: that point of the plane becomes the one decoded below."""
    point = compare.point_from_selection(st.session_state.get(f"cmp_atlas_{name}"))
    if point is not None:
        st.session_state["cmp_point"] = list(point)


def show_atlas() -> None:
    if pair != "2d":
        st.info("The atlas draws a 2-D latent plane: switch the pair to d = 2.")
        return
    codes = {name: ui.held_out_codes(name, ckpts[name].sha256) for name in names}
    windows = compare.atlas_windows(codes, st.session_state["cmp_window"])
    selected, point = selected_pair(), st.session_state["cmp_point"]
    paths = dict(zip(names, studies(), strict=True)) if selected is not None else {}
    # Presenting: the decoded point beside the atlases, so that pointing at a plane and the
    # digits it decodes share a projector's first screen.
    columns = st.columns([2, 2, 1] if ui.presenting() else [1, 1])
    for name, column in zip(names, columns[:2], strict=True):
        grid, tiles = atlas(name, ckpts[name].sha256, windows[name])
        path = {f"pair #{selected}": paths[name].codes[selected]} if paths else None
        fig = plots.atlas(tiles, windows[name], grid.confidence, codes[name], labels,
                          ui.label(name), path, point)  # fmt: skip
        if ui.presenting():  # the whole plane above a projector's fold
            fig.update_layout(height=380)
        column.plotly_chart(fig, key=f"cmp_atlas_{name}", on_select=lambda n=name: clicked(n),
                            selection_mode="points", config={"displaylogo": False})  # fmt: skip
    st.html(plots.digit_key())
    st.segmented_control("Window", list(compare.ATLAS_WINDOWS), key="cmp_window", required=True,
                         format_func=compare.ATLAS_WINDOWS.get)  # fmt: skip
    same = len({windows[name] for name in names}) == 1
    st.caption(
        "Background: what each model decodes on a regular grid of "
        + ("the same window" if same else "its own window (the scales differ: read the axes)")
        + " (dashed: the prior's ±3σ box). Red: the classifier reads no digit with confidence "
        "≥ 0.9 there. Dots: the 500 held-out digits' codes"
        + (f"; yellow: pair #{selected}'s path" if paths else "")
        + ". Click anywhere to decode that point with both models (pointing previews it)."
    )
    decode_point(point, columns[2] if ui.presenting() else None)


def typed_point() -> None:
    st.session_state["cmp_point"] = [st.session_state["cmp_x"], st.session_state["cmp_y"]]


def decode_point(point: list[float] | None, beside=None) -> None:
    """Both models' decode of one point of the plane (clicked, or typed in), in ``beside`` if
    given; in the browser the point under the pointer and a click decode at once
    (explorer.ui.browser_views)."""
    x, y = point or (0.0, 0.0)
    st.session_state["cmp_x"], st.session_state["cmp_y"] = float(x), float(y)
    c0, c1, shown = st.columns([1, 1, 4])
    c0.number_input("z0", -100.0, 100.0, step=0.1, key="cmp_x", on_change=typed_point)
    c1.number_input("z1", -100.0, 100.0, step=0.1, key="cmp_y", on_change=typed_point)
    with beside or shown:
        charts = [f"cmp_atlas_{name}" for name in names]
        if browser_views.atlas_probe("cmp_probe", names, classifier.model, (x, y), charts):
            return
        # Presenting: the decoded point beside the atlases, so that pointing at a plane and the
    # digits it decodes share a projector's first screen.
    columns = st.columns([2, 2, 1] if ui.presenting() else [1, 1])
    for name, column in zip(names, columns[:2], strict=True):
        image, caption = browser_views.point_reading(name, classifier.model, (x, y))
        with column:
            ui.show_digit(image, caption, scale=4)


def show_samples() -> None:
    seed = int(st.session_state["cmp_sample_seed"])
    rows = [(ae_name, "prior", "N(0, I)"), (vae_name, "prior", "N(0, I)"),
            (ae_name, "fitted", "a Gaussian fitted to the AE's codes")]  # fmt: skip
    reports = [samples(name, ckpts[name].sha256, source, seed) for name, source, _ in rows]
    for (name, source, what), report, column in zip(rows, reports, st.columns(3), strict=True):
        with column:
            st.markdown(f"**{ui.label(name)}**, codes from {what}")
            st.image(images.png_bytes(images.grid(report.images[:36], ncol=6), scale=2),
                     output_format="PNG")  # fmt: skip
            st.caption(
                f"Read as a digit (confidence ≥ 0.9): **{report.share().text(percent=True)}**; "
                f"mean classifier entropy {report.mean_entropy().text()} nats; digits produced: "
                f"diversity **{report.diversity().text()}** nats (ln 10 = 2.30 is all ten "
                "equally often)."
            )
            st.plotly_chart(plots.digit_shares(report.digit_shares()), key=f"cmp_digits_{name}_{source}",
                            config={"displayModeBar": False})  # fmt: skip
    diff = smoothness.bootstrap(reports[1].confident - reports[0].confident)
    verdict = ("more often than" if diff.low > 0 else "less often than" if diff.high < 0
               else "about as often as (the interval holds 0)")  # fmt: skip
    st.markdown(
        f"From the same 1,000 N(0, I) codes, the VAE's images are read as a digit **{verdict}** "
        f"the AE's: VAE − AE {100 * diff.value:+.0f} percentage points, 95 % interval [{100 * diff.low:+.0f}, {100 * diff.high:+.0f}]. "
        "36 of the 1,000 are shown."
    )
    st.number_input("Seed of the codes", 0, 10_000, key="cmp_sample_seed")
    st.caption(
        "The first two grids decode the same N(0, I) codes. Only the VAE was trained to make that "
        "prior decode to digits; an AE has no prior, so sampling it needs a distribution fitted "
        "to its codes afterwards (right)."
    )


TITLES = {"lowest_confidence": ("Lowest confidence between a and b", "p(top class)"),
          "confident_share": ("Share of frames read as a digit", "share of the 9 frames between a and b"),
          "largest_jump": ("Largest jump between frames", "mean |Δ pixel|")}  # fmt: skip


def picked_row() -> None:
    """A row picked in the pair table becomes the selected pair."""
    rows = st.session_state["cmp_table"].selection.rows
    if rows:
        st.session_state["cmp_selected"] = int(st.session_state["cmp_order"][rows[0]])
        st.session_state["cmp_preset"] = None


def show_pairs() -> None:
    study_ae, study_vae = studies()
    selected = selected_pair()
    if selected is not None:
        pair_strips(selected)
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
        "digits": [f"{labels[a]} → {labels[b]}" for a, b in study_ae.pairs[order]],
        "AE lowest confidence": ae_m["lowest_confidence"][order].round(3),
        "VAE lowest confidence": vae_m["lowest_confidence"][order].round(3),
        "VAE − AE": gap[order].round(3),
    }
    st.caption("Every pair, sorted by VAE − AE lowest confidence (click a header to re-sort); "
               "pick a row to see its frames above.")  # fmt: skip
    st.dataframe(table, key="cmp_table", on_select=picked_row, selection_mode="single-row",
                 hide_index=True, height=280)  # fmt: skip
    c1, c2, _ = st.columns([1, 1, 3])
    c1.number_input("Pairs", 20, 1000, step=20, key="cmp_n_pairs")
    c2.number_input("Pair seed", 0, 10_000, key="cmp_pair_seed")


preset_note()
{"atlas": show_atlas, "samples": show_samples, "pairs": show_pairs}[view]()
ui.write_url_state(FIELDS, "cmp")
