"""What the attribute view of Latent sliders computes and says, as plain functions (no Streamlit):
its URL values, the table of what an edit did, the measured comparison's table and verdicts
(from bench/results/attributes.json), and the same request applied to several models' versions
of one digit. The directions themselves: explorer/attributes.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from explorer import attributes, markdown, smoothness, urlstate, views

NAMES = attributes.NAMES
UNITS = attributes.UNITS
# The side-by-side's first request per attribute: about one SD of real digits' attribute.
DEFAULT_ASK = {
    "area": 30.0,
    "length": 10.0,
    "thickness": 1.0,
    "slant": 15.0,
    "width": 4.0,
    "height": 1.0,
}
ZERO = (0.0,) * len(NAMES)
Reads = dict[str, tuple[int, float]]  # reader name -> (digit, confidence)


# ---- URL values ---------------------------------------------------------------------------------


def parse_edit(text: str) -> list[float]:
    """``thickness:1.5,slant:-10`` -> one change per attribute, in :data:`NAMES` order (0 for
    those not named)."""
    values = list(ZERO)
    for part in filter(None, text.split(",")):
        name, sep, amount = part.partition(":")
        if name not in NAMES or not sep:
            raise ValueError(
                f"{urlstate.shorten(part, 20)} is not name:number with a name of {', '.join(NAMES)}"
            )
        values[NAMES.index(name)] = urlstate.number(-1e4, 1e4)(amount)
    return values


def dump_edit(values: list[float]) -> str:
    return ",".join(f"{n}:{v:.4g}" for n, v in zip(NAMES, values, strict=True) if v)


def parse_ask(text: str) -> tuple[str, float]:
    """``slant:15`` (or ``slant``, for its usual request) -> (attribute, change)."""
    name, sep, amount = text.partition(":")
    if name not in NAMES:
        raise ValueError(f"not one of {', '.join(NAMES)}")
    return name, urlstate.number(-1e4, 1e4)(amount) if sep else DEFAULT_ASK[name]


def dump_ask(ask: tuple[str, float]) -> str:
    return f"{ask[0]}:{ask[1]:.4g}"


# ---- Words and tables ---------------------------------------------------------------------------


def digits(name: str | None) -> int:
    """Decimals an attribute is shown with (area in whole px², slant and length to 0.1)."""
    return 2 if name is None else 0 if name == "area" else 1 if name in ("slant", "length") else 2


def fmt(value: float, name: str, sign: bool = False) -> str:
    if not np.isfinite(value):
        return "no stroke"
    return f"{value:{'+' if sign else ''}.{digits(name)}f}"


def interval(estimate: dict, name: str | None = None) -> str:
    """'0.64 [0.55, 0.73]' from an estimate's dict, to the attribute's decimals."""
    return smoothness.Estimate(**estimate).text(digits(name))


def readout(measured: np.ndarray, edit: list[float]) -> str:
    """Markdown: the six attributes before (row 0 of ``measured``) and after (row 1) an edit,
    the change asked for and the change measured."""
    rows = []
    for j, name in enumerate(NAMES):
        asked = fmt(edit[j], name, sign=True) if edit[j] else "–"
        got = fmt(measured[1, j] - measured[0, j], name, sign=True)
        before, now = fmt(measured[0, j], name), fmt(measured[1, j], name)
        rows.append([f"{name} ({UNITS[name]})", before, now, asked, got])
    return markdown.table(["attribute", "before", "now", "asked", "got"], rows)


def reads_text(label: str, before: tuple[int, float], after: tuple[int, float]) -> str:
    return (
        f"{label} reads {before[0]} ({100 * before[1]:.0f} %) before, "
        f"{after[0]} ({100 * after[1]:.0f} %) now."
    )


def comparison(found: attributes.Directions, measured: dict | None, readers: dict) -> str:
    """Markdown: each direction's held-out R² and the probe's change per unit; with this model's
    bench results (``measured``, None when they are not for this checkpoint) also what edits
    achieved, their side effects and the class each reader (``readers``: name -> label) kept."""
    header = ["attribute", "held-out R²", "line's change per SD"]
    if measured:
        header += ["got per SD", "follows: slope", "follows: R²", "other five move (SDs)"]
        header += [f"class kept, {label}" for label in readers.values()]
    rows = []
    for j, name in enumerate(NAMES):
        row = [f"{name} ({UNITS[name]})", found.r2_estimate(j).text(), fmt(found.per_unit[j], name)]
        if measured:
            e = measured["attributes"][name]
            row += [interval(e["gain"], name), interval(e["slope"]), interval(e["follow_r2"])]
            row += [interval(e["side_sd"]), *(interval(e["kept"][r]) for r in readers)]
        rows.append(row)
    return markdown.table(header, rows)


MEASURE_WORDS = {"r2": "most decodable", "follow_r2": "follows requests best"}


def verdicts(results: dict) -> list[str]:
    """One line per attribute: which model wins each measure beyond the intervals."""
    lines = []
    for name in NAMES:
        parts = []
        for measure, won in results.get("winners", {}).items():
            if won.get(name):
                reader = results["readers"].get(measure.partition(":")[2], {}).get("label")
                what = MEASURE_WORDS.get(measure) or f"keeps {reader}'s class most often"
                parts.append(f"{what}: **{results['models'][won[name]]['label']}**")
        lines.append(f"- **{name}**: " + ("; ".join(parts) or "no model wins beyond the intervals"))
    return lines


# ---- The same request in several models ---------------------------------------------------------


@dataclass(frozen=True)
class Edited:
    """One model's version of a digit before and after a request."""

    pair: torch.Tensor  # (2, 1, 28, 28): before, after
    measured: np.ndarray  # (2, 6)
    units: float  # how far the request moved the code, in SDs of its codes along the direction
    reads: tuple[Reads, Reads]  # each reader's digit before and after

    @property
    def far(self) -> bool:
        """The request moved the code past the attribute sliders' range (±3 SDs)."""
        return self.units > attributes.RANGE

    def caption(self, label: str, name: str) -> str:
        j = NAMES.index(name)
        before, after = self.measured[:, j]
        text = (
            f"{label}: {name} {fmt(before, name)} → {fmt(after, name)} {UNITS[name]} "
            f"(got {fmt(after - before, name, sign=True)}; {self.units:.1f} SDs of its codes"
            + (f", past the ±{attributes.RANGE:g} its sliders span)" if self.far else ")")
        )
        first = next(iter(self.reads[0]), None)
        if first is not None:
            text += f"; reads {self.reads[0][first][0]} → {self.reads[1][first][0]}"
        return text


