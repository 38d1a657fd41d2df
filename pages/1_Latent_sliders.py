"""Latent sliders: move one latent coordinate at a time and watch the decoded digit change."""

import dataclasses
import hashlib

import streamlit as st
import torch

from explorer import images, latent, ui, urlstate, views
from explorer.ui import browser_views, controls, uploads

ui.page_setup("Latent sliders")
st.title("Latent sliders")
ui.formula(
    r"\hat{x} = \sigma(\mathrm{decoder}(z)), \quad z = (z_0, \dots, z_{d-1})",
    "Every point z of the latent space decodes to an image. Each slider moves one coordinate "
    "(for the 100-d GAN: one principal direction of its prior). VAE sliders span ±3 around the "
    "N(0, I) prior; AE sliders span the 1st to 99th percentile of its training codes, because an "
    "AE has no prior and codes outside that range decode to noise.",
)

models = ui.available()
MODEL = urlstate.Field("keep_sl_model", "model", models[0] if models else None,
                       urlstate.choice(models))  # fmt: skip
ui.url_state([MODEL], "sl")  # the model first: the other fields depend on it
settings, stage = ui.stage()
with settings:
    name = ui.pick("Model", models, "sl_model", ui.label)
ckpt = ui.load_or_explain(name) if name else None
if ckpt is None:
    st.stop()
model, space = ckpt.model, ui.slider_space(name, ckpt.sha256)
pixels, labels = ui.held_out(ckpt)
SOURCES = {"digit": "Held-out digit", "random": "Random sample", "upload": "Upload",
           "draw": "Draw"}  # fmt: skip
sources = list(SOURCES.values()) if model.has_encoder else ["Random sample"]
truth = f"sl_coeffs_{name}"  # the one copy of the slider values, shared by both controls
FIELDS = [
    MODEL,
    urlstate.Field(f"sl_source_{name}", "start", sources[0],
                   *urlstate.named({k: v for k, v in SOURCES.items() if v in sources})),
    *ui.digit_fields(f"sl_digit_{name}"),
    urlstate.Field(f"sl_seed_{name}", "seed", 0, urlstate.integer(0, 1_000_000)),
    urlstate.Field(truth, "z", None, urlstate.floats(len(space.labels), -100, 100),
                   urlstate.dump_floats),
    urlstate.Field(f"sl_dim_{name}", "sweep", 0, urlstate.integer(0, len(space.labels) - 1)),
    urlstate.Field("sl_grid", "grid", 15, urlstate.integer(5, 25)),
]  # fmt: skip
z_from_link = ui.url_state(FIELDS[1:], "sl") and st.session_state[truth] is not None

with settings:
    source = st.radio("Start from", sources, horizontal=True, key=f"sl_source_{name}")
    if source == "Held-out digit":
        row = ui.pick_digit(labels, f"sl_digit_{name}")
        start_image, start_code, origin = (
            pixels[row],
            views.encode(model, pixels[row : row + 1])[0],
            f"digit{row}",
        )
    elif source in ("Upload", "Draw"):
        if source == "Draw":
            # Presenting: the canvas on the wide stage, its reconstructions beside it rather
            # than wrapped below the fold of the narrow settings column.
            with stage if ui.presenting() else st.container():
                start_image = browser_views.draw_digit(f"sl_draw_{name}")
        else:
            start_image = uploads.upload_digit(f"sl_upload_{name}")
        if start_image is None:
            if source == "Upload":
                st.info("Upload a photo or drawing of a digit to start from its code.")
            st.stop()
        start_code = views.encode(model, start_image.unsqueeze(0))[0]
        origin = hashlib.sha256(start_image.numpy().tobytes()).hexdigest()[:12]
    else:
        seed = int(st.number_input("Seed", 0, 1_000_000, key=f"sl_seed_{name}"))
        start_code = model.sample(1, torch.Generator().manual_seed(seed))[0]
        start_image, origin = None, f"seed{seed}"

