"""Views that compute in the browser (explorer/ui/browser_views.py), in headless Chromium: a drawing
is preprocessed, reconstructed and placed on the 2-D planes while the stroke is drawn, as Python
and torch would; the AE vs VAE atlas decodes a clicked point before the server answers, as torch
does; and without ONNX Runtime Web both say so once and show the server's results.
"""

import base64
import io
import json
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import torch
from PIL import Image

from bench.browser import drag, require_chromium, until, wait_idle
from explorer import checkpoints, compare, images, latent, views
from tests.conftest import BUNDLED

pytestmark = pytest.mark.browser
require_chromium()

NAMES = ("ae", "vae", "ae2d", "vae2d", "classifier")


@pytest.fixture(scope="module")
def models():
    # The server (tests/conftest.py) exports them before it starts: the pages decode in the browser.
    return {n: checkpoints.load(BUNDLED / f"{n}.safetensors").model for n in NAMES}


def _tab(browser, path: str, block_runtime: bool = False):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    if block_runtime:
        tab.route("**/onnxruntime-web/**", lambda route: route.abort())
    tab.goto(f"{browser.base_url}/{path}")
    return tab


def _runtime(tab, selector: str, timeout_s: float = 90) -> str | None:
    """The component's runtime once it settles ("ready" or "failed")."""
    root = tab.locator(selector).first
    root.wait_for(timeout=180_000)
    for _ in range(int(timeout_s * 5)):
        state = root.get_attribute("data-runtime")
        if state in ("ready", "failed"):
            return state
        tab.wait_for_timeout(200)
    return None


def _pixels(data_url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


STROKES = {  # (x, y) as fractions of the canvas
    "a one": [(0.5, 0.15 + 0.035 * s) for s in range(21)],
    "a seven": [(0.25 + 0.025 * s, 0.2) for s in range(21)]
    + [(0.75 - 0.015 * s, 0.2 + 0.03 * s) for s in range(21)],
    "a zero": [(0.5 + 0.25 * np.sin(t), 0.5 - 0.3 * np.cos(t)) for t in np.linspace(0, 6.0, 30)],
}


def _stroke(tab, points, release: bool = True) -> None:
    """Draw through ``points`` on the canvas, one move every 15 ms."""
    drag(tab, tab.locator(".dc-canvas"), points, inset=0, steps=1, pause_ms=15, release=release)


def _sources(tab, selector: str) -> list[str | None]:
    return [c.get_attribute("data-source") for c in tab.locator(selector).all()]


def _settled(tab, selector: str, source: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s * 5)):
        if set(_sources(tab, selector)) == {source}:
            return
        tab.wait_for_timeout(200)
    raise AssertionError(f"{selector}: {_sources(tab, selector)}, not all {source}")


def test_a_drawing_is_preprocessed_and_reconstructed_live_as_python_and_torch_do(browser, models):
    tab = _tab(browser, "Latent_sliders?start=draw")
    try:
        assert _runtime(tab, ".dc-root") == "ready"
        wait_idle(tab, 120_000)
        for name, points in STROKES.items():
            tab.locator(".dc-clear").click()
            wait_idle(tab, 60_000)
            sent = tab.locator(".dc-canvas").get_attribute("data-sent")
            updates = tab.evaluate("window.__leTelemetry.draw.updates")
            _stroke(tab, points, release=False)
            tab.wait_for_function(
                f"window.__leTelemetry.draw.updates > {updates} && "
                "window.__leTelemetry.draw.recons.length == 2",
                timeout=30_000,
            )
            tab.wait_for_timeout(300)  # the last move's update
            # Before the stroke ends: nothing sent, and every view is the browser's.
            assert tab.locator(".dc-canvas").get_attribute("data-sent") == sent, name
            assert set(_sources(tab, ".dc-digit, .dc-recon, .dc-plane")) == {"browser"}, name
            live = tab.evaluate("window.__leTelemetry.draw")
            gray = np.array(live["gray"], dtype=np.uint8).reshape(56, 56)
            digit = np.array(live["digit"], dtype=np.float32).reshape(1, 28, 28)
            # The JS preprocessing against explorer.images.preprocess_digit on the same bytes.
            expected = images.preprocess_digit(gray).numpy()
            assert expected.sum() > 20, name  # a real digit, not a blank that matches anything
            assert np.abs(digit - expected).max() < 1e-4, name
            # Reconstructions and codes against torch, from the digit the browser saw.
            x = torch.from_numpy(digit)[None]
            for model, shown in zip(("ae", "vae"), live["recons"], strict=True):
                want = images.to_uint8(views.reconstruct(models[model], x)[0]).astype(int)
                got = np.array(shown).reshape(28, 28)
                assert np.abs(got - want).max() <= 2, (name, model)  # within 2/255
            for model, point in zip(("ae2d", "vae2d"), live["points"], strict=True):
                code = views.encode(models[model], x)[0].numpy()
                assert np.abs(np.array(point) - code).max() < 1e-3, (name, model)
            tab.mouse.up()
            # On stroke end Python's views replace the browser's.
            _settled(tab, ".dc-digit, .dc-recon, .dc-plane", "exact")
            assert int(tab.locator(".dc-canvas").get_attribute("data-sent")) == int(sent or 0) + 1
            shown = _pixels(tab.locator(".dc-digit").get_attribute("data-exact"))
            assert np.abs(shown.astype(int) - images.to_uint8(expected).astype(int)).max() <= 1
            wait_idle(tab, 60_000)
        assert "start=draw" in tab.url
        assert tab.locator('[data-testid="stException"]').count() == 0
    finally:
        tab.close()


