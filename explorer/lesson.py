"""The lesson "Why a VAE?": short steps, each with a link that opens a page in a preset state.

Pure data (no Streamlit): a step names a page and the query parameters that page reads through
its URL fields (explorer/urlstate.py), so the same step is a button in the app and a link a
teacher can paste. Its numbers, and the direction of each claim, are read from the measured
results of the bundled models (bench/results/smoothness.json, quoted in the README), so the
text says what is true of these models, including where the AE does as well as the VAE.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from explorer import sitemap
from explorer.sitemap import Page

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "smoothness.json"
# Step 4's ends: the first held-out 1 and the first 7 (their indices within their class) that the
# bundled ae2d and vae2d both reconstruct as that digit with confidence >= 0.9 (the held-out 1 #0
# is a slanted 1 both read as a 7, and 7 #0 a 7 the classifier reads as a 1). Checked against the
# bundled models by tests/test_links.py.
LERP_ENDS = (2, 3)


@dataclass(frozen=True)
class Step:
    """One step: a title, a few sentences, and the page it opens."""

    title: str
    text: str
    page: Page
    params: dict[str, str] = field(default_factory=dict)
    button: str = "Open"

    def url(self, present: bool = False) -> str:
        """The step's link, relative to the app's address (``/Latent_sliders?model=vae2d``)."""
        params = {**self.params, **({"present": "1"} if present else {})}
        return self.page.path + (f"?{urlencode(params)}" if params else "")


def _pct(estimate: dict) -> str:
    """A share as the README quotes it: whole percent, one decimal under 10 % (7.5 %)."""
    value = 100 * estimate["value"]
    return f"{value:.1f} %" if value < 10 else f"{value:.0f} %"


def _claim(diff: dict, vae_more: str, ae_more: str, alike: str) -> str:
    """The words for a measured VAE − AE difference: ``alike`` when its interval holds 0, else
    the side it favours (``vae_more`` when positive, ``ae_more`` when negative)."""
    if not diff["separates"]:
        return alike
    return vae_more if diff["value"] > 0 else ae_more


def numbers(results: dict) -> dict[str, str]:
    """The figures the lesson quotes, formatted, and the d = 2 claims, each worded from the
    direction of its measured interval, from bench.smoothness's results."""
    d16, d2 = results["16d"], results["2d"]
    diff = d2["vae_minus_ae"]
    ae, vae = (_pct(d2[m]["samples_prior_confident"]) for m in ("ae", "vae"))
    ae_div, vae_div = (f"{d2[m]['samples_prior_diversity']['value']:.2f}" for m in ("ae", "vae"))
    return {
        "vae16": _pct(d16["vae"]["samples_prior_confident"]),
        "ae16": _pct(d16["ae"]["samples_prior_confident"]),
        "vae_jump": f"{d2['vae']['path_largest_jump']['value']:.3f}",
        "ae_jump": f"{d2['ae']['path_largest_jump']['value']:.3f}",
        "paths": _claim(
            diff["path_lowest_confidence"],
            "on average the VAE's paths stay more confident than the AE's",
            "on average the AE's paths are more confident than the VAE's",
            "on average the AE's paths are about as confident as the VAE's",
        ),
        "samples2": _claim(
            diff["samples_prior_confident"],
            f"the VAE's samples are read as a digit more often too ({vae} against {ae})",
            f"the AE's samples are read as a digit more often ({ae} against {vae})",
            f"both models' samples are read as a digit about as often ({vae} and {ae})",
        ),
        "diversity2": _claim(
            diff["samples_prior_diversity"],
            f"The VAE's spread over more of the ten digits (diversity {vae_div} nats against "
            f"{ae_div}",
            f"The AE's spread over more of the ten digits (diversity {ae_div} nats against "
            f"{vae_div}",
            f"Both spread over the ten digits about as much (diversity {vae_div} and {ae_div} nats",
        )
        + "; log 10 = 2.30 is all ten equally).",
    }


