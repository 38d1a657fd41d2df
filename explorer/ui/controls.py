"""The live control and decoding in the browser (issue 11): Streamlit's side of
``static/components/live_control.js``, ``live_films.js`` and ``live_strip.js``.

A live control is a set of sliders (or the 2-D pad) whose image follows every move. With the
browser runtime (``runtime.js`` there, ONNX Runtime Web) the browser decodes every frame
itself and sends the values back on release; without it (``LATENT_EXPLORER_BROWSER_DECODE=0``, no
WebAssembly, a model not yet exported) the control shows precomputed filmstrip frames while it
moves and Python's exact image on release. Python stays the source of truth either way.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from explorer import images
from explorer.ui import cache, setup

BROWSER_DECODE = os.environ.get("LATENT_EXPLORER_BROWSER_DECODE", "1") != "0"
COMPONENTS = Path(__file__).parents[2] / "static" / "components"  # every component's browser code
COMPONENTS_URL = "app/static/components"  # where Streamlit serves it (page-relative)
FILM_FRAMES = 25  # frames per filmstrip: a step of 4% of a slider's range
PAD_FRAMES = 21  # the 2-D pad's grid is PAD_FRAMES x PAD_FRAMES decodes
LIVE_SIZE = 168
PRESENT_SIZE = 280  # presentation mode: the main image is at least 280 px


def live_size() -> int:
    """Side of the live control's canvases in CSS px (PRESENT_SIZE when presenting)."""
    return PRESENT_SIZE if setup.presenting() else LIVE_SIZE


# Components v2 runs a component's JavaScript, given as a string, as a blob: module, from which
# no relative import resolves. Each component is therefore this loader of its real module under
# static/components/, which imports the shared runtime.js by URL: one instance per page, so the
# components share the models and talk through its messages instead of window globals.
_LOADER = """const module = import(new URL("{url}/{name}.js", document.baseURI).href);
export default async function (component) {{ return (await module).default(component); }}
"""


def component(name: str):
    """Register ``static/components/<name>.js``, styled by ``components.css`` there, as the
    Streamlit component ``latent_explorer.<name>``. OSError when its files are missing."""
    if not (COMPONENTS / f"{name}.js").is_file():
        raise FileNotFoundError(COMPONENTS / f"{name}.js")
    return st.components.v2.component(
        f"latent_explorer.{name}",
        html="",
        css=(COMPONENTS / "components.css").read_text(),
        js=_LOADER.format(url=COMPONENTS_URL, name=name),
    )


@functools.cache
def _components() -> tuple | None:
    """Register the live control, its filmstrip carrier and its strip once per server; None when
    this Streamlit cannot host them. (The drawing canvas and the atlas probe:
    explorer.ui.browser_views.)"""
    try:
        return component("live_control"), component("live_films"), component("live_strip")
    except (AttributeError, OSError, st.errors.StreamlitAPIException):
        return None


def onnx_urls(name: str) -> dict[str, str] | None:
    """Page-relative URLs of a checkpoint's ONNX graphs, or None while they are not exported
    (or when ``LATENT_EXPLORER_BROWSER_DECODE=0`` keeps every page on the server path)."""
    if not BROWSER_DECODE:
        return None
    from explorer import onnx_export

    ckpt = cache.load(name)
    key = (ckpt.name, ckpt.sha256)
    if key not in _EXPORTED:  # looked up on the disk until the files exist, then remembered
        paths = {
            g: onnx_export.MODELS_DIR / onnx_export.file_name(ckpt.name, ckpt.sha256, g)
            for g in onnx_export.graphs(ckpt)
        }
        if not all(p.is_file() for p in paths.values()):
            return None
        _EXPORTED[key] = onnx_export.urls(paths)
    return _EXPORTED[key]


_EXPORTED: dict[tuple[str, str], dict[str, str]] = {}  # (name, sha256) -> URLs, once exported


def browser_decoding(key: str, channels: list[dict]) -> dict | None:
    """What live control ``key`` needs to decode in the browser: the runtime, one spec per
    channel (``decoder`` URL and either ``origin``/``basis`` or ``a``/``b``/``mode``) and the
    classifier. None when a decoder is missing or this browser already reported that the
    runtime cannot load: the control then takes the server path."""
    if any(c.get("decoder") is None for c in channels):
        return None
    if runtime_failed(key):
        return None
    has_clf = (cache.CHECKPOINT_DIR / "classifier.safetensors").is_file()  # one stat, not a glob
    clf = onnx_urls("classifier") if has_clf else None
    return {"channels": channels, "classifier": clf["classifier"] if clf else None}


def runtime_failed(key: str) -> bool:
    """Whether the browser component ``key`` reported that its model runtime cannot load."""
    return (st.session_state.get(key) or {}).get("runtime") == "failed"


