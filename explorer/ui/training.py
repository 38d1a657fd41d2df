"""Live training runs started from the KL and ELBO page: the server-wide registry, who owns a
run (a browser, by an anonymous id) and the dashboard of a run's metrics
(explorer/training_runs.py runs them; this is their Streamlit side).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from explorer import plots, views


@st.cache_resource
def live_runs():
    """The server-wide registry of live training runs (caps shared by every session); a run
    whose owner has no connected session for a while is stopped (see explorer.training_runs)."""
    from explorer import training_runs

    return training_runs.LiveRuns(is_connected=_session_connected)


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


# One colour per term in both of a run's charts (per step, and per epoch on the validation
# digits): by trace order, the ELBO was red in one and blue in the other.
TERMS = ("recon", "kl", "elbo", "accuracy", "d_loss", "g_loss", "loss")
TERM_COLORS = dict(zip(TERMS, plots.DIGIT_COLORS, strict=False))  # ten distinct colours


def term_colors(keys: list[str]) -> dict[str, str]:
    """Each key's colour, by its term ("val_elbo" is the ELBO's)."""
    return {k: TERM_COLORS[k.removeprefix("val_")] for k in keys if k.removeprefix("val_") in TERMS}


def active_units(epochs: list[dict]) -> tuple[int, int, int] | None:
    """(epoch, active units, latent dimensions) of a VAE run's latest epoch that counted them
    (Burda et al.'s criterion on the validation digits, as explorer.objectives logs it)."""
    found = [r for r in epochs if "active_dims" in r and "kl_per_dim" in r]
    if not found:
        return None
    last = found[-1]
    return int(last["epoch"]), int(last["active_dims"]), len(last["kl_per_dim"])


def metrics_dashboard(path: Path, key: str) -> None:
    """Reconstruction, KL and ELBO curves, the run's active units and a KL heat-map from a
    metrics JSONL."""
    from explorer import training_runs, trainstate

    steps, epochs = training_runs.read_metrics(path)
    rows = [r for r in steps + epochs if "kl_per_dim" in r]
    rows.sort(key=lambda r: r["step"])
    if not steps and not epochs:
        st.caption(f"Run {path.parent.name}: waiting for its first metrics…")
        return
    progress = views.run_progress(steps, epochs) + trainstate.run_status(path).note  # (stopped)
    st.caption(f"Run {path.parent.name}: {progress}")
    if (units := active_units(epochs)) is not None:
        epoch, active, dims = units
        st.metric(
            f"This run's active units, after epoch {epoch}",
            f"{active} of {dims}",
            help="Burda et al.'s criterion, Var_x(E_q[z_j]) > 0.01, on the validation "
            "digits: the same count as the bundled VAE's above.",
        )
    # Chart keys carry "_chart_": the page's own widgets share the prefix (kl_live_epochs is the
    # Epochs input), and a shared key raises StreamlitDuplicateElementKey on a full rerun.
    c1, c2 = st.columns(2)
    keys = ["recon", "kl", "elbo"] if rows else ["d_loss", "g_loss", "recon", "loss"]
    steps_fig = plots.curves(steps, keys, "per step", x="step", colors=term_colors(keys))
    c1.plotly_chart(steps_fig, key=f"{key}_chart_steps")
    if epochs:
        val_keys = ["val_elbo", "val_recon", "val_kl", "val_accuracy"]
        c2.plotly_chart(
            plots.curves(
                epochs, val_keys, "validation digits, per epoch", colors=term_colors(val_keys)
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


def train_panel() -> None:
    """ "Train a VAE here": latent size, β and epochs, Start and Stop, and this browser's run
    live (one run per browser, found again after a reload; see explorer.training_runs for the
    caps)."""
    import time

    from explorer import train, training_runs
    from explorer.ui import cache, state

    runs = live_runs()
    me = browser_id()
    runs.seen(me, streamlit_session())
    mine = runs.get(me)
    busy = mine is not None and mine.running
    c1, c2, c3 = st.columns(3)
    for key, low, high in (
        ("kl_live_dim", 1, 32),
        ("kl_live_beta", 0.0, 10.0),
        ("kl_live_epochs", 1, 30),
    ):
        state.clamp_number_state(key, low, high)
    dim = int(c1.number_input("Latent dim", 1, 32, 8, key="kl_live_dim", disabled=busy))
    # A run's β starts at the β chosen above (which a lesson's link sets) until it is set here.
    st.session_state.setdefault("kl_live_beta", float(st.session_state.get("kl_beta", 1.0)))
    beta = float(c2.number_input("β", 0.0, 10.0, step=0.5, key="kl_live_beta", disabled=busy))
    epochs = int(c3.number_input("Epochs", 1, 30, 5, key="kl_live_epochs", disabled=busy))
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button("Start", key="kl_live_start"):
        training_runs.prune_live_dirs(
            cache.RUNS_DIR, running={r for r in [mine and mine.name] if r}
        )
        run_dir = (
            cache.RUNS_DIR / f"{training_runs.LIVE_PREFIX}{me[:8]}-{time.strftime('%Y%m%d-%H%M%S')}"
        )
        args = train.make_args(
            "vae",
            latent_dim=dim,
            beta=beta,
            kl_warmup=0,  # the β chosen here holds from the first step, in runs of a few epochs
            epochs=epochs,
            progress=False,
            out=str(run_dir / "vae.safetensors"),
            run_dir=str(run_dir),
            log_every=5,
            write_resume=False,
        )
        try:
            runs.start(me, args, streamlit_session(), address=st.context.ip_address or "")
        except training_runs.CapacityError as err:
            st.warning(str(err))
    if b2.button("Stop", key="kl_live_stop"):
        runs.stop(me)
    mine = runs.get(me)
    _live_panel(me, mine is not None and mine.running)


def _live_panel(me: str, running: bool) -> None:
    @st.fragment(run_every=1.0 if running else None)
    def panel() -> None:
        runs = live_runs()
        runs.seen(me, streamlit_session())
        run = runs.get(me)
        if run is None:
            st.caption(f"No live run yet. Up to {runs.max_runs} runs train at once on this server.")
            return
        status = "running" if run.running else (run.error or "finished")
        a = run.args
        st.caption(
            f"Live run {run.name}: {status} (latent dim {a.latent_dim}, β {a.beta:g}, "
            f"{a.epochs} epochs)"
        )
        metrics_dashboard(run.metrics_path, "kl_live")

    panel()


def follow_panel() -> None:
    """ "Follow a run": any command-line run on the server and this browser's own in-app runs
    (every in-app run with LATENT_EXPLORER_SHARE_RUNS=1), refreshed every 2 s."""
    import os

    from explorer import training_runs
    from explorer.ui import cache

    share = os.environ.get("LATENT_EXPLORER_SHARE_RUNS", "") == "1"
    logs = training_runs.visible_runs(cache.RUNS_DIR, live_runs().names(browser_id()), share)
    if not logs:
        st.caption(
            "No runs yet. Start one here or with `python -m explorer.train vae` on the server; "
            "its metrics appear here while it trains."
        )
        return
    chosen = st.selectbox("Run", list(logs), key="kl_follow")
    _follow(logs[chosen])


def _follow(path: Path) -> None:
    """A run's dashboard, refreshed every 2 s while its run trains, and not at all once it has
    finished or stopped (an idle page then costs the server nothing)."""
    from explorer import trainstate

    live = trainstate.run_status(path).state in ("running", "unknown")

    @st.fragment(run_every=2.0 if live else None)
    def panel() -> None:
        metrics_dashboard(path, "kl_follow")
        if live and trainstate.run_status(path).state not in ("running", "unknown"):
            st.rerun()  # it just ended: redraw once without the timer

    panel()
