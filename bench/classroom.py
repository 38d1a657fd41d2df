"""The students of :mod:`bench.load`: real sessions in headless Chromium, each in its own
browser context and thread. In pages mode each loops through Latent sliders, Interpolation and
the Latent map; in drag mode each opens one live page and drags a slider on a schedule.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable

import numpy as np

from bench.browser import connect, drag, shared_chromium, wait_idle

EXCEPTION = '[data-testid="stException"]'


def _step_live(page, path: str, latencies: list[float]) -> int:
    """Open a page with a live control, step it with the keyboard, time the exact image."""
    page.goto(path)
    wait_idle(page, 120_000)
    slider = page.locator(".le-range").first
    slider.wait_for(timeout=120_000)
    root = page.locator(".le-root")
    before = root.get_attribute("data-values")
    slider.focus()
    start = time.perf_counter()
    slider.press("ArrowRight" if np.random.rand() < 0.5 else "ArrowLeft")
    while root.get_attribute("data-values") == before:
        if time.perf_counter() - start > 60:
            raise TimeoutError(f"no exact image 60 s after a step on {path}")
        time.sleep(0.01)
    latencies.append((time.perf_counter() - start) * 1000)
    return page.locator(EXCEPTION).count()


DRAG_PAGES = ("Latent_sliders", "Interpolation")  # drag mode: sessions alternate between them


def _open_live(page, path: str) -> None:
    """Open a page with a live control and let its browser runtime load (if it has one)."""
    page.goto(path)
    wait_idle(page, 120_000)
    root = page.locator(".le-root").first
    root.wait_for(timeout=120_000)
    start = time.monotonic()
    while root.get_attribute("data-runtime") not in ("ready", "failed"):
        if page.locator("[data-runtime]").count() == 0 and time.monotonic() - start > 3:
            return  # the server path: no runtime to wait for
        if time.monotonic() - start > 60:
            return
        time.sleep(0.1)


def _drag_live(page, index: int, latencies: list[float]) -> None:
    """Drag one of the control's sliders end to end; time release -> values back from Python."""
    sliders = page.locator(".le-range")
    n = min(sliders.count(), 4)
    root = page.locator(".le-root").first.element_handle()
    before = root.get_attribute("data-values")
    # Back the other way once every slider sits at its right end.
    drag(page, sliders.nth(index % n), reverse=(index // n) % 2 == 1, steps=30, release=False)
    start = time.perf_counter()
    page.mouse.up()
    # Polled inside the page: twenty sessions asking Playwright every 10 ms made the harness,
    # not the server, the busiest thing on the machine.
    page.wait_for_function(
        "([el, before]) => el.dataset.values !== before",
        arg=[root, before],
        polling=20,
        timeout=60_000,
    )
    latencies.append((time.perf_counter() - start) * 1000)


def _sessions(endpoint: str, n: int, session: Callable[..., None], **phases) -> list[dict]:
    """Run ``session(page, i, out, **barriers)`` for ``n`` students at once, one thread and one
    browser context each, all in the shared Chromium, each thread through its own Playwright
    (:func:`bench.browser.connect`); return each one's results (``out``, :func:`new_results`).

    ``phases`` name the points where every session waits for the others (a
    ``threading.Barrier``), each with the function to call once all have arrived. Each mode's
    first is ``connected``: no session starts before every one has its browser, so what the
    harness spends starting its Playwright drivers is left out of what is measured.
    """
    barriers = {name: threading.Barrier(n, action) for name, action in phases.items()}
    parts = [new_results() for _ in range(n)]

    def one(i: int) -> None:
        try:
            with connect(endpoint) as browser:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                # Under 20 browsers on 2 cores a step can take over 30 s (Playwright's default
                # timeout); a slow answer is a latency to report, so only waits past 2 minutes
                # fail a session.
                context.set_default_timeout(120_000)
                session(context.new_page(), i, parts[i], **barriers)
                context.close()
        except Exception as err:  # a failed session is a result, not a crash of the benchmark
            parts[i]["errors"].append(f"{type(err).__name__}: {str(err)[:200]}")
            for barrier in barriers.values():
                barrier.abort()  # the others stop waiting for this one

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return parts


def drag_class(
    endpoint: str, url: str, sessions: int, seconds: float, pace: float, cpu: Callable[[], float]
) -> dict:
    """Drag mode: a class at its live pages. Every session opens one (Latent sliders or
    Interpolation, in turn) and waits for its runtime; once all have, each drags one slider end
    to end every ``pace`` seconds (the same schedule on either path; a session that falls behind
    drags again at once) for ``seconds``. ``cpu_open_s`` and ``cpu_drag_s``: the server's CPU
    seconds (``cpu()``) in each phase."""
    marks: dict[str, float] = {}

    def mark(phase: str) -> Callable[[], None]:
        """Note the server's CPU seconds and the time once every session has ``phase``."""
        return lambda: marks.update({f"cpu_{phase}": cpu(), phase: time.monotonic()})

    def student(page, i: int, out: dict, connected, opened, dragged) -> None:
        connected.wait()
        try:
            _open_live(page, f"{url}/{DRAG_PAGES[i % len(DRAG_PAGES)]}")
            out["opened"] = 1
        except Exception as err:
            out["errors"].append(f"open: {type(err).__name__}: {str(err)[:200]}")
        opened.wait()
        try:
            for k in itertools.count() if out["opened"] else ():
                due = marks["opened"] + k * pace
                if due >= marks["opened"] + seconds:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                _drag_live(page, k, out["latency_ms"])
                out["drags"] += 1
            if out["opened"]:
                out["exceptions"] += page.locator(EXCEPTION).count()
                out["rounds"] += 1
        except Exception as err:
            out["errors"].append(f"drag: {type(err).__name__}: {str(err)[:200]}")
        dragged.wait()

    phases = {name: mark(name) for name in ("connected", "opened", "dragged")}
    out = _merge(_sessions(endpoint, sessions, student, **phases))
    out["drags_scheduled"] = out["opened"] * math.ceil(seconds / pace)
    if len(marks) == 2 * len(phases):  # every session reached every phase
        out["cpu_open_s"] = marks["cpu_opened"] - marks["cpu_connected"]
        out["cpu_drag_s"] = marks["cpu_dragged"] - marks["cpu_opened"]
        # Student-seconds of dragging.
        out["session_drag_s"] = out["opened"] * (marks["dragged"] - marks["opened"])
    return out


def _visitors(endpoint: str, url: str, sessions: int, seconds: float) -> dict:
    """Pages mode: every session loops through Latent sliders, Interpolation and Latent map
    (:func:`_round`) for ``seconds``."""
    marks: dict[str, float] = {}

    def visitor(page, i: int, out: dict, connected) -> None:
        connected.wait()
        while time.monotonic() < marks["deadline"]:
            _round(page, url, out)

    def start() -> None:
        marks["deadline"] = time.monotonic() + seconds

    return _merge(_sessions(endpoint, sessions, visitor, connected=start))


def _round(page, url: str, out: dict) -> None:
    """One round through the pages: a step on each live control, then the latent map."""
    out["exceptions"] += _step_live(page, f"{url}/Latent_sliders", out["latency_ms"])
    out["exceptions"] += _step_live(page, f"{url}/Interpolation", out["latency_ms"])
    start = time.perf_counter()
    page.goto(f"{url}/Latent_map")
    # Both models' maps drawn by the map component (its canvases live in a shadow root, which
    # Playwright's locators reach).
    page.locator(".lm-canvas").nth(1).wait_for(timeout=120_000)
    page.wait_for_function("window.__leTelemetry?.map?.draws > 0", timeout=120_000)
    out["map_ms"].append((time.perf_counter() - start) * 1000)
    out["exceptions"] += page.locator(EXCEPTION).count()
    out["rounds"] += 1


def _start_training(browser, url: str) -> str:
    """A live VAE run from the KL and ELBO page; its tab stays open until ``browser`` closes."""
    page = browser.new_context().new_page()
    page.goto(f"{url}/KL_and_ELBO")
    wait_idle(page, 120_000)
    page.get_by_role("button", name="Start").click()
    page.get_by_text("Live run: running").wait_for(timeout=60_000)
    return "running"


def new_results() -> dict:
    """One session's (or the whole class's) empty results: lists of latencies, counts and
    CPU seconds that :func:`_merge` adds up."""
    return {
        "latency_ms": [],
        "map_ms": [],
        "exceptions": 0,
        "rounds": 0,
        "errors": [],
        "training": "off",
        "drags": 0,
        "opened": 0,
        "drags_scheduled": 0,
        "cpu_open_s": 0.0,
        "cpu_drag_s": 0.0,
        "session_drag_s": 0.0,
    }


def _merge(parts: list[dict], into: dict | None = None) -> dict:
    """Sessions' results added up (lists joined, counts and seconds summed) ``into`` one."""
    out = into if into is not None else new_results()
    for part in parts:
        for key, value in part.items():
            if isinstance(value, list):
                out[key].extend(value)
            elif not isinstance(value, str):
                out[key] += value
    return out


def drive(
    url: str,
    sessions: int,
    seconds: float,
    with_training: bool,
    out: dict,
    drag_cpu: Callable[[], float] | None = None,
    pace: float = 3.0,
) -> None:
    """Run ``sessions`` concurrent sessions for ``seconds`` in one headless Chromium, adding
    their results to ``out``; with ``drag_cpu`` (the server's CPU seconds), a class dragging
    (:func:`drag_class`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, shared_chromium(playwright) as (browser, endpoint):
        if with_training:
            out["training"] = _start_training(browser, url)
        if drag_cpu is not None:
            _merge([drag_class(endpoint, url, sessions, seconds, pace, drag_cpu)], out)
        else:
            _merge([_visitors(endpoint, url, sessions, seconds)], out)
