"""The live controls on their pages once the browser runtime is ready (`streamlit run` driven by
headless Chromium through Playwright): every frame decoded in the browser (sliders, the 2-D pad,
the GAN's directions, λ for both models), a release that sends no image from the server and lands
on the exact decode of the values Python stored (its URL), and without the runtime, the server's
images and a note that says so once.
"""

import json

import numpy as np
import pytest
import torch

from bench.browser import (
    canvas_pixels,
    drag,
    open_page,
    require_chromium,
    until,
    until_changed,
    wait_idle,
)
from explorer import checkpoints, images, views
from tests.conftest import BUNDLED

pytestmark = pytest.mark.browser
require_chromium()


# A live control's canvas shows the values Python stored (its root's); every canvas of a root.
SHOWS_PYTHONS_VALUES = "c => c.dataset.values === c.closest('.le-root').dataset.values"
ALL_SHOW_PYTHONS_VALUES = (
    "r => [...r.querySelectorAll('.le-canvas')].every(c => c.dataset.values === r.dataset.values)"
)


def _live_tab(browser, path: str, model: str = ""):
    """A page with a live control whose runtime is ready (``model``: Latent sliders' model)."""
    url = browser.base_url
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.received = []  # the server's websocket messages, for tests that read what a release sent
    tab.on("websocket", lambda ws: ws.on("framereceived", lambda m: tab.received.append(m)))
    tab.requests = []  # every HTTP request the page made (the websocket's frames are not ones)
    tab.on("request", lambda r: tab.requests.append(r.url))
    tab.goto(f"{url}/{path}")
    wait_idle(tab, 120_000)
    if model:
        before = tab.url
        tab.get_by_label("Model").click()
        tab.get_by_role("option", name=model).click()
        # The page writes the new model into its address at the end of the run that draws its
        # control: until then the old model's control may still be there, about to be replaced.
        tab.wait_for_function("u => location.href !== u", arg=before, timeout=120_000)
        wait_idle(tab, 60_000)
    root = tab.locator(".le-root").first
    root.wait_for(timeout=120_000)
    tab.wait_for_function(
        "r => r.dataset.runtime === 'ready'", arg=root.element_handle(), timeout=120_000
    )
    wait_idle(tab, 60_000)
    return tab


def _drag_watching(page, target, canvas, *points, **kwargs) -> set[str]:
    """Drag across ``target`` (:func:`bench.browser.drag`: by default a slider end to end,
    here in 15 moves 30 ms apart) and hold it there; return the values ``canvas`` showed."""
    seen = set()

    def watch() -> None:
        seen.add(canvas.get_attribute("data-values"))

    kwargs = {"inset": 4, "steps": 15, **kwargs}
    drag(page, target, *points, pause_ms=30, each=watch, release=False, **kwargs)
    return seen - {None}


def _drag_and_release(tab, index: int = 0) -> dict:
    """Drag slider ``index`` across in 15 steps, then release; returns what the control saw:
    the distinct values drawn while dragging, frames decoded in the browser, images sent by
    the server after the runtime was ready, and Python's values once it answered."""
    root = tab.locator(".le-root").first
    canvas = tab.locator(".le-canvas").first
    before = root.get_attribute("data-values")
    stats0 = tab.evaluate("({...window.__leTelemetry.control})")
    seen = _drag_watching(tab, tab.locator(".le-range").nth(index), canvas)
    source_while_dragging = canvas.get_attribute("data-source")
    tab.mouse.up()
    tab.wait_for_function(
        "([r, v]) => r.dataset.values !== v", arg=[root.element_handle(), before], timeout=60_000
    )
    # Python's answer carries the values it stored; every canvas then shows the browser's
    # decode of exactly those values.
    tab.wait_for_function(ALL_SHOW_PYTHONS_VALUES, arg=root.element_handle(), timeout=30_000)
    wait_idle(tab, 60_000)
    stats = tab.evaluate("({...window.__leTelemetry.control})")
    return {
        "seen": seen,
        "source_while_dragging": source_while_dragging,
        "browser_frames": stats["browserFrames"] - stats0["browserFrames"],
        "server_images": stats["serverImages"] - stats0["serverImages"],
        "values": json.loads(root.get_attribute("data-values")),
        "sources": tab.locator(".le-canvas").evaluate_all("cs => cs.map(c => c.dataset.source)"),
    }


