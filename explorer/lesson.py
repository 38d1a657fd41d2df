"""The lesson "Why a VAE?": short steps, each with a link that opens a page in a preset state.

Pure data (no Streamlit): a step names a page and the query parameters that page reads through
its URL fields (explorer/urlstate.py), so the same step is a button in the app and a link a
teacher can paste. The claims follow the measured results (bench/results/smoothness.json,
README): the VAE's N(0, I) samples are far better than the AE's at d = 16 and more diverse at
d = 2, its paths have smaller pixel jumps and a shorter path length, but the AE's paths are not
less confident than the VAE's on these models, and the text says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode


@dataclass(frozen=True)
class Step:
    """One step: a title, a few sentences, and the page (a script under pages/) it opens."""

    title: str
    text: str
    page: str
    params: dict[str, str] = field(default_factory=dict)
    button: str = "Open"

    def url(self, present: bool = False) -> str:
        """The step's link, relative to the app's address (``/Latent_sliders?model=vae2d``)."""
        params = {**self.params, **({"present": "1"} if present else {})}
        path = "/" + self.page.removeprefix("pages/").removesuffix(".py").split("_", 1)[1]
        return path + (f"?{urlencode(params)}" if params else "")


STEPS = [
    Step(
        "1. Walk through a VAE's latent space",
        "The 2-D VAE turns every point z = (z0, z1) into an image. Drag z0 and watch the digit "
        "morph; the strip underneath sweeps z0 across its whole range with z1 fixed, and the "
        "grid below the sliders shows the whole plane at once. Nearly everywhere a digit.",
        "pages/1_Latent_sliders.py",
        {"model": "vae2d", "start": "random", "seed": "3", "sweep": "0"},
        "Sweep a VAE slider",
    ),
    Step(
        "2. An AE can have holes",
        "An AE with the same network, data and training, but trained only to reconstruct, has "
        "no reason to decode the space between its codes into digits. This preset opens the "
        "held-out pair whose path falls furthest below the VAE's: the AE passes through frames "
        "the classifier cannot read. It is one chosen pair: the boxes on that page show all 200, "
        "and on these models the AE's paths are, on average, no less confident than the VAE's.",
        "pages/0_AE_vs_VAE.py",
        {"preset": "hole"},
        "Show a hole in the AE",
    ),
    Step(
        "3. The VAE's prior is filled",
        "Sampling means decoding z ~ N(0, I). The VAE was trained for that: at d = 16, 39 % of "
        "its samples are read as a digit, the AE's 0 %. At d = 2 (this view) the VAE's samples "
        "cover the ten digits more evenly (diversity 2.24 against 1.76 nats). An AE needs a "
        "Gaussian fitted to its codes afterwards (the third grid).",
        "pages/0_AE_vs_VAE.py",
        {"preset": "prior", "view": "samples"},
        "Sample from the prior",
    ),
    Step(
        "4. Smoother paths between digits",
        "Interpolate between a 1 and a 7 with both models. Over 200 pairs the VAE's paths have "
        "smaller largest pixel jumps at d = 2 (0.042 against 0.062) and a shorter path length "
        "at d = 2 and d = 16: its images change more evenly. Look at the pixel-change charts.",
        "pages/2_Interpolation.py",
        {"pair": "2d", "frames": "11"},
        "Interpolate 1 → 7",
    ),
    Step(
        "5. What the VAE pays for it: the ELBO of one digit",
        "The VAE's objective is reconstruction minus KL. For this digit, read the reconstruction "
        "term, the KL of each of the 16 dimensions (closed form beside a Monte Carlo estimate) "
        "and their difference, the ELBO. A dimension with KL near 0 carries no information.",
        "pages/4_KL_and_ELBO.py",
        {"model": "vae", "digit": "3"},
        "Break down one ELBO",
    ),
    Step(
        "6. β: how much the prior counts",
        "β weighs the KL term. Moving β here shows how the objective of this digit changes; "
        "to see the effect on the space, train a VAE with β = 4 in the panel below it (a minute "
        "or so) and compare its KL per dimension: fewer dimensions stay active.",
        "pages/4_KL_and_ELBO.py",
        {"model": "vae", "digit": "3", "beta": "4"},
        "Weigh the KL by β = 4",
    ),
    Step(
        "7. The map of the codes",
        "t-SNE places the 500 held-out codes in 2-D, AE and VAE side by side, coloured by digit, "
        "with 50 prior samples on top: the VAE's samples land among its digits. Click two points "
        "to send them to Interpolation.",
        "pages/3_Latent_map.py",
        {"method": "tsne", "overlay": "prior"},
        "Open the latent map",
    ),
]
