"""Live training runs started from the KL and ELBO page: the server-wide registry, who owns a
run (a browser, by an anonymous id) and the dashboard of a run's metrics (explorer/live.py runs
them; this is their Streamlit side).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from explorer import views


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
