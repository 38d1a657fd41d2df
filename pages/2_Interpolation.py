"""Interpolation: decode the path between two codes, for the AE and VAE side by side."""

import functools

import streamlit as st
import torch

from explorer import images, latent, plots, ui, urlstate, views
from explorer.ui import browser_views, controls

ui.page_setup("Interpolation")
st.title("Interpolation")
ui.formula(
    [
        r"w^* = \lambda a + (1-\lambda)\, b",
        r"\text{slerp: } w^* = \frac{\sin(\lambda\Omega)}{\sin\Omega} a "
        r"+ \frac{\sin((1-\lambda)\Omega)}{\sin\Omega} b",
    ],
    "λ = 1 gives a, λ = 0 gives b. Each model encodes the same two digits itself and decodes the "
    "points in between. A smooth latent space changes the image a little at every step and keeps "
    "the classifier confident; gaps show up as jumps and as frames no digit class claims. Spherical "
    "interpolation (Ω: the angle between a and b) keeps Gaussian codes at a typical norm.",
)

PAIRS = {
    "16d": ("ae", "vae"),
    "2d": ("ae2d", "vae2d"),
}  # AE and VAE that differ only in the objective
SOURCES = {"digits": "Two held-out digits", "seeds": "Two seeds", "draw": "A drawing and a digit",
           "map": "Map selection"}  # fmt: skip
FIELDS = [
    urlstate.Field("ip_models", "pair", "16d", urlstate.choice(list(PAIRS))),
    urlstate.Field("ip_source", "ends", SOURCES["digits"], *urlstate.named(SOURCES)),
    urlstate.Field("map_pair", "rows", None, urlstate.integers(2, 0, 100_000),
                   lambda rows: ",".join(map(str, rows))),
    *ui.digit_fields("ip_a", 1, "a_"),
    *ui.digit_fields("ip_b", 7, "b_"),
    urlstate.Field("ip_code_seed_a", "seed_a", 1, urlstate.integer(0, 1_000_000)),
    urlstate.Field("ip_code_seed_b", "seed_b", 2, urlstate.integer(0, 1_000_000)),
    urlstate.Field("ip_frames", "frames", 11, urlstate.integer(3, 25)),
    urlstate.Field("ip_mode", "mode", "linear", urlstate.choice(["linear", "spherical"])),
    urlstate.Field("ip_lam", "lam", 0.5, urlstate.number(0.0, 1.0), urlstate.dump_number),
    urlstate.Field("ip_seed_a", "gan_a", 1, urlstate.integer(0, 1_000_000)),
    urlstate.Field("ip_seed_b", "gan_b", 2, urlstate.integer(0, 1_000_000)),
]  # fmt: skip
ui.url_state(FIELDS, "ip")
settings, stage = ui.stage()
with settings:
    pair_choice = st.radio("Models", list(PAIRS), horizontal=True, key="ip_models",
                           format_func=lambda p: f"AE and VAE, d = {p[:-1]}")  # fmt: skip
    encoders = [n for n in ui.available(("ae", "vae")) if n in PAIRS[pair_choice]]
    ref = ui.load_or_explain(encoders[0]) if encoders else None
    classifier = ui.load_or_explain("classifier")
    if ref is None:
        st.stop()
    pixels, labels = ui.held_out(ref)

    pair = st.session_state.get("map_pair")
    if pair is not None and max(pair) >= len(labels):  # a stale link: rows this split lacks
        st.warning(f"`rows={pair[0]},{pair[1]}` ignored (only {len(labels)} held-out digits).")
        pair = st.session_state["map_pair"] = None
    sources = [SOURCES["digits"], SOURCES["seeds"], SOURCES["draw"]] + (
        [SOURCES["map"]] if pair else []
    )
    if st.session_state["ip_source"] not in sources:
        st.session_state["ip_source"] = sources[0]
    source = st.radio("Endpoints", sources, horizontal=True, key="ip_source")
    seeds, drawn = None, None
    if source == SOURCES["draw"]:
        st.caption("a: the digit you draw (made into a 28×28 digit as MNIST's were)")
        drawn = browser_views.draw_digit("ip_draw")
        row_b = ui.pick_digit(labels, "ip_b", "b", default=7)
        if drawn is None:
            st.stop()
    elif source == "Map selection":
        row_a, row_b = pair
        st.caption(f"From the Latent map: held-out #{row_a} (a) and #{row_b} (b).")
    elif source == "Two seeds":
        c1, c2 = st.columns(2)
        seeds = (int(c1.number_input("Seed a", 0, 1_000_000, key="ip_code_seed_a")),
                 int(c2.number_input("Seed b", 0, 1_000_000, key="ip_code_seed_b")))  # fmt: skip
        st.caption(
            "Each model draws a and b from its own prior (the AE: a Gaussian fitted to its codes)."
        )
    else:
        c1, c2 = st.columns(2)
        with c1:
            row_a = ui.pick_digit(labels, "ip_a", "a", default=1)
        with c2:
            row_b = ui.pick_digit(labels, "ip_b", "b", default=7)
            if row_b == row_a:
                st.caption("Pick a different digit for b.")
    c1, c2 = st.columns(2)
    n = c1.slider("Frames", 3, 25, key="ip_frames")
    mode = c2.radio("Mode", ["linear", "spherical"], horizontal=True, key="ip_mode")
