"""The Interpolation page's screen: the two endpoints (held-out digits, seeds, a drawing, or a
pair picked on another page), λ's live control with w* for both models, the strips and charts
along the path, and the GAN's strip between two seeds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import streamlit as st
import torch

from explorer import images, latent, plots, urlstate, views
from explorer.checkpoints import Checkpoint
from explorer.ui import browser_views, cache, controls, display, setup, state

PAIRS = {"16d": ("ae", "vae"), "2d": ("ae2d", "vae2d")}  # differ only in the objective
SOURCES = {
    "digits": "Two held-out digits",
    "seeds": "Two seeds",
    "draw": "A drawing and a digit",
    "map": state.PICKED_PAIR,
}
DEFAULT_DIGITS = (1, 7)  # a and b of a first visit


@functools.cache
def default_indices() -> tuple[int, int]:
    """Indices within their classes of a first visit's a (a 1) and b (a 7): the first held-out
    1 and 7 that the reader (checkpoints/classifier.safetensors) reads as themselves, so that a
    class sees the digits it chose (the first 7 is read as a 1). Derived from the digits and the
    reader once per server, never written down: the models are retrained. (0, 0) without them."""
    try:
        reader = cache.load("classifier").model
        pixels, labels = cache.held_out(cache.load(cache.available(("vae", "ae"))[0]))
    except Exception:  # no reader or no model: the page says so itself
        return 0, 0
    a, b = (views.first_read_as_itself(reader, pixels, labels, d) for d in DEFAULT_DIGITS)
    return a, b


FIELDS = [
    urlstate.Field("ip_models", "pair", "16d", urlstate.choice(list(PAIRS))),
    urlstate.Field("ip_source", "ends", SOURCES["digits"], *urlstate.named(SOURCES)),
    urlstate.Field(
        "map_pair",
        "rows",
        None,
        urlstate.integers(2, 0, 100_000),
        lambda rows: ",".join(map(str, rows)),
    ),
    *state.digit_fields("ip_a", DEFAULT_DIGITS[0], "a_", default_indices()[0]),
    *state.digit_fields("ip_b", DEFAULT_DIGITS[1], "b_", default_indices()[1]),
    urlstate.Field("ip_code_seed_a", "seed_a", 1, urlstate.integer(0, 1_000_000)),
    urlstate.Field("ip_code_seed_b", "seed_b", 2, urlstate.integer(0, 1_000_000)),
    urlstate.Field("ip_frames", "frames", 11, urlstate.integer(3, 25)),
    urlstate.Field("ip_mode", "mode", "linear", urlstate.choice(["linear", "spherical"])),
    urlstate.Field("ip_lam", "lam", 0.5, urlstate.number(0.0, 1.0), urlstate.dump_number),
    urlstate.Field("ip_seed_a", "gan_a", 1, urlstate.integer(0, 1_000_000)),
    urlstate.Field("ip_seed_b", "gan_b", 2, urlstate.integer(0, 1_000_000)),
]
LAMBDAS = [round(1 - i / 100, 2) for i in range(101)]  # 1.00 (a) … 0.00 (b)
CONTROL = "ip_live_control"


@dataclass(frozen=True)
class Ends:
    """Each model's two endpoint codes (a, b), the number of frames and the mode, and the two
    images they encode (None for seeds)."""

    models: dict[str, Checkpoint]
    codes: dict[str, tuple[torch.Tensor, torch.Tensor]]
    frames: int
    mode: str
    originals: tuple[torch.Tensor, torch.Tensor] | None = None


def pick_ends(pair: str) -> Ends:
    """The endpoint and path settings, drawn in the settings column; stops the page while a
    drawing is missing or no model loads."""
    encoders = [n for n in cache.available(("ae", "vae")) if n in PAIRS[pair]]
    ref = cache.load_or_explain(encoders[0]) if encoders else None
    if ref is None:
        st.stop()
    pixels, labels = cache.held_out(ref)
    picked = st.session_state.get("map_pair")
    if picked is not None and max(picked) >= len(labels):  # a stale link: rows this split lacks
        rows = f"{picked[0]},{picked[1]}"
        display.notice(urlstate.Notice("rows", rows, f"only {len(labels)} held-out digits"))
        picked = st.session_state["map_pair"] = None
    sources = [SOURCES["digits"], SOURCES["seeds"], SOURCES["draw"]]
    sources += [SOURCES["map"]] if picked else []
    if st.session_state["ip_source"] not in sources:
        st.session_state["ip_source"] = sources[0]
    source = st.radio("Endpoints", sources, horizontal=True, key="ip_source")
    seeds, drawn = None, None
    if source == SOURCES["draw"]:
        st.caption("a: the digit you draw (made into a 28×28 digit as MNIST's were)")
        drawn = browser_views.draw_digit("ip_draw", PAIRS[pair])
        row_b = state.pick_digit(labels, "ip_b", "b", default=DEFAULT_DIGITS[1])
        if drawn is None:
            state.write_url_state(FIELDS, "ip")  # a link to this view, before anything is drawn
            st.stop()
    elif source == SOURCES["map"]:
        row_a, row_b = picked
        origin = st.session_state.get("ip_origin") or "a link"
        st.caption(f"Picked on {origin}: held-out #{row_a} (a) and #{row_b} (b).")
    elif source == SOURCES["seeds"]:
        c1, c2 = st.columns(2)
        seed_a = int(c1.number_input("Seed a", 0, 1_000_000, key="ip_code_seed_a"))
        seed_b = int(c2.number_input("Seed b", 0, 1_000_000, key="ip_code_seed_b"))
        seeds = (seed_a, seed_b)
        st.caption(
            "Each model draws a and b from its own prior (the AE: a Gaussian fitted to its codes)."
        )
    else:
        c1, c2 = st.columns(2)
        with c1:
            row_a = state.pick_digit(labels, "ip_a", "a", default=DEFAULT_DIGITS[0])
        with c2:
            row_b = state.pick_digit(labels, "ip_b", "b", default=DEFAULT_DIGITS[1])
            if row_b == row_a:
                st.caption("Pick a different digit for b.")
    c1, c2 = st.columns(2)
    n = c1.slider("Frames", 3, 25, key="ip_frames")
    mode = c2.radio("Mode", ["linear", "spherical"], horizontal=True, key="ip_mode")
    models = {name: c for name in encoders if (c := cache.load_or_explain(name)) is not None}
    if seeds is not None:
        codes = {
            name: tuple(c.model.sample(1, torch.Generator().manual_seed(s))[0] for s in seeds)
            for name, c in models.items()
        }
        return Ends(models, codes, n, mode)
    a_img = drawn.unsqueeze(0) if drawn is not None else pixels[row_a : row_a + 1]
    b_img = pixels[row_b : row_b + 1]
    codes = {
        name: (views.encode(c.model, a_img)[0], views.encode(c.model, b_img)[0])
        for name, c in models.items()
    }
    return Ends(models, codes, n, mode, (a_img[0], b_img[0]))


def _set_lam(values: list[float]) -> None:
    st.session_state["ip_lam"] = round(float(values[0]), 2)


def _store_points(ends: Ends) -> None:
    """w* of each model at the current λ, for the Latent map's path overlay."""
    lam = float(st.session_state["ip_lam"])
    for name in ends.models:
        point = latent.interpolate(*ends.codes[name], lam, ends.mode)
        st.session_state[f"ip_code_{name}"] = point.tolist()


