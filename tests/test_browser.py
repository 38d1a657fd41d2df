"""The app in a real browser: `streamlit run` driven by headless Chromium through Playwright.

Every page opens without an exception element, shows images, and reacts to one control.
"""

import pytest

from bench.browser import (
    canvas_pixels,
    launch,
    require_chromium,
    streamlit_server,
    until,
    wait_idle,
)

pytestmark = pytest.mark.browser
require_chromium()


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with streamlit_server() as (url, _), sync_playwright() as playwright:
        browser = launch(playwright)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.base_url = url
        yield tab
        browser.close()


def _open(page, path: str) -> None:
    page.goto(f"{page.base_url}/{path}")
    wait_idle(page, 120_000)
    page.wait_for_selector('[data-testid="stImage"] img', timeout=120_000)
    # The first image can come before the run's status widget does: wait for the run to end.
    wait_idle(page, 120_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def _image_src(page, caption: str) -> str:
    figure = page.locator('[data-testid="stImage"]').filter(has_text=caption).first
    return figure.locator("img").get_attribute("src")


def _changes(page, read, before, timeout_s: float = 30.0) -> str:
    return until(page, read, lambda now: now != before, timeout_s)


def _nudge_slider(page, label: str, key: str = "ArrowRight", times: int = 5) -> None:
    slider = page.locator(f'input[type="range"][aria-label="{label}"]').first
    slider.focus()
    for _ in range(times):
        slider.press(key)


def test_home(page):
    _open(page, "")
    # Every bundled model has its section (in the order of their file names).
    for title in ("AE (d=16)", "Digit classifier", "DCGAN (z=100)", "VAE (d=2)"):
        page.get_by_role("heading", name=title, exact=True).wait_for(timeout=60_000)
    before = _image_src(page, "random samples")
    page.get_by_label("Sample seed").fill("7")
    page.get_by_label("Sample seed").press("Enter")
    _changes(page, lambda: _image_src(page, "random samples"), before)


def test_latent_sliders(page):
    _open(page, "Latent_sliders")
    canvas = page.locator(".le-canvas").first  # the live control shows the decoded digit
    canvas.wait_for(timeout=60_000)
    _changes(page, lambda: canvas.get_attribute("data-exact"), None)  # the server's first image
    root = page.locator(".le-root").first
    before = (canvas.get_attribute("data-exact"), root.get_attribute("data-values"))
    _nudge_slider(page, "z0", times=40)

    def shown() -> tuple:
        # The image of the values Python settled on: from the server before the runtime is
        # ready (a new data-exact), from the browser after (the canvas's values are the root's).
        values = root.get_attribute("data-values")
        exact = canvas.get_attribute("data-exact")
        from_browser = canvas.get_attribute("data-values") == values
        return (exact, values) if exact != before[0] or from_browser else before

    _changes(page, shown, before)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_interpolation(page):
    import json

    _open(page, "Interpolation")
    canvas = page.locator(".le-canvas").nth(1)  # the VAE's w*
    canvas.wait_for(timeout=60_000)
    _changes(page, lambda: canvas.get_attribute("data-exact"), None)  # the server's first image
    assert page.locator('[data-testid="stDownloadButton"]').count() >= 6
    root = page.locator(".le-root")

    def settles(check) -> float:
        return until(page, lambda: json.loads(root.get_attribute("data-values"))[0], check, 60)

    # Python settles each release on the values the root carries, whether the image came from
    # the server (before the runtime is ready) or from the browser. Ten steps right from
    # λ = 0.5 (b is on the right) end on 0.40.
    assert settles(lambda v: True) == pytest.approx(0.5)
    _nudge_slider(page, "λ", times=10)
    settles(lambda v: abs(v - 0.40) < 1e-6)  # each key step is a release: the last one
    # The λ slider reads like the strips and charts: a (λ = 1) at its left end.
    box = page.locator('.le-range[aria-label="λ"]').bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    assert settles(lambda v: v > 0.95) > 0.95


def test_latent_map(page):
    page.goto(f"{page.base_url}/Latent_map")
    wait_idle(page, 120_000)
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot .xtick').length > 0", timeout=120_000
    )
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot').length == 2", timeout=120_000
    )
    wait_idle(page, 120_000)

    def ticks() -> str:
        # SVG text has no innerText in every Chromium: read its text content.
        return str(page.locator(".js-plotly-plot").first.locator(".xtick text").all_text_contents())

    before = ticks()
    page.get_by_text("PCA", exact=True).click()
    _changes(page, ticks, before, timeout_s=60)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_kl_and_elbo(page):
    _open(page, "KL_and_ELBO")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="β-weighted loss")
    before = metric.inner_text()
    _nudge_slider(page, "β", times=5)
    _changes(page, metric.inner_text, before)
    assert page.locator('[data-testid="stException"]').count() == 0


