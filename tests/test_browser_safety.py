"""A hostile or careless student against a real `streamlit run` server in headless Chromium."""

import io
import uuid

import numpy as np
import psutil
import pytest
from PIL import Image

from bench.browser import launch, require_chromium, streamlit_server, wait_idle

pytestmark = pytest.mark.browser
require_chromium()

MB = 1024 * 1024


def _seven_png() -> bytes:
    from tests.test_images import _photo

    buffer = io.BytesIO()
    Image.fromarray((_photo(0.85, 0.2) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_upload_flood_from_one_tab_is_not_held():
    from playwright.sync_api import sync_playwright

    with streamlit_server() as (url, proc), sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/Latent_sliders")
        wait_idle(page, 120_000)
        page.get_by_text("Upload", exact=True).click()
        wait_idle(page, 60_000)
        puts = []
        page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": "seven.png", "mimeType": "image/png", "buffer": _seven_png()}]
        )
        page.get_by_text("what the model sees").wait_for(timeout=60_000)
        wait_idle(page, 60_000)
        assert puts and "/_stcore/upload_file/" in puts[0]
        base = puts[0].rsplit("/", 1)[0]  # .../upload_file/<session>
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "_streamlit_xsrf")
        server = psutil.Process(proc.pid)
        before = server.memory_info().rss
        payload = np.random.default_rng(0).bytes(5 * MB - 4096)
        statuses = set()
        for _ in range(100):
            response = page.request.put(
                f"{base}/{uuid.uuid4()}",
                headers={"X-Xsrftoken": token},
                multipart={"file": {"name": "x.png", "mimeType": "image/png", "buffer": payload}},
                timeout=60_000,
            )
            statuses.add(response.status)
        grown = server.memory_info().rss - before
        assert statuses == {204}  # accepted, as Streamlit does, but not all kept
        assert grown < 100 * MB, f"server RSS grew {grown / MB:.0f} MB for 500 MB of uploads"
        # The tab still works: a rerun of the page shows no exception.
        page.get_by_text("Random sample", exact=True).click()
        wait_idle(page, 60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
