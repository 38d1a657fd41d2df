"""Helpers to run the app under `streamlit run` and drive it with headless Chromium (shared by
bench/ and the browser tests)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


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
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run <script>` on a free loopback port; yields (base URL, process)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true"]  # fmt: skip
    # The log goes to a file: a pipe nobody reads fills up (64 KiB) and then blocks the server
    # in the middle of a run, which looked like a hung benchmark.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
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


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


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


def until(page, read, done, timeout_s: float = 30.0):
    """Poll ``read()`` every 200 ms until ``done(value)``; return that value."""
    deadline = page.evaluate("Date.now()") + timeout_s * 1000
    while page.evaluate("Date.now()") < deadline:
        now = read()
        if done(now):
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"not reached within {timeout_s} s; last read {read()!r}")
