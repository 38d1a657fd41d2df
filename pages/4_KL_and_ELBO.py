"""KL / ELBO: the terms of a VAE's objective for one digit, over the test set, and live."""

import streamlit as st
import torch

from explorer import losses, plots, urlstate, views
from explorer.ui import cache, display, setup, state, training

setup.page_setup("KL and ELBO")
st.title("KL and ELBO")
display.formula(
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

names = cache.available(("vae",))
FIELDS = [
    urlstate.Field("keep_kl_model", "model", names[0] if names else None, urlstate.choice(names)),
    *state.digit_fields("kl_digit"),
    urlstate.Field("kl_beta", "beta", 1.0, urlstate.number(0.0, 5.0), urlstate.dump_number),
]
state.url_state(FIELDS, "kl")
name = state.pick("VAE", names, "kl_model", cache.label)
ckpt = cache.load_or_explain(name) if name else None
if ckpt is not None:
    pixels, labels = cache.held_out(ckpt)
    row = state.pick_digit(labels, "kl_digit")
    report = views.elbo_report(ckpt.model, pixels[row])
    c1, c2, c3 = st.columns([2, 2, 3] if setup.presenting() else [1, 1, 3])
    with c1:
        display.show_digit(pixels[row], "digit", scale=setup.scale(5, 10))
    with c2:
        display.show_digit(report.image, "reconstruction", scale=setup.scale(5, 10))
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
    active = losses.active_units(torch.from_numpy(cache.held_out_codes(name, ckpt.sha256)))
    st.metric("Active units", f"{int(active.sum())} of {len(active)}")
    st.caption(views.inactive_units_text(active.tolist()))
    st.plotly_chart(
        plots.kl_bars(mean_kl, None, f"average KL per dimension over {len(labels)} digits"),
        key="kl_dataset",
    )

state.write_url_state(FIELDS, "kl")
st.subheader("Live training")
train_tab, follow_tab = st.tabs(["Train a VAE here", "Follow a run"])
with train_tab:
    training.train_panel()
with follow_tab:
    training.follow_panel()
