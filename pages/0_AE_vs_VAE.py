"""AE vs VAE: the same network trained with two objectives, shown and measured side by side."""

import streamlit as st

from explorer.ui import ae_vs_vae, ae_vs_vae_views, setup, state, studies

setup.page_setup("AE vs VAE")
st.title("AE vs VAE")
from_link = state.url_state(ae_vs_vae.FIELDS, "cmp")
if from_link and st.session_state["cmp_preset"] and st.session_state["cmp_selected"] is None:
    ae_vs_vae.apply_preset(st.session_state["cmp_preset"])  # a lesson's link names the preset

top = st.columns([1, 3, 2], vertical_alignment="bottom")
pair = top[0].segmented_control(
    "Pair",
    list(ae_vs_vae.PAIR_LABELS),
    format_func=ae_vs_vae.PAIR_LABELS.get,
    key="cmp_pair",
    required=True,
    on_change=ae_vs_vae.pair_changed,
)
view = top[1].segmented_control(
    "View", list(ae_vs_vae.VIEWS), format_func=ae_vs_vae.VIEWS.get, key="cmp_view", required=True
)
reader = top[2].segmented_control(
    "Reader",
    list(ae_vs_vae.READERS),
    format_func=lambda k: studies.READER_LABELS[ae_vs_vae.READERS[k]],
    key="cmp_reader",
    required=True,
)
ae_vs_vae.preset_buttons()
cmp = ae_vs_vae.comparison(pair, reader)
if cmp is None:
    st.stop()
ae_vs_vae.explain(cmp)
ae_vs_vae.preset_note(cmp, view)
if view == "findings":
    ae_vs_vae.show_findings(cmp)
else:
    ae_vs_vae_views.SHOW[view](cmp)
state.write_url_state(ae_vs_vae.FIELDS, "cmp")