def test_a_digit_drawn_in_two_strokes_is_read_as_it_ends(browser, models):
    # The reading under the live image stayed the first stroke's ("reads 2 (54 %)") while the
    # image showed the finished 7 (issue 22): each new start image gets its own reading.
    tab = _tab(browser, "Latent_sliders?start=draw")
    try:
        assert _runtime(tab, ".dc-root") == "ready"
        wait_idle(tab, 120_000)
        root, reads = tab.locator(".le-root"), tab.locator(".le-reads").first
        seven = STROKES["a seven"]
        for stroke in (seven[:21], seven[21:]):  # the bar, then the stem
            before = root.get_attribute("data-values") if root.count() else None
            _stroke(tab, stroke)
            _settled(tab, ".dc-digit, .dc-recon", "exact")
            until(tab, lambda: root.get_attribute("data-values"), lambda v, b=before: v != b, 60)
            wait_idle(tab, 60_000)
        values = torch.tensor(json.loads(root.get_attribute("data-values")))
        code = latent.slider_space(models["ae"]).to_code(values)
        probs = compare.probabilities(models["classifier"], views.decode(models["ae"], code))[0]
        digit, p = int(probs.argmax()), 100 * float(probs.max())

        def agrees(text: str) -> bool:
            shown = text.removeprefix("reads ").removesuffix(" %)").split(" (")
            return len(shown) == 2 and int(shown[0]) == digit and abs(float(shown[1]) - p) <= 1

        until(tab, reads.inner_text, agrees, 30)
    finally:
        tab.close()


def _z(tab) -> tuple[float, float] | None:
    found = parse_qs(urlparse(tab.url).query).get("z")
    return tuple(float(v) for v in found[0].split(",")) if found else None