SHOWS_PYTHONS_VALUES = "c => c.dataset.values === c.closest('.le-root').dataset.values"


def _expected_ae_pixels(values):
    import torch

    from explorer import checkpoints, images, latent, views
    from tests.conftest import BUNDLED

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
    import json

    import numpy as np

    _open(page, "Latent_sliders")
    canvas = page.locator(".le-canvas").first
    canvas.wait_for(timeout=60_000)
    _runtime_ready(page)
    assert canvas.get_attribute("data-source") == "exact"
    root = page.locator(".le-root")
    for index in (1, 5):  # several sliders, one after another, each decoded every frame
        slider = page.locator(".le-range").nth(index)
        box = slider.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 4, y)
        page.mouse.down()
        seen = set()
        for step in range(1, 16):
            page.mouse.move(box["x"] + 4 + step * (box["width"] - 8) / 15, y)
            page.wait_for_timeout(30)
            seen.add(canvas.get_attribute("data-values"))
        # Before release the canvas shows the browser's exact decodes of many different codes.
        assert canvas.get_attribute("data-source") == "browser" and len(seen - {None}) >= 5, seen
        reads = page.locator(".le-reads").first.inner_text()
        assert reads.startswith("reads ") and "%" in reads  # the classifier, live
        before = root.get_attribute("data-values")
        page.mouse.up()
        _changes(page, lambda: root.get_attribute("data-values"), before, timeout_s=60)
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


def test_live_control_without_the_runtime_says_so_once_and_uses_the_server(page):
    """Fallback: the runtime's URL blocked, the page says so once and Python decodes."""
    context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.route("**/onnxruntime-web/**", lambda route: route.abort())
    try:
        tab.goto(f"{page.base_url}/Latent_sliders")
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
        _changes(tab, lambda: root.get_attribute("data-values"), before, timeout_s=60)
        canvas = tab.locator(".le-canvas").first
        _changes(tab, lambda: canvas.get_attribute("data-source"), "browser", timeout_s=30)
        assert canvas.get_attribute("data-source") == "exact"
        wait_idle(tab, 60_000)
        assert tab.locator(".le-note").filter(has_text="could not load").count() == 1
        # The server path again: fresh filmstrips reach the browser for the dragging that follows.
        tab.wait_for_function("window.__leTelemetry.control.films.length > 0", timeout=60_000)
    finally:
        context.close()


def test_live_slider_steps_with_the_keyboard(page):
    _open(page, "Latent_sliders")
    slider = page.locator(".le-range").first
    slider.wait_for(timeout=60_000)
    start = float(slider.input_value())
    before = page.locator(".le-root").get_attribute("data-values")
    slider.focus()
    slider.press("ArrowRight")
    _changes(
        page, lambda: page.locator(".le-root").get_attribute("data-values"), before, timeout_s=60
    )
    assert float(slider.input_value()) == pytest.approx(start + 0.01, abs=1e-6)


