"""The Latent map in a real browser (`streamlit run` driven by headless Chromium through
Playwright): pointing at a digit shows its picture from the sprite sheet; a lasso on one map
lights up the same digits on the other and reaches the server; a click or a tap picks a digit;
the method switches to UMAP; a 390 px phone gets both maps without overflowing.
"""

import numpy as np
import pytest

from bench.browser import canvas_pixels, require_chromium, until, wait_idle
from explorer import data, images, maps
from explorer.ui import cache
from tests.test_browser_layout import CUT_LABELS_JS

pytestmark = pytest.mark.browser
require_chromium()

READY = "() => window.__leTelemetry?.map?.ready === true"
GREY = (217, 217, 217)  # an unselected point while a selection exists (latent_map_view.js)


def _held_out() -> maps.Points:
    return maps.points(data.Split.from_dict(cache.load("vae").meta["split"]), "held_out")


def _open(page, query: str = "") -> None:
    page.goto(f"{page.base_url}/Latent_map{query}")
    wait_idle(page, 300_000)
    page.wait_for_function(READY, timeout=300_000)
    wait_idle(page, 60_000)


def _telemetry(page, name: str):
    return page.evaluate(f"window.__leTelemetry.map[{name!r}] ?? null")


def _locate(page, m: int, row: int) -> tuple[float, float]:
    return tuple(page.evaluate(f"window.__leTelemetry.map.locate({m}, {row})"))


def _pixel(page, m: int, row: int) -> tuple[int, int, int]:
    """The colour the m-th map's points canvas shows at a digit's point."""
    x, y = _locate(page, m, row)
    return tuple(
        page.locator(".lm-canvas")
        .nth(m)
        .evaluate(
            """(c, [x, y]) => { const r = c.getBoundingClientRect(), k = c.width / r.width;
            return [...c.getContext('2d').getImageData(Math.round((x - r.left) * k),
                    Math.round((y - r.top) * k), 1, 1).data].slice(0, 3); }""",
            [x, y],
        )
    )


def test_pointing_at_a_digit_shows_its_picture(page):
    _open(page)
    pts = _held_out()
    page.mouse.move(*_locate(page, 0, 37))
    card = page.locator(".lm-card")
    card.wait_for(state="visible", timeout=10_000)
    row = int(card.get_attribute("data-row"))  # the nearest point to the pointer: 37 or one on it
    assert np.hypot(*np.subtract(_locate(page, 0, row), _locate(page, 0, 37))) < 14
    tile = page.locator(".lm-tile")
    assert tile.bounding_box()["width"] >= 112  # readable from the back of a room
    shown = np.array(canvas_pixels(tile)).reshape(28, 28)
    np.testing.assert_array_equal(shown, images.to_uint8(pts.images[row]))  # its own pixels
    assert f"digit {pts.labels[row]} · held-out #{row}" in card.inner_text()
    page.mouse.move(5, 5)  # off the map: the picture goes
    card.wait_for(state="hidden", timeout=10_000)


