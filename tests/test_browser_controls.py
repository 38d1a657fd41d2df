"""Controls and links in a real browser (`streamlit run` driven by headless Chromium through
Playwright): every page opens without an exception element, shows images and fetches nothing from
the internet; each page's control changes what it drives; a click on a chart picks that point;
a preset and a clicked point are written to the link.
"""

import json
from urllib.parse import parse_qs, urlparse

import pytest

from bench.browser import (
    drag,
    open_page,
    require_chromium,
    until,
    until_changed,
    wait_idle,
)

pytestmark = pytest.mark.browser
require_chromium()


def _open(page, path: str) -> None:
    open_page(page, f"{page.base_url}/{path}")


def _image_src(page, caption: str) -> str:
    figure = page.locator('[data-testid="stImage"]').filter(has_text=caption).first
    return figure.locator("img").get_attribute("src")


def _nudge_slider(page, label: str, key: str = "ArrowRight", times: int = 5) -> None:
    slider = page.locator(f'input[type="range"][aria-label="{label}"]').first
    slider.focus()
    for _ in range(times):
        slider.press(key)


def test_home(page):
    from explorer.ui import cache

    _open(page, "")
    # Every bundled model has its section, under its label (in the order of their file names).
    for name in ("ae", "classifier", "gan", "vae2d"):
        page.get_by_role("heading", name=cache.label(name), exact=True).wait_for(timeout=60_000)
    before = _image_src(page, "random samples")
    page.get_by_label("Sample seed").fill("7")
    page.get_by_label("Sample seed").press("Enter")
    until_changed(page, lambda: _image_src(page, "random samples"), before)


def test_latent_sliders(page):
    _open(page, "Latent_sliders")
    canvas = page.locator(".le-canvas").first  # the live control shows the decoded digit
    canvas.wait_for(timeout=60_000)
    until_changed(page, lambda: canvas.get_attribute("data-exact"), None)  # the server's first
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

    until_changed(page, shown, before)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_interpolation(page):
    _open(page, "Interpolation")
    canvas = page.locator(".le-canvas").nth(1)  # the VAE's w*
    canvas.wait_for(timeout=60_000)
    until_changed(page, lambda: canvas.get_attribute("data-exact"), None)  # the server's first
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


def test_kl_and_elbo(page):
    _open(page, "KL_and_ELBO")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="β-weighted loss")
    before = metric.inner_text()
    _nudge_slider(page, "β", times=5)
    until_changed(page, metric.inner_text, before)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_live_slider_steps_with_the_keyboard(page):
    _open(page, "Latent_sliders")
    slider = page.locator(".le-range").first
    slider.wait_for(timeout=60_000)
    start = float(slider.input_value())
    before = page.locator(".le-root").get_attribute("data-values")
    slider.focus()
    slider.press("ArrowRight")
    root = page.locator(".le-root")
    until_changed(page, lambda: root.get_attribute("data-values"), before, timeout_s=60)
    assert float(slider.input_value()) == pytest.approx(start + 0.01, abs=1e-6)


