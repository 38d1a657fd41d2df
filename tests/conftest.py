"""Shared fixtures: small models and checkpoints made in seconds on the 8x8 sklearn digits, the
bundled checkpoints, and for the browser tests a `streamlit run` server, headless Chromium and a
tab, one per test module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "checkpoints"
LATENT = ("ae", "vae", "ae2d", "vae2d", "gan")

torch.set_num_threads(int(os.environ.get("TEST_TORCH_THREADS", "2")))
# No warm-up in the servers and AppTests the tests start (explorer/warmup.py): it would
# compute the bundled models' maps and studies beside every test. Its own tests turn it on.
os.environ.setdefault("LATENT_EXPLORER_WARM", "0")
# The page tests' shared helpers assert, as the test modules do.
pytest.register_assert_rewrite("tests.pages_helpers")


def python_output(code: str, **env: str) -> str:
    """What ``python -c code`` prints (stripped) in a fresh process at the repository root, with
    ``env`` added to this one's environment; it must exit 0."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> dict[str, Path]:
    """One-epoch checkpoints of every kind on sklearn's digits (about 5 s together)."""
    from explorer import train

    folder = tmp_path_factory.mktemp("tiny")
    paths = {}
    for kind, extra in [("ae", {}), ("vae", {}), ("gan", {"width": 16}), ("classifier", {})]:
        out = folder / f"{kind}.safetensors"
        args = train.make_args(
            kind,
            epochs=1,
            dataset="digits",
            out=str(out),
            run_dir=str(folder / f"run-{kind}"),
            progress=False,
            **extra,
        )
        train.run(args)
        paths[kind] = out
    return paths


@pytest.fixture(scope="module")
def ckpts():
    """The bundled checkpoints of every latent model and of the classifier, for one test module."""
    from explorer import checkpoints

    return {n: checkpoints.load(BUNDLED / f"{n}.safetensors") for n in (*LATENT, "classifier")}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`streamlit run` for one test module, on the bundled models exported for the browser
    first (so that its pages decode in the browser from the first visit); yields its URL."""
    from bench.browser import streamlit_server
    from explorer import checkpoints, onnx_export

    for path in checkpoints.discover(BUNDLED).values():
        onnx_export.export(checkpoints.load(path))
    with streamlit_server() as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser(server):
    """Headless Chromium driven through Playwright's sync API, for one test module;
    ``browser.base_url`` is the server's."""
    from playwright.sync_api import sync_playwright

    from bench.browser import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        chromium.base_url = server
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser):
    """One 1400 x 1000 tab that a module's tests share; ``page.base_url`` is the server's."""
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.base_url = browser.base_url
    yield tab
    tab.close()