def steps(results: dict) -> list[Step]:
    """The steps, their figures taken from ``results`` (the last one's from
    bench/results/attributes.json)."""
    n = numbers(results)
    found = [
        Step(
            "1. Walk through a VAE's latent space",
            "The 2-D VAE turns every point z = (z0, z1) into an image. Drag z0 and watch the digit "
            "morph; the strip underneath sweeps z0 across its whole range with z1 fixed, and the "
            "grid below the sliders shows the whole plane at once. Nearly everywhere a digit.",
            sitemap.SLIDERS,
            {"model": "vae2d", "start": "random", "seed": "3", "sweep": "0"},
            "Sweep a VAE slider",
        ),
        Step(
            "2. An AE can have holes",
            "An AE with the same network, data and training, but trained only to reconstruct, has "
            "no reason to decode the space between its codes into digits. This preset opens the "
            "held-out pair whose path falls furthest below the VAE's: the AE passes through frames "
            "the classifier cannot read. It is one chosen pair: the boxes on that page show all 200, "
            f"and {n['paths']}.",
            sitemap.AE_VS_VAE,
            {"preset": "hole"},
            "Show a hole in the AE",
        ),
        Step(
            "3. The VAE's prior is filled",
            "Sampling means decoding z ~ N(0, I). The VAE was trained for that: at d = 16 (this "
            f"view), {n['vae16']} of its samples are read as a digit, the AE's {n['ae16']}. At d = 2 "
            f"(the other pair) {n['samples2']}. {n['diversity2']} An AE needs a Gaussian fitted "
            "to its codes afterwards (the third grid).",
            sitemap.AE_VS_VAE,
            {"preset": "prior", "view": "samples", "pair": "16d"},
            "Sample from the prior",
        ),
        Step(
            "4. Smoother paths between digits",
            "Interpolate between a 1 and a 7 with both 2-D models (the first held-out 1 and 7 that "
            "both reconstruct as themselves). Over 200 pairs the largest jump between frames at "
            f"d = 2, the peak of the charts' 'mean' line (the change per pixel), is {n['vae_jump']} "
            f"for the VAE and {n['ae_jump']} for the AE (the README has every measure with its "
            "interval).",
            sitemap.INTERPOLATION,
            {
                "pair": "2d",
                "frames": "11",
                "a_index": str(LERP_ENDS[0]),
                "b_index": str(LERP_ENDS[1]),
            },
            "Interpolate 1 → 7",
        ),
        Step(
            "5. What the VAE pays for it: the ELBO of one digit",
            "The VAE's objective is reconstruction minus KL. For this digit, read the reconstruction "
            "term, the KL of each of the 16 dimensions (closed form beside a Monte Carlo estimate) "
            "and their difference, the ELBO. A dimension with KL near 0 carries no information.",
            sitemap.KL_ELBO,
            {"model": "vae", "digit": "3"},
            "Break down one ELBO",
        ),
        Step(
            "6. β: how much the prior counts",
            "β weighs the KL term. Moving β here shows how the objective of this digit changes; "
            "to see the effect on the space, train a VAE with β = 4 in the panel below it (a minute "
            "or so) and compare its KL per dimension: fewer dimensions stay active.",
            sitemap.KL_ELBO,
            {"model": "vae", "digit": "3", "beta": "4"},
            "Weigh the KL by β = 4",
        ),
        Step(
            "7. The map of the codes",
            "t-SNE places the 500 held-out codes in 2-D, AE and VAE side by side, coloured by digit, "
            "with 50 prior samples on top. Each sample is placed beside the codes nearest to it, so "
            "the map shows which digits a sample is near, not whether it decodes to one (step 3 "
            "measures that). Click two points to send them to Interpolation.",
            sitemap.LATENT_MAP,
            {"method": "tsne", "overlay": "prior"},
            "Open the latent map",
        ),
    ]
    return [*found, attribute_step(_attribute_results(), len(found) + 1)]


