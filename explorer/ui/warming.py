"""The server's start: its run-time caches seeded from the shipped files, then one background
thread that makes what is still missing while no page runs (explorer.warmup)."""

from __future__ import annotations

import threading

import streamlit as st

from explorer import data, warmup
from explorer.ui import cache


def pages_running() -> bool:
    """Whether any session's script is running now (Streamlit's sessions; False where its
    internals differ, and the warm-up then only waits for its own start)."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.app_session import AppSessionState

        sessions = Runtime.instance()._session_mgr.list_active_sessions()
        return any(s.session._state == AppSessionState.APP_IS_RUNNING for s in sessions)
    except Exception:
        return False


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread | None:
    """Once per server, from the first script run of any page: seed the caches (milliseconds),
    then start the warm-up thread (None with ``LATENT_EXPLORER_WARM=0``). The ONNX graphs are
    made only while the browser decodes (``LATENT_EXPLORER_BROWSER_DECODE``)."""
    from explorer.ui import controls

    warmup.seed(cache.CHECKPOINT_DIR, cache.CACHE_DIR, data.CACHE_DIR)
    return warmup.start(
        cache.CHECKPOINT_DIR,
        cache.CACHE_DIR,
        busy=pages_running,
        load=cache.load,
        export=controls.BROWSER_DECODE,
    )
