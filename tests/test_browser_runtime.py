"""The models in the browser: ONNX Runtime Web (static/model_runtime.js) in headless Chromium
against the exported graphs, pixel for pixel against torch, and what happens when it cannot load.
"""

import json

import numpy as np
import pytest
import torch

from bench.browser import launch, require_chromium, streamlit_server
from explorer import checkpoints, images, onnx_export
from tests.conftest import BUNDLED

pytestmark = pytest.mark.browser
require_chromium()

LATENT = ("ae", "vae", "ae2d", "vae2d", "gan")
RUNTIME = "app/static/model_runtime.js"


@pytest.fixture(scope="module")
def ckpts():
    return {n: checkpoints.load(BUNDLED / f"{n}.safetensors") for n in (*LATENT, "classifier")}


@pytest.fixture(scope="module")
def server(ckpts):
    urls = {n: onnx_export.urls(onnx_export.export(c)) for n, c in ckpts.items()}
    from playwright.sync_api import sync_playwright

    with streamlit_server() as (url, _), sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser, url, urls
        browser.close()


def _blank(browser, url):
    """A tab on the server's origin without Streamlit's frontend (its health check)."""
    tab = browser.new_page()
    tab.goto(f"{url}/_stcore/health")
    return tab


@pytest.fixture(scope="module")
def tab(server):
    """One tab for the fidelity tests: the runtime compiles its 14 MB of wasm once."""
    browser, url, _ = server
    page = _blank(browser, url)
    yield page
    page.close()


_DECODE = """async ([runtime, model, codes, n]) => {
  const rt = await import(new URL(runtime, location.href).href);
  return Array.from(await rt.decode(model, new Float32Array(codes), n));
}"""


def _codes(ckpt, n: int, seed: int) -> torch.Tensor:
    """n codes where a student drags: the model's prior (the AE: its fitted Gaussian), widened."""
    return ckpt.model.sample(n, torch.Generator().manual_seed(seed)) * 1.3


@pytest.mark.parametrize("name", LATENT)
def test_browser_decodes_100_random_codes_as_torch_does(server, tab, ckpts, name):
    _, url, urls = server
    z = _codes(ckpts[name], 100, seed=len(name))
    args = [f"{url}/{RUNTIME}", f"{url}/{urls[name]['decoder']}", z.flatten().tolist(), 100]
    shown = np.array(tab.evaluate(_DECODE, args), dtype=int).reshape(100, 28, 28)
    with torch.no_grad():
        expected = images.to_uint8(ckpts[name].model.decode(z)).astype(int)
    assert expected.std() > 10  # real digits, not a blank that would match anything
    assert np.abs(shown - expected).max() <= 2, name  # within 2/255 per pixel


def test_browser_classifier_and_encoder_match_torch(server, tab, ckpts):
    _, url, urls = server
    with torch.no_grad():
        digits = ckpts["vae"].model.decode(_codes(ckpts["vae"], 8, seed=3))
        probs = torch.softmax(ckpts["classifier"].model(digits), 1).numpy()
        codes = ckpts["vae"].model.encode(digits).numpy()
    got = tab.evaluate(
        """async ([runtime, clf, enc, pixels]) => {
          const rt = await import(runtime);
          const x = new Float32Array(pixels);
          return [Array.from(await rt.classify(clf, x, 8)), Array.from(await rt.encode(enc, x, 8))];
        }""",
        [f"{url}/{RUNTIME}", f"{url}/{urls['classifier']['classifier']}",
         f"{url}/{urls['vae']['encoder']}", digits.flatten().tolist()],
    )  # fmt: skip
    assert np.abs(np.array(got[0]).reshape(8, 10) - probs).max() < 1e-4
    assert np.abs(np.array(got[1]).reshape(8, -1) - codes).max() < 1e-3


def test_runtime_that_cannot_load_says_why(server):
    browser, url, urls = server
    tab = _blank(browser, url)
    tab.route("**/onnxruntime-web/**", lambda route: route.abort())
    result = tab.evaluate(
        """async ([runtime, model]) => {
          const rt = await import(runtime);
          try { await rt.decode(model, new Float32Array(16), 1); return "decoded"; }
          catch (err) { return JSON.stringify({caught: String(err), error: window.__leRuntime.error}); }
        }""",
        [f"{url}/{RUNTIME}", f"{url}/{urls['vae']['decoder']}"],
    )
    assert result != "decoded"
    assert json.loads(result)["error"]  # recorded once, for the control's notice
    tab.close()
