"""Latent sliders: move one latent coordinate at a time and watch the decoded digit change."""

import streamlit as st

from explorer import urlstate
from explorer.ui import attributes, cache, display, same_request, setup, sliders, state

setup.page_setup("Latent sliders")
st.title("Latent sliders")
display.formula(
    r"\hat{x} = \sigma(\mathrm{decoder}(z)), \quad z = (z_0, \dots, z_{d-1})",
    "Every point z of the latent space decodes to an image. Each slider moves one coordinate "
    "(for the 100-d GAN: one principal direction of its prior). VAE sliders span ±3 around the "
    "N(0, I) prior; AE sliders span the 1st to 99th percentile of its training codes, because an "
    "AE has no prior and codes outside that range decode to noise.",
)

models = cache.available()
default = models[0] if models else None
MODEL = urlstate.Field("keep_sl_model", "model", default, urlstate.choice(models))
state.url_state([MODEL], "sl")  # the model first: the other fields depend on it
settings, stage = setup.stage((1, 2))  # a wide stage: 16 sliders beside the digit
with settings:
    name = state.pick("Model", models, "sl_model", cache.label)
ckpt = cache.load_or_explain(name) if name else None
if ckpt is None:
    st.stop()
page = sliders.SliderPage(name, ckpt)
fields = [MODEL, *page.fields(), *attributes.fields(name)]
from_link = state.url_state(fields[1:], "sl")
z_from_link = from_link and st.session_state[page.truth] is not None
with settings:
    mode = st.container()  # filled last: leaving the attribute sliders edits the code set below
    start = sliders.pick_start(page, stage)
    sliders.buttons(page, start, z_from_link)
    with mode:
        by_attribute = attributes.pick_mode(page)  # latent coordinates, or thicker, slant, …
with stage:
    if by_attribute:
        edited = attributes.explore(page, fields, from_link)
        same_request.show(page, start, edited)
    else:
        sliders.explore(page, start, fields)
