"""The lesson "Why a VAE?": short steps, each with a link that opens a page in a preset state.

Pure data (no Streamlit): a step names a page and the query parameters that page reads through
its URL fields (explorer/urlstate.py), so the same step is a button in the app and a link a
teacher can paste. Every claim is read from the AE vs VAE protocol's results
(bench/results/smoothness.json, explorer.findings) and worded from its verdict: a robust finding
is told as a fact, a reversed one as the AE's, a mixed one as what it is (it depends on the
seed, the pairs or the reader). The folk claim "an AE's space is full of holes" is a question the
class tests, with the measured answer for these models. The figures are the bundled models' on
the protocol's first set, the ones the view a step opens shows.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

from explorer import findings, sitemap
from explorer.sitemap import Page

RESULTS = findings.RESULTS
READER = "classifier"  # the reader whose figures a step quotes (the view shows both)
SECOND_READER = "classifier_mlp"


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


def pct(estimate: dict) -> str:
    """An estimate's share in percent, by the rule the pages quote it with
    (:func:`explorer.findings.percent`)."""
    return findings.percent(estimate["value"])


def finding(results: dict, pair: str, key: str, comparison: str = "prior") -> findings.Finding:
    """One measure's finding for one pair."""
    return next(
        f
        for f in findings.findings(results, pair)
        if f.measure.key == key and f.comparison == comparison
    )


def figures(found: findings.Finding, reader: str = READER) -> tuple[dict, dict]:
    """The bundled AE's and VAE's figure (reader-free measures: the same for every reader)."""
    shown = found.shown.get(reader) or found.shown["none"]
    return shown["ae"], shown["vae"]


def said(found: findings.Finding, robust: str, reversed_: str, mixed: str) -> str:
    """The sentence for a finding's verdict, with how many combinations agree."""
    words = {"robust": robust, "reversed": reversed_, "mixed": mixed}[found.verdict]
    return f"{words} ({found.verdict}: {found.counts})"


def steps(results: dict | None) -> list[Step]:
    """The lesson's steps; without the protocol's results, the steps with no figures."""
    if results is None:
        return [*_plain_steps(), attribute_step(_attribute_results(), 8)]
    plain = _plain_steps()
    # Steps 1-4 open the same views with the measured figures in their text.
    texts = [_codes(results), _sampling(results), _paths(results), _holes(results)]
    measured = zip(plain[: len(texts)], texts, strict=True)
    found = [dataclasses.replace(step, text=text) for step, text in measured]
    found += plain[len(texts) :]
    return [*found, attribute_step(_attribute_results(), len(found) + 1)]


def _codes(results: dict) -> str:
    far2, far16 = finding(results, "2d", "far_share"), finding(results, "16d", "far_share")
    (ae2, vae2), (ae16, vae16) = figures(far2), figures(far16)
    text = (
        "A VAE pays, for every digit, for how far its code's distribution is from N(0, I); an AE "
        "puts its codes wherever reconstruction likes. This opens each 2-D model's plane over "
        "its own codes, with N(0, I)'s 2σ and 3σ circles dotted and, in red, where a code drawn "
        "from N(0, I) would land farther from every code the decoder learned from than 99 % of "
        f"those codes are from their neighbour. At d = 2, {pct(ae2)} of N(0, I) samples land "
        f"that far for the AE and {pct(vae2)} for the VAE; at d = 16, {pct(ae16)} and "
        f"{pct(vae16)}. At d = 16 "
        + said(
            far16,
            "the VAE's codes are where sampling looks",
            "the AE's codes are where sampling looks",
            "which model's codes sampling finds depends on the run",
        )
        + "; at d = 2 "
        + said(
            far2,
            "the VAE's are too",
            "the AE's codes lie nearer N(0, I)'s samples",
            "it depends on the run",
        )
        + "."
    )
    return text


def _sampling(results: dict) -> str:
    stroke = finding(results, "16d", "no_stroke")
    kinds = finding(results, "16d", "diversity")
    read = finding(results, "16d", "confident")
    fitted = finding(results, "16d", "confident", "fitted")
    (no_ae, no_vae), (kinds_ae, kinds_vae) = figures(stroke), figures(kinds)
    (ae, vae), (ae_fit, _) = figures(read), figures(fitted)
    ae_b, vae_b = figures(read, SECOND_READER)
    text = (
        "Sampling means decoding z ~ N(0, I). At d = 16 (this view) "
        f"{pct(no_ae)} of the AE's samples have no stroke at all (not 4 pixels at half ink: "
        f"faint smears), {pct(no_vae)} of the VAE's: "
        + said(
            stroke,
            "the VAE's prior decodes to strokes, the AE's mostly to smears",
            "the AE's prior decodes to strokes more often",
            "which decodes to strokes more often depends on the run",
        )
        + f". The digits Reader A reads among them spread over {kinds_vae['value']:.2f} nats "
        f"for the VAE and {kinds_ae['value']:.2f} for the AE (all ten equally: 2.30): "
        + said(
            kinds,
            "the VAE's samples are all kinds of digit",
            "the AE's samples are more kinds of digit",
            "which makes more kinds depends on the run",
        )
        + f". Reader A reads {pct(vae)} of the VAE's samples as a digit and {pct(ae)} of the "
        f"AE's, smears included; Reader B {pct(vae_b)} and {pct(ae_b)}: "
        + said(
            read,
            "the VAE's are read as digits more often",
            "the AE's are read as digits more often",
            "how often a reader calls a sample a digit depends on the reader and the set",
        )
        + ". An AE needs a Gaussian fitted to its codes afterwards (the third grid): its "
        f"samples are then read as a digit {pct(ae_fit)} of the time, "
        + said(
            fitted,
            "still behind the VAE",
            "ahead of the VAE",
            "sometimes behind the VAE and sometimes not",
        )
        + "."
    )
    return text