keys = [f"sl_{name}_{i}" for i in range(len(space.labels))]
control_key = f"sl_live_control_{name}"
start = space.from_code(start_code)  # never clipped: the sliders widen to hold it (below)


def bounds() -> tuple[list[float], list[float]]:
    """The sliders' bounds: the model's range, widened where the current code lies outside it."""
    return latent.covering_bounds(space, st.session_state[truth])


def clamp(i: int, value: float, lows: list[float], highs: list[float]) -> float:
    return min(max(round(float(value), 2), lows[i]), highs[i])


def set_coeffs(values: list[float]) -> None:
    """Values from a control, kept within the bounds it showed."""
    lows, highs = bounds()
    st.session_state[truth] = [clamp(i, v, lows, highs) for i, v in enumerate(values)]


def set_one(i: int, key: str) -> None:
    lows, highs = bounds()
    st.session_state[truth][i] = clamp(i, st.session_state[key], lows, highs)


def go_to(code: torch.Tensor) -> None:
    st.session_state[truth] = [round(float(v), 2) for v in space.from_code(code)]


with settings:
    if ui.presenting():  # a narrow column: buttons in a wrapping row, labels never cut off
        buttons = [st.container(horizontal=True)] * 3
    else:
        buttons = st.columns([1, 2, 2, 3] if ckpt.config.kind == "ae" else [1, 2, 5])
    reset = buttons[0].button("Reset", key="sl_reset")
    if z_from_link:  # a link's slider values win over its start
        st.session_state[f"sl_origin_{name}"] = origin
        st.session_state[f"sl_randomised_{name}"] = True
    if (
        reset
        or st.session_state.get(f"sl_origin_{name}") != origin
        or st.session_state.get(truth) is None
    ):
        st.session_state[f"sl_origin_{name}"] = origin
        st.session_state[f"sl_randomised_{name}"] = False
        go_to(start_code)
    if buttons[1].button("Random N(0, I)" if ckpt.config.kind == "ae" else "Random", key="sl_random",
                         help="A code drawn from the standard normal prior."):  # fmt: skip
        go_to(
            torch.randn(1, model.latent_dim)[0] if ckpt.config.kind == "ae" else model.sample(1)[0]
        )
        st.session_state[f"sl_randomised_{name}"] = True  # the start image is no longer the start
    if ckpt.config.kind == "ae" and buttons[2].button(
        "Random from the fitted Gaussian", key="sl_random_fitted",
        help="An AE has no prior: this draws from a Gaussian fitted to its training codes.",
    ):  # fmt: skip
        go_to(model.sample(1)[0])
        st.session_state[f"sl_randomised_{name}"] = True
    live = st.toggle("Live dragging", value=True, key="sl_live",
                     help="The digit follows the pointer while you drag; turn off for standard sliders.")  # fmt: skip