models = {name: ckpt for name in encoders if (ckpt := ui.load_or_explain(name)) is not None}
if seeds is None:
    a_img = drawn.unsqueeze(0) if drawn is not None else pixels[row_a : row_a + 1]
    b_img = pixels[row_b : row_b + 1]
    ends = {
        name: (views.encode(c.model, a_img)[0], views.encode(c.model, b_img)[0])
        for name, c in models.items()
    }
else:
    ends = {name: tuple(c.model.sample(1, torch.Generator().manual_seed(s))[0] for s in seeds)
            for name, c in models.items()}  # fmt: skip
LAMBDAS = [round(1 - i / 100, 2) for i in range(101)]  # 1.00 (a) … 0.00 (b)


def set_lam(values: list[float]) -> None:
    st.session_state["ip_lam"] = round(float(values[0]), 2)


@functools.cache  # a new function each full run: decoded once per endpoints and mode, not per λ
def lambda_films() -> list[str]:
    """Each model's λ filmstrip, as one sprite per model."""
    return [
        images.sprite(views.lambda_frames(c.model, *ends[name], controls.FILM_FRAMES, mode))
        for name, c in models.items()
    ]


def lambda_control(lam: float, exact: list[str] | None, browser: dict | None) -> bool:
    """λ's live control; its filmstrips come with it on the server path (the same for every λ)."""
    return controls.live_control(
        "ip_live_control",
        # reverse: λ = 1 (a) on the left, as in the strips and charts
        [{"label": "λ", "low": 0.0, "high": 1.0, "step": 0.01, "value": lam, "reverse": True}],
        [ui.label(name) for name in models],
        exact,
        set_lam,
        frames=None if browser else [lambda_films()],
        browser=browser,
    )


@st.fragment
def browser_lambda(at: float, exact: list[str] | None, browser: dict) -> bool:
    """λ's live control when the browser decodes, in a fragment of its own: a release reruns
    only the control, w* in session state and the URL; the browser already shows both images.
    ``at`` and ``exact`` are what the page was drawn with. A release the browser did not show
    (its runtime was not ready yet) or a runtime that failed reruns the whole page instead."""
    lam = float(st.session_state["ip_lam"])
    released = lam != at  # since the page was drawn
    controls.rerun_page_unless_shown("ip_live_control", released)
    shown = lambda_control(lam, None if released else exact, browser)
    if released:  # the page's own run stores w* and writes the URL otherwise
        for name in models:
            st.session_state[f"ip_code_{name}"] = latent.interpolate(
                *ends[name], lam, mode
            ).tolist()
        ui.write_url_state(FIELDS, "ip")
    return shown