def _assert_release_resends_only_the_control(
    tab, before: int, kept: tuple[bytes, ...], requests_before: int
) -> None:
    """The messages the server sent after message ``before`` (a release) carry the live control
    again but none of ``kept``, elements that the page's first run sent: the release reran the
    control's own fragment, not the part of the page around it. Nor did the page make an HTTP
    request after request ``requests_before`` (a favicon served from /media/ was fetched again
    each time the release wrote the URL)."""
    tab.wait_for_timeout(500)  # a request that the URL's change sets off comes within this
    assert tab.requests[requests_before:] == []
    opened, sent = (
        b"".join(m if isinstance(m, bytes) else m.encode() for m in part)
        for part in (tab.received[:before], tab.received[before:])
    )
    assert b"latent_explorer.live_control" in sent
    for element in kept:
        assert element in opened and element not in sent, element


def _wait_for_url(tab, param: str, values: list[float], timeout_s: float = 20.0) -> None:
    """Wait until the URL's ``param`` holds ``values`` (each to within a slider step)."""
    from urllib.parse import parse_qs, urlparse

    def read() -> list[float]:
        query = parse_qs(urlparse(tab.url).query)
        return [float(v) for v in query[param][0].split(",")] if param in query else []

    until(tab, read, lambda now: now == pytest.approx(values, abs=0.006), timeout_s)


def test_a_release_sends_no_image_and_the_values_reach_python(browser, ckpts):
    from explorer import latent

    tab = _live_tab(browser, "Latent_sliders")
    try:
        before, requests = len(tab.received), len(tab.requests)
        got = _drag_and_release(tab, index=2)
        assert got["source_while_dragging"] == "browser" and len(got["seen"]) >= 5, got
        assert got["browser_frames"] >= 5
        assert got["server_images"] == 0  # Python sent no image on release
        assert got["sources"] == ["browser"]
        # Python stored the values (they are in its URL, written by the fragment's run).
        _wait_for_url(tab, "z", got["values"])
        # The release reran the control's own fragment: the control went out again, but not the
        # start image, the traversal's heading or its strip, which the browser keeps.
        _assert_release_resends_only_the_control(
            tab, before, (b"start image", b"Traversal", b"latent_explorer.live_strip"), requests
        )
        # The traversal strip follows in the browser as well.
        strip = tab.locator(".le-strip canvas")
        assert strip.get_attribute("data-source") == "browser"
        assert json.loads(strip.get_attribute("data-coeffs")) == pytest.approx(got["values"])
        space = latent.slider_space(ckpts["ae"].model)
        code = space.to_code(torch.tensor(got["values"]))
        expected = images.to_uint8(views.decode(ckpts["ae"].model, code)[0])
        shown = np.array(canvas_pixels(tab.locator(".le-canvas").first))
        assert np.abs(shown - expected.reshape(-1).astype(int)).max() <= 2
    finally:
        tab.close()


def test_gan_direction_sliders_decode_in_the_browser(browser, ckpts):
    from explorer import latent

    tab = _live_tab(browser, "Latent_sliders", model="DCGAN (z=100)")
    try:
        got = _drag_and_release(tab, index=0)
        assert got["source_while_dragging"] == "browser" and len(got["seen"]) >= 5, got
        assert got["server_images"] == 0 and got["sources"] == ["browser"]
        gan = ckpts["gan"].model
        space = latent.slider_space(gan)
        code = space.to_code(torch.tensor(got["values"]))
        expected = images.to_uint8(views.decode(gan, code)[0])
        shown = np.array(canvas_pixels(tab.locator(".le-canvas").first))
        assert np.abs(shown - expected.reshape(-1).astype(int)).max() <= 2
    finally:
        tab.close()


