"""Home: what each bundled model is, its held-out numbers, training curves and samples."""

import streamlit as st

from explorer import lesson, markdown, plots, sitemap, urlstate, views
from explorer.ui import cache, display, setup, state, studies

setup.page_setup("Home")
st.title("Latent Explorer")
st.markdown(
    "Explore the latent spaces of an **autoencoder**, a **variational autoencoder** and a "
    "**DCGAN** trained on handwritten digits. Use the pages in the sidebar (» at the top left "
    "on a phone): drag latent sliders, interpolate between digits, map the codes with t-SNE, "
    "and break the ELBO into its terms."
)
st.page_link(
    sitemap.AE_VS_VAE.script,
    label="Start here: **AE vs VAE**, the same network trained with two objectives, side by side",
    icon=":material/compare:",
)
st.page_link(
    sitemap.LESSON.script,
    label=f"For a class: **Why a VAE?**, a lesson in {len(lesson.STEPS)} steps, each opening a page",
    icon=":material/school:",
)
display.formula(
    r"\mathcal{L}(x) = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))",
    "A VAE is trained to maximise this lower bound on log p(x): reconstruct well, and keep each "
    "code's distribution close to the N(0, I) prior. An AE only reconstructs, so nothing makes "
    "its latent space smooth; a GAN has no encoder at all.",
)

# The generative models first, the two readers that score them last.
names = cache.available(("ae", "vae", "gan")) + cache.available(("classifier",))
if not names:
    st.error(
        f"No checkpoints found in {cache.CHECKPOINT_DIR}. Create them with checkpoints/train_all.sh."
    )
FIELDS = [
    urlstate.Field("home_seed", "seed", 0, urlstate.integer(0, 10_000)),
    urlstate.Field("home_curves", "curves", False, *urlstate.named({"off": False, "on": True})),
]
state.url_state(FIELDS, "home")
seed_box, curves_box = st.columns([1, 2], vertical_alignment="bottom")
seed = seed_box.number_input("Sample seed", 0, 10_000, key="home_seed")
# Off at first: seven Plotly charts took about two of the first view's seconds in the browser.
curves = curves_box.toggle("Training curves", key="home_curves")
state.write_url_state(FIELDS, "home")
for name in names:
    ckpt = cache.load_or_explain(name)
    if ckpt is None:
        continue
    st.subheader(cache.label(name))
    meta, config = ckpt.meta, ckpt.config
    if curves:
        left, chart, right = st.columns([2, 3, 2])
    else:
        (left, right), chart = st.columns([3, 2]), None
    with left:
        st.markdown(
            f"- kind: **{config.kind}**, latent dim **{config.latent_dim or '–'}**\n"
            f"- data: {views.split_text(meta.get('split', {}))}\n"
            f"- trained **{meta.get('epochs', '?')}** epochs in {meta.get('seconds', '?')} s"
        )
        rows = [
            [markdown.cell(label), markdown.cell(value)]
            for label, value in views.held_out_rows(meta)
        ]
        st.markdown(markdown.table(["test digits", "value"], rows))
    if chart is not None:
        keys = {
            "vae": ["elbo", "val_elbo", "test_elbo"],  # test_: checkpoints from before validation
            "ae": ["recon", "val_recon", "test_recon"],
            "gan": ["d_loss", "g_loss", "val_frechet"],
            "classifier": ["accuracy", "val_accuracy", "test_accuracy"],
        }[config.kind]
        with chart:
            st.plotly_chart(
                plots.curves(meta.get("history", []), keys, "training curves"), key=f"curve_{name}"
            )
    with right:
        if config.kind == "classifier":
            st.caption(
                "A reader of digits: it reads decoded images (confidence along paths, samples "
                "read as a digit) and gives the features of the Fréchet distance and KID. It was "
                "chosen on real validation digits only, never on any model's decodes."
            )
        else:
            png = studies.sample_grid(ckpt, int(seed))
            st.image(png, caption="64 random samples", output_format="PNG")