def rerun_page_unless_shown(key: str, released: bool, page_changed: bool = False) -> None:
    """In live control ``key``'s own fragment (the browser decodes): rerun the whole page when
    the fragment alone cannot answer, that is when the runtime failed (the server path draws
    the page) or a release (``released``) was not shown by the browser (the server decodes) or
    changed something outside the fragment (``page_changed``)."""
    if runtime_failed(key) or (released and (not browser_shows(key) or page_changed)):
        st.rerun()


def decoder_url(name: str) -> str | None:
    urls = onnx_urls(name)
    return urls["decoder"] if urls else None


def browser_shows(key: str) -> bool:
    """True in the run that a release of live control ``key`` caused when that browser decodes
    itself (its runtime was ready): it already shows the exact image, so the page stores the
    values and skips the server's decode, and the control decodes Python's values itself."""
    return bool(st.session_state.get(f"{key}_shown"))


def release_values(state: object) -> tuple[object, bool]:
    """(values, shown) of a live control's ``values`` state: a list from the server path, or
    ``{"values": [...], "shown": true}`` from a browser that decodes itself."""
    if isinstance(state, dict):
        return state.get("values"), state.get("shown") is True
    return state, False


def _send(component, key: str, payload: dict, **callbacks) -> None:
    # One JSON string: Streamlit probes every list or dict at the top level of ``data`` for
    # dataframes, which imports pandas and pyarrow (0.9 s and ~100 MB on first use); a string
    # goes straight through.
    component(key=key, data={"json": json.dumps(payload)}, **callbacks)


def live_control(
    key: str,
    sliders: list[dict],
    channels: list[str],
    exact: list[str] | None,
    on_change: Callable[[list[float]], None],
    pad: dict | None = None,
    frames: list[list[str]] | None = None,
    browser: dict | None = None,
) -> bool:
    """Mount the live control; False (after a short note) when it cannot load.

    ``exact[c]`` is channel c's decode at the sliders' values, or None where
    :func:`browser_shows` (the browser decodes the values itself). ``frames[i][c]``, the sprite of
    slider i for channel c (FILM_FRAMES frames across its range), comes here when it is cheap
    and fixed (the λ strip), or later in the same run from :func:`live_filmstrips`, so that
    the exact image goes out first. On release ``on_change(values)`` receives the exact values.
    ``browser`` (from :func:`browser_decoding`) lets the control decode every frame itself.
    """
    parts = _components()
    if parts is None:
        st.caption("The live control could not load here; showing standard sliders instead.")
        return False

    def changed() -> None:
        raw, shown = release_values((st.session_state.get(key) or {}).get("values"))
        values = clamp_values(raw, sliders)
        if values is not None:
            on_change(values)
            st.session_state[f"{key}_shown"] = shown and browser is not None

    if exact is None and browser is None:
        raise ValueError(f"live control {key}: no exact image and no browser decoding")
    st.session_state[f"{key}_shown"] = False  # this run's release is answered; the next decides

    payload = {
        "id": key,
        "sliders": sliders,
        "channels": channels,
        "exact": exact,
        "k": FILM_FRAMES,
        "size": live_size(),
        "pad": pad,
        "browser": browser,
        "runtimeFailed": runtime_failed(key),
        "present": setup.presenting(),
    }
    if frames is not None:
        payload["films"] = {"frames": frames, "filmsAt": [s["value"] for s in sliders]}
    _send(parts[0], key, payload, on_values_change=changed, on_runtime_change=lambda: None)
    return True


