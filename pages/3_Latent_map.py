"""Latent map: the AE's and the VAE's codes of the same digits as two linked maps (t-SNE, UMAP or
PCA): a digit's picture under the pointer, a lasso on one map lights up the same digits on the
other, colours by digit, by how much the two models agree on a digit's neighbours, or by its
shape; a picked digit's nearest codes in each model; the selected digits sent to Interpolation."""

import streamlit as st

from explorer.ui import display, latent_map, latent_map_panels, setup, state

setup.page_setup("Latent map")
st.title("Latent map")
display.formula(
    r"p_{j|i} \propto \exp\!\left(-\tfrac{\|z_i - z_j\|^2}{2\sigma_i^2}\right), \quad "
    r"q_{ij} \propto \left(1 + \|y_i - y_j\|^2\right)^{-1}",
    "t-SNE places each code z in 2-D so that codes that are neighbours in the latent space stay "
    "neighbours on the map (van der Maaten & Hinton, 2008); perplexity sets how many neighbours "
    "count. UMAP (McInnes et al., 2018) keeps a graph of each code's 15 nearest neighbours and "
    "also keeps more of the layout between clusters; PCA is the linear view: the two directions "
    "of largest variance. Trustworthiness (1 is best) says how rarely a map puts digits side by "
    "side that are not neighbours in the codes. Point at a digit to see it; click or tap to pick "
    "it; lasso digits on one map to find them on the other.",
)
ckpts = latent_map.models()
view = latent_map.settings(ckpts[0] if ckpts else None)
if ckpts:
    points, codes = latent_map.linked_maps(ckpts, view)
    latent_map_panels.overlap_summary(ckpts, points, codes)
    latent_map_panels.selection(ckpts, points)
    latent_map_panels.neighbour_strips(ckpts, points, codes)
state.write_url_state(latent_map.FIELDS, "map")