def test_lambda_decodes_both_models_every_frame_in_the_browser(browser):
    tab = _live_tab(browser, "Interpolation")
    try:
        reads0 = tab.evaluate("window.__leTelemetry.control.reads")
        before, requests = len(tab.received), len(tab.requests)
        got = _drag_and_release(tab, index=0)
        assert got["source_while_dragging"] == "browser" and len(got["seen"]) >= 5, got
        assert got["browser_frames"] >= 5
        assert got["server_images"] == 0 and got["sources"] == ["browser", "browser"]
        _wait_for_url(tab, "lam", got["values"])
        # The toggle and the caption beside the control stay as the page drew them.
        _assert_release_resends_only_the_control(
            tab, before, (b"Live dragging", b"the strips and the charts"), requests
        )
        # The classifier read the images (at most once per frame; every READ_MS while dragging).
        reads = tab.evaluate("window.__leTelemetry.control.reads") - reads0
        assert 1 <= reads <= got["browser_frames"]
        assert tab.locator(".le-reads").first.inner_text().startswith("reads ")
    finally:
        tab.close()


def _expected_ae_pixels(values):
    from explorer import latent

    ae = checkpoints.load(BUNDLED / "ae.safetensors").model
    space = latent.slider_space(ae)
    return images.to_uint8(views.decode(ae, space.to_code(torch.tensor(values)))[0])


def _runtime_state(page, timeout_s: float = 60.0) -> str | None:
    """The control's runtime once it settles ("ready" or "failed"); None if it never does."""
    root = page.locator(".le-root").first
    deadline = page.evaluate("Date.now()") + timeout_s * 1000
    while page.evaluate("Date.now()") < deadline:
        state = root.get_attribute("data-runtime") if root.count() else None
        if state in ("ready", "failed"):
            return state
        page.wait_for_timeout(200)
    return None


def _runtime_ready(page) -> None:
    """Wait until the control decodes in the browser. The models export on a background thread
    when the server starts; a page opened before that ends takes the server path until reloaded."""
    if _runtime_state(page, 30) != "ready":
        page.reload()
        wait_idle(page, 120_000)
        assert _runtime_state(page) == "ready"


def test_live_slider_decodes_in_the_browser_while_dragging_and_lands_on_the_exact_decode(page):
    open_page(page, f"{page.base_url}/Latent_sliders")
    canvas = page.locator(".le-canvas").first
    canvas.wait_for(timeout=60_000)
    _runtime_ready(page)
    assert canvas.get_attribute("data-source") == "exact"
    root = page.locator(".le-root")
    for index in (1, 5):  # several sliders, one after another, each decoded every frame
        slider = page.locator(".le-range").nth(index)
        seen = _drag_watching(page, slider, canvas)
        # Before release the canvas shows the browser's exact decodes of many different codes.
        assert canvas.get_attribute("data-source") == "browser" and len(seen) >= 5, seen
        reads = page.locator(".le-reads").first.inner_text()
        assert reads.startswith("reads ") and "%" in reads  # the classifier, live
        before = root.get_attribute("data-values")
        page.mouse.up()
        until_changed(page, lambda: root.get_attribute("data-values"), before, timeout_s=60)
        values = json.loads(root.get_attribute("data-values"))  # what Python stored
        assert values[index] == pytest.approx(float(slider.input_value()), abs=0.011)
        # The browser shows its own decode of exactly those values (Python sent no image).
        page.wait_for_function(SHOWS_PYTHONS_VALUES, arg=canvas.element_handle())
        assert canvas.get_attribute("data-source") == "browser"
        shown = np.array(canvas_pixels(canvas))
        # Exact up to 2 grey levels (ONNX Runtime Web against torch, as the fidelity test).
        assert np.abs(shown - _expected_ae_pixels(values).reshape(-1).astype(int)).max() <= 2
        wait_idle(page, 60_000)
    # The browser path asks the server for no filmstrips.
    assert page.evaluate("window.__leTelemetry.control.films.length") == 0


