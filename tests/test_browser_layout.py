"""Layout in a real browser (`streamlit run` driven by headless Chromium through Playwright), on
the two screens a class uses: a 390 x 844 phone (nothing overflows, a swipe on the sliders
scrolls) and a 1280 x 720 projector (presentation mode puts each page's main image and its control
on the first screen; no metric is cut off).
"""

import pytest

from bench.browser import open_page, require_chromium, wait_idle

pytestmark = pytest.mark.browser
require_chromium()

PHONE = (390, 844)
PROJECTOR = (1280, 720)


def _at_viewport(page, size: tuple[int, int]):
    """Resize the shared tab; returns a callable that restores the test module's size."""
    before = page.viewport_size
    page.set_viewport_size({"width": size[0], "height": size[1]})
    return lambda: page.set_viewport_size(before)


# ---- A phone ----------------------------------------------------------------------------------

OVERFLOWING_JS = """() => [...document.querySelectorAll('.katex-display, .js-plotly-plot')]
    .filter(e => e.scrollWidth > e.clientWidth + 4
                 || e.getBoundingClientRect().right > innerWidth + 1)
    .map(e => e.innerText.slice(0, 30))"""

CUT_LINKS_JS = """() => [...document.querySelectorAll(
    '[data-testid="stMain"] [data-testid="stPageLink-NavLink"] p')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText.slice(0, 30))"""

COVERED_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd => {
    const box = (sel) => gd.querySelector(sel)?.getBoundingClientRect();
    const meet = (a, b) => a && b && a.width && b.width && a.left < b.right
        && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const name = gd.querySelector('.gtitle')?.textContent;
    return [['.modebar', '.gtitle'], ['.modebar', '.legend'], ['.legend', '.xtitle']]
        .filter(([a, b]) => meet(box(a), box(b))).map(([a, b]) => `${name}: ${a}/${b}`);
})"""


@pytest.mark.parametrize(
    "path", ["", "AE_vs_VAE", "Latent_sliders", "Interpolation", "Latent_map", "KL_and_ELBO"]
)
def test_nothing_overflows_a_phone(page, path):
    restore = _at_viewport(page, PHONE)
    try:
        page.goto(f"{page.base_url}/{path}")
        # The AE vs VAE page keeps its formula in a folded expander: wait for its charts.
        first = ".js-plotly-plot" if path == "AE_vs_VAE" else ".katex-display"
        page.wait_for_selector(first, timeout=120_000)
        wait_idle(page, 120_000)
        page.wait_for_timeout(1500)
        # A formula wider than its box is cut off at the screen's edge (the box scrolls). Up to
        # 4 px is KaTeX's italic correction of a last glyph, not a hidden part of the formula.
        wide = page.evaluate(OVERFLOWING_JS)
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert wide == [] and width[0] <= width[1], (wide, width)
        # A page link's label wraps rather than being cut off mid-word.
        assert page.evaluate(CUT_LINKS_JS) == []
        # A chart's toolbar (shown on touch) must not cover its title or its legend, nor the
        # legend the axis title.
        assert page.evaluate(COVERED_JS) == []
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
    width, height = PHONE
    context = page.context.browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=True, has_touch=True
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


# ---- A projector ------------------------------------------------------------------------------

TRUNCATED_JS = """els => els.flatMap(el => [el, ...el.querySelectorAll('*')])
    .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible')
    .map(e => e.innerText)"""


def test_kl_metrics_are_not_cut_off_on_a_projector(page):
    restore = _at_viewport(page, PROJECTOR)
    try:
        open_page(page, f"{page.base_url}/KL_and_ELBO")
        values = page.locator('[data-testid="stMetricValue"]')
        values.first.wait_for(timeout=60_000)
        texts = values.all_inner_texts()
        assert len(texts) >= 5 and any(t.startswith("−") or t.startswith("-") for t in texts)
        assert values.evaluate_all(TRUNCATED_JS) == []
    finally:
        restore()


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
    "Latent_map": (".lm-canvas", '[data-testid="stRadio"]'),
    "KL_and_ELBO": ('[data-testid="stImage"] img', '[data-testid="stSlider"]'),
    "Lesson": (None, '[data-testid="stButton"] button'),
}


@pytest.mark.parametrize("path", list(PRESENTED))
def test_presentation_mode_fits_a_projector(page, path):
    image, control = PRESENTED[path]
    width, height = PROJECTOR
    restore = _at_viewport(page, PROJECTOR)
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
            assert box["y"] >= 0 and box["y"] + box["height"] <= height, (what, boxes)
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (what, boxes)
        if path == "Interpolation":  # the λ slider spans the images it drives
            views = page.locator(".le-views").first.bounding_box()
            spans = abs(boxes["control"]["width"] - views["width"]) <= 0.1 * views["width"]
            assert spans, (boxes, views)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        restore()
