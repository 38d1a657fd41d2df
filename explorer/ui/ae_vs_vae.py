"""The AE vs VAE page: what is compared, the findings that hold under the protocol, the
presets, and the views (explorer.ui.ae_vs_vae_views) over the pair and reader chosen.

The page (pages/0_AE_vs_VAE.py) picks the pair, the view and the reader and calls
:func:`show` with a :class:`Comparison`. Every figure comes from explorer.ui.studies (shipped,
cached or queued results) and bench/results/smoothness.json (explorer.findings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer import compare, findings, urlstate
from explorer.checkpoints import Checkpoint
from explorer.ui import cache, display, studies

VIEWS = dict(
    findings="What holds", atlas="Latent atlas", samples="Samples from N(0, I)", pairs="Many pairs"
)
PAIR_LABELS = {"2d": "d = 2", "16d": "d = 16"}
READERS = {"a": "classifier", "b": "classifier_mlp"}
PRESET_TITLES = {
    "hole": "A hole in the AE",
    "typical": "A typical pair",
    "ae_wins": "Where the AE wins",
    "prior": "Sampling the prior",
}
OVERLAYS = {"coverage": "Far from every training code", "reader": "The reader's blends and garbage"}
FIELDS = [
    urlstate.Field("cmp_pair", "pair", "2d", urlstate.choice(list(PAIR_LABELS))),
    urlstate.Field("cmp_view", "view", "findings", urlstate.choice(list(VIEWS))),
    urlstate.Field("cmp_reader", "reader", "a", urlstate.choice(list(READERS))),
    urlstate.Field("cmp_preset", "preset", None, urlstate.choice(tuple(PRESET_TITLES))),
    urlstate.Field("cmp_n_pairs", "pairs", 200, urlstate.integer(20, 1000)),
    urlstate.Field("cmp_pair_seed", "pair_seed", 0, urlstate.integer(0, 10_000)),
    urlstate.Field("cmp_selected", "selected", None, urlstate.integer(0, 999)),
    urlstate.Field("cmp_sample_seed", "seed", 0, urlstate.integer(0, 10_000)),
    urlstate.Field("cmp_window", "window", "own", urlstate.choice(list(compare.ATLAS_WINDOWS))),
    urlstate.Field("cmp_overlay", "overlay", "coverage", urlstate.choice(list(OVERLAYS))),
    urlstate.Field("cmp_point", "z", None, urlstate.floats(2, -100, 100), urlstate.dump_floats),
]


@dataclass(frozen=True)
class Comparison:
    """One AE/VAE pair on screen: its name (``"2d"``, ``"16d"``), the two checkpoints (AE
    first), the reader shown (its file name) and the held-out digits' labels."""

    pair: str
    names: tuple[str, str]
    ckpts: dict[str, Checkpoint]
    reader: str
    labels: np.ndarray

    @property
    def ae(self) -> str:
        return self.names[0]

    @property
    def vae(self) -> str:
        return self.names[1]

    @property
    def reader_label(self) -> str:
        return studies.READER_LABELS[self.reader]


def comparison(pair: str, reader_key: str) -> Comparison | None:
    """The pair's checkpoints loaded, or None after a clear error for one that is not."""
    names = compare.PAIRS[pair]
    ckpts = {name: cache.load_or_explain(name) for name in names}
    if any(c is None for c in ckpts.values()):
        return None
    reader = READERS[reader_key]
    if reader not in studies.readers():
        reader = next(iter(studies.readers()), None)
        if reader is None:
            st.error("No reader (checkpoints/classifier*.safetensors) loads.")
            return None
    labels = cache.held_out(ckpts[names[1]])[1]
    return Comparison(pair, names, ckpts, reader, labels)


def pair_changed() -> None:
    """A preset (and its chosen pair) belongs to the pair it was chosen on."""
    st.session_state["cmp_preset"] = None
    st.session_state["cmp_selected"] = None


# ---- Presets -----------------------------------------------------------------------------------


def paths(cmp: Comparison) -> tuple[dict, dict] | None:
    """Both models' study of the pairs the settings name, or None while it is queued."""
    ss = st.session_state
    n_pairs, seed = int(ss["cmp_n_pairs"]), int(ss["cmp_pair_seed"])
    found = studies.paths([cmp.ckpts[name] for name in cmp.names], n_pairs, seed)
    return None if found is None else (found[0], found[1])


