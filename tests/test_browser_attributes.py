"""The attribute sliders in a real browser (`streamlit run` driven by headless Chromium through
Playwright): as the "thicker" slider moves, the digit the browser decodes gets measurably thicker
(Morpho-MNIST's thickness of the canvas's pixels), and on release Python measures the same image;
presentation mode keeps the digit and its sliders on a projector's first screen.
"""

import numpy as np
import pytest

from bench.browser import canvas_pixels, drag, open_page, require_chromium, until, wait_idle
from explorer import attributes

pytestmark = pytest.mark.browser
require_chromium()

PATH = "Latent_sliders?model=vae&sliders=attributes&digit=1"
THICKER = f'.le-range[aria-label="{attributes.label("thickness")}"]'
THICKNESS = attributes.NAMES.index("thickness")


def _thickness(canvas) -> float:
    """Thickness (px) of the digit a live control's canvas shows."""
    pixels = np.array(canvas_pixels(canvas), dtype=np.float64).reshape(1, 28, 28) / 255
    return float(attributes.measure(pixels[:, None])[0, THICKNESS])


def _readout_row(page, name: str) -> list[str]:
    """The cells of attribute ``name``'s row in the table Python measured on release."""
    table = page.locator('[data-testid="stMarkdown"] table').filter(has_text="asked").first
    row = table.locator("tr").filter(has_text=name).first
    return row.locator("td").all_inner_texts()


def test_the_thicker_slider_makes_the_decoded_digit_measurably_thicker(page):
    open_page(page, f"{page.base_url}/{PATH}")
    root = page.locator(".le-root").first
    canvas = page.locator(".le-canvas").first
    page.wait_for_function(
        "r => r.dataset.runtime === 'ready'", arg=root.element_handle(), timeout=120_000
    )
    wait_idle(page, 60_000)
    start = _thickness(canvas)
    seen: list[tuple[str, float]] = []

    def watch() -> None:
        seen.append((canvas.get_attribute("data-source"), _thickness(canvas)))

    slider = page.locator(THICKER).first
    # From the middle (no change asked) to the right end (+3 SDs of the codes), watching.
    drag(page, slider, ((0.5, 0.5), (1.0, 0.5)), steps=8, pause_ms=80, each=watch, release=False)
    live = [t for source, t in seen if source == "browser"]
    assert len(live) >= 4, seen  # decoded in the browser while the slider moves
    assert live[-1] > start + 0.5, (start, seen)  # measurably thicker: half a pixel at least
    assert np.corrcoef(np.arange(len(live)), live)[0, 1] > 0.8, seen  # and more so as it goes
    page.mouse.up()
    # On release Python measures the image at the values it stored: what the browser shows.
    row = until(page, lambda: _readout_row(page, "thickness"), lambda r: r and r[3] != "–", 60)
    asked, got, now = float(row[3]), float(row[4]), float(row[2])
    assert asked == pytest.approx(float(slider.input_value()), abs=0.011) and asked > 1.0
    # Python measures its float decode, the test the canvas's 8-bit grey levels: a stroke this
    # thick reads up to a few tenths of a pixel apart (1 in 20 random decodes: 0.06 px or more).
    assert got > 0.5 and now == pytest.approx(_thickness(canvas), abs=0.5)
    assert f"edit=thickness%3A{asked:.4g}" in page.url  # only the slider moved
    assert page.locator('[data-testid="stException"]').count() == 0


def test_presented_attribute_sliders_fit_a_projector(page):
    before = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": 720})
    try:
        page.goto(f"{page.base_url}/{PATH}&present=1")
        page.locator(THICKER).first.wait_for(timeout=180_000)
        wait_idle(page, 180_000)
        page.wait_for_timeout(1000)
        assert page.evaluate("scrollY") == 0
        image = page.locator(".le-canvas").first.bounding_box()
        assert min(image["width"], image["height"]) >= 280
        for selector in (".le-canvas", ".le-range"):  # the digit and every attribute slider
            for box in page.locator(selector).evaluate_all(
                "els => els.map(e => e.getBoundingClientRect().toJSON())"
            ):
                assert box["y"] >= 0 and box["y"] + box["height"] <= 720, (selector, box)
                assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, (selector, box)
    finally:
        page.set_viewport_size(before)
