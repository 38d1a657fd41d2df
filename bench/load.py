"""Classroom load: `python -m bench.load --sessions 20 --seconds 60 [--waves 2] [--ttl] [--with-training] [--drag [--pace 3]]`.

N concurrent real sessions (headless Chromium pages, one browser context each) against one
`streamlit run` server on loopback, for a bounded time. Each session loops: Latent sliders (one
arrow-key step on the live control, timed until the exact image is back), Interpolation (one λ
step, timed the same way), Latent map (timed until both maps are drawn). Reports exception
elements seen (goal 0), p50/p95 latency of a control change, and server RSS over time, including
after every session has closed. With --with-training one more session starts a live VAE run on
the KL and ELBO page first, so the others' latency shows whether training starves them.
With --drag the sessions are a class at the live pages instead: each opens one and then drags a
slider every --pace seconds; the report splits the server's CPU into opening a page (once per
student) and dragging (per drag, and per student per minute).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

from bench.browser import CHROMIUM, CHROMIUM_ARGS, IDLE_JS, streamlit_server
from explorer.heap import TRIM_INTERVAL_S

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
EXCEPTION = '[data-testid="stException"]'


async def _idle(page, timeout: float = 120_000) -> None:
    await page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    await page.wait_for_function(IDLE_JS, timeout=timeout)  # the async twin of wait_idle


async def _step_live(page, path: str, latencies: list[float]) -> int:
    """Open a page with a live control, step it with the keyboard, time the exact image."""
    await page.goto(path)
    await _idle(page)
    slider = page.locator(".le-range").first
    await slider.wait_for(timeout=120_000)
    root = page.locator(".le-root")
    before = await root.get_attribute("data-values")
    await slider.focus()
    start = time.perf_counter()
    await slider.press("ArrowRight" if np.random.rand() < 0.5 else "ArrowLeft")
    while await root.get_attribute("data-values") == before:
        if time.perf_counter() - start > 60:
            raise TimeoutError(f"no exact image 60 s after a step on {path}")
        await asyncio.sleep(0.01)
    latencies.append((time.perf_counter() - start) * 1000)
    return await page.locator(EXCEPTION).count()


DRAG_PAGES = ("Latent_sliders", "Interpolation")  # drag mode: sessions alternate between them


async def _open_live(page, path: str) -> None:
    """Open a page with a live control and let its browser runtime load (if it has one)."""
    await page.goto(path)
    await _idle(page)
    root = page.locator(".le-root").first
    await root.wait_for(timeout=120_000)
    start = time.monotonic()
    while await root.get_attribute("data-runtime") not in ("ready", "failed"):
        if await page.locator("[data-runtime]").count() == 0 and time.monotonic() - start > 3:
            return  # the server path: no runtime to wait for
        if time.monotonic() - start > 60:
            return
        await asyncio.sleep(0.1)


async def _drag_live(page, index: int, latencies: list[float]) -> None:
    """Drag one of the control's sliders end to end; time release -> values back from Python."""
    sliders = page.locator(".le-range")
    n = min(await sliders.count(), 4)
    slider = sliders.nth(index % n)
    box = await slider.bounding_box()
    y = box["y"] + box["height"] / 2
    ends = [box["x"] + 3, box["x"] + box["width"] - 3]
    if (index // n) % 2:  # back the other way once every slider sits at its right end
        ends.reverse()
    root = await page.locator(".le-root").first.element_handle()
    before = await root.get_attribute("data-values")
    await page.mouse.move(ends[0], y)
    await page.mouse.down()
    await page.mouse.move(ends[1], y, steps=30)
    start = time.perf_counter()
    await page.mouse.up()
    # Polled inside the page: twenty sessions asking Playwright every 10 ms (as this did) made
    # the harness, not the server, the busiest thing on the machine.
    await page.wait_for_function("([el, before]) => el.dataset.values !== before",
                                 arg=[root, before], polling=20, timeout=60_000)  # fmt: skip
    latencies.append((time.perf_counter() - start) * 1000)


async def _drag_class(browser, url: str, sessions: int, seconds: float, pace: float, out: dict,
                      cpu: Callable[[], float]) -> None:  # fmt: skip
    """Drag mode: a class at its live pages. Every session opens one (Latent sliders or
    Interpolation, in turn) and waits for its runtime; once all have, each drags one slider end
    to end every ``pace`` seconds (the same schedule on either path; a session that falls behind
    drags again at once) for ``seconds``. ``out["cpu_open_s"]`` and ``out["cpu_drag_s"]``: the
    server's CPU seconds (``cpu()``) in each phase."""
    pages, contexts = [None] * sessions, []

    async def open_one(i: int) -> None:
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(120_000)
        contexts.append(context)
        page = await context.new_page()
        try:
            await _open_live(page, f"{url}/{DRAG_PAGES[i % len(DRAG_PAGES)]}")
            pages[i] = page
        except Exception as err:  # a failed session is a result, not a crash of the benchmark
            out["errors"].append(f"open: {type(err).__name__}: {str(err)[:200]}")

    async def drag(i: int, start: float) -> None:
        page = pages[i]
        try:
            for k in itertools.count():
                due = start + k * pace
                if due >= start + seconds:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await _drag_live(page, k, out["latency_ms"])
                out["drags"] += 1
            out["exceptions"] += await page.locator(EXCEPTION).count()
            out["rounds"] += 1
        except Exception as err:
            out["errors"].append(f"drag: {type(err).__name__}: {str(err)[:200]}")

    before = cpu()
    await asyncio.gather(*(open_one(i) for i in range(sessions)))
    opened = cpu()
    out["cpu_open_s"] += opened - before
    n_open = sum(p is not None for p in pages)
    out["opened"] += n_open
    out["drags_scheduled"] += n_open * math.ceil(seconds / pace)
    start = time.monotonic()
    await asyncio.gather(*(drag(i, start) for i in range(sessions) if pages[i] is not None))
    out["cpu_drag_s"] += cpu() - opened
    out["session_drag_s"] += n_open * (time.monotonic() - start)  # student-seconds of dragging
    for context in contexts:
        await context.close()


async def _session(browser, url: str, deadline: float, out: dict) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    # Under 20 browsers on 2 cores a step can take over 30 s (Playwright's default timeout);
    # a slow answer is a latency to report, so only waits past 2 minutes fail a session.
    context.set_default_timeout(120_000)
    page = await context.new_page()
    try:
        while time.monotonic() < deadline:
            out["exceptions"] += await _step_live(page, f"{url}/Latent_sliders", out["latency_ms"])
            out["exceptions"] += await _step_live(page, f"{url}/Interpolation", out["latency_ms"])
            start = time.perf_counter()
            await page.goto(f"{url}/Latent_map")
            await page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot').length == 2", timeout=120_000
            )
            out["map_ms"].append((time.perf_counter() - start) * 1000)
            out["exceptions"] += await page.locator(EXCEPTION).count()
            out["rounds"] += 1
    except Exception as err:  # a failed session is a result, not a crash of the benchmark
        out["errors"].append(f"{type(err).__name__}: {str(err)[:200]}")
    finally:
        await context.close()