def live_spec(ends: Ends) -> controls.LiveSpec:
    """λ's live control: one slider, an image per model; its filmstrips (the same for every λ)
    go with it on the server path."""

    def decode(values: list[float]) -> list[torch.Tensor]:
        points = {n: latent.interpolate(*ends.codes[n], values[0], ends.mode) for n in ends.models}
        return [views.decode(c.model, points[n])[0] for n, c in ends.models.items()]

    @functools.cache  # decoded once per full run, not per λ
    def films() -> list[list[str]]:
        sprites = [
            images.sprite(
                views.lambda_frames(c.model, *ends.codes[n], controls.FILM_FRAMES, ends.mode)
            )
            for n, c in ends.models.items()
        ]
        return [sprites]

    def after_release() -> None:
        _store_points(ends)
        state.write_url_state(FIELDS, "ip")

    browser = [
        {"decoder": controls.decoder_url(n), "a": a.tolist(), "b": b.tolist(), "mode": ends.mode}
        for n, (a, b) in ends.codes.items()
    ]
    return controls.LiveSpec(
        key=CONTROL,
        values=lambda: [float(st.session_state["ip_lam"])],
        # reverse: λ = 1 (a) on the left, as in the strips and charts
        sliders=lambda values: [
            {
                "label": "λ",
                "low": 0.0,
                "high": 1.0,
                "step": 0.01,
                "value": values[0],
                "reverse": True,
            }
        ],
        channels=[cache.label(name) for name in ends.models],
        browser=browser,
        decode=decode,
        on_change=_set_lam,
        after_release=after_release,
        frames=films,
        frames_now=True,
    )


