"""Layout in a real browser (`streamlit run` driven by headless Chromium through Playwright), on
the two screens a class uses: a 390 x 844 phone (nothing overflows, a swipe on the sliders
scrolls) and a 1280 x 720 projector (presentation mode puts each page's main image and its control
on the first screen; no metric is cut off).
"""

import pytest

from bench.browser import open_page, require_chromium, streamlit_server, wait_idle

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


PHONE_PAGES = ["", "AE_vs_VAE", "AE_vs_VAE?view=atlas", "Latent_sliders", "Interpolation",
               "Latent_map", "KL_and_ELBO"]  # fmt: skip


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_nothing_overflows_a_phone(page, path):
    restore = _at_viewport(page, PHONE)
    try:
        page.goto(f"{page.base_url}/{path}")
        # The AE vs VAE page keeps its formula in a folded expander: wait for its findings
        # table, or the atlas's charts.
        first = {"AE_vs_VAE": "table", "AE_vs_VAE?view=atlas": ".js-plotly-plot"}.get(
            path, ".katex-display"
        )
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
    # The atlas (the findings table, the page's first view, is text).
    "AE_vs_VAE?view=atlas": (".js-plotly-plot", '[data-testid="stButtonGroup"]'),
    # All 16 sliders beside the digit (the last one is on the screen too).
    "Latent_sliders": (".le-canvas", '.le-range[aria-label="z15"]'),
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
        _assert_legible(page.evaluate(FONTS_JS))
    finally:
        restore()


# The smallest computed font size (px) of each kind of text on the page, with the lowest opacity
# of the captions; the components' text is looked up in their shadow roots, and the 2-D pad
# reports the size of the labels it draws on its canvas.
FONTS_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const shadows = [...document.querySelectorAll('*')].filter(e => e.shadowRoot).map(e => e.shadowRoot);
  const all = (sel, roots = [main]) => roots.flatMap(r => [...r.querySelectorAll(sel)])
    .filter(e => e.getBoundingClientRect().width > 0 && (e.textContent || '').trim());
  const px = (els) => els.map(e => parseFloat(getComputedStyle(e).fontSize));
  const caption = all('[data-testid="stCaptionContainer"] p, [data-testid="stImageCaption"] p')
    .concat(all('figcaption, .le-reads, .ap-caption, .dc-caption, .lm-title', shadows));
  const opacity = (e) => { let o = 1; for (let x = e; x; x = x.parentElement) o *= getComputedStyle(x).opacity; return o; };
  return {
    caption: px(caption), captionOpacity: caption.map(opacity),
    code: px(all('[data-testid="stCaptionContainer"] code')),
    body: px(all('[data-testid="stMarkdownContainer"] p').filter(e => !e.closest('[data-testid="stCaptionContainer"]'))
      .concat(all('.le-row', shadows))),
    metric: px(all('[data-testid="stMetricLabel"] p')),
    chart: px(all('.js-plotly-plot :is(.xtick, .ytick, .legendtext, .xtitle, .ytitle) text, '
      + '.js-plotly-plot :is(.xtitle, .ytitle, .legendtext)')),
    pad: shadows.flatMap(r => [...r.querySelectorAll('.le-pad')]).map(e => parseFloat(e.dataset.labelPx)),
  };
}"""
LEGIBLE = {"caption": 20, "code": 18, "body": 18, "metric": 20, "chart": 14, "pad": 18}


def _assert_legible(found: dict) -> None:
    """Presentation mode (issue 22): captions and key numbers at least 20 px at full contrast,
    body text 18 px, chart ticks and axis titles 14 px, the pad's axis labels 18 px."""
    small = {kind: min(found[kind]) for kind, least in LEGIBLE.items()
             if found[kind] and min(found[kind]) < least}  # fmt: skip
    assert not small, small
    assert found["caption"] and min(found["captionOpacity"]) >= 0.99, found["captionOpacity"]