def edit_version(
    model,
    found: attributes.Directions,
    code: torch.Tensor,
    name: str,
    amount: float,
    read: Callable[[torch.Tensor], Reads],
) -> Edited:
    """Ask ``model``'s code (1, d) for ``amount`` more of attribute ``name``."""
    j = NAMES.index(name)
    change = np.zeros(len(NAMES))
    change[j] = amount
    pair = views.decode(model, torch.cat([code, found.edit(code, change)]))
    per_unit = float(found.per_unit[j])
    units = abs(amount) / per_unit if per_unit > 1e-12 else float("inf")
    return Edited(pair, attributes.measure(pair), units, (read(pair[0]), read(pair[1])))


def gan_version(
    found: attributes.Directions,
    target: np.ndarray,
    digit: int | None = None,
    read: Callable[[torch.Tensor], tuple[np.ndarray, np.ndarray]] | None = None,
    batch: int = 100,
    limit: int = 1000,
) -> torch.Tensor:
    """A GAN's version (1, d) of a digit whose attributes are ``target`` (6,): of the samples its
    directions were fitted on, the one whose six measures are closest to the digit's (in SDs of
    the GAN's samples) among those ``read`` (codes -> (digit, confidence) per code) reads
    confidently as ``digit``. Samples are read closest first, ``batch`` at a time, up to
    ``limit``; the closest of all when none of them is read as that digit."""
    order = attributes.closest(target, found.pool_attributes, found.attribute_sd)
    codes = torch.as_tensor(found.pool_codes)
    if digit is not None and read is not None:
        for start in range(0, min(len(order), limit), batch):
            rows = order[start : start + batch]
            labels, confidence = read(codes[rows])
            hits = np.flatnonzero((labels == digit) & (confidence >= smoothness.CONFIDENT))
            if len(hits):
                return codes[rows[hits[0]] : rows[hits[0]] + 1]
    return codes[order[0] : order[0] + 1]