def test_on_a_phone_each_tap_on_the_atlas_picks_its_own_spot(browser):
    # Plotly picks a tap's point from the last hover, which no finger makes: the first tap did
    # nothing and each later one acted on the spot of the tap before it (issue 22).
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        phone.goto(f"{browser.base_url}/AE_vs_VAE?view=atlas")
        phone.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot .nsewdrag').length == 2", timeout=180_000
        )
        wait_idle(phone, 120_000)
        chart = phone.locator(".js-plotly-plot").nth(1)  # the VAE's plane, centred on 0
        plane = chart.locator(".nsewdrag").first
        plane.scroll_into_view_if_needed()
        phone.wait_for_timeout(500)
        for fx, fy, signs in [(0.2, 0.2, (-1, 1)), (0.8, 0.8, (1, -1)), (0.2, 0.8, (-1, -1))]:
            before, box = _z(phone), plane.bounding_box()
            phone.touchscreen.tap(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            x, y = until(phone, lambda: _z(phone), lambda z, b=before: z and z != b, 60)
            assert (np.sign(x), np.sign(y)) == signs, ((fx, fy), (x, y))
            wait_idle(phone, 60_000)
        # The chart's toolbar, always shown on a phone, stands beside the plane, not on it.
        bar, box = chart.locator(".modebar").first.bounding_box(), plane.bounding_box()
        assert bar["x"] >= box["x"] + box["width"], (bar, box)
    finally:
        context.close()


def _probe_entries(tab) -> list[dict]:
    return tab.evaluate("window.__leTelemetry.probe.shown")


def test_an_atlas_click_decodes_both_models_in_the_browser_before_the_server(browser, models):
    tab = _tab(browser, "AE_vs_VAE?view=atlas")
    try:
        tab.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot .nsewdrag').length == 2", timeout=180_000
        )
        assert _runtime(tab, ".ap-root") == "ready"
        wait_idle(tab, 120_000)
        drag = tab.locator(".js-plotly-plot").first.locator(".nsewdrag").first
        box = drag.bounding_box()
        tab.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.45 * box["height"])
        tab.wait_for_function("window.__leTelemetry.probe.shown.some(e => e.source == 'hover')",
                              timeout=30_000)  # fmt: skip
        assert set(_sources(tab, ".ap-canvas")) == {"hover"}  # pointing previews the point
        start = len(_probe_entries(tab))
        tab.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.3 * box["height"])
        tab.wait_for_function("location.search.includes('z=')", timeout=60_000)
        _settled(tab, ".ap-canvas", "exact")
        entries = _probe_entries(tab)[start:]
        clicked = [e for e in entries if e["source"] == "browser"]
        assert len(clicked) == 2, entries  # both models, at once
        point = clicked[0]["point"]
        assert point[0] < 0 < point[1]  # the upper left of the plane, where the click was
        answers = [e for e in entries if e["source"] == "exact" and e["point"] == point]
        assert answers and max(e["time"] for e in clicked) < min(e["time"] for e in answers)
        z = torch.tensor([point], dtype=torch.float32)
        for entry, name in zip(clicked, ("ae2d", "vae2d"), strict=True):
            want = images.to_uint8(views.decode(models[name], z)[0]).astype(int)
            got = np.array(entry["pixels"]).reshape(28, 28)
            assert want.std() > 10 and np.abs(got - want).max() <= 2, name  # within 2/255
        captions = tab.locator(".ap-caption").all_inner_texts()
        assert all(f"at ({point[0]:.2f}, {point[1]:.2f}): reads " in c for c in captions)
        assert tab.locator('[data-testid="stException"]').count() == 0
    finally:
        tab.close()


def test_without_the_runtime_both_views_say_so_once_and_show_the_servers(browser):
    tab = _tab(browser, "Latent_sliders?start=draw", block_runtime=True)
    try:
        assert _runtime(tab, ".dc-root") == "failed"
        wait_idle(tab, 120_000)
        note = tab.locator(".dc-note").filter(has_text="could not load")
        assert note.count() == 1 and note.first.is_visible()
        _stroke(tab, STROKES["a one"], release=False)
        tab.wait_for_timeout(300)
        # The 28x28 still follows the stroke (no model needed); the models wait for Python.
        assert _sources(tab, ".dc-digit") == ["browser"]
        assert "browser" not in _sources(tab, ".dc-recon, .dc-plane")
        tab.mouse.up()
        _settled(tab, ".dc-digit, .dc-recon, .dc-plane", "exact")
        wait_idle(tab, 60_000)
        assert tab.locator(".dc-note").filter(has_text="could not load").count() == 1
    finally:
        tab.close()
    tab = _tab(browser, "AE_vs_VAE?view=atlas", block_runtime=True)
    try:
        tab.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot .nsewdrag').length == 2", timeout=180_000
        )
        assert _runtime(tab, ".ap-root") == "failed"
        wait_idle(tab, 120_000)
        assert tab.locator(".ap-note").filter(has_text="could not load").count() == 1
        before = tab.locator(".ap-caption").all_inner_texts()
        box = tab.locator(".js-plotly-plot").first.locator(".nsewdrag").first.bounding_box()
        tab.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.3 * box["height"])
        tab.wait_for_function("location.search.includes('z=')", timeout=60_000)
        for _ in range(300):  # the server's decode of the clicked point arrives
            if tab.locator(".ap-caption").all_inner_texts() != before:
                break
            tab.wait_for_timeout(200)
        assert tab.locator(".ap-caption").all_inner_texts() != before
        assert set(_sources(tab, ".ap-canvas")) == {"exact"}
        assert not [e for e in _probe_entries(tab) if e["source"] != "exact"]
        assert tab.locator('[data-testid="stException"]').count() == 0
    finally:
        tab.close()
