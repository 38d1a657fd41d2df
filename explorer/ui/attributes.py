"""The Latent sliders page's attribute sliders (issue 25): "thinner ↔ thicker", "less ↔ more
slant", … each moving the current code along that model's direction for the attribute
(explorer/attributes.py), decoded live in the browser like the latent sliders; the attributes
measured on release with each reader's class; how well each direction works, measured
(bench/results/attributes.json); and the same request applied to the AE's, the VAE's and the
GAN's version of one digit.

State: the page's code (``SliderPage.truth``, the latent sliders' values) is the start of every
edit; the attribute sliders' values (``sl_edit_<model>``, in attribute units) are the change asked
for on top of it. Switching back to the latent sliders folds the edit into the code.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import (
    attribute_views,
    attributes,
    images,
    latent,
    metrics,
    urlstate,
    views,
)
from explorer.ui import cache, controls, display, setup, state

NAMES = attributes.NAMES
MODES = {"latent": "Latent coordinates", "attributes": "Attributes"}
MODE_KEY = "sl_by"
ASK_KEY = "sl_ask"
ZERO = list(attribute_views.ZERO)
ENDS = [list(attributes.WORDS[n]) for n in NAMES]  # "thinner" … "thicker"


def _edit_key(name: str) -> str:
    return f"sl_edit_{name}"


def fields(name: str) -> list[urlstate.Field]:
    """The URL fields of the attribute view, after the latent sliders' own."""
    views_ = attribute_views
    ask = ("thickness", views_.DEFAULT_ASK["thickness"])
    return [
        urlstate.Field(MODE_KEY, "sliders", MODES["latent"], *urlstate.named(MODES)),
        urlstate.Field(_edit_key(name), "edit", ZERO, views_.parse_edit, views_.dump_edit),
        urlstate.Field(ASK_KEY, "ask", ask, views_.parse_ask, views_.dump_ask),
    ]


@st.cache_resource(show_spinner="Fitting this model's attribute directions (once per model)…")
def directions(name: str, sha: str) -> attributes.Directions:
    """A model's attribute directions, from the disk cache or fitted now (see load_or_fit)."""
    return attributes.load_or_fit(cache.load(name), cache.CACHE_DIR)


@st.cache_data(show_spinner=False, max_entries=1)
def _results(mtime: float) -> dict | None:
    return attributes.read_results()


def results() -> dict | None:
    """bench.attributes's results (read again when the file changes)."""
    path = attributes.RESULTS
    return _results(path.stat().st_mtime if path.is_file() else 0.0)


def readers() -> dict[str, torch.nn.Module]:
    """Every bundled reader (``classifier*``) that loads, by name."""
    found = {}
    for name in cache.available((attributes.READER_PREFIX,)):
        try:
            found[name] = cache.load(name).model
        except Exception:  # a reader that cannot load is left out; Home says why
            continue
    return found


def read(image: torch.Tensor) -> dict[str, tuple[int, float]]:
    """Each reader's (digit, confidence) for one image (1, 28, 28)."""
    out = {}
    for name, reader in readers().items():
        digit, p = metrics.classifier_confidence(reader, image[None])
        out[name] = (int(digit[0]), float(p[0]))
    return out


# ---- Mode, and the edit on top of the code ------------------------------------------------------


def pick_mode(page) -> bool:
    """The "Sliders" choice (latent coordinates or attributes); True for attributes. Leaving the
    attribute sliders folds their edit into the code, so the latent sliders start from it."""
    st.radio(
        "Sliders",
        list(MODES.values()),
        horizontal=True,
        key=MODE_KEY,
        help="Attributes: sliders that make the digit thicker, more slanted, wider, taller… "
        "by moving the code along this model's direction for each (a linear probe).",
    )
    by_attribute = st.session_state[MODE_KEY] == MODES["attributes"]
    if not by_attribute and any(st.session_state.get(_edit_key(page.name)) or ()):
        fold(page)
    return by_attribute


def fold(page) -> None:
    """Make the edited code the page's code (the latent sliders' values) and clear the edit."""
    found = directions(page.name, page.ckpt.sha256)
    base = page.space.to_code(torch.tensor(st.session_state[page.truth]))
    page.go_to(found.edit(base[None], st.session_state[_edit_key(page.name)])[0])
    st.session_state[_edit_key(page.name)] = list(ZERO)