def _params(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def _sidebar(page, title: str, param: str) -> None:
    """Switch pages as a student does, by the sidebar's link (the session keeps its state), and
    wait until the page has written ``param`` to its URL."""
    page.locator('[data-testid="stSidebar"] a').filter(has_text=title).first.click()
    path = title.replace(" ", "_")
    page.wait_for_function(f"location.pathname.endsWith('/{path}')", timeout=60_000)
    wait_idle(page, 120_000)
    page.wait_for_function(f"location.search.includes('{param}')", timeout=120_000)


def test_settings_survive_a_live_control_then_a_page_switch(page):
    # A live control's release reruns only its fragment, and Streamlit then dropped the values of
    # the page's other widgets on the server: switching pages and back reset Interpolation to
    # d = 16, linear, 1 → 7 (keeping only λ) and Latent sliders to a held-out digit (issue 22).
    _open(page, "Interpolation?pair=2d&mode=spherical&a_digit=4&b_digit=9")
    page.locator('.le-range[aria-label="λ"]').wait_for(timeout=60_000)
    _nudge_slider(page, "λ", times=1)
    page.wait_for_function("location.search.includes('lam=0.49')", timeout=60_000)
    interpolation = _params(page)
    assert interpolation["pair"] == "2d" and interpolation["mode"] == "spherical"
    _sidebar(page, "Latent sliders", "z=")
    page.locator('[data-testid="stRadio"] label').filter(has_text="Random sample").click()
    page.wait_for_function("location.search.includes('start=random')", timeout=60_000)
    page.locator('.le-range[aria-label="z0"]').wait_for(timeout=60_000)
    wait_idle(page, 60_000)
    before = _params(page)["z"]
    _nudge_slider(page, "z0", times=1)
    until(page, lambda: _params(page)["z"], lambda z: z != before, 60)
    sliders = _params(page)
    _sidebar(page, "Interpolation", "pair=2d")
    assert _params(page) == interpolation
    _sidebar(page, "Latent sliders", "start=random")
    assert _params(page) == sliders


PAD_DOT_JS = """c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let x = 0, y = 0, n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] > 230 && d[i + 1] > 50 && d[i + 1] < 100 && d[i + 2] > 50 && d[i + 2] < 100) {
      x += (i / 4) % c.width; y += Math.floor(i / 4 / c.width); n += 1;
    }
  }
  return n ? [x / n / c.width, y / n / c.height] : null;
}"""  # the centre of the pad's red dot (#ff4b4b), as fractions of its width and height


def test_the_2d_pad_follows_its_sliders_and_their_key_steps_reach_the_url(page):
    # The pad's dot stayed put while z0's slider was dragged, and a release sent the dot's old
    # z0 with the new z1: arrow keys moved the slider (0 → 0.04) but not the URL (issue 22).
    _open(page, "Latent_sliders?model=vae2d&start=random&seed=3")
    pad, slider = page.locator(".le-pad"), page.locator('.le-range[aria-label="z0"]')
    until(page, lambda: pad.get_attribute("data-drawn"), lambda d: d == "digits", 60)
    wait_idle(page, 60_000)
    start = pad.evaluate(PAD_DOT_JS)
    drag(page, slider, ((0.5, 0.5), (0.85, 0.5)), steps=20, release=False)
    page.wait_for_timeout(300)
    value, dot = float(slider.input_value()), pad.evaluate(PAD_DOT_JS)
    assert dot[0] == pytest.approx((value + 3) / 6, abs=0.03) and value > 0.5, (value, dot)
    assert dot[1] == pytest.approx(start[1], abs=0.02)  # z1 did not move
    page.mouse.up()
    z0 = lambda: float(_params(page)["z"].split(",")[0])  # noqa: E731
    until(page, z0, lambda v: v == pytest.approx(value, abs=1e-6), 60)
    slider.focus()
    for _ in range(4):
        slider.press("ArrowRight")
    until(page, z0, lambda v: v == pytest.approx(value + 0.04, abs=1e-6), 60)
    assert float(slider.input_value()) == pytest.approx(value + 0.04, abs=1e-6)
    dot = pad.evaluate(PAD_DOT_JS)
    assert dot[0] == pytest.approx((value + 3.04) / 6, abs=0.03)


def _captions(page) -> list[str]:
    return page.locator('[data-testid="stImage"]').all_inner_texts()


def test_ae_vs_vae_atlas_click_decodes_both_models_and_a_preset_opens_its_view(page):
    page.set_viewport_size({"width": 1280, "height": 720})
    try:
        page.goto(f"{page.base_url}/AE_vs_VAE?view=atlas")
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
        plane = charts.first.locator(".nsewdrag").first
        box = plane.bounding_box()
        page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.3 * box["height"])
        until_changed(page, lambda: str(probe.all_inner_texts()), str(before), timeout_s=60)
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


def test_pages_fetch_nothing_from_the_internet(page):
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
    from explorer.ui import setup

    assert icon == setup.PAGE_ICON and icon.startswith("data:image/png;base64,")


def test_a_digit_drawn_with_the_mouse_is_preprocessed_and_encoded(page):
    page.goto(f"{page.base_url}/Latent_sliders?start=draw")
    canvas = page.locator(".dc-canvas")
    canvas.wait_for(timeout=120_000)
    wait_idle(page, 120_000)
    drag(page, canvas, ((0.5, 0.15), (0.5, 0.85)), inset=0, steps=20)  # a vertical stroke: a 1
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