def test_live_control_without_the_runtime_says_so_once_and_uses_the_server(browser):
    """Fallback: the runtime's URL blocked, the page says so once and Python decodes."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.route("**/onnxruntime-web/**", lambda route: route.abort())
    try:
        tab.goto(f"{browser.base_url}/Latent_sliders")
        wait_idle(tab, 120_000)
        assert _runtime_state(tab) == "failed"
        # Python redraws the page on the server path; the control there still says so, once.
        root = tab.locator('.le-root[data-path="server"]')
        root.wait_for(timeout=60_000)
        wait_idle(tab, 60_000)
        assert tab.locator(".le-root").count() == 1
        note = tab.locator(".le-note").filter(has_text="could not load")
        assert note.count() == 1 and note.first.is_visible()
        before = root.get_attribute("data-values")
        slider = tab.locator(".le-range").first
        slider.focus()
        slider.press("ArrowRight")  # the server path: Python decodes the exact image
        until_changed(tab, lambda: root.get_attribute("data-values"), before, timeout_s=60)
        canvas = tab.locator(".le-canvas").first
        until_changed(tab, lambda: canvas.get_attribute("data-source"), "browser", timeout_s=30)
        assert canvas.get_attribute("data-source") == "exact"
        wait_idle(tab, 60_000)
        assert tab.locator(".le-note").filter(has_text="could not load").count() == 1
        # The server path again: fresh filmstrips reach the browser for the dragging that follows.
        tab.wait_for_function("window.__leTelemetry.control.films.length > 0", timeout=60_000)
    finally:
        context.close()


def test_pad_moves_two_latents_at_once_and_lands_on_the_exact_decode(page):
    open_page(page, f"{page.base_url}/Latent_sliders")
    page.get_by_label("Model").click()  # the model selectbox
    page.get_by_role("option", name="VAE (d=2)").click()
    pad = page.locator(".le-pad")
    pad.wait_for(timeout=60_000)
    wait_idle(page, 60_000)
    # The pad shows the decoded digits it picks from, not a blank grid.
    page.wait_for_timeout(500)
    assert pad.get_attribute("data-drawn") == "digits"
    bright = pad.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i + 1] > 100;
                  return n; }"""
    )
    assert bright > 0.05 * 240 * 240
    canvas = page.locator(".le-canvas").first
    _runtime_ready(page)
    # From the centre towards the lower right corner: z0 grows, z1 falls.
    seen = _drag_watching(page, pad, canvas, ((0.5, 0.5), (0.9, 0.9)), inset=0, steps=10)
    assert canvas.get_attribute("data-source") == "browser" and len(seen) >= 5, seen
    before = page.locator(".le-root").get_attribute("data-values")
    served = page.evaluate("window.__leTelemetry.control.serverImages")
    page.mouse.up()
    root = page.locator(".le-root")
    until_changed(page, lambda: root.get_attribute("data-values"), before, timeout_s=60)
    values = json.loads(root.get_attribute("data-values"))  # what Python stored (0.01 grid)
    assert values[0] == pytest.approx(2.4, abs=0.1) and values[1] == pytest.approx(-2.4, abs=0.1)
    # The browser decodes Python's rounded values itself; no image and no pad sprite came back.
    page.wait_for_function(SHOWS_PYTHONS_VALUES, arg=canvas.element_handle())
    assert page.evaluate("window.__leTelemetry.control.serverImages") == served
    assert pad.get_attribute("data-drawn") == "digits"  # the sprite it had is still drawn
    vae2d = checkpoints.load(BUNDLED / "vae2d.safetensors").model
    expected = images.to_uint8(views.decode(vae2d, torch.tensor(values))[0])
    shown = np.array(canvas_pixels(canvas))
    assert np.abs(shown - expected.reshape(-1).astype(int)).max() <= 2
