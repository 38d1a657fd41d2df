"""What the AE vs VAE protocol found (``bench.smoothness``, bench/results/smoothness.json), in
the order the page and the lesson tell it: robust findings first, then the reversed ones (robust
too, but the AE's way), then the mixed ones, each with the bundled models' figures per reader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from explorer import protocol

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "smoothness.json"
ORDER = {"robust": 0, "reversed": 1, "mixed": 2}
COMPARISONS = {"prior": "both from N(0, I)", "fitted": "the AE from a Gaussian fitted to its codes"}


@dataclass(frozen=True)
class Finding:
    """One measure of one pair: its verdict over every combination and the bundled models'
    figures on the first set (``shown``: per reader, or "none", the AE's, the VAE's and the
    difference, each a dict with value, low and high)."""

    measure: protocol.Measure
    comparison: str
    verdict: str
    vae_better: int
    ae_better: int
    combinations: int
    shown: dict

    @property
    def counts(self) -> str:
        return (
            f"VAE better in {self.vae_better}, AE better in {self.ae_better}, of "
            f"{self.combinations} combinations"
        )


def load(path: Path = RESULTS) -> dict | None:
    """The protocol's results, or None when they are missing or not in this format."""
    try:
        results = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return results if "checkpoints" in results else None


def design(results: dict) -> str:
    """The combinations a verdict is over, as measured: "3 training seeds × 10 sets × 2
    readers" ("1 training seed" where only the bundled models were measured)."""
    settings = results["settings"]
    seeds, sets, readers = len(settings["seeds"]), settings["sets"], len(settings["readers"])
    return (
        f"{seeds} training seed{'s' if seeds != 1 else ''} × {sets} set{'s' if sets != 1 else ''}"
        f" × {readers} reader{'s' if readers != 1 else ''}"
    )


def current(results: dict, shas: dict[str, str]) -> bool:
    """Whether the results were measured on exactly these checkpoints (name -> sha256)."""
    measured = results.get("checkpoints", {})
    return all(measured.get(name) == sha for name, sha in shas.items())


def findings(results: dict, pair: str) -> list[Finding]:
    """The pair's findings, robust first."""
    found = []
    for comparison, rows in results[pair]["verdicts"].items():
        for key, row in rows.items():
            found.append(
                Finding(
                    protocol.BY_KEY[key],
                    comparison,
                    row["verdict"],
                    row["vae_better"],
                    row["ae_better"],
                    row["combinations"],
                    results[pair]["bundled"][comparison][key],
                )
            )
    keys = [m.key for m in protocol.MEASURES]
    comparisons = list(COMPARISONS)  # both from N(0, I) first, then the AE's fitted Gaussian
    return sorted(
        found,
        key=lambda f: (
            ORDER[f.verdict],
            comparisons.index(f.comparison),
            keys.index(f.measure.key),
        ),
    )


def percent(value: float) -> str:
    """A share as a percentage, by the one rule used wherever a share is quoted (pages, lesson,
    README): whole percent, one decimal under 10 % or over 90 % (0.075 is "7.5 %", 0.61 is
    "61 %", 0.995 is "99.5 %"), so that a share is never rounded to none or all of them."""
    pct = 100 * value
    return f"{pct:.1f} %" if abs(pct) < 10 or pct > 90 else f"{pct:.0f} %"


def share(est: dict) -> str:
    """ "7.5 % [6.0, 9.1]": a share by :func:`percent`'s rule, its 95 % interval in percent with
    as many decimals as the value, or more where the ends need them to differ."""
    value, low, high = (100 * est[k] for k in ("value", "low", "high"))
    places = max(1 if value < 10 or value > 90 else 0, protocol.decimals_for(low, high, 0))
    return f"{percent(est['value'])} [{low:.{places}f}, {high:.{places}f}]"


SHARES = frozenset({"confident", "confident_share", "garbage_share", "far_share", "no_stroke"})


def quote(est: dict, measure: protocol.Measure) -> str:
    """A measure's figure with its interval: a share by :func:`share`'s rule, anything else
    with the measure's decimals."""
    return share(est) if measure.key in SHARES else interval(est, measure.decimals)


def interval(est: dict, decimals: int = 2) -> str:
    """ "0.61 [0.59, 0.64]" with as many decimals as the interval needs to tell its ends apart."""
    places = max(decimals, protocol.decimals_for(est["low"], est["high"]))
    return f"{est['value']:.{places}f} [{est['low']:.{places}f}, {est['high']:.{places}f}]"
