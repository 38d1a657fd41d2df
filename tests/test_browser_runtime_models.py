"""The models in the browser: ONNX Runtime Web (static/components/runtime.js) in headless Chromium
against the exported graphs, pixel for pixel against torch, and what happens when it cannot load;
the server sends the runtime and the graphs gzipped as they are stored, and no large static file
is left for Streamlit to compress.
"""

import json

import numpy as np
import pytest
import torch

from bench.browser import require_chromium
from explorer import images, onnx_export
from tests.conftest import LATENT

pytestmark = pytest.mark.browser
require_chromium()


RUNTIME = "app/static/components/runtime.js"


@pytest.fixture(scope="module")
def urls(ckpts):
    """Each model's graphs, at the page-relative URLs the server serves them from."""
    return {n: onnx_export.urls(onnx_export.export(c)) for n, c in ckpts.items()}


def _blank(browser):
    """A tab on the server's origin without Streamlit's frontend (its health check)."""
    tab = browser.new_page()
    tab.goto(f"{browser.base_url}/_stcore/health")
    return tab


@pytest.fixture(scope="module")
def tab(browser):
    """One tab for the fidelity tests: the runtime compiles its 14 MB of wasm once."""
    page = _blank(browser)
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
def test_browser_decodes_100_random_codes_as_torch_does(browser, tab, ckpts, urls, name):
    url = browser.base_url
    z = _codes(ckpts[name], 100, seed=len(name))
    args = [f"{url}/{RUNTIME}", f"{url}/{urls[name]['decoder']}", z.flatten().tolist(), 100]
    shown = np.array(tab.evaluate(_DECODE, args), dtype=int).reshape(100, 28, 28)
    with torch.no_grad():
        expected = images.to_uint8(ckpts[name].model.decode(z)).astype(int)
    assert expected.std() > 10  # real digits, not a blank that would match anything
    assert np.abs(shown - expected).max() <= 2, name  # within 2/255 per pixel


def test_browser_classifier_and_encoder_match_torch(browser, tab, ckpts, urls):
    url = browser.base_url
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


def test_runtime_that_cannot_load_says_why(browser, urls):
    url = browser.base_url
    tab = _blank(browser)
    tab.route("**/onnxruntime-web/**", lambda route: route.abort())
    result = tab.evaluate(
        """async ([runtime, model]) => {
          const rt = await import(runtime);
          try { await rt.decode(model, new Float32Array(16), 1); return "decoded"; }
          catch (err) {
            return JSON.stringify({caught: String(err), error: window.__leTelemetry.runtime.error});
          }
        }""",
        [f"{url}/{RUNTIME}", f"{url}/{urls['vae']['decoder']}"],
    )
    assert result != "decoded"
    assert json.loads(result)["error"]  # recorded once, for the control's notice
    tab.close()


def test_the_server_sends_the_runtime_and_models_as_they_are_stored(browser, urls):
    """Streamlit gzips app/static responses at level 9 on every request unless their type is
    compressed already: the 14 MB .wasm cost it about 0.4 s of CPU per student. The runtime and
    every exported graph are stored gzipped and must go out untouched, and inflate to what the
    browser runtime expects (WebAssembly, ONNX)."""
    import gzip
    import urllib.request

    import onnx

    url = browser.base_url
    wasm = "app/static/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm.gz"
    for path in (wasm, urls["vae"]["decoder"], urls["classifier"]["classifier"]):
        request = urllib.request.Request(f"{url}/{path}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers.get("Content-Encoding") is None, path
            assert response.headers["Content-Type"] == "application/gzip", path
            body = gzip.decompress(response.read())
        if path == wasm:
            assert body[:4] == b"\0asm"
        else:
            assert onnx.load_from_string(body).graph.input[0].name == "input"


def test_no_large_static_file_is_left_for_streamlit_to_compress():
    """Every committed file over 100 kB under static/ (the browser runtime's) is stored gzipped;
    the exported graphs (static/models/, made at start-up) are checked above, and the Latent
    map's files (static/maps/, made per checkpoint) are fetched once per page."""
    from tests.conftest import ROOT

    made = {"models", "maps"}
    files = [p for p in (ROOT / "static").rglob("*") if not made & set(p.relative_to(ROOT).parts)]
    big = [p for p in files if p.is_file() and p.stat().st_size > 100_000]
    assert big and all(p.suffix == ".gz" for p in big), [p.name for p in big if p.suffix != ".gz"]
