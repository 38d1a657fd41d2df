"""KL / ELBO: the terms of a VAE's objective for one digit, over the test set, and live."""

import os
import time

import streamlit as st
import torch

from explorer import live, losses, plots, train, ui, urlstate, views
from explorer.ui import training

ui.page_setup("KL and ELBO")
st.title("KL and ELBO")
ui.formula(
    [
        r"\mathrm{ELBO}(x) = \underbrace{\mathbb{E}_{q(z|x)}[\log p(x|z)]}_{\text{reconstruction}}"
        r" - \sum_{j} \mathrm{KL}_j",
        r"\mathrm{KL}(\mathcal{N}(\mu_j,\sigma_j^2)\,\|\,\mathcal{N}(0,1))",
        r"= \tfrac12\left(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2\right) = \mathrm{KL}_j",
    ],
    "The reconstruction term rewards decoding the digit well; each KL term is what it costs, in "
    "nats, to describe coordinate j more precisely than the prior does. A coordinate whose "
    "posterior mean does not move with the digit is unused ('inactive'). β-VAE weighs the KL by β: more than 1 trades detail for a "
    "smoother, more disentangled space.",
)

names = ui.available(("vae",))
FIELDS = [
    urlstate.Field("keep_kl_model", "model", names[0] if names else None, urlstate.choice(names)),
    *ui.digit_fields("kl_digit"),
    urlstate.Field("kl_beta", "beta", 1.0, urlstate.number(0.0, 5.0), urlstate.dump_number),
]
ui.url_state(FIELDS, "kl")
name = ui.pick("VAE", names, "kl_model", ui.label)
ckpt = ui.load_or_explain(name) if name else None
if ckpt is not None:
    pixels, labels = ui.held_out(ckpt)
    row = ui.pick_digit(labels, "kl_digit")
    report = views.elbo_report(ckpt.model, pixels[row])
    c1, c2, c3 = st.columns([2, 2, 3] if ui.presenting() else [1, 1, 3])
    with c1:
        ui.show_digit(pixels[row], "digit", scale=ui.scale(5, 10))
    with c2:
        ui.show_digit(report.image, "reconstruction", scale=ui.scale(5, 10))
    with c3:
        # Two metrics a row, the unit in the label: four in a row were cut off at 1280 px.
        m = [*st.columns(2), *st.columns(2)]
        m[0].metric("reconstruction E[log p(x|z)], nats", f"{report.reconstruction:.1f}")
        m[1].metric("KL total, nats", f"{report.kl:.2f}")
        m[2].metric("ELBO, nats", f"{report.elbo:.1f}")
        m[3].metric("bits / dim", f"{report.bits_per_dim:.3f}")
        beta = st.slider("β", 0.0, 5.0, step=0.1, key="kl_beta")
        st.metric(
            f"β-weighted loss −E[log p(x|z)] + {beta:g}·KL, nats", f"{report.objective(beta):.1f}"
        )
    st.plotly_chart(
        plots.kl_bars(
            report.kl_per_dim,
            report.kl_monte_carlo,
            "KL per dimension: closed form and Monte Carlo (2,000 samples)",
        ),
        key="kl_bars",
    )
    st.subheader("Over the held-out set")
    mean_kl = views.dataset_kl(ckpt.model, pixels)
    active = losses.active_units(torch.from_numpy(ui.held_out_codes(name, ckpt.sha256)))
    st.metric("Active units", f"{int(active.sum())} of {len(active)}")
    st.caption(views.inactive_units_text(active.tolist()))
    st.plotly_chart(
        plots.kl_bars(mean_kl, None, f"average KL per dimension over {len(labels)} digits"),
        key="kl_dataset",
    )

ui.write_url_state(FIELDS, "kl")
st.subheader("Live training")
train_tab, follow_tab = st.tabs(["Train a VAE here", "Follow a run"])
runs = training.live_runs()
me = training.browser_id()  # one run per browser, found again after a reload
runs.seen(me, training.streamlit_session())
with train_tab:
    mine = runs.get(me)
    busy = mine is not None and mine.running
    c1, c2, c3 = st.columns(3)
    for key, low, high in (("kl_live_dim", 1, 32), ("kl_live_beta", 0.0, 10.0),
                           ("kl_live_epochs", 1, 30)):  # fmt: skip
        ui.clamp_number_state(key, low, high)
    dim = int(c1.number_input("Latent dim", 1, 32, 8, key="kl_live_dim", disabled=busy))
    # A run's β starts at the β chosen above (which a lesson's link sets) until it is set here.
    st.session_state.setdefault("kl_live_beta", float(st.session_state["kl_beta"]))
    live_beta = float(c2.number_input("β", 0.0, 10.0, step=0.5, key="kl_live_beta", disabled=busy))
    epochs = int(c3.number_input("Epochs", 1, 30, 5, key="kl_live_epochs", disabled=busy))
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button("Start", key="kl_live_start"):
        live.prune_live_dirs(ui.RUNS_DIR, running={r for r in [mine and mine.name] if r})
        run_dir = ui.RUNS_DIR / f"{live.LIVE_PREFIX}{me[:8]}-{time.strftime('%Y%m%d-%H%M%S')}"
        args = train.make_args(
            "vae",
            latent_dim=dim,
            beta=live_beta,
            kl_warmup=0,  # the β chosen here holds from the first step, in runs of a few epochs
            epochs=epochs,
            progress=False,
            out=str(run_dir / "vae.safetensors"),
            run_dir=str(run_dir),
            log_every=5,
            write_resume=False,
        )
        try:
            runs.start(me, args, training.streamlit_session())
        except live.CapacityError as err:
            st.warning(str(err))
    if b2.button("Stop", key="kl_live_stop"):
        runs.stop(me)
    mine = runs.get(me)

    @st.fragment(run_every=1.0 if mine is not None and mine.running else None)
    def live_panel() -> None:
        runs.seen(me, training.streamlit_session())
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
        training.metrics_dashboard(run.metrics_path, "kl_live")

    live_panel()
with follow_tab:
    share = os.environ.get("LATENT_EXPLORER_SHARE_RUNS", "") == "1"
    logs = live.visible_runs(ui.RUNS_DIR, runs.names(me), share)
    if not logs:
        st.caption(
            "No runs yet. Start one here or with `python -m explorer.train vae` on the server; "
            "its metrics appear here while it trains."
        )
    else:
        chosen = st.selectbox("Run", list(logs), key="kl_follow")

        @st.fragment(run_every=2.0)
        def follow_panel() -> None:
            training.metrics_dashboard(logs[chosen], "kl_follow")

        follow_panel()
