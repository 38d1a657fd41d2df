"""The one Streamlit-aware module: cached loaders, shared pickers and display helpers.

Models load once per server (``st.cache_resource``), in eval mode; torch uses one thread per call
so that several sessions share the machine's cores. Test digits, codes and maps are cached too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer import checkpoints, data, images, urlstate, views
from explorer.checkpoints import Checkpoint, CheckpointError

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT_DIR = Path(os.environ.get("LATENT_EXPLORER_CHECKPOINTS", ROOT / "checkpoints"))
RUNS_DIR = Path(os.environ.get("LATENT_EXPLORER_RUNS", ROOT / "runs"))
CACHE_DIR = CHECKPOINT_DIR / ".cache"
LABELS = {
    "ae": "AE (d=16)",
    "vae": "VAE (d=16)",
    "vae2d": "VAE (d=2)",
    "ae2d": "AE (d=2)",
    "gan": "DCGAN (z=100)",
    "classifier": "Digit classifier",
}

torch.set_num_threads(1)


def label(name: str) -> str:
    return LABELS.get(name, name)


def available(kinds: tuple[str, ...] = ("ae", "vae", "gan")) -> list[str]:
    """Names of bundled checkpoints whose file name suggests one of ``kinds``."""
    names = checkpoints.discover(CHECKPOINT_DIR)
    return [n for n in names if any(n.startswith(k) for k in kinds)]


@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def _load(path: str, mtime: float) -> Checkpoint | str:
    """The checkpoint, or the message of why it cannot load. Failures are cached too (by the
    file's mtime, like successes): a bad file costs its checks once, not on every page view."""
    try:
        return checkpoints.load(path, kind=checkpoints.kind_of(Path(path).stem))
    except CheckpointError as err:
        return str(err)
    except Exception as err:  # anything else a hostile file provokes: one message, no traceback
        return f"{path}: cannot be loaded ({type(err).__name__}: {err})"


def load(name: str) -> Checkpoint:
    """A bundled checkpoint by name; raises CheckpointError with a clear message."""
    path = CHECKPOINT_DIR / f"{name}.safetensors"
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    loaded = _load(str(path), path.stat().st_mtime)
    if isinstance(loaded, str):
        raise CheckpointError(loaded)
    return loaded


def hide_paths(text: str) -> str:
    """``text`` with the server's absolute folders replaced by names relative to the app (or
    ``~``), so captions and errors never show a student where files live on the server."""
    for folder, shown in ((CHECKPOINT_DIR, "checkpoints"), (RUNS_DIR, "runs"), (ROOT, ".")):
        text = text.replace(str(folder), shown)
    return text.replace(str(Path.home()), "~")


def load_or_explain(name: str) -> Checkpoint | None:
    """The checkpoint, or None after one clear error on the page that needs it (any failure:
    the rest of the page still draws)."""
    try:
        return load(name)
    except Exception as err:  # any failure: one message, never a traceback
        st.error(f"Cannot load the **{label(name)}** checkpoint: {hide_paths(str(err))}")
        st.caption("Re-create it with the command in checkpoints/README.md.")
        return None


@st.cache_data(show_spinner=False)
def test_digits(dataset: str, seed: int, test_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out images (N, 1, 28, 28) and labels of a split, as numpy (cache-friendly)."""
    _, test = data.load_split(data.Split(dataset, seed, test_size))
    return test.images.numpy(), test.labels.numpy()


def held_out(ckpt: Checkpoint) -> tuple[torch.Tensor, np.ndarray]:
    """The digits this checkpoint never saw in training."""
    split = ckpt.meta.get("split", data.Split().to_dict())
    pixels, labels = test_digits(split["dataset"], split["seed"], split["test_size"])
    return torch.from_numpy(pixels), labels


@st.cache_data(show_spinner="Encoding held-out digits…")
def held_out_codes(name: str, sha: str) -> np.ndarray:
    ckpt = load(name)
    pixels, _ = held_out(ckpt)
    return views.encode(ckpt.model, pixels).numpy()


def pick(label_text: str, options: list, key: str, fmt=str):
    """A selectbox whose choice survives page switches: ``keep_<key>`` (not a widget key, so
    Streamlit never drops it; a link may set it) is the truth, copied into the widget each run
    and back from it when the user picks."""
    if not options:
        return None
    store = f"keep_{key}"
    current = st.session_state.get(store)
    st.session_state[key] = current if current in options else options[0]

    def keep() -> None:
        st.session_state[store] = st.session_state[key]

    choice = st.selectbox(label_text, options, key=key, format_func=fmt, on_change=keep)
    st.session_state[store] = choice
    return choice


def digit_fields(key: str, default: int = 0, prefix: str = "") -> list[urlstate.Field]:
    """URL fields of a :func:`pick_digit` (class and index within the class)."""
    return [
        urlstate.Field(f"{key}_class", f"{prefix}digit", default, urlstate.integer(0, 9)),
        urlstate.Field(f"{key}_index", f"{prefix}index", 0, urlstate.integer(0, 10_000)),
    ]


def pick_digit(
    labels: np.ndarray, key: str, title: str = "Held-out digit", default: int = 0
) -> int:
    """Choose a held-out digit by class and index within that class; returns its row. Both
    widgets take their values from session state (a link, or the last visit), never from a
    default argument, so a value set there is not overridden or warned about."""
    c1, c2 = st.columns(2)
    st.session_state.setdefault(f"{key}_class", default)
    digit = c1.selectbox(f"{title}: class", list(range(10)), key=f"{key}_class")
    rows = np.flatnonzero(labels == digit)
    clamp_number_state(f"{key}_index", 0, len(rows) - 1)
    k = c2.number_input("index", 0, len(rows) - 1, key=f"{key}_index")
    return int(rows[int(k)])


def show_digit(image: torch.Tensor, caption: str = "", scale: int = images.DISPLAY_SCALE) -> None:
    pixels = image.detach().float().contiguous().numpy()
    png = _digit_png(pixels.tobytes(), pixels.shape, scale)
    st.image(png, caption=caption, output_format="PNG")


@functools.lru_cache(maxsize=256)
def _digit_png(raw: bytes, shape: tuple[int, ...], scale: int) -> bytes:
    """A digit's PNG, encoded once per pixels: a release redraws the same start image."""
    pixels = np.frombuffer(raw, dtype=np.float32).reshape(shape)
    return images.digit_png(torch.from_numpy(pixels.copy()), scale)


def show_strip(frames: torch.Tensor, caption: str = "", scale: int = 3) -> None:
    st.image(
        images.png_bytes(images.grid(frames, ncol=len(frames)), scale),
        caption=caption,
        output_format="PNG",
    )


def formula(latex: str | list[str], text: str, fold: bool = True) -> None:
    """The formula a view uses (a list: one line each, so a phone need not scroll one long line),
    and a sentence or two for a student. In presentation mode it is folded into an expander
    (``fold=False`` where the caller already is inside one: expanders cannot nest)."""
    with st.expander("The formula, explained") if fold and presenting() else st.container():
        for line in [latex] if isinstance(latex, str) else latex:
            st.latex(line)
        st.caption(text)


def presenting() -> bool:
    """Presentation mode (the sidebar toggle, or ``?present=1``): large digits, controls beside
    them, explanations folded, for a 1280×720 projector."""
    return bool(st.session_state.get("present"))


def scale(normal: int, presented: int) -> int:
    """An image's upscaling factor: ``presented`` in presentation mode (a 28 px digit at 10 is
    280 px), else ``normal``."""
    return presented if presenting() else normal


def stage() -> tuple:
    """(settings, stage) containers: side by side in presentation mode, so that the controls sit
    beside the main image and both stay above a projector's fold; one above the other else."""
    if presenting():
        return tuple(st.columns([2, 3], gap="medium"))
    return st.container(), st.container()


def live_size() -> int:
    """Side of the live control's canvases in CSS px (PRESENT_SIZE when presenting)."""
    return PRESENT_SIZE if presenting() else LIVE_SIZE


@st.cache_resource(show_spinner=False)
def slider_space(name: str, sha: str):
    """The sliders of a model (see :func:`explorer.latent.slider_space`), once per checkpoint."""
    from explorer import latent

    return latent.slider_space(load(name).model)


def install_upload_limits() -> None:
    """Bound what the server holds for uploads, per session and in total (explorer.uploads);
    cheap and idempotent, so every page calls it."""
    from explorer import uploads

    uploads.install()


@st.cache_data(show_spinner=False, max_entries=64)
def decode_upload(digest: str, _data: bytes) -> tuple[np.ndarray, np.ndarray] | str:
    """(reduced grayscale upload, digit (1, 28, 28)) or the reason it is unusable, once per
    file content (``digest``, its SHA-256): reruns and other sessions reuse it, failures too."""
    try:
        gray, digit = images.read_upload(_data)
    except images.UploadError as err:
        return str(err)
    return gray, digit.numpy()


def upload_digit(key: str) -> torch.Tensor | None:
    """A file uploader that returns a 28x28 digit, or None after one clear message; shows the
    upload beside the cleaned-up digit the models see."""
    install_upload_limits()
    upload = st.file_uploader(
        f"PNG or JPEG of a digit (at most {images.MAX_UPLOAD_BYTES // images.MB} MB)",
        type=["png", "jpg", "jpeg", "mpo"],
        key=key,
    )
    if upload is None:
        return None
    data = upload.getvalue()
    result = decode_upload(hashlib.sha256(data).hexdigest(), data)
    if isinstance(result, str):
        st.error(f"Cannot use **{upload.name}**: {result}")
        return None
    gray, digit = result
    c1, c2, _ = st.columns([1, 1, 4])
    c1.image(gray, caption="your upload", width=120)
    with c2:
        show_digit(torch.from_numpy(digit), "what the model sees", scale=4)
    return torch.from_numpy(digit.copy())


def latent_map(ckpt: Checkpoint, codes: np.ndarray, params) -> np.ndarray:
    """Map coordinates from the disk cache, or computed now behind a progress bar."""
    from explorer import projection

    slot = st.empty()

    def progress(fraction: float) -> None:
        slot.progress(
            fraction, text=f"Computing the {params.method.upper()} map of {len(codes)} codes…"
        )

    coords, _ = projection.cached_map(codes, params, ckpt.sha256, CACHE_DIR, progress)
    slot.empty()
    return coords


@st.cache_data(show_spinner="Placing points into the map…")
def place_points(
    sha: str, codes: np.ndarray, coords: np.ndarray, new: np.ndarray, _params
) -> np.ndarray:
    """New codes placed into an existing map (openTSNE transform, or PCA projection)."""
    from explorer import projection

    return projection.place(codes, coords, new, _params)


@st.cache_resource
def live_runs():
    """The server-wide registry of live training runs (caps shared by every session); a run
    whose owner has no connected session for a while is stopped (see explorer.live)."""
    from explorer import live

    return live.LiveRuns(is_connected=_session_connected)


def _session_connected(session: str) -> bool:
    from streamlit.runtime import Runtime

    return Runtime.exists() and Runtime.instance().is_active_session(session)


def session_id() -> str:
    """This tab's id, stable across reruns (a reload makes a new one)."""
    if "session_id" not in st.session_state:
        import uuid

        st.session_state["session_id"] = uuid.uuid4().hex[:12]
    return st.session_state["session_id"]


def streamlit_session() -> str:
    """Streamlit's own id of this session (what the runtime knows as connected or not)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else session_id()


def browser_id() -> str:
    """A stable, anonymous id of this browser: a hash of the token in Streamlit's XSRF cookie,
    which every tab of a browser shares and a reload keeps. Falls back to the tab's id where
    there is no such cookie (XSRF off, or AppTest)."""
    from streamlit.web.server.starlette import starlette_app_utils

    raw = st.context.cookies.get("_streamlit_xsrf") if st.context.cookies else None
    try:
        token = starlette_app_utils.decode_xsrf_token_string(raw)[0] if raw else None
    except Exception:  # a malformed cookie is just no cookie
        token = None
    if not token:
        return session_id()
    return hashlib.sha256(b"latent-explorer-browser:" + token).hexdigest()[:16]


def metrics_dashboard(path: Path, key: str) -> None:
    """Reconstruction, KL and ELBO curves and a KL heat-map from a metrics JSONL."""
    from explorer import live, plots

    steps, epochs = live.read_metrics(path)
    rows = [r for r in steps + epochs if "kl_per_dim" in r]
    rows.sort(key=lambda r: r["step"])
    if not steps and not epochs:
        st.caption(f"Run {path.parent.name}: waiting for its first metrics…")
        return
    st.caption(f"Run {path.parent.name}: {views.run_progress(steps, epochs)}")
    # Chart keys carry "_chart_": the page's own widgets share the prefix (kl_live_epochs is the
    # Epochs input), and a shared key raises StreamlitDuplicateElementKey on a full rerun.
    c1, c2 = st.columns(2)
    keys = ["recon", "kl", "elbo"] if rows else ["d_loss", "g_loss", "recon", "loss"]
    c1.plotly_chart(plots.curves(steps, keys, "per step", x="step"), key=f"{key}_chart_steps")
    if epochs:
        c2.plotly_chart(
            plots.curves(
                epochs,
                ["val_elbo", "val_recon", "val_kl", "val_accuracy"],
                "validation digits, per epoch",
            ),
            key=f"{key}_chart_epochs",
        )
    else:
        c2.caption("Validation numbers appear here at the end of the first epoch.")
    if rows:
        st.plotly_chart(
            plots.kl_heatmap(
                [r["step"] for r in rows],
                [r["kl_per_dim"] for r in rows],
                "KL per dimension while training",
            ),
            key=f"{key}_chart_heat",
        )


BROWSER_DECODE = os.environ.get("LATENT_EXPLORER_BROWSER_DECODE", "1") != "0"
RUNTIME_URL = "app/static/model_runtime.js"  # static/ is served at app/static/ (page-relative)
FILM_FRAMES = 25  # frames per filmstrip: a step of 4% of a slider's range
PAD_FRAMES = 21  # the 2-D pad's grid is PAD_FRAMES x PAD_FRAMES decodes
LIVE_SIZE = 168
PRESENT_SIZE = 280  # presentation mode: the main image is at least 280 px


@functools.cache
def _components() -> tuple | None:
    """Register the live control and its filmstrip carrier once per server; None when this
    Streamlit cannot host them. (The drawing canvas and the atlas probe: explorer.browser_views.)"""
    static = Path(__file__).parent / "static"
    try:
        control = st.components.v2.component(
            "latent_explorer.live_control",
            html="",
            css=(static / "live_control.css").read_text(),
            js=(static / "live_control.js").read_text(),
        )
        films = st.components.v2.component(
            "latent_explorer.live_films", html="", js=(static / "live_films.js").read_text()
        )
        strip = st.components.v2.component(
            "latent_explorer.live_strip", html="", js=(static / "live_strip.js").read_text()
        )
        return control, films, strip
    except (AttributeError, OSError, st.errors.StreamlitAPIException):
        return None


@st.cache_resource(show_spinner=False)
def _exports():
    """One per server, started by the first script run of any page (:func:`page_setup`): export
    every bundled model to ONNX (explorer/onnx_export.py) on a background thread, so that no
    page waits for it and the first live page opened finds the files. Idempotent: files that
    exist (named by the checkpoint's hash) are kept. Until a model's files exist, its page uses
    the server path."""
    import threading

    from explorer import onnx_export

    def run() -> None:
        for name in checkpoints.discover(CHECKPOINT_DIR):
            try:
                onnx_export.export(load(name))
            except Exception as err:  # one model that cannot export keeps the server path
                print(f"ONNX export of {name} failed ({err}); it decodes on the server")

    thread = threading.Thread(target=run, name="onnx-export", daemon=True)
    thread.start()
    return thread


def onnx_urls(name: str) -> dict[str, str] | None:
    """Page-relative URLs of a checkpoint's ONNX graphs, or None while they are not exported
    (or when ``LATENT_EXPLORER_BROWSER_DECODE=0`` keeps every page on the server path)."""
    if not BROWSER_DECODE:
        return None
    from explorer import onnx_export

    ckpt = load(name)
    key = (ckpt.name, ckpt.sha256)
    if key not in _EXPORTED:  # looked up on the disk until the files exist, then remembered
        paths = {g: onnx_export.MODELS_DIR / onnx_export.file_name(ckpt.name, ckpt.sha256, g)
                 for g in onnx_export.graphs(ckpt)}  # fmt: skip
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
    has_clf = (CHECKPOINT_DIR / "classifier.safetensors").is_file()  # one stat, not a glob
    clf = onnx_urls("classifier") if has_clf else None
    return {"runtime": RUNTIME_URL, "channels": channels,
            "classifier": clf["classifier"] if clf else None}  # fmt: skip


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

    payload = {"id": key, "sliders": sliders, "channels": channels, "exact": exact,
               "k": FILM_FRAMES, "size": live_size(), "pad": pad, "browser": browser,
               "runtimeFailed": runtime_failed(key)}  # fmt: skip
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


def clamp_number_state(key: str, low: float, high: float) -> None:
    """Before a number_input is drawn: clamp the value its key holds into [low, high], so the
    input shows the value actually used (a value sent out of range, or a range that shrank)."""
    value = st.session_state.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        clamped = min(max(value, low), high) if value == value else low
        if clamped != value:
            st.session_state[key] = type(value)(clamped) if isinstance(low, int) else clamped


def live_strip(target: str, coeffs: list[float], dim: int, values: list[float],
               png: bytes | None, caption: str) -> None:  # fmt: skip
    """A strip that live control ``target``'s browser runtime decodes: ``coeffs`` with slider
    ``dim`` set to each of ``values``. ``png`` (the server's decode) is shown until the runtime is
    ready; None where :func:`browser_shows`. The strip follows each release without the server
    (explorer/static/live_strip.js)."""
    import base64

    parts = _components()
    if parts is None:
        return
    url = "data:image/png;base64," + base64.b64encode(png).decode() if png else None
    _send(parts[2], f"{target}_strip", {"target": target, "coeffs": coeffs, "dim": dim,
          "values": values, "png": url, "caption": caption, "scale": 3})  # fmt: skip


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


PAGES = [
    ("streamlit_app.py", "Home", ":material/home:"),
    ("pages/0_AE_vs_VAE.py", "AE vs VAE", ":material/compare:"),
    ("pages/1_Latent_sliders.py", "Latent sliders", ":material/tune:"),
    ("pages/2_Interpolation.py", "Interpolation", ":material/linear_scale:"),
    ("pages/3_Latent_map.py", "Latent map", ":material/scatter_plot:"),
    ("pages/4_KL_and_ELBO.py", "KL and ELBO", ":material/functions:"),
    ("pages/5_Lesson.py", "Lesson: why a VAE?", ":material/school:"),
]


# A local image, inline: a ":material/…:" or emoji page icon makes the browser fetch the favicon
# from fonts.gstatic.com or a CDN, and a class network may have no internet. Inline rather than a
# file path, which Streamlit serves from /media/: Chromium fetches the favicon again whenever a
# page writes its settings into the URL, so every slider release cost the server an HTTP request.
PAGE_ICON = "data:image/png;base64," + base64.b64encode(
    (Path(__file__).parent / "static" / "icon.png").read_bytes()
).decode("ascii")


# On a phone KaTeX's 1.21em made formulas wider than the screen, cut off in a scrolling box:
# scale them with the viewport instead (3.6vw is 14 px at 390 px).
NARROW_CSS = (
    "@media (max-width: 640px) { .katex-display > .katex { font-size: min(1.21em, 3.6vw); } }"
)


@st.cache_resource
def _heap_trimmer():
    """One per server: RSS falls back after a class's sessions end (see explorer.heap)."""
    from explorer import heap

    return heap.start_trimmer(heap.TRIM_INTERVAL_S)


@st.cache_resource
def _quiet_idle() -> int:
    """One per server: no config-file polling while it idles (see explorer.idle)."""
    from explorer import idle

    return idle.stop_config_polling()


@st.cache_resource
def _cpu_probe():
    """One per server, only for benchmarks (explorer/cpuprobe.py)."""
    from explorer import cpuprobe

    path = os.environ.get(cpuprobe.ENV)
    return cpuprobe.serve(path) if path else None


def page_setup(title: str) -> None:
    """Page config and the sidebar menu (friendly names for the pages/ folder's scripts).

    The classic pages/ folder is used rather than st.navigation because st.navigation shows a
    spurious "Page not found" dialog, which makes the page inert, when a fresh browser opens a
    deep link (streamlit/streamlit#8860): a class following a shared link would hit it.
    """
    _present_from_url()
    # Presenting: the sidebar starts folded, giving the page the projector's whole width.
    st.set_page_config(page_title=f"{title} · Latent Explorer", page_icon=PAGE_ICON, layout="wide",
                       initial_sidebar_state="collapsed" if presenting() else "auto")  # fmt: skip
    _heap_trimmer()
    _quiet_idle()
    _cpu_probe()
    if BROWSER_DECODE:
        _exports()  # the first script run of any page starts it; later calls are a cache hit
    install_upload_limits()
    # Streamlit's default top padding (6 rem) pushes the main image below a projector's fold.
    st.html(f"<style>.stMainBlockContainer {{padding-top: 2.5rem;}} {NARROW_CSS}</style>")
    _keep_settings()
    with st.sidebar:
        for path, label_text, icon in PAGES:
            st.page_link(path, label=label_text, icon=icon)
        st.toggle("Presentation mode", key="present", help="Large digits with their controls "
                  "beside them and explanations folded, for a projector (also ?present=1).")  # fmt: skip


def _keep_settings() -> None:
    """Re-assign every page's settings (the URL fields of the pages this session has visited):
    Streamlit drops a widget's value at the end of a run that does not draw it, so without this
    a page switch would lose them (the usual multipage fix)."""
    for key in st.session_state.get("_kept_keys", ()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _present_from_url() -> None:
    """``?present=1`` (or ``0``) turns presentation mode on (off) when the URL carries a value
    this session has not seen; otherwise the toggle keeps its state across pages."""
    value = st.query_params.get("present")
    if value != st.session_state.get("_present_seen"):
        st.session_state["_present_seen"] = value
        if value is not None:
            st.session_state["present"] = value in ("1", "true", "on")
    st.session_state["present"] = bool(st.session_state.get("present", False))


def url_state(fields: list[urlstate.Field], page: str) -> bool:
    """Settings from the URL when it carries ones this session did not write (a shared link, or
    an edited address); True when it did. Only the page's own parameters count: ``present``
    and another page's leftovers leave the settings as this session left them. A bad value falls back to its default with a short
    notice. Keys not yet set get their defaults, and every field keeps its value while its
    widget is not on the page (Streamlit drops a widget's state in runs that do not draw it)."""
    own = {field.param for field in fields}
    params = {k: v for k, v in st.query_params.to_dict().items() if k in own}
    written = {k: v for k, v in st.session_state.get(f"_url_{page}", {}).items() if k in own}
    applied = bool(params) and params != written
    if applied:
        values, notices = urlstate.decode(fields, params)
        st.session_state.update(values)
        for notice in notices:
            st.warning(notice, icon=":material/link_off:")
    for field in fields:
        st.session_state[field.key] = st.session_state.get(field.key, field.default)
    kept = st.session_state.setdefault("_kept_keys", set())
    kept.update(field.key for field in fields)
    return applied


def write_url_state(fields: list[urlstate.Field], page: str) -> None:
    """Write the page's settings to the URL (only those that differ from the defaults)."""
    params = urlstate.encode(fields, st.session_state)
    shown = {**params, "present": "1"} if presenting() else params
    if shown != st.query_params.to_dict():
        st.query_params.from_dict(shown)
    st.session_state[f"_url_{page}"] = params
