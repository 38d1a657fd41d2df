"""A hostile or careless student against a real `streamlit run` server in headless Chromium."""

import io
import uuid
from urllib.parse import quote

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
        for _ in range(40):  # 200 MB: twice what the server may grow by
            response = page.request.put(
                f"{base}/{uuid.uuid4()}",
                headers={"X-Xsrftoken": token},
                multipart={"file": {"name": "x.png", "mimeType": "image/png", "buffer": payload}},
                timeout=60_000,
            )
            statuses.add(response.status)
        grown = server.memory_info().rss - before
        assert statuses == {204}  # accepted, as Streamlit does, but not all kept
        assert grown < 100 * MB, f"server RSS grew {grown / MB:.0f} MB for 200 MB of uploads"
        # The tab still works: a rerun of the page shows no exception.
        page.get_by_text("Random sample", exact=True).click()
        wait_idle(page, 60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


def _start_run(page, url: str) -> None:
    page.goto(f"{url}/KL_and_ELBO")
    wait_idle(page, 120_000)
    page.get_by_label("Epochs").fill("30")
    page.get_by_label("Epochs").press("Enter")
    wait_idle(page, 60_000)
    page.get_by_role("button", name="Start").click()


def test_an_orphaned_live_run_is_stopped_and_a_reload_finds_its_own(tmp_path):
    from playwright.sync_api import sync_playwright

    env = {"LATENT_EXPLORER_RUNS": str(tmp_path), "LATENT_EXPLORER_MAX_RUNS": "1",
           "LATENT_EXPLORER_OWNER_GRACE_S": "5"}  # fmt: skip
    with streamlit_server(env) as (url, _), sync_playwright() as playwright:
        browser = launch(playwright)
        first = browser.new_context()
        page = first.new_page()
        _start_run(page, url)
        page.get_by_text("running (latent dim 8").wait_for(timeout=60_000)
        page.reload()  # the reloaded page finds its run and its Stop works
        page.get_by_text("running (latent dim 8").wait_for(timeout=60_000)
        page.get_by_role("button", name="Stop").click()
        page.get_by_text(": stopped (latent dim").wait_for(timeout=60_000)
        page.get_by_role("button", name="Start").click()
        page.get_by_text("running (latent dim 8").wait_for(timeout=60_000)
        # A second tab of the same browser is the same owner: no second run.
        other_tab = first.new_page()
        other_tab.goto(f"{url}/KL_and_ELBO")
        other_tab.get_by_text("running (latent dim 8").wait_for(timeout=60_000)
        first.close()  # the student closes the browser; the run holds the only slot
        second = browser.new_context().new_page()
        deadline = second.evaluate("Date.now()") + 60_000
        while True:  # another student gets the slot once the orphan is stopped
            _start_run(second, url)
            running = second.get_by_text("running (latent dim 8")
            refused = second.get_by_text("already training 1 live runs")
            running.or_(refused).first.wait_for(timeout=60_000)
            if running.count():
                break
            assert second.evaluate("Date.now()") < deadline, "the orphaned run was never stopped"
            second.wait_for_timeout(2000)
        browser.close()


def test_thirty_quick_key_steps_are_all_kept():
    import json

    from playwright.sync_api import sync_playwright

    with streamlit_server() as (url, _), sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/Interpolation")
        wait_idle(page, 120_000)
        slider = page.locator(".le-range").first
        slider.wait_for(timeout=60_000)
        root = page.locator(".le-root")
        start = json.loads(root.get_attribute("data-values"))[0]
        slider.focus()
        for _ in range(30):  # Up/Down: the λ slider runs right to left (a on the left)
            slider.press("ArrowDown" if start > 0.5 else "ArrowUp")
        target = round(start + (-0.3 if start > 0.5 else 0.3), 2)
        deadline = page.evaluate("Date.now()") + 60_000
        while json.loads(root.get_attribute("data-values"))[0] != pytest.approx(target, abs=1e-6):
            assert page.evaluate("Date.now()") < deadline, root.get_attribute("data-values")
            page.wait_for_timeout(200)
        wait_idle(page, 60_000)
        page.wait_for_timeout(1000)  # nothing later moves it back
        assert json.loads(root.get_attribute("data-values"))[0] == pytest.approx(target, abs=1e-6)
        browser.close()


@pytest.mark.slow
def test_a_students_upload_survives_other_students_uploads():
    """One student uploads a digit; 14 other sessions each upload 5 MB, more than the store
    holds, so the store lets go of the student's file; the student's page keeps the digit and
    says what happened, after a Reset and after leaving the uploader and coming back."""
    from playwright.sync_api import sync_playwright

    from explorer.ui import uploads

    with streamlit_server() as (url, _), sync_playwright() as playwright:
        browser = launch(playwright)
        student = browser.new_page(viewport={"width": 1400, "height": 1000})
        student.goto(f"{url}/Latent_sliders?start=upload")
        wait_idle(student, 120_000)
        student.locator('input[type="file"]').set_input_files(
            files=[{"name": "good.png", "mimeType": "image/png", "buffer": _seven_png()}]
        )
        student.get_by_text("what the model sees").wait_for(timeout=60_000)
        wait_idle(student, 60_000)
        payload = np.random.default_rng(1).bytes(5 * 1_000_000 - 4096)
        others = browser.new_context()
        token = None
        needed = uploads.MAX_TOTAL_BYTES // len(payload) + 2
        for _ in range(needed):
            tab = others.new_page()
            puts = []
            tab.on("request", lambda r, p=puts: p.append(r.url) if r.method == "PUT" else None)
            tab.goto(f"{url}/Latent_sliders?start=upload")
            wait_idle(tab, 120_000)
            tab.locator('input[type="file"]').set_input_files(
                files=[{"name": "tiny.png", "mimeType": "image/png", "buffer": _seven_png()}]
            )
            tab.get_by_text("what the model sees").wait_for(timeout=60_000)
            token = token or next(
                c["value"] for c in others.cookies() if c["name"] == "_streamlit_xsrf"
            )
            response = tab.request.put(
                f"{puts[0].rsplit('/', 1)[0]}/{uuid.uuid4()}",
                headers={"X-Xsrftoken": token},
                multipart={"file": {"name": "x.png", "mimeType": "image/png", "buffer": payload}},
                timeout=60_000,
            )
            assert response.status == 204
        note = student.get_by_text("The server let go of the file good.png")
        student.get_by_role("button", name="Reset").click()
        wait_idle(student, 60_000)
        student.get_by_text("what the model sees").wait_for(timeout=60_000)
        student.get_by_text("Held-out digit", exact=True).click()
        wait_idle(student, 60_000)
        student.get_by_text("Upload", exact=True).click()  # a new, empty uploader
        student.locator('input[type="file"]').wait_for(state="attached", timeout=120_000)
        wait_idle(student, 120_000)
        note.wait_for(timeout=120_000)
        wait_idle(student, 60_000)
        assert student.get_by_text("what the model sees").count() == 1 and note.count() == 1
        assert student.locator('[data-testid="stException"]').count() == 0
        browser.close()


def test_values_from_a_link_show_as_plain_text(page):
    """A link's value echoed in a notice can carry no link, image or styling, and is cut short."""
    url = page.base_url
    port = url.rsplit(":", 1)[1]
    fetched = []
    tracker = "/track.png"  # only a fetch of the image itself, not the page whose link names it
    page.on(
        "request",
        lambda r: fetched.append(r.url) if r.url.split("?")[0].endswith(tracker) else None,
    )
    hostile = {
        "Interpolation?frames="
        + quote("[Log in again](http://evil.example/login)"): "Log in again",
        "Interpolation?frames=" + quote(f"![t](http://127.0.0.1:{port}/track.png?who=s)"): "track",
        "Interpolation?mode=" + quote(":red[**SERVER COMPROMISED**]"): "SERVER COMPROMISED",
        "Latent_sliders?model=vae&z=" + "1" * 60_000: "z=",
    }
    for path, text in hostile.items():
        page.goto(f"{url}/{path}")
        wait_idle(page, 120_000)
        alert = page.locator('[data-testid="stAlert"]', has_text=text).first
        alert.wait_for(timeout=60_000)
        assert alert.locator("a").count() == 0 and alert.locator("img").count() == 0
        assert alert.locator("strong, em, span[style], [class*='red']").count() == 0
        assert len(alert.inner_text()) < 300, path[:60]
    assert fetched == []