def test_pad_moves_two_latents_at_once_and_lands_on_the_exact_decode(page):
    import json

    import numpy as np
    import torch

    from explorer import checkpoints, images, views
    from tests.conftest import BUNDLED

    _open(page, "Latent_sliders")
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
                  let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i + 1] > 100; return n; }"""
    )
    assert bright > 0.05 * 240 * 240
    canvas = page.locator(".le-canvas").first
    _runtime_ready(page)
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.down()
    seen = set()
    for step in range(1, 11):  # towards the lower right corner: z0 grows, z1 falls
        f = 0.5 + 0.04 * step
        page.mouse.move(box["x"] + f * box["width"], box["y"] + f * box["height"])
        page.wait_for_timeout(30)
        seen.add(canvas.get_attribute("data-values"))
    assert canvas.get_attribute("data-source") == "browser" and len(seen - {None}) >= 5, seen
    before = page.locator(".le-root").get_attribute("data-values")
    served = page.evaluate("window.__leTelemetry.control.serverImages")
    page.mouse.up()
    root = page.locator(".le-root")
    _changes(page, lambda: root.get_attribute("data-values"), before, timeout_s=60)
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


def _captions(page) -> list[str]:
    return page.locator('[data-testid="stImage"]').all_inner_texts()


def test_ae_vs_vae_atlas_click_decodes_both_models_and_a_preset_opens_its_view(page):
    page.set_viewport_size({"width": 1280, "height": 720})
    try:
        page.goto(f"{page.base_url}/AE_vs_VAE")
        page.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot .nsewdrag').length == 2", timeout=180_000
        )
        wait_idle(page, 120_000)
        charts = page.locator(".js-plotly-plot")
        assert charts.first.bounding_box()["y"] < 720  # the atlas starts above a projector's fold
        probe = page.locator(".ap-caption")  # both decodes, under the atlases
        probe.first.wait_for(timeout=60_000)
        before = probe.all_inner_texts()
        assert all(" at (0.00, 0.00): reads " in c for c in before) and len(before) == 2
        drag = charts.first.locator(".nsewdrag").first
        box = drag.bounding_box()
        page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.3 * box["height"])
        _changes(page, lambda: str(probe.all_inner_texts()), str(before), timeout_s=60)
        points = {c.split(" at ")[1].split(":")[0] for c in probe.all_inner_texts()}
        assert len(points) == 1 and points != {"(0.00, 0.00)"}  # both models, the same point
        x, y = (float(v) for v in points.pop().strip("()").split(","))
        assert x < 0 < y  # upper left of the plane, where the click was
        page.wait_for_function("location.search.includes('z=')", timeout=30_000)  # a link to it

        page.get_by_role("button", name="A hole in the AE").click()
        page.get_by_text("Pair #").first.wait_for(timeout=120_000)
        wait_idle(page, 120_000)
        page.wait_for_function("location.search.includes('preset=hole')", timeout=30_000)
        assert "view=pairs" in page.url
        assert page.locator('[data-testid="stAlert"]').filter(has_text="A hole in the AE").count()
        assert any("lowest confidence" in c for c in _captions(page))
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


def _click_map_point(page, chart: int, trace: int, index: int) -> None:
    """Click point ``index`` of ``trace`` on the ``chart``-th latent map, at its screen position."""
    plot = page.locator(".js-plotly-plot").nth(chart)
    x, y = plot.evaluate(
        """(gd, [t, i]) => {
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            const box = gd.getBoundingClientRect();
            return [box.left + xa._offset + xa.l2p(gd._fullData[t].x[i]),
                    box.top + ya._offset + ya.l2p(gd._fullData[t].y[i])];
        }""",
        [trace, index],
    )
    page.mouse.click(x, y)


def _open_map(page) -> None:
    page.goto(f"{page.base_url}/Latent_map")
    wait_idle(page, 120_000)
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot').length == 2", timeout=120_000
    )
    wait_idle(page, 120_000)


def test_a_click_on_the_latent_map_selects_that_point(page):
    _open_map(page)
    row = page.locator(".js-plotly-plot").first.evaluate("gd => gd._fullData[3].customdata[0]")
    _click_map_point(page, chart=0, trace=3, index=0)  # the first digit 3 of the AE's map
    page.wait_for_selector(
        f'[data-testid="stImage"]:has-text("selected originals: #{row}")', timeout=60_000
    )
    assert page.locator('[data-testid="stException"]').count() == 0


def _at_viewport(page, width: int, height: int):
    """Resize the shared tab; returns a callable that restores the test module's size."""
    before = page.viewport_size
    page.set_viewport_size({"width": width, "height": height})
    return lambda: page.set_viewport_size(before)


TRUNCATED_JS = """els => els.flatMap(el => [el, ...el.querySelectorAll('*')])
    .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible')
    .map(e => e.innerText)"""


