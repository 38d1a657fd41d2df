"""Page setup: the page registry, the page config and sidebar, presentation mode, the page's
CSS and the server's singletons (heap trimmer, quiet idle, warm-up, upload bounds).

torch uses one thread per call so that several sessions share the machine's cores.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
import torch

from explorer import images, sitemap

torch.set_num_threads(1)


def presenting() -> bool:
    """Presentation mode (the sidebar toggle, or ``?present=1``): large digits, controls beside
    them, explanations folded, for a 1280×720 projector."""
    return bool(st.session_state.get("present"))


def scale(normal: int, presented: int) -> int:
    """An image's upscaling factor: ``presented`` in presentation mode (a 28 px digit at 10 is
    280 px), else ``normal``."""
    return presented if presenting() else normal


def stage(ratio: tuple[int, int] = (2, 3)) -> tuple:
    """(settings, stage) containers: side by side in presentation mode (widths in ``ratio``),
    so that the controls sit beside the main image and both stay above a projector's fold; one
    above the other else."""
    if presenting():
        return tuple(st.columns(list(ratio), gap="medium"))
    return st.container(), st.container()


# A local image, inline: a ":material/…:" or emoji page icon makes the browser fetch the favicon
# from fonts.gstatic.com or a CDN, and a class network may have no internet. Inline rather than a
# file path, which Streamlit serves from /media/: Chromium fetches the favicon again whenever a
# page writes its settings into the URL, so every slider release cost the server an HTTP request.
PAGE_ICON = images.png_data_url((Path(__file__).parents[2] / "static" / "icon.png").read_bytes())


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


# A button's label wraps rather than ending in "…", and a segmented control's buttons wrap onto
# a second row rather than scrolling out of sight: Streamlit cut "Random from the fitted G…", a
# lesson's "Sweep a VAE sl…", the map's "Interpolate #5 (digit …" and AE vs VAE's "Many pairs"
# off at 1280 px.
WRAP_BUTTONS_CSS = (
    '[data-testid="stMain"] button .stMarkdownEllipsis, '
    '[data-testid="stMain"] button .stMarkdownEllipsis p '
    "{ white-space: normal; overflow: visible; text-overflow: clip; } "
    '[data-testid="stMain"] .stButtonGroup > div { flex-wrap: wrap; }'
)

# On a phone a strip of digits (explorer.ui.display.show_strip) shrank to the screen, 28 px a
# frame: it keeps frames large enough to read and scrolls sideways instead (!important: Streamlit
# sizes the image in its style attribute).
STRIP_CSS = (
    "@media (max-width: 640px) { "
    '[class*="st-key-le_strip_"] { overflow-x: auto; } '
    '[class*="st-key-le_strip_"] [data-testid="stImage"] img '
    "{ max-width: none !important; width: 640px !important; } "
    '[class*="st-key-le_strip_"] [data-testid="stImageCaption"] '
    "{ position: sticky; left: 0; width: calc(100vw - 2rem) !important; } }"
)

# Presentation mode: text that a class reads from the back of the room on a 1280x720 projector.
# Body text and controls at 18 px, captions (where the key numbers are: "reads 7", "lowest
# confidence 0.61") and metric labels at 20 px at full contrast (Streamlit's are 14 px at 60 %
# opacity); chart text is set by explorer.plots. The custom properties reach the components'
# shadow roots (static/components/components.css).
PRESENT_CSS = """
:root { --le-text: 18px; --le-caption: 20px; --le-caption-opacity: 1; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] :is(p, li, td, th) { font-size: 18px; }
[data-testid="stMain"] input { font-size: 18px; }
[data-testid="stMain"] :is([data-testid="stCaptionContainer"], [data-testid="stImageCaption"]),
[data-testid="stMain"] [data-testid="stCaptionContainer"] :is(p, li),
[data-testid="stMain"] [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p {
  font-size: 20px; opacity: 1; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] code { font-size: 0.9em; }
"""


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
    st.set_page_config(
        page_title=f"{title} · Latent Explorer",
        page_icon=PAGE_ICON,
        layout="wide",
        initial_sidebar_state="collapsed" if presenting() else "auto",
    )
    _heap_trimmer()
    _quiet_idle()
    _cpu_probe()
    from explorer.ui import state, uploads, warming

    warming.start()  # seeds the caches, then makes what they lack in the background (once)
    uploads.install()  # bounds what the server holds for uploads; cheap and idempotent
    # Streamlit's default top padding (6 rem) pushes the main image below a projector's fold.
    st.html(
        "<style>.stMainBlockContainer {padding-top: 2.5rem;} "
        f"{NARROW_CSS} {WRAP_LINKS_CSS} {WRAP_BUTTONS_CSS} {STRIP_CSS}"
        f"{PRESENT_CSS if presenting() else ''}</style>"
    )
    state.keep_settings()
    with st.sidebar:
        for page in sitemap.PAGES:
            st.page_link(page.script, label=page.title, icon=page.icon)
        st.toggle(
            "Presentation mode",
            key="present",
            help="Large digits with their controls beside them and explanations folded, for a "
            "projector (also ?present=1).",
        )


def _present_from_url() -> None:
    """``?present=1`` (or ``0``) turns presentation mode on (off) when the URL carries a value
    this session has not seen; otherwise the toggle keeps its state across pages."""
    value = st.query_params.get("present")
    if value != st.session_state.get("_present_seen"):
        st.session_state["_present_seen"] = value
        if value is not None:
            st.session_state["present"] = value in ("1", "true", "on")
    st.session_state["present"] = bool(st.session_state.get("present", False))