def current_edit(page, found: attributes.Directions, from_link: bool) -> list[float]:
    """The attribute sliders' values, clamped into their ranges; cleared when the code under
    them changed (Reset, Random, another start), unless a link set both."""
    ss, key, base_key = st.session_state, _edit_key(page.name), f"sl_edit_base_{page.name}"
    if from_link or ss.get(base_key) is None:
        ss[base_key] = list(ss[page.truth])  # a link's edit applies to the link's code
    if ss.get("sl_reset") or ss[base_key] != ss[page.truth]:
        ss[key], ss[base_key] = list(ZERO), list(ss[page.truth])
    bounds = [found.bounds(j) for j in range(len(NAMES))]
    edit = [min(max(float(v), lo), hi) for v, (lo, hi) in zip(ss[key], bounds, strict=True)]
    ss[key] = edit
    return edit


def edit_space(page, found: attributes.Directions) -> latent.SliderSpace:
    """The attribute sliders as a slider space: the page's code plus values @ (code change per
    attribute unit), each slider ±3 SDs of the codes along its direction."""
    base = page.space.to_code(torch.tensor(st.session_state[page.truth])).double()
    bounds = np.array([found.bounds(j) for j in range(len(NAMES))])
    return latent.SliderSpace(
        base.float(),
        torch.as_tensor(found.per_attribute(), dtype=torch.float32),
        torch.as_tensor(bounds[:, 0], dtype=torch.float32),
        torch.as_tensor(bounds[:, 1], dtype=torch.float32),
        [attributes.label(n) for n in NAMES],
    )


def _bounds(space: latent.SliderSpace) -> list[tuple[float, float]]:
    """Each slider's range on its 0.01 grid, as Python floats (its float32 copy is off-grid)."""
    return [
        (round(float(lo), 2), round(float(hi), 2))
        for lo, hi in zip(space.low, space.high, strict=True)
    ]


def live_spec(page, space: latent.SliderSpace, write_url) -> controls.LiveSpec:
    """The attribute sliders' live control: the browser decodes origin + valuesᵀ·basis every
    frame; a release reruns the page, which measures the image (:func:`readout`)."""
    key = _edit_key(page.name)

    def sliders(values: list[float]) -> list[dict]:
        return [
            {"label": label, "low": lo, "high": hi, "step": 0.01, "value": v, "ends": ends}
            for label, (lo, hi), v, ends in zip(
                space.labels, _bounds(space), values, ENDS, strict=True
            )
        ]

    def store(values: list[float]) -> None:
        st.session_state[key] = [float(v) for v in values]

    browser = {
        "decoder": controls.decoder_url(page.name),
        "origin": space.origin.tolist(),
        "basis": space.basis.tolist(),
    }
    return controls.LiveSpec(
        key=f"sl_attr_control_{page.name}",
        values=lambda: list(st.session_state[key]),
        sliders=sliders,
        channels=["edited (live)"],
        browser=[browser],
        decode=lambda values: [views.decode(page.model, space.to_code(torch.tensor(values)))[0]],
        on_change=store,
        after_release=write_url,
        changes_page=lambda old, new: True,  # the page measures every release
    )


# ---- The view -----------------------------------------------------------------------------------


def explore(page, fields: list[urlstate.Field], from_link: bool = False) -> torch.Tensor:
    """The attribute view: the sliders, what they did and how well they work; returns the
    edited image (explorer.ui.same_request shows the same request in three models).
    ``from_link``: this run applied a link's settings (its edit is on its code)."""
    found = directions(page.name, page.ckpt.sha256)
    edit = current_edit(page, found, from_link)
    space = edit_space(page, found)
    write_url = lambda: state.write_url_state(fields, "sl")  # noqa: E731
    spec = live_spec(page, space, write_url)
    mounted = controls.mount(spec, st.session_state.get("sl_live", True))
    if not mounted.shown:
        _standard_sliders(page, space)
        display.show_digit(mounted.images[0], "edited", setup.scale(images.DISPLAY_SCALE, 10))
    before = views.decode(page.model, space.origin)[0]
    after = views.decode(page.model, space.to_code(torch.tensor(edit)))[0]
    readout(page, found, before, after, edit)
    explain(page)
    comparison(page, found)
    state.write_url_state(fields, "sl")
    if mounted.shown and not mounted.browser:
        films = lambda: _filmstrips(page, space, edit)  # noqa: E731
        controls.live_filmstrips(spec.key, edit, films)
    return after