@st.fragment
def explore() -> None:
    """Everything that follows the sliders; a release reruns only this part of the page."""
    coeffs = torch.tensor(st.session_state[truth])
    z = space.to_code(coeffs)
    lows, highs = bounds()
    wide = dataclasses.replace(space, low=torch.tensor(lows), high=torch.tensor(highs))
    widened = [f"{space.labels[i]} (to {lows[i]:.2f}…{highs[i]:.2f})" for i in range(len(lows))
               if lows[i] < float(space.low[i]) - 1e-6 or highs[i] > float(space.high[i]) + 1e-6]  # fmt: skip
    # Decoding in the browser when it can: then no filmstrips (the server's main cost per drag).
    browser = controls.browser_decoding(control_key, [{"decoder": controls.decoder_url(name),
        "origin": space.origin.tolist(), "basis": space.basis.tolist()}]) if live else None  # fmt: skip
    # A release from a browser that decodes: it shows the exact image, Python stores the values.
    in_browser = browser is not None and controls.browser_shows(control_key)
    image = None if in_browser else views.decode(model, z)[0]
    if live and browser is not None:  # a release reruns the control alone (below)
        shown = browser_control(list(st.session_state[truth]), lows, highs, image, browser)
    else:
        shown = live and live_control(coeffs, image, lows, highs, browser)
    if not shown:
        sliders, _ = st.columns([3, 2])
        with sliders:
            cols = st.columns(4)
            for i, key in enumerate(keys):
                st.session_state[key] = st.session_state[truth][i]  # python floats, as the bounds
                cols[i % 4].slider(space.labels[i], lows[i], highs[i], step=0.01, key=key,
                                   on_change=set_one, args=(i, key))  # fmt: skip
    c1, c2, _ = st.columns([1, 1, 2])
    if not shown:  # the live control shows the decoded digit itself
        with c1:
            ui.show_digit(image, "decoded from the sliders", ui.scale(images.DISPLAY_SCALE, 10))
    if start_image is not None and not st.session_state.get(f"sl_randomised_{name}"):
        with c1 if shown else c2:
            ui.show_digit(start_image, "start image")
    if widened:
        st.caption(
            "This code lies outside the usual slider range, so these sliders were widened to "
            "hold it (nothing is clipped): " + ", ".join(widened) + "."
        )
    traversal(coeffs, wide, browser is not None and shown, in_browser)
    if model.latent_dim == 2 and ckpt.config.kind == "vae":
        manifold()
    ui.write_url_state(FIELDS, "sl")  # here: a release reruns only this fragment
    if shown and browser is None:
        controls.live_filmstrips(
            control_key, st.session_state[truth], lambda: filmstrips(coeffs, wide)
        )


@st.fragment
def browser_control(
    at: list[float],
    lows: list[float],
    highs: list[float],
    image: torch.Tensor | None,
    browser: dict,
) -> bool:
    """The live control when the browser decodes, in a fragment of its own: a release reruns
    only the control and the URL. The browser already shows the exact image and redraws the
    traversal itself, so the server re-sends nothing else (the start image, the traversal's
    heading and picker, the captions). ``at``, ``lows``, ``highs`` and ``image`` are the values
    the page was drawn with. When a release needs more than this part (the server's decode,
    because the runtime was not ready yet, or sliders whose widened range changes) or the
    runtime fails, the whole page reruns instead."""
    values = st.session_state[truth]
    released = values != at  # since the page was drawn
    controls.rerun_page_unless_shown(control_key, released, list(bounds()) != [lows, highs])
    shown = live_control(torch.tensor(values), None if released else image, lows, highs, browser)
    if released:  # the page's own run writes the URL otherwise
        ui.write_url_state(FIELDS, "sl")
    return shown


def live_control(
    coeffs: torch.Tensor,
    image: torch.Tensor | None,
    lows: list[float],
    highs: list[float],
    browser: dict | None,
) -> bool:
    """The live control (the 2-D pad too, for the 2-D VAE); its filmstrips come last. Without
    ``image`` (the browser decodes it) the pad's sprite is not sent again either."""
    pad = None
    if model.latent_dim == 2 and ckpt.config.kind == "vae":
        sprites = None if image is None else [pad_sprite(name, ckpt.sha256)]
        pad = {"sprites": sprites, "n": controls.PAD_FRAMES, "low": -3.0,
               "high": 3.0, "x": float(coeffs[0]), "y": float(coeffs[1]), "labels": space.labels,
               "size": controls.PRESENT_SIZE if ui.presenting() else 240}  # fmt: skip
    values = st.session_state[truth]
    sliders = [{"label": space.labels[i], "low": lows[i], "high": highs[i], "step": 0.01,
                "value": values[i]} for i in range(len(keys))]  # fmt: skip
    exact = None if image is None else [images.data_url(images.to_uint8(image))]
    return controls.live_control(
        control_key, sliders, ["decoded (live)"], exact, set_coeffs, pad, browser=browser
    )