def test_a_lasso_on_one_map_lights_up_the_same_digits_on_the_other(page):
    _open(page)
    page.get_by_role("button", name="Lasso", exact=True).click()
    box = page.locator(".lm-over").first.bounding_box()
    corners = [(0.05, 0.05), (0.55, 0.05), (0.55, 0.6), (0.05, 0.6), (0.05, 0.06)]
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in corners]
    page.mouse.move(*at[0])
    page.mouse.down()
    for point in at[1:]:
        page.mouse.move(*point, steps=10)
    page.mouse.up()
    rows = until(page, lambda: (_telemetry(page, "selection") or {}).get("rows"), bool, 10)
    n = len(_held_out())
    inside = [
        r
        for r in range(n)
        if at[0][0] < _locate(page, 0, r)[0] < at[1][0]
        and at[0][1] < _locate(page, 0, r)[1] < at[2][1]
    ]
    assert sorted(rows) == inside and 0 < len(rows) < n
    # The other map draws exactly those digits in colour, the rest in grey.
    assert page.locator(".lm-canvas").nth(1).get_attribute("data-selected") == str(len(rows))
    outside = [r for r in range(n) if r not in set(rows)]
    for r in rows[:: max(1, len(rows) // 15)]:
        assert _pixel(page, 1, r) not in (GREY, (255, 255, 255)), r
    assert sum(_pixel(page, 1, r) == GREY for r in outside[::10]) > 0.5 * len(outside[::10])
    # The server heard it: the selected digits under the maps, the AE's map named.
    page.get_by_text(f"{len(rows)} selected on the AE (d=16) map").wait_for(timeout=60_000)
    page.locator('[data-testid="stImage"]').filter(
        has_text=f"selected originals: #{', #'.join(map(str, rows[:12]))}"
    ).wait_for(timeout=60_000)
    page.get_by_role("button", name="Pick", exact=True).click()


def test_a_click_picks_a_digit_for_the_neighbours_view(page):
    _open(page)
    page.mouse.click(*_locate(page, 1, 123))  # on the VAE's map
    selection = until(page, lambda: _telemetry(page, "selection"), lambda s: s and s["rows"], 10)
    row = selection["pick"]
    assert selection["rows"] == [row] and selection["source"] == "vae"
    number = page.get_by_label("Digit #", exact=False)
    until(page, number.input_value, lambda v: v == str(row), 60)
    page.locator('[data-testid="stImage"]').filter(has_text=f"#{row}: digit").wait_for()
    # Shift-click adds a digit of another class; the pair goes to Interpolation.
    labels = _held_out().labels
    other = next(r for r in range(len(labels)) if labels[r] != labels[row])
    page.keyboard.down("Shift")
    page.mouse.click(*_locate(page, 1, other))
    page.keyboard.up("Shift")
    selection = until(page, lambda: _telemetry(page, "selection"), lambda s: len(s["rows"]) == 2)
    a, b = selection["rows"]
    button = page.get_by_role("button", name=f"Interpolate #{a} (digit {labels[a]}) → ")
    button.wait_for(timeout=60_000)
    button.click()
    page.wait_for_url("**/Interpolation**", timeout=60_000)
    wait_idle(page, 120_000)
    page.get_by_text(f"held-out #{a} (a) and #{b} (b)").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_all_digits_stay_fluid_and_the_maps_own_cost_is_small(page):
    _open(page, "?points=all&colour=overlap&method=pca")  # PCA: no minutes of t-SNE in CI
    n = _telemetry(page, "n")
    split = data.Split.from_dict(cache.load("vae").meta["split"])
    assert n == maps.size(split, "all") > 1000
    # What the component adds to a first view: fetching its files and drawing, after Streamlit
    # mounted it (the page's own script runs before that).
    mounted, ready = _telemetry(page, "mountedMs"), _telemetry(page, "readyMs")
    assert ready - mounted < 1500, (mounted, ready)
    page.mouse.move(*_locate(page, 1, n - 1))  # the last digit (training), on the VAE's map
    card = page.locator(".lm-card")
    card.wait_for(state="visible", timeout=10_000)
    text = card.inner_text()
    assert "neighbourhood overlap: " in text and any(
        f"{part} #" in text for part in ("training", "validation", "held-out")
    )
    draws = _telemetry(page, "draws")
    for _ in range(3):
        page.get_by_role("button", name="Zoom in").click()
    until(page, lambda: _telemetry(page, "draws"), lambda d: d >= draws + 3, 10)
    assert _telemetry(page, "lastDrawMs") < 100  # both maps, every digit: a frame or a few


@pytest.mark.slow
def test_switching_to_umap_redraws_both_maps(page):
    _open(page)
    before = _locate(page, 0, 5)
    page.get_by_text("UMAP", exact=True).click()
    until(page, lambda: _telemetry(page, "method"), lambda m: m == "umap", 600)
    titles = page.locator(".lm-title").all_inner_texts()
    assert len(titles) == 2 and all(" UMAP · trustworthiness 0." in t for t in titles), titles
    until(page, lambda: _locate(page, 0, 5), lambda now: now != before, 30)
    page.wait_for_function("location.search.includes('method=umap')", timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_on_a_phone_the_maps_stack_and_a_tap_picks(page):
    context = page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        phone.base_url = page.base_url
        _open(phone)
        boxes = [phone.locator(".lm-over").nth(m).bounding_box() for m in (0, 1)]
        assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]  # one above the other
        assert all(b["x"] >= 0 and b["x"] + b["width"] <= 390 for b in boxes)
        width = phone.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1]
        phone.locator(".lm-over").first.scroll_into_view_if_needed()
        phone.touchscreen.tap(*_locate(phone, 0, 200))
        selection = until(phone, lambda: _telemetry(phone, "selection"), lambda s: bool(s), 10)
        assert selection["pick"] is not None and selection["source"] == "ae"
        phone.locator(".lm-card").wait_for(state="visible", timeout=5_000)  # the tapped digit
        phone.get_by_text("selected on the AE (d=16) map").wait_for(timeout=60_000)
        # A phone has no Shift: the Add tool adds each tapped digit to the selection, and two
        # go to Interpolation (issue 22).
        first, labels = selection["pick"], _held_out().labels
        other = next(r for r in range(200, len(labels)) if labels[r] != labels[first])
        phone.get_by_role("button", name="Add", exact=True).click()
        phone.touchscreen.tap(*_locate(phone, 0, other))
        selection = until(phone, lambda: _telemetry(phone, "selection"),
                          lambda s: len(s["rows"]) == 2, 10)  # fmt: skip
        assert set(selection["rows"]) == {first, selection["pick"]} and first != selection["pick"]
        button = phone.get_by_role("button", name=f"Interpolate #{first} (digit ")
        button.wait_for(timeout=60_000)
        assert phone.evaluate(CUT_LABELS_JS) == []
    finally:
        context.close()