# A button or a segmented control's option whose label is cut off: it ends in "…" or a scrolling
# or clipping box hides part of it.
CUT_LABELS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] button')]
  .filter(b => b.getBoundingClientRect().width > 0 && b.innerText.trim()).filter(b => {
    const r = b.getBoundingClientRect();
    if ([b, ...b.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1
        && getComputedStyle(e).overflowX !== 'visible')) return true;
    for (let a = b.parentElement; a && a.dataset.testid !== 'stMain'; a = a.parentElement) {
      if (getComputedStyle(a).overflowX === 'visible') continue;
      const p = a.getBoundingClientRect();
      if (r.right > p.right + 1 || r.left < p.left - 1) return true;
    }
    return false;
  }).map(b => b.innerText.trim())"""


@pytest.mark.parametrize("present", [False, True])
@pytest.mark.parametrize("path", ["Lesson", "Latent_sliders", "AE_vs_VAE?view=atlas"])
def test_no_label_is_cut_off_at_1280_px(page, path, present):
    # "Sweep a VAE sl…", "Random from the fitted G…" and AE vs VAE's "Many" (pairs) at 1280 px.
    restore = _at_viewport(page, PROJECTOR)
    try:
        page.goto(f"{page.base_url}/{path}{'&' if '?' in path else '?'}present={int(present)}")
        page.locator('[data-testid="stMain"] button').first.wait_for(timeout=180_000)
        wait_idle(page, 180_000)
        page.wait_for_timeout(1000)
        assert page.evaluate(CUT_LABELS_JS) == []
    finally:
        restore()


def _beside_the_atlases(page, decoded, present: bool) -> None:
    """Each of ``decoded`` (a locator: both models' decode of the point) to the right of the
    second atlas, beside it rather than in a row below, and inside a 1280x720 first screen."""
    atlas = page.locator(".js-plotly-plot").nth(1).bounding_box()
    shown = [e.bounding_box() for e in decoded.all()]
    assert len(shown) == 2, shown
    for box in shown:
        assert box["x"] >= atlas["x"] + atlas["width"] - 1, (box, atlas, present)
        assert box["y"] < atlas["y"] + atlas["height"], (box, atlas, present)
        assert box["y"] + box["height"] <= PROJECTOR[1], (box, present)


def _open_atlas(page, url: str, present: bool) -> None:
    page.goto(f"{url}/AE_vs_VAE?view=atlas{'&present=1' if present else ''}")
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot .nsewdrag').length == 2", timeout=180_000
    )
    wait_idle(page, 180_000)
    page.wait_for_timeout(1000)


@pytest.mark.parametrize("present", [False, True])
def test_the_decoded_point_sits_beside_the_atlases_on_the_first_screen(page, present):
    # The browser's preview under the pointer (the atlas probe): on a laptop's first screen too.
    restore = _at_viewport(page, PROJECTOR)
    try:
        _open_atlas(page, page.base_url, present)
        page.locator(".ap-canvas").first.wait_for(timeout=60_000)
        _beside_the_atlases(page, page.locator(".ap-canvas"), present)
    finally:
        restore()


def test_on_the_server_path_the_decoded_point_sits_beside_the_atlases_too(browser):
    # With decoding in the browser off, the server's images landed in a new row below.
    with streamlit_server(env={"LATENT_EXPLORER_BROWSER_DECODE": "0"}) as (url, _):
        tab = browser.new_page(viewport={"width": PROJECTOR[0], "height": PROJECTOR[1]})
        try:
            for present in (True, False):
                _open_atlas(tab, url, present)
                decoded = tab.locator('[data-testid="stImage"]').filter(has_text=" at (")
                _beside_the_atlases(tab, decoded, present)
        finally:
            tab.close()


# ---- A phone: what a student reads ---------------------------------------------------------------


def test_on_a_phone_the_pairs_table_and_the_strips_stay_readable(page):
    # The pairs table lost its VAE column past the screen's edge, and 11-frame strips shrank to
    # 30 px a frame (issue 22).
    restore = _at_viewport(page, PHONE)
    try:
        page.goto(f"{page.base_url}/AE_vs_VAE?view=pairs&selected=5")
        page.locator('[data-testid="stDataFrame"]').wait_for(timeout=180_000)
        wait_idle(page, 180_000)
        page.wait_for_timeout(1000)
        widths = page.evaluate("""() => { const g = document.querySelector(
            '[data-testid="stDataFrame"] .dvn-scroller');
            return [g.querySelector('.dvn-stack').scrollWidth, g.clientWidth]; }""")
        assert widths[0] <= widths[1] - 8, widths  # every column, with room to spare
        strips = page.evaluate("""() => [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stImage"] img')]
            .filter(i => i.naturalWidth > 3 * i.naturalHeight)
            .map(i => i.getBoundingClientRect().width / i.naturalWidth)""")
        assert len(strips) == 2 and min(strips) >= 0.5, strips  # 28 px frames at 3x: >= 42 px
    finally:
        restore()
