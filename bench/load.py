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
student per minute). What each student does is in :mod:`bench.classroom`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import psutil

from bench.browser import streamlit_server
from bench.classroom import drive, new_results
from bench.common import cpu_seconds, percentile, write_results
from explorer.heap import TRIM_INTERVAL_S

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
    (see :func:`bench.classroom.drag_class`); ``env`` goes to the server
    (``LATENT_EXPLORER_BROWSER_DECODE=0``: the old path).
    """
    with streamlit_server(env) as (url, proc):
        server = psutil.Process(proc.pid)
        rss: list[tuple[float, float]] = []
        stop = threading.Event()
        began = time.monotonic()

        def cpu() -> float:  # user + system seconds of the server
            return cpu_seconds(server)

        def rss_mb() -> float:
            return server.memory_info().rss / 2**20

        def sample() -> None:
            while not stop.wait(1.0):
                rss.append((round(time.monotonic() - began, 1), rss_mb()))

        def visit_once() -> None:  # one session, one round through every page, then idle
            drive(url, 1, 1.0, False, new_results())
            time.sleep(SETTLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        visit_once()  # warm-up
        idle_warm = rss_mb()
        load_start = len(rss)
        out = new_results()
        after_close, cpu_s = [], []
        for _ in range(waves):
            cpu_before = cpu()
            drive(url, sessions, seconds, with_training, out, cpu if drag else None, pace)
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
