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

from explorer import markdown

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


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds of ``process`` and of its children, those still running and
    those it has waited for: the server's warm-up runs in a child process (explorer.warmup), and
    a server's cost is all of it."""
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.Error:  # it ended meanwhile (and is counted once its parent waits)
            continue
        total += child_times.user + child_times.system
    return total


# One table writer for the app, the benchmarks and the README.
markdown_table = markdown.table