def test_kl_metrics_are_not_cut_off_on_a_projector(page):
    restore = _at_viewport(page, 1280, 720)
    try:
        _open(page, "KL_and_ELBO")
        values = page.locator('[data-testid="stMetricValue"]')
        values.first.wait_for(timeout=60_000)
        texts = values.all_inner_texts()
        assert len(texts) >= 5 and any(t.startswith("−") or t.startswith("-") for t in texts)
        assert values.evaluate_all(TRUNCATED_JS) == []
    finally:
        restore()


def test_pages_fetch_nothing_from_the_internet(page):
    from explorer import ui

    # A class network may have no internet; the favicon of a ":material/…:" or emoji page icon
    # came from fonts.gstatic.com or a CDN.
    outside: list[str] = []

    def note(request) -> None:
        if not request.url.startswith((page.base_url, "data:", "blob:")):
            outside.append(request.url)

    page.on("request", note)
    try:
        for path in ("", "Latent_sliders", "KL_and_ELBO"):
            _open(page, path)
            page.wait_for_timeout(1000)
        # The app's own icon, inline: no request to the server either when the URL changes.
        icon = page.locator("link[rel*='icon']").first.get_attribute("href")
    finally:
        page.remove_listener("request", note)
    assert outside == []
    assert icon == ui.PAGE_ICON and icon.startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    "path", ["", "AE_vs_VAE", "Latent_sliders", "Interpolation", "Latent_map", "KL_and_ELBO"]
)
def test_nothing_overflows_a_phone(page, path):
    restore = _at_viewport(page, 390, 844)
    try:
        page.goto(f"{page.base_url}/{path}")
        # The AE vs VAE page keeps its formula in a folded expander: wait for its charts.
        first = ".js-plotly-plot" if path == "AE_vs_VAE" else ".katex-display"
        page.wait_for_selector(first, timeout=120_000)
        wait_idle(page, 120_000)
        page.wait_for_timeout(1500)
        # A formula wider than its box is cut off at the screen's edge (the box scrolls). Up to
        # 4 px is KaTeX's italic correction of a last glyph, not a hidden part of the formula.
        wide = page.evaluate(
            """() => [...document.querySelectorAll('.katex-display, .js-plotly-plot')]
                .filter(e => e.scrollWidth > e.clientWidth + 4
                             || e.getBoundingClientRect().right > innerWidth + 1)
                .map(e => e.innerText.slice(0, 30))"""
        )
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert wide == [] and width[0] <= width[1], (wide, width)
        # A page link's label wraps rather than being cut off mid-word.
        cut = page.evaluate(
            """() => [...document.querySelectorAll(
                '[data-testid="stMain"] [data-testid="stPageLink-NavLink"] p')]
                .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText.slice(0, 30))"""
        )
        assert cut == []
        # A chart's toolbar (shown on touch) must not cover its title or its legend, nor the
        # legend the axis title.
        covered = page.evaluate(
            """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd => {
                const box = (sel) => gd.querySelector(sel)?.getBoundingClientRect();
                const meet = (a, b) => a && b && a.width && b.width && a.left < b.right
                    && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
                const name = gd.querySelector('.gtitle')?.textContent;
                return [['.modebar', '.gtitle'], ['.modebar', '.legend'], ['.legend', '.xtitle']]
                    .filter(([a, b]) => meet(box(a), box(b))).map(([a, b]) => `${name}: ${a}/${b}`);
            })"""
        )
        assert covered == []
    finally:
        restore()


def _swipe(cdp, x: float, y: float, dx: float, dy: float, steps: int = 20) -> None:
    """One finger from (x, y) by (dx, dy), as a phone's touch events."""
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for k in range(1, steps + 1):
        point = {"x": x + dx * k / steps, "y": y + dy * k / steps}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_on_a_phone_a_swipe_from_a_live_slider_scrolls_up_or_moves_it_sideways(page):
    # Sixteen sliders fill most of a phone's screen: a vertical swipe that starts on one must
    # scroll the page (it used to be swallowed by the slider), a sideways one moves the slider.
    context = page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        phone.goto(f"{page.base_url}/Latent_sliders")
        wait_idle(phone, 120_000)
        slider = phone.locator(".le-range").nth(5)
        slider.wait_for(timeout=120_000)
        slider.scroll_into_view_if_needed()
        phone.wait_for_timeout(500)
        cdp = context.new_cdp_session(phone)
        scrolled = "() => document.querySelector('[data-testid=\"stMain\"]').scrollTop"
        top, box = phone.evaluate(scrolled), slider.bounding_box()
        _swipe(cdp, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 0, -300)
        phone.wait_for_timeout(800)
        assert phone.evaluate(scrolled) >= top + 100
        box, value = slider.bounding_box(), slider.input_value()
        _swipe(cdp, box["x"] + 5, box["y"] + box["height"] / 2, box["width"] - 10, 0)
        phone.wait_for_timeout(500)
        assert slider.input_value() != value
    finally:
        context.close()


