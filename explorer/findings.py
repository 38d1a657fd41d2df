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
    return sorted(found, key=lambda f: (ORDER[f.verdict], f.comparison, keys.index(f.measure.key)))


def interval(est: dict, decimals: int = 2) -> str:
    """ "0.61 [0.59, 0.64]" with as many decimals as the interval needs to tell its ends apart."""
    places = max(decimals, protocol.decimals_for(est["low"], est["high"]))
    return f"{est['value']:.{places}f} [{est['low']:.{places}f}, {est['high']:.{places}f}]"
