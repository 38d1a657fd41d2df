"""What every benchmark shares: where its results go and how they are written and read, the
percentiles it reports, the machine it ran on, and the Markdown tables the README quotes."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def write_results(name: str, results: dict) -> Path:
    """Write ``results`` to bench/results/``name`` as JSON, in one atomic replace (an interrupted
    run leaves the earlier file whole), and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    with tempfile.NamedTemporaryFile("w", dir=RESULTS, suffix=".tmp", delete=False) as out:
        out.write(json.dumps(results, indent=2) + "\n")
    os.replace(out.name, path)
    return path


def read_results(name: str) -> dict:
    """An earlier run's results (bench/results/``name``); SystemExit naming it when missing."""
    path = RESULTS / name
    if not path.is_file():
        module = name.removesuffix(".json").split("-")[0]
        raise SystemExit(f"{path} is missing: run `python -m bench.{module}` in full first")
    return json.loads(path.read_text())


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` (NaN for none)."""
    return float(np.percentile(values, q)) if len(values) else float("nan")


def machine() -> str:
    """The machine a benchmark ran on, as its results quote it."""
    memory = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    return f"{psutil.cpu_count()} cores, {memory:.0f} GiB, {cpu}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table as the README writes it: the header, ``|---|`` under each of its cells,
    then one line per row of cells (an empty cell is one space)."""

    def line(cells: Sequence[object]) -> str:
        return "|" + "".join(f" {cell} |" if cell != "" else " |" for cell in cells)

    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)])