def _paths(results: dict) -> str:
    jump2, jump16 = finding(results, "2d", "largest_jump"), finding(results, "16d", "largest_jump")
    (ae, vae) = figures(jump2)
    text = (
        "How much does the image change at each step of a path between two held-out digits? "
        "No reader is needed: this opens 200 pairs of the 2-D models, with the largest jump "
        "between frames of every path in the right-hand box (pick a pair to see its frames, and "
        f"open it in Interpolation). The largest jump averages {vae['value']:.3f} for the VAE "
        f"and {ae['value']:.3f} for the AE at d = 2: "
        + said(
            jump2,
            "the VAE's paths change the image more evenly",
            "the AE's paths change the image more evenly",
            "neither model's paths are evenly smoother",
        )
        + "; at d = 16 "
        + said(jump16, "the VAE's are", "the AE's are", "the difference does not hold")
        + "."
    )
    return text


def _holes(results: dict) -> str:
    garbage2 = finding(results, "2d", "garbage_share")
    garbage16 = finding(results, "16d", "garbage_share")
    (ae2, vae2), (ae16, vae16) = figures(garbage2), figures(garbage16)
    text = (
        "Is an AE's space 'full of holes'? Test it: this opens a typical pair of held-out digits "
        "(the median difference between the models) beside the boxes of all 200. A frame no "
        "digit claims is a blend when its top two digits reach 0.9 together, garbage otherwise. "
        f"Between a and b, {pct(ae2)} of the AE's frames are garbage at d = 2 and {pct(vae2)} "
        f"of the VAE's; at d = 16, {pct(ae16)} and {pct(vae16)}. The answer for these models: "
        + said(
            garbage2,
            "at d = 2 the AE's paths cross more garbage",
            "at d = 2 the VAE's paths cross more garbage, not the AE's",
            "at d = 2 it depends on the seed, the pairs or the reader",
        )
        + "; "
        + said(
            garbage16,
            "at d = 16 the AE's do",
            "at d = 16 the VAE's do",
            "at d = 16 it depends too",
        )
        + "."
    )
    return text


def _plain_steps() -> list[Step]:
    """Every step's page, link and button, with text that quotes no measured figure (steps 1-4
    get theirs from :func:`steps`)."""
    return [
        Step(
            "1. Where each model puts its codes",
            "The AE's and the VAE's 2-D planes over their own codes, with N(0, I)'s circles.",
            sitemap.AE_VS_VAE,
            {"view": "atlas", "pair": "2d", "window": "own", "overlay": "coverage"},
            "Show the codes",
        ),
        Step(
            "2. Sampling from the prior",
            "Both models decode the same N(0, I) codes.",
            sitemap.AE_VS_VAE,
            {"preset": "prior", "view": "samples", "pair": "16d"},
            "Sample from the prior",
        ),
        Step(
            "3. Paths between digits",
            "200 paths between held-out digits, both 2-D models.",
            sitemap.AE_VS_VAE,
            {"view": "pairs", "pair": "2d"},
            "Compare 200 paths",
        ),
        Step(
            "4. Holes: a question to test",
            "A typical pair beside the boxes of all 200.",
            sitemap.AE_VS_VAE,
            {"preset": "typical", "pair": "2d"},
            "Test for holes",
        ),
        Step(
            "5. What the VAE pays for it: the ELBO of one digit",
            "The VAE's objective is reconstruction minus KL: its reconstructions are blurrier "
            "than the AE's. For this digit, read the reconstruction term, the KL of each of the "
            "16 dimensions (closed form beside a Monte Carlo estimate) and their difference, the "
            "ELBO. A dimension with KL near 0 carries no information.",
            sitemap.KL_ELBO,
            {"model": "vae", "digit": "3"},
            "Break down one ELBO",
        ),
        Step(
            "6. β: how much the prior counts",
            "β weighs the KL term. Moving β here shows how the objective of this digit changes; "
            "to see the effect on the space, train a VAE with β = 4 in the panel below it (a "
            "minute or so) and compare its KL per dimension and its active units with the page's "
            "bundled VAE: fewer dimensions stay active.",
            sitemap.KL_ELBO,
            {"model": "vae", "digit": "3", "beta": "4"},
            "Weigh the KL by β = 4",
        ),
        Step(
            "7. The map of the codes",
            "t-SNE places the held-out codes in 2-D, AE and VAE side by side, coloured by digit, "
            "with 50 prior samples on top. Each sample is placed beside the codes nearest to it, "
            "so the map shows which digits a sample is near, not whether it decodes to one "
            "(step 2 measures that). Click one point, then Shift-click another (or lasso), and "
            "send them to Interpolation.",
            sitemap.LATENT_MAP,
            {"method": "tsne", "overlay": "prior"},
            "Open the latent map",
        ),
    ]


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


STEPS = steps(findings.load())