# Presentation mode at a projector's 1280×720: each page's main image and the control that drives
# it, both wholly inside the first screen (no scrolling), the image at least 280 px.
PRESENTED = {
    "AE_vs_VAE": (".js-plotly-plot", '[data-testid="stButtonGroup"]'),
    "Latent_sliders": (".le-canvas", ".le-range"),
    # The 2-D VAE: its pad beside the image, and the sliders under both still on the screen.
    "Latent_sliders?model=vae2d": (".le-pad", '.le-range[aria-label="z1"]'),
    # Drawing: the canvas is the image; what the models make of it sits beside it, not below.
    "Latent_sliders?start=draw": (".dc-canvas", ".dc-recon"),
    "Interpolation": (".le-canvas", '.le-range[aria-label="λ"]'),
    "Latent_map": (".js-plotly-plot", '[data-testid="stRadio"]'),
    "KL_and_ELBO": ('[data-testid="stImage"] img', '[data-testid="stSlider"]'),
    "Lesson": (None, '[data-testid="stButton"] button'),
}


@pytest.mark.parametrize("path", list(PRESENTED))
def test_presentation_mode_fits_a_projector(page, path):
    image, control = PRESENTED[path]
    restore = _at_viewport(page, 1280, 720)
    try:
        page.goto(f"{page.base_url}/{path}{'&' if '?' in path else '?'}present=1")
        page.locator(control).first.wait_for(timeout=180_000)
        if image:
            page.locator(image).first.wait_for(timeout=180_000)
        wait_idle(page, 180_000)
        page.wait_for_timeout(1000)
        assert page.evaluate("scrollY") == 0 and "present=1" in page.url
        boxes = {"control": page.locator(control).first.bounding_box()}
        if image:
            boxes["image"] = page.locator(image).first.bounding_box()
            assert min(boxes["image"]["width"], boxes["image"]["height"]) >= 280, boxes
            if image == ".le-pad":  # a square, not stretched to the height of the image beside it
                assert boxes["image"]["width"] == boxes["image"]["height"], boxes
        for what, box in boxes.items():
            assert box["y"] >= 0 and box["y"] + box["height"] <= 720, (what, boxes)
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, (what, boxes)
        if path == "Interpolation":  # the λ slider spans the images it drives
            views = page.locator(".le-views").first.bounding_box()
            assert abs(boxes["control"]["width"] - views["width"]) <= 0.1 * views["width"], (
                boxes, views)  # fmt: skip
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        restore()


def test_a_digit_drawn_with_the_mouse_is_preprocessed_and_encoded(page):
    page.goto(f"{page.base_url}/Latent_sliders?start=draw")
    canvas = page.locator(".dc-canvas")
    canvas.wait_for(timeout=120_000)
    wait_idle(page, 120_000)
    box = canvas.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + 0.15 * box["height"])
    page.mouse.down()
    for step in range(1, 21):  # a vertical stroke: a 1
        page.mouse.move(x, box["y"] + (0.15 + 0.035 * step) * box["height"])
    page.mouse.up()
    views = page.locator(".dc-digit, .dc-recon")  # Python's views, once the stroke ends
    for _ in range(300):
        if {c.get_attribute("data-source") for c in views.all()} == {"exact"}:
            break
        page.wait_for_timeout(200)
    assert {c.get_attribute("data-source") for c in views.all()} == {"exact"}
    captions = page.locator(".dc-caption").all_inner_texts()
    assert {"AE (d=16) reconstruction", "VAE (d=16) reconstruction"} <= set(captions), captions
    assert "start=draw" in page.url
    page.locator(".dc-clear").click()
    page.get_by_text("Draw a digit with the mouse").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
