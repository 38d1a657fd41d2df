"""The Streamlit side of the app (the one part of explorer/ that imports Streamlit): cached
loaders, shared pickers and display helpers, page setup and URL state, here; the live control
and decoding in the browser (:mod:`explorer.ui.controls`), the views that compute in the browser
(:mod:`explorer.ui.browser_views`), uploads (:mod:`explorer.ui.uploads`), live training runs
(:mod:`explorer.ui.runs`) and a quiet idle server (:mod:`explorer.ui.idle`) in its modules.

Models load once per server (``st.cache_resource``), in eval mode; torch uses one thread per call
so that several sessions share the machine's cores. Test digits, codes and maps are cached too.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer import checkpoints, data, images, urlstate, views
from explorer.checkpoints import Checkpoint, CheckpointError

ROOT = Path(__file__).resolve().parents[2]
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


@st.cache_resource(show_spinner=False)
def slider_space(name: str, sha: str):
    """The sliders of a model (see :func:`explorer.latent.slider_space`), once per checkpoint."""
    from explorer import latent

    return latent.slider_space(load(name).model)


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


def clamp_number_state(key: str, low: float, high: float) -> None:
    """Before a number_input is drawn: clamp the value its key holds into [low, high], so the
    input shows the value actually used (a value sent out of range, or a range that shrank)."""
    value = st.session_state.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        clamped = min(max(value, low), high) if value == value else low
        if clamped != value:
            st.session_state[key] = type(value)(clamped) if isinstance(low, int) else clamped


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
PAGE_ICON = images.png_data_url((Path(__file__).parents[1] / "static" / "icon.png").read_bytes())


# On a phone KaTeX's 1.21em made formulas wider than the screen, cut off in a scrolling box:
# scale them with the viewport instead (3.6vw is 14 px at 390 px).
NARROW_CSS = (
    "@media (max-width: 640px) { .katex-display > .katex { font-size: min(1.21em, 3.6vw); } }"
)
# A page link in the page (Home's "Start here", Interpolation's notes) wraps: Streamlit keeps its
# label on one line and cut it off mid-word on a phone.
WRAP_LINKS_CSS = (
    '[data-testid="stMain"] [data-testid="stPageLink-NavLink"] '
    ':not([data-testid="stIconMaterial"]) { white-space: normal; }'
)


@st.cache_resource
def _heap_trimmer():
    """One per server: RSS falls back after a class's sessions end (see explorer.heap)."""
    from explorer import heap

    return heap.start_trimmer(heap.TRIM_INTERVAL_S)


@st.cache_resource
def _quiet_idle() -> int:
    """One per server: no config-file polling while it idles (see explorer.ui.idle)."""
    from explorer.ui import idle

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
    from explorer.ui import controls, uploads

    if controls.BROWSER_DECODE:
        controls.start_exports()  # the first run of any page starts it; later ones hit the cache
    uploads.install()  # bounds what the server holds for uploads; cheap and idempotent
    # Streamlit's default top padding (6 rem) pushes the main image below a projector's fold.
    st.html(
        "<style>.stMainBlockContainer {padding-top: 2.5rem;} "
        f"{NARROW_CSS} {WRAP_LINKS_CSS}</style>"
    )
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