def filmstrips(coeffs: torch.Tensor, wide: latent.SliderSpace) -> list[list[str]]:
    films = views.filmstrips(model, wide, coeffs, controls.FILM_FRAMES)
    return [[images.sprite(film)] for film in films]


PRIOR_LOW = 0.00135  # Φ(−3): the manifold grid spans ±3, as the sliders and the pad do


@st.cache_data(show_spinner=False, max_entries=4)
def pad_sprite(name: str, sha: str) -> str:
    """The 2-D pad's PAD_FRAMES x PAD_FRAMES decodes, evenly over ±3 (the sliders' range), as one
    sprite; the pad draws it under the pointer and shows the cell under it while dragging."""
    grid_codes = latent.square_grid(controls.PAD_FRAMES, -latent.VAE_RANGE, latent.VAE_RANGE)
    return images.sprite(views.decode(ui.load(name).model, grid_codes)[:, 0], controls.PAD_FRAMES)


def traversal(coeffs: torch.Tensor, wide: latent.SliderSpace, live: bool, in_browser: bool) -> None:
    """The strip along one slider. With a ``live`` control that decodes in the browser, the strip
    is decoded there too (the server's decode only until its runtime is ready: ``in_browser``)."""
    st.subheader("Traversal")
    dim = st.selectbox(
        "Slider to sweep",
        range(len(keys)),
        format_func=lambda i: space.labels[i],
        key=f"sl_dim_{name}",  # per model: z0 of the AE is not PC1 of the GAN
    )
    values = wide.values(dim, 11)
    caption = f"{space.labels[dim]} from {values[0]:.2f} to {values[-1]:.2f}, the others fixed"
    args = (name, ckpt.sha256, tuple(coeffs.tolist()), dim, tuple(values.tolist()))
    if live:
        png = None if in_browser else traversal_png(*args)
        controls.live_strip(control_key, coeffs.tolist(), dim, values.tolist(), png, caption)
    else:
        st.image(traversal_png(*args), output_format="PNG", caption=caption)


@st.cache_data(show_spinner=False, max_entries=64)
def traversal_png(name: str, sha: str, coeffs: tuple, dim: int, values: tuple) -> bytes:
    """The traversal strip, decoded once per inputs: a release that leaves them as they were
    (sweeping the dimension being moved, a rerun for another reason) does not decode it again."""
    s = ui.slider_space(name, sha)
    codes = s.to_code(latent.traversal(torch.tensor(coeffs), dim, torch.tensor(values)))
    frames = views.decode(ui.load(name).model, codes)
    return images.png_bytes(images.grid(frames, ncol=len(frames)), 3)


def manifold() -> None:
    st.subheader("The 2-D manifold")
    ui.formula(
        r"z = \left(\Phi^{-1}(u_0), \Phi^{-1}(u_1)\right), \quad "
        r"u_i \in \{\Phi(-3), \dots, \Phi(3)\}",
        "Each cell decodes a point placed at evenly spaced quantiles of the prior (Φ is the "
        "normal CDF), so every cell covers the same prior mass, as in Kingma & Welling's Fig. 4. "
        "It spans ±3 like the sliders and the pad; the pad spaces its cells evenly in z instead.",
    )
    n = st.slider("Grid size", 5, 25, key="sl_grid")
    st.image(manifold_png(name, ckpt.sha256, n), output_format="PNG")
    st.caption(
        f"{space.labels[0]} grows left to right and {space.labels[1]} falls from top to bottom."
    )


@st.cache_data(show_spinner=False, max_entries=8)
def manifold_png(name: str, sha: str, n: int) -> bytes:
    """The n x n manifold grid: it does not move with the sliders, so it is decoded once."""
    grid = views.decode(ui.load(name).model, latent.manifold_grid(n, PRIOR_LOW, 1 - PRIOR_LOW))
    return images.png_bytes(images.grid(grid, ncol=n, pad=0), scale=2)


with stage:
    explore()