@st.fragment
def at_lambda() -> None:
    """The λ control and w* of each model; moving λ reruns only this part of the page."""
    lam = float(st.session_state["ip_lam"])
    points = {name: latent.interpolate(*ends[name], lam, mode) for name in models}
    live = st.toggle("Live dragging", value=True, key="ip_live",
                     help="Both images follow the λ slider while you drag; turn off for a standard slider.")  # fmt: skip
    browser = controls.browser_decoding("ip_live_control", [
        {"decoder": controls.decoder_url(name), "a": ends[name][0].tolist(),
         "b": ends[name][1].tolist(), "mode": mode} for name in models]) if live else None  # fmt: skip
    # A release from a browser that decodes: it shows both images, Python stores λ.
    in_browser = browser is not None and controls.browser_shows("ip_live_control")
    at_lam = {} if in_browser else {name: views.decode(c.model, points[name])[0]
                                     for name, c in models.items()}  # fmt: skip
    exact = None if in_browser else [images.data_url(images.to_uint8(at_lam[n])) for n in models]
    if live and browser is not None:  # a release reruns the control alone (below)
        live = browser_lambda(lam, exact, browser)
    elif live:
        live = lambda_control(lam, exact, None)
    if not live:  # a select slider, because it can run from λ = 1 on the left to 0
        st.session_state["ip_lambda"] = lam
        st.select_slider("λ", LAMBDAS, key="ip_lambda", format_func=lambda v: f"{v:.2f}",
                         on_change=lambda: set_lam([st.session_state["ip_lambda"]]))  # fmt: skip
    st.caption("a (λ = 1) is on the left of the λ slider, the strips and the charts; b (λ = 0) "
               "on the right.")  # fmt: skip
    for name, column in zip(models, st.columns(max(len(models), 1)), strict=False):
        with column:
            if not live:  # the live control's canvases show w* already
                ui.show_digit(at_lam[name], f"{ui.label(name)}: w* at λ = {lam:.2f}",
                              ui.scale(images.DISPLAY_SCALE, 10))  # fmt: skip
            st.session_state[f"ip_code_{name}"] = points[name].tolist()
    ui.write_url_state(FIELDS, "ip")  # here too: moving λ reruns only this fragment


with stage:
    at_lambda()

clf = classifier.model if classifier else None
paths = {name: views.strip(c.model, *ends[name], n, mode, clf) for name, c in models.items()}
change_axis = (0, 1.05 * max((float(p.max_change.max()) for p in paths.values()), default=1.0))
for (name, path), column in zip(paths.items(), st.columns(max(len(models), 1)), strict=False):
    with column:  # the same y-axes side by side, so the models compare at a glance
        st.subheader(ui.label(name))
        ui.show_strip(path.frames, "a → b")
        st.session_state[f"ip_path_{name}"] = path.codes.tolist()
        st.plotly_chart(plots.smoothness(path.lams, {"max": path.max_change, "mean": path.mean_change},
                                         "pixel change between frames", "|Δ pixel|", change_axis),
                        key=f"ip_s_{name}")  # fmt: skip
        if clf is not None:
            st.plotly_chart(plots.smoothness(path.lams, {"confidence": path.confidence},
                                             "classifier confidence", "p(top class)", (0, 1.02)),
                            key=f"ip_c_{name}")  # fmt: skip
            st.caption("Classifier reads: " + " ".join(str(d) for d in path.labels))
        d1, d2 = st.columns(2)
        d1.download_button("Strip (PNG)", images.png_bytes(images.grid(path.frames, ncol=n), 3),
                           f"{name}_strip.png", "image/png", key=f"ip_png_{name}")  # fmt: skip
        d2.download_button("Animation (GIF)", images.gif_bytes(path.frames, 4), f"{name}_path.gif",
                           "image/gif", key=f"ip_gif_{name}")  # fmt: skip

st.page_link("pages/0_AE_vs_VAE.py", label="One pair proves little: compare AE and VAE over 200 "
             "pairs, with intervals", icon=":material/compare:")  # fmt: skip

gan = ui.available(("gan",))
if gan and (ckpt := ui.load_or_explain(gan[0])):
    st.subheader(ui.label(gan[0]) + ": between two seeds")
    c1, c2 = st.columns(2)
    seed_a = int(c1.number_input("Seed a", 0, 1_000_000, key="ip_seed_a"))
    seed_b = int(c2.number_input("Seed b", 0, 1_000_000, key="ip_seed_b"))
    a = ckpt.model.sample(1, torch.Generator().manual_seed(seed_a))[0]
    b = ckpt.model.sample(1, torch.Generator().manual_seed(seed_b))[0]
    path = views.strip(ckpt.model, a, b, n, mode, clf)
    ui.show_strip(path.frames, f"seed {seed_a} (a) → seed {seed_b} (b), {mode}")
    st.caption(f"Mean pixel change per step: {path.mean_change.mean():.3f} on average, "
               f"{path.mean_change.max():.3f} at most.")  # fmt: skip
    d1, d2 = st.columns(2)
    d1.download_button("Strip (PNG)", images.png_bytes(images.grid(path.frames, ncol=n), 3),
                       "gan_strip.png", "image/png", key="ip_png_gan")  # fmt: skip
    d2.download_button("Animation (GIF)", images.gif_bytes(path.frames, 4), "gan_path.gif",
                       "image/gif", key="ip_gif_gan")  # fmt: skip

ui.write_url_state(FIELDS, "ip")