async def _start_training(browser, url: str) -> str:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{url}/KL_and_ELBO")
    await _idle(page)
    await page.get_by_role("button", name="Start").click()
    await page.get_by_text("Live run: running").wait_for(timeout=60_000)
    return "running"


def _results() -> dict:
    return {"latency_ms": [], "map_ms": [], "exceptions": 0, "rounds": 0, "errors": [],
            "training": "off", "drags": 0, "opened": 0, "drags_scheduled": 0, "cpu_open_s": 0.0,
            "cpu_drag_s": 0.0, "session_drag_s": 0.0}  # fmt: skip


async def _drive(url: str, sessions: int, seconds: float, with_training: bool, out: dict,
                 drag: Callable[[], float] | None = None, pace: float = 3.0) -> None:  # fmt: skip
    """Run ``sessions`` concurrent sessions for ``seconds``, adding their results to ``out``;
    with ``drag`` (the server's CPU seconds), a class dragging (:func:`_drag_class`)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if with_training:
            out["training"] = await _start_training(browser, url)
        if drag is not None:
            await _drag_class(browser, url, sessions, seconds, pace, out, drag)
        else:
            deadline = time.monotonic() + seconds
            await asyncio.gather(*(_session(browser, url, deadline, out) for _ in range(sessions)))
        await browser.close()


SETTLE_S = TRIM_INTERVAL_S + 5  # after sessions close: the server drops them, trims its heap
# (a test run may shorten both: LATENT_EXPLORER_TRIM_S reaches this process and the server)


# Streamlit keeps a closed session's state this long (server.disconnectedSessionTTL).
SESSION_TTL_S = 120


def run(
    sessions: int,
    seconds: float,
    with_training: bool = False,
    waves: int = 1,
    ttl: bool = False,
    drag: bool = False,
    env: dict | None = None,
    pace: float = 3.0,
) -> dict:
    """Drive the load and return the report (used by the CI test with a small load).

    One session first opens every page, then the server idles (``rss_mb_idle_warm``: models,
    data and maps loaded). Then ``waves`` rounds of the load, each followed by the same idle
    wait and an RSS reading: equal readings after each wave mean nothing grows per session.
    These readings still hold the closed sessions' state, which Streamlit keeps for reconnects;
    with ``ttl`` the run waits that out, lets one new visitor in (Streamlit drops expired
    sessions when another is stored) and reads RSS once more (``rss_mb_after_ttl``). With ``drag`` the
    sessions open a live page each and then drag one slider every ``pace`` seconds (see
    :func:`_drag_class`); ``env`` goes to the server (``LATENT_EXPLORER_BROWSER_DECODE=0``: the
    old path).
    """
    with streamlit_server(env) as (url, proc):
        server = psutil.Process(proc.pid)
        rss: list[tuple[float, float]] = []
        stop = threading.Event()
        began = time.monotonic()

        def cpu() -> float:  # user + system seconds of the server
            return sum(server.cpu_times()[:2])

        def rss_mb() -> float:
            return server.memory_info().rss / 2**20

        def sample() -> None:
            while not stop.wait(1.0):
                rss.append((round(time.monotonic() - began, 1), rss_mb()))

        def visit_once() -> None:  # one session, one round through every page, then idle
            asyncio.run(_drive(url, 1, 1.0, False, _results()))
            time.sleep(SETTLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        visit_once()  # warm-up
        idle_warm = rss_mb()
        load_start = len(rss)
        out = _results()
        after_close, cpu_s = [], []
        for _ in range(waves):
            cpu_before = cpu()
            asyncio.run(_drive(url, sessions, seconds, with_training, out, cpu if drag else None,
                               pace))  # fmt: skip
            cpu_s.append(cpu() - cpu_before)
            time.sleep(SETTLE_S)
            after_close.append(rss_mb())
        after_ttl = None
        if ttl:
            time.sleep(SESSION_TTL_S + 5)
            visit_once()
            after_ttl = rss_mb()
        stop.set()
        sampler.join()
    lat = out["latency_ms"]
    dragging = {
        # A class dragging: the server's CPU per drag, and per student per minute of dragging
        # (opening the page is apart: once per student), on the same schedule on either path.
        "pace_s": pace, "opened": out["opened"], "drags_scheduled": out["drags_scheduled"],
        "server_cpu_s_per_open": out["cpu_open_s"] / max(out["opened"], 1),
        "server_cpu_ms_per_drag": 1000 * out["cpu_drag_s"] / max(out["drags"], 1),
        "server_cpu_s_per_session_minute": out["cpu_drag_s"]
        / max(out["session_drag_s"] / 60, 1e-9),
    } if drag else {
        # Server CPU per session-minute of load: what each student costs the teacher's laptop.
        "server_cpu_s_per_session_minute": sum(cpu_s) / (sessions * waves * seconds / 60),
    }  # fmt: skip
    return {
        "sessions": sessions, "seconds": seconds, "waves": waves, "training": out["training"],
        "rounds": out["rounds"], "drags": out["drags"], "exceptions": out["exceptions"],
        "session_errors": out["errors"], "mode": "drag" if drag else "pages",
        "control_change_ms_p50": float(np.percentile(lat, 50)) if lat else None,
        "control_change_ms_p95": float(np.percentile(lat, 95)) if lat else None,
        "map_ms_p50": float(np.percentile(out["map_ms"], 50)) if out["map_ms"] else None,
        **dragging,
        "server_cpu_s_per_round": sum(cpu_s) / max(out["rounds"], 1),
        "rss_mb_idle_warm": idle_warm, "rss_mb_peak": max(r for _, r in rss[load_start:]),
        "rss_mb_after_close": after_close, "rss_mb_after_ttl": after_ttl, "rss_mb_over_time": rss,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--with-training", action="store_true")
    parser.add_argument("--waves", type=int, default=1, help="rounds of load, idle between")
    parser.add_argument("--drag", action="store_true",
                        help="sessions drag the live controls instead of visiting pages")  # fmt: skip
    parser.add_argument("--pace", type=float, default=3.0,
                        help="drag mode: seconds between one session's drags")  # fmt: skip
    parser.add_argument("--ttl", action="store_true",
                        help="finally wait out Streamlit's closed-session TTL and read RSS again")  # fmt: skip
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.seconds <= 0 or args.waves < 1 or args.pace <= 0:
        parser.error("--sessions and --waves must be at least 1, --seconds and --pace positive")
    report = run(args.sessions, args.seconds, args.with_training, args.waves, args.ttl, args.drag,
                 pace=args.pace)  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = (
        f"load-{args.sessions}x{int(args.seconds)}{'-training' if args.with_training else ''}"
        f"{'-drag' if args.drag else ''}.json"
    )
    (RESULTS / name).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "rss_mb_over_time"}, indent=2))
    return report


if __name__ == "__main__":
    main()
