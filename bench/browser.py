"""Helpers to run the app under `streamlit run` and drive it with headless Chromium (shared by
bench/ and the browser tests)."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    env: dict | None = None,
    timeout: float = 60.0,
    poll: float = 0.2,
    script: str = "streamlit_app.py",
    cwd: Path = ROOT,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run <script>` in ``cwd`` (the app's folder) on a free loopback port; yields
    (base URL, process)."""
    port = free_port()
    flags = {"port": port, "address": "127.0.0.1", "headless": "true"}
    cmd = [sys.executable, "-m", "streamlit", "run", script]
    cmd += [f"--server.{name}={value}" for name, value in flags.items()]
    # The log goes to a file: a pipe nobody reads fills up (64 KiB) and then blocks the server
    # in the middle of a run, which looked like a hung benchmark.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    raise RuntimeError(f"streamlit did not start:\n{output[-3000:]}") from None
                time.sleep(poll)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


def require_chromium() -> None:
    """Skip without Chromium on a developer machine; in CI (CI=true) its absence is a failure."""
    import pytest

    if chromium_available():
        return
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (see .ci/run)")
    pytest.skip("no /usr/bin/chromium here (apt-get install -y chromium)", allow_module_level=True)


def launch(playwright, *args: str):
    """Headless Chromium (Debian's) through ``playwright`` (sync API), with extra ``args``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args])


@contextlib.contextmanager
def shared_chromium(playwright) -> Iterator[tuple[object, str]]:
    """Headless Chromium that other threads drive too: yields (the browser, for this thread;
    the endpoint that :func:`connect` takes in the others)."""
    port = free_port()
    browser = launch(playwright, f"--remote-debugging-port={port}")
    try:
        yield browser, f"http://127.0.0.1:{port}"
    finally:
        browser.close()


@contextlib.contextmanager
def connect(endpoint: str) -> Iterator[object]:
    """This thread's own Playwright (the sync API serves only the thread that started it),
    connected to :func:`shared_chromium`'s browser; yields that browser. Closing it closes
    this thread's contexts, not the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(endpoint)
        try:
            yield browser
        finally:
            browser.close()


IDLE_JS = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the script run finishes (Streamlit's 'Running…' status widget is gone)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


CANVAS_PIXELS_JS = """c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const out = [];
  for (let i = 0; i < 28; i += 1) for (let j = 0; j < 28; j += 1) {
    const x = Math.floor((j + 0.5) * c.width / 28), y = Math.floor((i + 0.5) * c.height / 28);
    out.push(d[4 * (y * c.width + x)]);
  }
  return out;
}"""


def canvas_pixels(canvas) -> list[int]:
    """The 28 x 28 grey levels a live control's canvas shows (the centre of each scaled cell)."""
    return canvas.evaluate(CANVAS_PIXELS_JS)


def open_page(page, url: str, timeout_ms: int = 120_000) -> None:
    """Go to ``url`` and wait until its script has run and its first image is shown; an
    exception element on the page fails."""
    page.goto(url)
    wait_idle(page, timeout_ms)
    page.wait_for_selector('[data-testid="stImage"] img', timeout=timeout_ms)
    # The first image can come before the run's status widget does: wait for the run to end.
    wait_idle(page, timeout_ms)
    assert page.locator('[data-testid="stException"]').count() == 0, f"an exception at {url}"


def until(page, read, done, timeout_s: float = 30.0):
    """Poll ``read()`` every 200 ms until ``done(value)``; return that value."""
    deadline = page.evaluate("Date.now()") + timeout_s * 1000
    while page.evaluate("Date.now()") < deadline:
        now = read()
        if done(now):
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"not reached within {timeout_s} s; last read {read()!r}")


ACROSS = ((0.0, 0.5), (1.0, 0.5))  # a range input's length, left to right, at mid-height


def drag(
    page,
    target,
    points: Sequence[tuple[float, float]] = ACROSS,
    *,
    reverse: bool = False,
    steps: int = 60,
    inset: float = 3.0,
    pause_ms: float = 0.0,
    each: Callable[[], object] | None = None,
    release: bool = True,
) -> tuple[float, float]:
    """Press the mouse on ``target`` (a locator) at ``points[0]`` and move it through the rest
    (``reverse``: the other way), then release unless ``release`` is False.

    Points are fractions of the target's box less ``inset`` px at each edge. From one point to
    the next the pointer moves in ``steps`` events; with ``pause_ms`` or ``each`` they are sent
    one at a time, each followed by that pause and then ``each()`` (to read what the page shows
    mid-drag), otherwise at Playwright's own pace. Returns (pressed, last move) in the page's
    clock, ms: the time the drag took, before any release.
    """
    box = target.bounding_box()
    left, top = box["x"] + inset, box["y"] + inset
    width, height = box["width"] - 2 * inset, box["height"] - 2 * inset
    at = [(left + fx * width, top + fy * height) for fx, fy in points]
    if reverse:
        at.reverse()
    page.mouse.move(*at[0])
    page.mouse.down()
    began = page.evaluate("performance.now()")
    for (x0, y0), (x1, y1) in itertools.pairwise(at):
        if not pause_ms and each is None:
            page.mouse.move(x1, y1, steps=steps)
            continue
        for k in range(1, steps + 1):
            page.mouse.move(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
            if pause_ms:
                page.wait_for_timeout(pause_ms)
            if each is not None:
                each()
    ended = page.evaluate("performance.now()")
    if release:
        page.mouse.up()
    return began, ended


def until_changed(page, read, before, timeout_s: float = 30.0):
    """Poll ``read()`` until it differs from ``before``; return the new value."""
    return until(page, read, lambda now: now != before, timeout_s)