# ---- What a direction means (issue 25): numbers from bench/results/attributes.json ------------

ATTRIBUTE_RESULTS = RESULTS.with_name("attributes.json")
ATTRIBUTE_DIGIT = 3  # the held-out digit the step edits (class; the first of its class)


def _attribute_results() -> dict | None:
    try:
        return json.loads(ATTRIBUTE_RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _than(a: dict, b: dict) -> str:
    """How interval ``a`` compares with ``b``: above, below, or overlapping."""
    if a["low"] > b["high"]:
        return "higher than"
    return "lower than" if a["high"] < b["low"] else "about the same as"


def thickness_request(results: dict) -> float:
    """The step's request: two SDs of the VAE's codes along its thickness direction, in px,
    rounded down to 0.1 px (inside the slider's ±3 SDs)."""
    return math.floor(20 * results["models"]["vae"]["attributes"]["thickness"]["per_unit"]) / 10


def attribute_step(results: dict | None, number: int) -> Step:
    """The VAE's "thicker" slider on a held-out digit, with the measured figures: how well a line
    through its codes predicts thickness (beside the AE's and the GAN's), and how well moving
    along it follows the request and keeps the digit."""
    title = f"{number}. What a direction means: thicker, more slanted, wider"
    params = {"model": "vae", "sliders": "attributes", "digit": str(ATTRIBUTE_DIGIT)}
    intro = (
        "Morpho-MNIST measures six things about a handwritten digit without any classifier: "
        "its ink area, stroke length, thickness, slant, width and height. "
    )
    if not results or "vae" not in results.get("models", {}):
        text = intro + "Drag the VAE's attribute sliders and watch the digit; `python -m "
        text += "bench.attributes` measures how well each model's directions work."
        return Step(title, text, sitemap.SLIDERS, params, "Make a digit thicker")
    models = results["models"]
    vae = models["vae"]["attributes"]["thickness"]
    ask = thickness_request(results)
    params["edit"] = f"thickness:{ask:.4g}"
    others = []
    if "ae" in models:
        ae = models["ae"]["attributes"]["thickness"]["r2"]
        others.append(f"{_than(vae['r2'], ae)} the AE's, {ae['value']:.2f}")
    if "gan" in models:
        gan = models["gan"]["attributes"]["thickness"]["r2"]["value"]
        others.append(f"the GAN's, fitted on its own samples, {gan:.2f}")
    reader, about = next(iter(results["readers"].items()), (None, {}))
    kept = ""
    if reader:
        name = about["label"].replace(": ", " (") + ")"  # "Reader A (CNN)"
        won = results.get("winners", {}).get(f"kept:{reader}", {}).get("thickness") == "vae"
        kept = (
            f", and {name} still reads the same digit after "
            f"{100 * vae['kept'][reader]['value']:.0f} % of them"
            + (" (more often than with any other model)" if won else "")
        )
    text = intro + (
        f"A straight line through the VAE's codes predicts thickness with held-out R² "
        f"{vae['r2']['value']:.2f} ({'; '.join(others)}). This opens a held-out "
        f"{ATTRIBUTE_DIGIT} with the VAE's attribute sliders, asking for {ask:+.1f} px of "
        "thickness by moving its code along that line's direction: drag the thickness slider "
        "towards 'thicker' and watch; when you let go, the page measures the digit. Over "
        f"{results['digits']} held-out digits, moves of one and two SDs of the codes along it "
        f"deliver {100 * vae['slope']['value']:.0f} % of the change asked (R² "
        f"{vae['follow_r2']['value']:.2f}){kept}. Below the sliders, the same request goes to "
        "the AE's and the GAN's version of the digit, and a table says which model wins each "
        "attribute."
    )
    return Step(title, text, sitemap.SLIDERS, params, "Make a digit thicker")


STEPS = steps(json.loads(RESULTS.read_text(encoding="utf-8")))
