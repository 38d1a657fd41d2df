"""The server's start: its run-time caches seeded from the shipped files, then, once no page
runs, one low-priority child process that makes what is still missing (explorer.warmup)."""

from __future__ import annotations

import threading

import streamlit as st

from explorer import warmup
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
    then start the warm-up (the thread that watches its child process; None with
    ``LATENT_EXPLORER_WARM=0``). The ONNX graphs are made only while the browser decodes
    (``LATENT_EXPLORER_BROWSER_DECODE``)."""
    from explorer.ui import controls

    cache.seeded()
    return warmup.start(
        cache.CHECKPOINT_DIR,
        cache.CACHE_DIR,
        busy=pages_running,
        export=controls.BROWSER_DECODE,
    )
