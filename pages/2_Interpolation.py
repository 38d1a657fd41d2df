"""Interpolation: decode the path between two codes, for the AE and VAE side by side."""

import streamlit as st

from explorer import sitemap
from explorer.ui import cache, display, interpolation, setup, state

setup.page_setup("Interpolation")
st.title("Interpolation")
display.formula(
    [
        r"w^* = \lambda a + (1-\lambda)\, b",
        r"\text{slerp: } w^* = \frac{\sin(\lambda\Omega)}{\sin\Omega} a "
        r"+ \frac{\sin((1-\lambda)\Omega)}{\sin\Omega} b",
    ],
    "λ = 1 gives a, λ = 0 gives b. Each model encodes the same two digits itself and decodes the "
    "points in between. A smooth latent space changes the image a little at every step and keeps "
    "the classifier confident; gaps show up as jumps and as frames no digit class claims. Spherical "
    "interpolation (Ω: the angle between a and b) keeps Gaussian codes at a typical norm.",
)
state.url_state(interpolation.FIELDS, "ip")
settings, stage = setup.stage()
with settings:
    pair = st.radio(
        "Models",
        list(interpolation.PAIRS),
        horizontal=True,
        key="ip_models",
        format_func=lambda p: f"AE and VAE, d = {p[:-1]}",
    )
    ends = interpolation.pick_ends(pair)
    classifier = cache.load_or_explain("classifier")
with stage:
    interpolation.at_lambda(ends)
interpolation.paths(ends, classifier)
st.page_link(
    sitemap.AE_VS_VAE.script,
    label="One pair proves little: compare AE and VAE over 200 pairs, with intervals",
    icon=":material/compare:",
)
interpolation.gan_strip(ends, classifier)
state.write_url_state(interpolation.FIELDS, "ip")
