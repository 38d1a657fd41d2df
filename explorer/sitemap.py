"""The app's pages: each script, its title and icon in the sidebar, and its address.

Pure data (no Streamlit), so that the library (the lesson's links) and the pages name a page
the same way: ``sitemap.INTERPOLATION.script`` for ``st.switch_page``, ``.path`` in a link.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page of the app: its script (relative to the app's folder), title and icon."""

    script: str
    title: str
    icon: str

    @property
    def path(self) -> str:
        """The page's address relative to the app (``/Latent_sliders``; Home is ``/``): Streamlit
        names a pages/ script's URL after its file name without the number."""
        if not self.script.startswith("pages/"):
            return "/"
        return "/" + self.script.removeprefix("pages/").removesuffix(".py").split("_", 1)[1]


HOME = Page("streamlit_app.py", "Home", ":material/home:")
AE_VS_VAE = Page("pages/0_AE_vs_VAE.py", "AE vs VAE", ":material/compare:")
SLIDERS = Page("pages/1_Latent_sliders.py", "Latent sliders", ":material/tune:")
INTERPOLATION = Page("pages/2_Interpolation.py", "Interpolation", ":material/linear_scale:")
LATENT_MAP = Page("pages/3_Latent_map.py", "Latent map", ":material/scatter_plot:")
KL_ELBO = Page("pages/4_KL_and_ELBO.py", "KL and ELBO", ":material/functions:")
LESSON = Page("pages/5_Lesson.py", "Lesson: why a VAE?", ":material/school:")
PAGES = (HOME, AE_VS_VAE, SLIDERS, INTERPOLATION, LATENT_MAP, KL_ELBO, LESSON)