def _standard_sliders(page, space: latent.SliderSpace) -> None:
    key = _edit_key(page.name)

    def set_one(i: int, widget: str) -> None:
        st.session_state[key][i] = float(st.session_state[widget])

    cols = st.columns(3)
    for i, (label, (less, more)) in enumerate(zip(space.labels, ENDS, strict=True)):
        label = f"{label}: {less} ↔ {more}"
        widget = f"sl_attr_{page.name}_{i}"
        st.session_state[widget] = st.session_state[key][i]
        low, high = _bounds(space)[i]
        cols[i % 3].slider(
            label, low, high, step=0.01, key=widget, on_change=set_one, args=(i, widget)
        )


def _filmstrips(page, space: latent.SliderSpace, edit: list[float]) -> list[list[str]]:
    films = views.filmstrips(page.model, space, torch.tensor(edit), controls.FILM_FRAMES)
    return [[images.sprite(film)] for film in films]


def readout(page, found, before: torch.Tensor, after: torch.Tensor, edit: list[float]) -> None:
    """The six attributes measured on the image before and after the edit, what was asked and
    what came, and each reader's class of both."""
    measured = attributes.measure(torch.stack([before, after]))
    image, text = st.columns([1, 3])
    with image:
        display.show_digit(before, "before the attribute sliders", setup.scale(4, 5))
    with text:
        st.markdown(attribute_views.readout(measured, edit))
        was, now = read(before), read(after)
        for name in now:
            st.caption(attribute_views.reads_text(cache.label(name), was[name], now[name]))
    st.caption(
        "Measured when you let go, on the image decoded at the sliders' values (Morpho-MNIST's "
        "measures; slant in degrees, positive when the top leans right). 'Before' is the decode "
        f"of the code the sliders started from. This model's directions: {found.source}."
    )


def explain(page) -> None:
    gan = (
        " The GAN has no encoder: its line is fitted to attributes measured on its own samples, "
        f"regressed on z. Its latent sliders are its {len(page.space.labels)} principal "
        "directions: going back to them keeps only the part of an edit along those."
    )
    display.formula(
        [
            r"\hat a(z) = w^\top z + b, \quad u = \Sigma w / \lVert \Sigma w \rVert, "
            r"\quad \sigma_u^2 = u^\top \Sigma u",
            r"z' = z + \frac{\Delta a}{w^\top \sigma_u u}\, \sigma_u u",
        ],
        "A straight line through this model's codes predicts each attribute (a ridge probe w, "
        "fitted on its training digits). Each slider moves the code along Σw, the way the codes "
        "move as the attribute grows (Σ: the codes' covariance), by as much as the line says the "
        "change asked (Δa) needs. One SD: σ_u, the codes' spread along that direction; each "
        "slider spans ±3 of them." + ("" if page.model.has_encoder else gan),
    )


def comparison(page, found: attributes.Directions) -> None:
    """How well this model's directions work (bench.attributes), and which model wins which
    attribute beyond the intervals."""
    st.subheader("How well each direction works")
    measured = results() or {}
    mine = measured.get("models", {}).get(page.name)
    current = mine is not None and mine["sha256"] == page.ckpt.sha256
    labels = {name: r["label"] for name, r in measured.get("readers", {}).items()}
    st.markdown(attribute_views.comparison(found, mine if current else None, labels))
    st.caption(
        "Held-out R²: the share of the attribute's spread over the model's test digits that the "
        "line predicts. One SD: the codes' spread along the direction. Then, over "
        f"{measured.get('digits', 200)} digits moved ±1 and ±2 SDs: the change measured per SD, "
        "how well it follows what the line asked (slope 1 and R² 1: exactly), how much the other "
        "five attributes move (in SDs of real digits, per SD) and how often each reader still "
        "reads the same digit. 95 % intervals. Where the line predicts little (R² near 0) its "
        "change per SD is near 0 too, and 'follows' divides by almost nothing: the model has no "
        "such direction."
    )
    if not current:
        st.caption(
            "The measured comparison on file is for another version of this checkpoint, or "
            "missing: `python -m bench.attributes` measures it."
        )
        return
    bundled = {n: cache.load(n).sha256 for n in cache.available() if n in measured["models"]}
    if all(measured["models"][n]["sha256"] == sha for n, sha in bundled.items()):
        st.markdown(
            "Which model wins, beyond the intervals (of every bundled model):\n"
            + "\n".join(attribute_views.verdicts(measured))
        )