@st.fragment
def at_lambda(ends: Ends) -> None:
    """The λ control and w* of each model; moving λ reruns only this part of the page."""
    live = st.toggle(
        "Live dragging",
        value=True,
        key="ip_live",
        help="Both images follow the λ slider while you drag; turn off for a standard slider.",
    )
    mounted = controls.mount(live_spec(ends), live)
    if not mounted.shown:  # a select slider, because it can run from λ = 1 on the left to 0
        st.session_state["ip_lambda"] = float(st.session_state["ip_lam"])
        st.select_slider(
            "λ",
            LAMBDAS,
            key="ip_lambda",
            format_func=lambda v: f"{v:.2f}",
            on_change=lambda: _set_lam([st.session_state["ip_lambda"]]),
        )
    st.caption(
        "a (λ = 1) is on the left of the λ slider, the strips and the charts; b (λ = 0) on the "
        "right."
    )
    if not mounted.shown:  # the live control's canvases show w* already
        lam = float(st.session_state["ip_lam"])
        columns = st.columns(max(len(ends.models), 1))
        for name, image, column in zip(ends.models, mounted.images, columns, strict=False):
            with column:
                caption = f"{cache.label(name)}: w* at λ = {lam:.2f}"
                display.show_digit(image, caption, setup.scale(images.DISPLAY_SCALE, 10))
    _store_points(ends)
    state.write_url_state(FIELDS, "ip")  # here too: moving λ reruns only this fragment


def paths(ends: Ends, classifier: Checkpoint | None) -> None:
    """Both models' strips from a to b, with pixel change and confidence on shared y-axes."""
    clf = classifier.model if classifier else None
    found = {
        name: views.strip(c.model, *ends.codes[name], ends.frames, ends.mode, clf)
        for name, c in ends.models.items()
    }
    top = max((float(p.max_change.max()) for p in found.values()), default=1.0)
    change_axis = (0, 1.05 * top)
    for (name, path), column in zip(found.items(), st.columns(max(len(found), 1)), strict=False):
        with column:  # the same y-axes side by side, so the models compare at a glance
            st.subheader(cache.label(name))
            if ends.originals is None:
                display.show_strip(path.frames, "a → b")
            else:  # the digits chosen beside what the model makes of them
                caption = "a and b as written, at either end of the model's path a → b"
                display.show_strip(path.frames, caption, ends=ends.originals)
            st.session_state[f"ip_path_{name}"] = path.codes.tolist()
            change = {"max": path.max_change, "mean": path.mean_change}
            fig = plots.smoothness(
                path.lams, change, "pixel change between frames", "|Δ pixel|", change_axis
            )
            st.plotly_chart(fig, key=f"ip_s_{name}")
            if clf is not None:
                conf = {"confidence": path.confidence}
                fig = plots.smoothness(
                    path.lams, conf, "classifier confidence", "p(top class)", (0, 1.02)
                )
                st.plotly_chart(fig, key=f"ip_c_{name}")
                st.caption("Classifier reads: " + " ".join(str(d) for d in path.labels))
            downloads(path.frames, ends.frames, name)


def downloads(frames: torch.Tensor, n: int, name: str) -> None:
    d1, d2 = st.columns(2)
    strip = images.png_bytes(images.grid(frames, ncol=n), 3)
    d1.download_button("Strip (PNG)", strip, f"{name}_strip.png", "image/png", key=f"ip_png_{name}")
    gif = images.gif_bytes(frames, 4)
    d2.download_button(
        "Animation (GIF)", gif, f"{name}_path.gif", "image/gif", key=f"ip_gif_{name}"
    )


def gan_strip(ends: Ends, classifier: Checkpoint | None) -> None:
    """The GAN's path between two seeds (it has no encoder)."""
    gan = cache.available(("gan",))
    if not gan or (ckpt := cache.load_or_explain(gan[0])) is None:
        return
    st.subheader(cache.label(gan[0]) + ": between two seeds")
    c1, c2 = st.columns(2)
    seed_a = int(c1.number_input("Seed a", 0, 1_000_000, key="ip_seed_a"))
    seed_b = int(c2.number_input("Seed b", 0, 1_000_000, key="ip_seed_b"))
    a = ckpt.model.sample(1, torch.Generator().manual_seed(seed_a))[0]
    b = ckpt.model.sample(1, torch.Generator().manual_seed(seed_b))[0]
    clf = classifier.model if classifier else None
    path = views.strip(ckpt.model, a, b, ends.frames, ends.mode, clf)
    display.show_strip(path.frames, f"seed {seed_a} (a) → seed {seed_b} (b), {ends.mode}")
    st.caption(
        f"Mean pixel change per step: {path.mean_change.mean():.3f} on average, "
        f"{path.mean_change.max():.3f} at most."
    )
    downloads(path.frames, ends.frames, "gan")
