"""Classroom load: `python -m bench.load --sessions 20 --seconds 60 [--waves 2] [--ttl]
[--with-training] [--drag [--pace 3]]`.

N concurrent real sessions (headless Chromium pages, one browser context each, in one browser,
each driven from its own thread) against one `streamlit run` server on loopback, for a bounded
time. Each session loops: Latent sliders (one arrow-key step on the live control, timed until the
exact image is back), Interpolation (one λ step, timed the same way), Latent map (timed until
both maps are drawn). Reports exception elements seen (goal 0), p50/p95 latency of a control
change, and server RSS over time, including after every session has closed. With
--with-training one more session starts a live VAE run on the KL and ELBO page first, so the
others' latency shows whether training starves them. With --drag the sessions are a class at the
live pages instead: each opens one and then drags a slider every --pace seconds; the report
splits the server's CPU into opening a page (once per student) and dragging (per drag, and per
student per minute).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import threading
import time
from collections.abc import Callable

import numpy as np
import psutil

from bench.browser import connect, drag, shared_chromium, streamlit_server, wait_idle
from bench.common import percentile, write_results
from explorer.heap import TRIM_INTERVAL_S

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
    (:func:`bench.browser.connect`); return each one's results (``out``, :func:`_results`).

    ``phases`` name the points where every session waits for the others (a
    ``threading.Barrier``), each with the function to call once all have arrived. Each mode's
    first is ``connected``: no session starts before every one has its browser, so what the
    harness spends starting its Playwright drivers is left out of what is measured.
    """
    barriers = {name: threading.Barrier(n, action) for name, action in phases.items()}
    parts = [_results() for _ in range(n)]

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


def _drag_class(
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


def _results() -> dict:
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
    out = into if into is not None else _results()
    for part in parts:
        for key, value in part.items():
            if isinstance(value, list):
                out[key].extend(value)
            elif not isinstance(value, str):
                out[key] += value
    return out


def _drive(
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
    (:func:`_drag_class`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, shared_chromium(playwright) as (browser, endpoint):
        if with_training:
            out["training"] = _start_training(browser, url)
        if drag_cpu is not None:
            _merge([_drag_class(endpoint, url, sessions, seconds, pace, drag_cpu)], out)
        else:
            _merge([_visitors(endpoint, url, sessions, seconds)], out)


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
    sessions when another is stored) and reads RSS once more (``rss_mb_after_ttl``). With
    ``drag`` the sessions open a live page each and then drag one slider every ``pace`` seconds
    (see :func:`_drag_class`); ``env`` goes to the server (``LATENT_EXPLORER_BROWSER_DECODE=0``:
    the old path).
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
            _drive(url, 1, 1.0, False, _results())
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
            _drive(url, sessions, seconds, with_training, out, cpu if drag else None, pace)
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
    dragging = (
        {
            # A class dragging: the server's CPU per drag, and per student per minute of dragging
            # (opening the page is apart: once per student), on the same schedule on either path.
            "pace_s": pace,
            "opened": out["opened"],
            "drags_scheduled": out["drags_scheduled"],
            "server_cpu_s_per_open": out["cpu_open_s"] / max(out["opened"], 1),
            "server_cpu_ms_per_drag": 1000 * out["cpu_drag_s"] / max(out["drags"], 1),
            "server_cpu_s_per_session_minute": out["cpu_drag_s"]
            / max(out["session_drag_s"] / 60, 1e-9),
        }
        if drag
        else {
            # Server CPU per session-minute of load: what each student costs the teacher's laptop.
            "server_cpu_s_per_session_minute": sum(cpu_s) / (sessions * waves * seconds / 60),
        }
    )
    return {
        "sessions": sessions,
        "seconds": seconds,
        "waves": waves,
        "training": out["training"],
        "rounds": out["rounds"],
        "drags": out["drags"],
        "exceptions": out["exceptions"],
        "session_errors": out["errors"],
        "mode": "drag" if drag else "pages",
        "control_change_ms_p50": percentile(lat, 50) if lat else None,
        "control_change_ms_p95": percentile(lat, 95) if lat else None,
        "map_ms_p50": percentile(out["map_ms"], 50) if out["map_ms"] else None,
        **dragging,
        "server_cpu_s_per_round": sum(cpu_s) / max(out["rounds"], 1),
        "rss_mb_idle_warm": idle_warm,
        "rss_mb_peak": max(r for _, r in rss[load_start:]),
        "rss_mb_after_close": after_close,
        "rss_mb_after_ttl": after_ttl,
        "rss_mb_over_time": rss,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--with-training", action="store_true")
    parser.add_argument("--waves", type=int, default=1, help="rounds of load, idle between")
    parser.add_argument(
        "--drag",
        action="store_true",
        help="sessions drag the live controls instead of visiting pages",
    )
    parser.add_argument(
        "--pace", type=float, default=3.0, help="drag mode: seconds between one session's drags"
    )
    parser.add_argument(
        "--ttl",
        action="store_true",
        help="finally wait out Streamlit's closed-session TTL and read RSS again",
    )
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.seconds <= 0 or args.waves < 1 or args.pace <= 0:
        parser.error("--sessions and --waves must be at least 1, --seconds and --pace positive")
    report = run(
        args.sessions,
        args.seconds,
        args.with_training,
        args.waves,
        args.ttl,
        args.drag,
        pace=args.pace,
    )
    name = (
        f"load-{args.sessions}x{int(args.seconds)}{'-training' if args.with_training else ''}"
        f"{'-drag' if args.drag else ''}.json"
    )
    write_results(name, report)
    print(json.dumps({k: v for k, v in report.items() if k != "rss_mb_over_time"}, indent=2))
    return report


if __name__ == "__main__":
    main()