def gap(cmp: Comparison, study: tuple[dict, dict]) -> np.ndarray:
    """Per pair, VAE − AE lowest confidence between a and b, as the shown reader reads it."""
    ae, vae = (s[f"{cmp.reader}:top"][:, 1:-1].min(1) for s in study)
    return vae - ae


def apply_preset(key: str) -> None:
    """Open the view a preset names, with its pair (or samples) chosen."""
    ss = st.session_state
    ss["cmp_preset"] = key
    if key == "prior":
        ss["cmp_view"] = "samples"
        return
    cmp = comparison(ss["cmp_pair"], ss["cmp_reader"])
    study = paths(cmp) if cmp is not None else None
    if study is not None:
        ss["cmp_selected"] = compare.presets(gap(cmp, study))[key].index
        ss["cmp_view"] = "pairs"


def preset_buttons() -> None:
    for (key, title), column in zip(PRESET_TITLES.items(), st.columns(4), strict=True):
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
    if preset in ("hole", "typical", "ae_wins") and selected is not None:
        study = paths(cmp)
        if study is None:
            return
        chosen = compare.presets(gap(cmp, study))
        if chosen[preset].index == selected:
            n = len(study[0]["pairs"])
            st.info(
                f"**{chosen[preset].title}** ({cmp.reader_label}): {chosen[preset].rule}, among "
                f"{n} random held-out pairs of different digits. Of all of them, the AE dips at "
                f"least 0.1 below the VAE in {findings.percent(chosen['hole'].share)}, the VAE "
                f"below the AE in {findings.percent(chosen['ae_wins'].share)}, and "
                f"{findings.percent(chosen['typical'].share)} lie within 0.1: the boxes below "
                "show every pair."
            )
    elif preset == "prior" and view == "samples":
        st.info(
            "**Sampling the prior.** Both models decode the same 1,000 codes drawn from N(0, I) "
            "(the seed below), and the AE also codes from a Gaussian fitted to its codes. Nothing "
            "is picked: every sample counts."
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
            r"\text{read as a digit} \iff \max_k p(k \mid \hat{x}) \ge 0.9",
            "Two readers, a CNN and an MLP chosen on real validation digits only (never on any "
            "model's decodes), read every decoded image: a frame that no digit claims is a "
            "blend when its top two digits reach 0.9 together, else garbage. Other measures "
            "need no reader: pixel jumps along a path, whether samples land near any code the "
            "decoder was trained on, and the strokes' shape (Morpho-MNIST). Every claim is "
            "measured over every combination of training seed, set of pairs and samples and "
            "reader (`python -m bench.smoothness`; the findings view says how many): robust "
            "when the VAE wins beyond the interval in every combination, reversed when the AE "
            "does, mixed otherwise.",
            fold=False,  # already inside an expander
        )


# ---- What holds --------------------------------------------------------------------------------


def show_findings(cmp: Comparison) -> None:
    """Every measure of the pair, robust findings first, with the bundled models' figures as
    the shown reader reads them (reader-free measures: the same for both readers)."""
    results = findings.load()
    shas = {name: cmp.ckpts[name].sha256 for name in cmp.names}
    if results is None or not findings.current(results, shas):
        st.warning(
            "The protocol's results are not for these checkpoints: run "
            "`python -m bench.smoothness` to measure them (`--protocol` adds training seeds 1 "
            "and 2, from `checkpoints/train_seeds.sh`)."
        )
        return
    reader_tag = cmp.reader
    rows = []
    for found in findings.findings(results, cmp.pair):
        shown = found.shown.get(reader_tag) or found.shown.get("none")
        if shown is None:
            continue
        label = found.measure.label.replace("|", r"\|")  # "|Δ pixel|" inside a table cell
        rows.append(
            f"| **{found.verdict}** | {label}"
            + (
                f", {findings.COMPARISONS[found.comparison]}"
                if found.measure.on == "samples"
                else ""
            )
            + f" | {findings.quote(shown['ae'], found.measure)} | "
            f"{findings.quote(shown['vae'], found.measure)} | {found.counts} |"
        )
    header = f"| verdict | measure | {cache.label(cmp.ae)} | {cache.label(cmp.vae)} | over |"
    st.markdown("\n".join([header, "|---|---|---|---|---|", *rows]))
    st.caption(
        f"Figures: the bundled models on the first set of 200 pairs or 1,000 samples, read by "
        f"{cmp.reader_label} where a reader is needed (95 % intervals). Verdicts: over "
        f"{findings.design(results)} (readers only where the measure needs one)."
    )