def clamp_values(values: object, sliders: list[dict]) -> list[float] | None:
    """Values a client sent for ``sliders``, each clamped into its slider's range and onto its
    step grid; None unless they are one finite number per slider. A browser is not trusted:
    anyone can send the component any JSON."""
    if not isinstance(values, list | tuple) or len(values) != len(sliders):
        return None
    clean = []
    for value, slider in zip(values, sliders, strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            return None
        low, high, step = float(slider["low"]), float(slider["high"]), float(slider["step"])
        value = min(max(float(value), low), high)  # also takes ±inf to the ends
        clean.append(round(low + round((value - low) / step) * step, 6))
    return clean


def live_strip(
    target: str, coeffs: list[float], dim: int, values: list[float], png: bytes | None, caption: str
) -> None:
    """A strip that live control ``target``'s browser runtime decodes: ``coeffs`` with slider
    ``dim`` set to each of ``values``. ``png`` (the server's decode) is shown until the runtime is
    ready; None where :func:`browser_shows`. The strip follows each release without the server
    (static/components/live_strip.js)."""
    parts = _components()
    if parts is None:
        return
    url = images.png_data_url(png) if png else None
    _send(
        parts[2],
        f"{target}_strip",
        {
            "target": target,
            "coeffs": coeffs,
            "dim": dim,
            "values": values,
            "png": url,
            "caption": caption,
            "scale": 3,
        },
    )


def live_filmstrips(key: str, state: list[float], compute: Callable[[], list[list[str]]]) -> None:
    """The filmstrips of live control ``key`` at slider values ``state``; call it after
    everything else on the page. Streamlit sends elements as a run makes them, so the exact
    image is in the browser while these decode (hundreds of ms; the exact image takes under
    1 ms). Kept per session: a rerun at the same values does not decode them again."""
    parts = _components()
    if parts is None:
        return
    slot = f"{key}_films"
    kept = st.session_state.get(slot)
    if kept is None or kept[0] != state:
        kept = st.session_state[slot] = (list(state), compute())
    _send(parts[1], slot, {"target": key, "frames": kept[1], "filmsAt": kept[0]})


# ---- One mount for every page's live control ----------------------------------------------------


@dataclass
class LiveSpec:
    """What a page's live control is, as functions of its values (the page's source of truth).

    ``values()`` reads them; ``sliders(values)`` are the slider specs (``label``, ``low``,
    ``high``, ``step``, ``value``; bounds may depend on the values); ``channels`` the captions of
    the images it shows; ``browser`` one decoding spec per channel for the browser (``decoder``
    URL and ``origin``/``basis`` or ``a``/``b``/``mode``); ``decode(values)`` the server's images;
    ``on_change(values)`` stores released values; ``after_release()`` runs in the control's own
    fragment after a release the browser showed (store what follows from the values, write the
    URL); ``changes_page(old, new)`` says a release changes something outside the control, so
    the whole page reruns. ``pad(values, with_sprite)`` is the 2-D pad's spec, if any;
    ``frames()`` the server path's filmstrips, sent with the control when ``frames_now`` (cheap,
    the same for every value: λ) or after the page when not (:func:`live_filmstrips`)."""

    key: str
    values: Callable[[], list[float]]
    sliders: Callable[[list[float]], list[dict]]
    channels: list[str]
    browser: list[dict]
    decode: Callable[[list[float]], list]
    on_change: Callable[[list[float]], None]
    after_release: Callable[[], None] = lambda: None
    changes_page: Callable[[list[float], list[float]], bool] = lambda old, new: False
    pad: Callable[[list[float], bool], dict | None] = lambda values, with_sprite: None
    frames: Callable[[], list[list[str]]] | None = None
    frames_now: bool = False


@dataclass(frozen=True)
class Mounted:
    """What :func:`mount` put on the page: whether the live control shows (else the page draws
    standard widgets), whether the browser decodes, and the server's images at the values
    (None where the browser already shows them)."""

    shown: bool
    browser: bool
    in_browser: bool
    images: list | None


def mount(spec: LiveSpec, enabled: bool = True) -> Mounted:
    """Mount a page's live control, owning the browser-or-server decision for every page.

    The browser decodes when it can (:func:`browser_decoding`): the control then sits in a
    fragment of its own (a release reruns only the control and ``after_release``; see
    :func:`rerun_page_unless_shown` for when the whole page reruns). Otherwise the server
    decodes, and the control shows its filmstrips while moving and Python's image on release.
    ``enabled`` False (the page's "Live dragging" off) decodes on the server and mounts nothing.
    """
    browser = browser_decoding(spec.key, spec.browser) if enabled else None
    in_browser = browser is not None and browser_shows(spec.key)
    values = spec.values()
    images_now = None if in_browser else spec.decode(values)
    if not enabled:
        shown = False
    elif browser is not None:
        shown = _browser_control(spec, values, images_now, browser)
    else:
        shown = _mount(spec, values, images_now, None)
    return Mounted(shown, browser is not None, in_browser, images_now)


@st.fragment
def _browser_control(
    spec: LiveSpec, at: list[float], images_at: list | None, browser: dict
) -> bool:
    """The control when the browser decodes, in its own fragment. ``at`` and ``images_at`` are
    the values and images the page was drawn with; the browser already shows the exact image of
    a release, so the server sends nothing else unless the release needs the page."""
    values = spec.values()
    released = values != at  # since the page was drawn
    rerun_page_unless_shown(spec.key, released, released and spec.changes_page(at, values))
    shown = _mount(spec, values, None if released else images_at, browser)
    if released:  # the page's own run does this otherwise
        spec.after_release()
    return shown


def _mount(
    spec: LiveSpec, values: list[float], images_at: list | None, browser: dict | None
) -> bool:
    exact = None if images_at is None else [images.data_url(images.to_uint8(i)) for i in images_at]
    frames = (
        spec.frames() if spec.frames is not None and spec.frames_now and browser is None else None
    )
    return live_control(
        spec.key,
        spec.sliders(values),
        spec.channels,
        exact,
        spec.on_change,
        spec.pad(values, images_at is not None),
        frames=frames,
        browser=browser,
    )
