"""Every view's first and second opening: `python -m bench.views [--runs 3] [--only KEY ...]`.

For each view a link can open (:data:`VIEWS`), a **cold** opening: a fresh `streamlit run` on a
fresh clone of the working tree (every file git tracks or would track, so the shipped results
in ``checkpoints/precomputed/`` are there and every run-time cache is empty: ``checkpoints/.cache``,
``static/maps``, ``static/models`` and the data cache, ``LATENT_EXPLORER_CACHE``), the page
requested as soon as the server answers its health check, in a browser context with an empty
HTTP cache; then a **warm** opening of the same link in a new tab (a new session) on that
server. A view is *drawn* when the script run is over, no spinner or skeleton is left, every
image has loaded, every plotly chart has drawn and the view's own element is there (a live
control's exact image, the map's component ready), and it stays so for half a second; its time
runs from the browser's navigation start to the first moment of that stretch. Between the two
openings the bench waits until the server idles (its background warm-up done), so "warm" is a
warmed server.

Also measured: the server's CPU seconds (every thread, the warm-up child included) from the
request to the drawn view, the time from spawning the server to its health check answering, and
the machine's load average. Medians over ``--runs`` runs; results in bench/results/views.json and
a Markdown table on stdout. A clone lacking ``checkpoints/precomputed/`` gets it from
``python -m explorer.precompute`` once, kept in ``--shipped-cache`` for later runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.browser import launch, streamlit_server
from bench.common import cpu_seconds, machine, markdown_table, write_results
from bench.fresh import Clone
from explorer import warmup

GOAL_COLD_S, GOAL_WARM_S = 3.0, 1.0
EXACT = ".le-canvas[data-source='exact']"
MAP_READY = "window.__leTelemetry?.map?.ready === true"
FLOOR = "bench/floor_page.py"  # a title, a line and an image: Streamlit's own first view


@dataclass(frozen=True)
class View:
    key: str
    label: str
    path: str  # relative to the server's URL
    ready: str = ""  # a CSS selector (searched through shadow roots) that must be there
    ready_js: str = ""  # or a JS expression that must be true
    script: str = "streamlit_app.py"  # what `streamlit run` starts (the floor: its own page)


def _views() -> list[View]:
    cmp = "/AE_vs_VAE"
    # The findings' table, or the note that the protocol's results are for other checkpoints.
    table = "[data-testid='stMarkdown'] table, [data-testid='stAlert']"
    image = "[data-testid='stImage'] img"
    out = [
        View("floor", "Streamlit's floor (bench/floor_page.py)", "/", image, "", FLOOR),
        View("floor_chart", "the floor with one Plotly chart", "/?chart=1", image, "", FLOOR),
        View("home", "Home", "/", image),
    ]
    for pair, d in (("2d", "2"), ("16d", "16")):
        q = "" if pair == "2d" else "pair=16d&"
        out += [
            View(f"cmp_findings_{pair}", f"AE vs VAE, findings, d = {d}", f"{cmp}?{q}", table),
            View(f"cmp_atlas_{pair}", f"AE vs VAE, atlas, d = {d}", f"{cmp}?{q}view=atlas"),
            View(f"cmp_samples_{pair}", f"AE vs VAE, samples, d = {d}", f"{cmp}?{q}view=samples"),
            View(f"cmp_pairs_{pair}", f"AE vs VAE, many pairs, d = {d}", f"{cmp}?{q}view=pairs"),
        ]
    for model in ("ae", "vae", "ae2d", "vae2d", "gan"):
        path = f"/Latent_sliders?model={model}"
        out.append(View(f"sliders_{model}", f"Latent sliders, {model}", path, EXACT))
    out += [
        View(
            "sliders_attributes",
            "Latent sliders, vae, attributes",
            "/Latent_sliders?model=vae&sliders=attributes",
            EXACT,
        ),
        View("sliders_draw", "Latent sliders, vae, draw", "/Latent_sliders?model=vae&start=draw"),
        View("interp_16d", "Interpolation, d = 16", "/Interpolation", EXACT),
        View("interp_2d", "Interpolation, d = 2", "/Interpolation?pair=2d", EXACT),
    ]
    for key, label, query in (
        ("tsne", "t-SNE", ""),
        ("pca", "PCA", "?method=pca"),
        ("umap", "UMAP", "?method=umap"),
        ("all", "t-SNE, all digits", "?points=all"),
    ):
        out.append(View(f"map_{key}", f"Latent map, {label}", f"/Latent_map{query}", "", MAP_READY))
    out += [
        View("kl", "KL and ELBO", "/KL_and_ELBO", "[data-testid='stImage'] img"),
        View("lesson", "Lesson", "/Lesson", "[data-testid='stCaptionContainer']"),
    ]
    return out


VIEWS = _views()

# Checked in the page every 50 ms: the first time it holds (performance.now(), ms from the
# navigation's start) is kept until it fails again.
WATCH_JS = """(() => {
  const deep = (root, sel) => {
    const found = [...root.querySelectorAll(sel)];
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) found.push(...deep(el.shadowRoot, sel));
    return found;
  };
  const drawn = () => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (!main || !main.querySelector('h1')) return false;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (deep(main, '[data-testid="stSpinner"], [data-testid="stSkeleton"], .stProgress').length) return false;
    for (const img of deep(main, 'img')) if (!img.complete || img.naturalWidth === 0) return false;
    for (const chart of main.querySelectorAll('[data-testid="stPlotlyChart"]'))
      if (!chart.querySelector('.main-svg')) return false;
    const want = window.__benchReady || {};
    if (want.selector && !deep(main, want.selector).length) return false;
    if (want.js && !eval(want.js)) return false;
    return true;
  };
  window.__bench = {since: null};
  setInterval(() => {
    let ok = false;
    try { ok = drawn(); } catch (e) { ok = false; }
    if (!ok) window.__bench.since = null;
    else if (window.__bench.since === null) window.__bench.since = performance.now();
  }, 50);
})();"""


class CpuTrace:
    """A process's CPU seconds (user + system, every thread, its children too), read every 50 ms
    on a thread."""

    def __init__(self, pid: int) -> None:
        self.process, self.samples, self._stop = psutil.Process(pid), [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                seconds = cpu_seconds(self.process)
            except psutil.Error:
                return
            self.samples.append((time.perf_counter(), seconds))
            time.sleep(0.05)

    def settle(self, idle_share: float = 0.1, window_s: float = 2.0, most_s: float = 300.0):
        """Wait until the process has used under ``idle_share`` of a core for ``window_s``
        (its warm-up done); (seconds waited, CPU seconds used meanwhile)."""
        began = time.perf_counter()
        cpu0 = self.at(began)
        while time.perf_counter() - began < most_s:
            time.sleep(0.25)
            now = time.perf_counter()
            if now - began >= window_s and (
                self.at(now) - self.at(now - window_s) < idle_share * window_s
            ):
                break
        now = time.perf_counter()
        return round(now - began, 2), round(self.at(now) - cpu0, 2)

    def at(self, when: float) -> float:
        """CPU seconds at perf_counter ``when`` (the last sample before it)."""
        before = [cpu for t, cpu in self.samples if t <= when]
        return before[-1] if before else 0.0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _open(context, url: str, view: View, trace: CpuTrace, timeout_s: float) -> dict:
    """Open ``url`` in a new tab of ``context``; seconds to drawn and the server's CPU seconds."""
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.add_init_script(
        f"window.__benchReady = {{selector: {view.ready!r}, js: {view.ready_js!r}}};" + WATCH_JS
    )
    began = time.perf_counter()
    cpu0 = trace.at(began)
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    deadline = began + timeout_s
    since = None
    while time.perf_counter() < deadline:
        since = page.evaluate("window.__bench && window.__bench.since")
        now = page.evaluate("performance.now()")
        if since is not None and now - since >= 500:
            break
        page.wait_for_timeout(100)
    else:
        page.close()
        return {"seconds": None, "cpu_s": None, "error": f"not drawn within {timeout_s:.0f} s"}
    seconds = since / 1000
    errors = page.locator('[data-testid="stException"]').count()
    page.close()
    return {
        "seconds": round(seconds, 3),
        "cpu_s": round(trace.at(began + seconds) - cpu0, 3),
        "error": f"{errors} exception(s) on the page" if errors else None,
    }


def one_run(browser, clone: Clone, view: View, timeout_s: float, restart: bool = False) -> dict:
    """A fresh server on the reset clone: the view cold, then warm; and the server's start."""
    clone.reset(keep_data=restart)
    load_before = os.getloadavg()[0]
    spawned = time.perf_counter()
    server = streamlit_server(
        clone.env(), poll=0.05, cwd=clone.dir, timeout=120, script=view.script
    )
    with server as (url, proc):
        up = time.perf_counter() - spawned
        trace = CpuTrace(proc.pid)
        boot_cpu = trace.at(time.perf_counter())
        context = browser.new_context()  # an empty HTTP cache: a student's first visit
        cold = _open(context, url + view.path, view, trace, timeout_s)
        # The warm-up's work (its child starts once the pages have been quiet for a while), then
        # a warm server: quiet for longer than that start's wait.
        settle_s, settle_cpu = trace.settle(window_s=warmup.START_QUIET_S + 2.0)
        warm = _open(context, url + view.path, view, trace, timeout_s)
        context.close()
        trace.stop()
    return {
        "server_up_s": round(up, 3),
        "server_boot_cpu_s": round(boot_cpu, 3),
        "cold": cold,
        "warm": warm,
        "settle_s": settle_s,
        "settle_cpu_s": settle_cpu,
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def _median(values: list) -> float | None:
    found = [v for v in values if v is not None]
    return round(statistics.median(found), 2) if found else None


def summarise(view: View, runs: list[dict]) -> dict:
    cold = _median([r["cold"]["seconds"] for r in runs])
    warm = _median([r["warm"]["seconds"] for r in runs])
    return {
        "label": view.label,
        "path": view.path,
        "cold_s": cold,
        "warm_s": warm,
        "cold_cpu_s": _median([r["cold"]["cpu_s"] for r in runs]),
        "warm_cpu_s": _median([r["warm"]["cpu_s"] for r in runs]),
        "server_up_s": _median([r["server_up_s"] for r in runs]),
        "warm_up_cpu_s": _median([r["settle_cpu_s"] for r in runs]),
        "load": _median([r["load_before"] for r in runs]),
        "meets": None not in (cold, warm) and cold <= GOAL_COLD_S and warm <= GOAL_WARM_S,
        "errors": [e for r in runs for e in (r["cold"]["error"], r["warm"]["error"]) if e],
        "runs": runs,
    }


def _cell(value: float | None, goal: float | None = None) -> str:
    if value is None:
        return "–"
    text = f"{value:.2f}"
    return f"**{text}**" if goal is not None and value > goal else text


def _over(value: float | None, floor: float | None) -> str:
    return "–" if value is None or floor is None else f"{value - floor:+.2f}"


def table(results: dict) -> str:
    """The README's table: one row per view (a figure over its goal in bold), and how far each
    view's seconds lie above Streamlit's floor measured in the same run."""
    floor = results["views"].get("floor", {})
    rows = []
    for key, found in results["views"].items():
        over = not key.startswith("floor")
        rows.append(
            [
                f"{found['label']} (`{found['path']}`)",
                _cell(found["cold_s"], GOAL_COLD_S),
                _over(found["cold_s"], floor.get("cold_s")) if over else "",
                _cell(found["warm_s"], GOAL_WARM_S),
                _over(found["warm_s"], floor.get("warm_s")) if over else "",
                _cell(found["cold_cpu_s"]),
                _cell(found["warm_cpu_s"]),
                f"{found['load']:.1f}" if found["load"] is not None else "–",
            ]
        )
    header = [
        "view (link)",
        "cold, s",
        "over the floor",
        "warm, s",
        "over the floor",
        "server CPU cold, s",
        "server CPU warm, s",
        "load avg",
    ]
    return markdown_table(header, rows)


def run(
    views: list[View], runs: int, timeout_s: float, shipped_cache: Path, restart: bool = False
) -> dict:
    from playwright.sync_api import sync_playwright

    clone = Clone(shipped_cache)
    if restart:
        clone.fill_data_cache()
    out = {
        "machine": machine(),
        "runs": runs,
        "data_cache": "kept (a restart)" if restart else "empty (a fresh clone)",
        "goals": {"cold_s": GOAL_COLD_S, "warm_s": GOAL_WARM_S, "start_to_home_s": GOAL_COLD_S},
        "views": {},
    }
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            for view in views:
                found = [one_run(browser, clone, view, timeout_s, restart) for _ in range(runs)]
                out["views"][view.key] = summarise(view, found)
                s = out["views"][view.key]
                print(
                    f"{view.label}: cold {s['cold_s']} s (CPU {s['cold_cpu_s']} s), warm "
                    f"{s['warm_s']} s, load {s['load']}{'; ' + s['errors'][0] if s['errors'] else ''}",
                    flush=True,
                )
            browser.close()
    finally:
        clone.remove()
    home = out["views"].get("home")
    if home:
        out["start_to_home"] = {
            "server_up_s": home["server_up_s"],
            "home_drawn_after_up_s": home["cold_s"],
            "meets": home["cold_s"] is not None and home["cold_s"] <= GOAL_COLD_S,
        }
    out["load_average"] = [round(v, 2) for v in os.getloadavg()]
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.views", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per view (default 3)")
    parser.add_argument("--only", nargs="+", default=None, help="view keys (default: all)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per opening")
    parser.add_argument(
        "--shipped-cache",
        default=str(Path(tempfile.gettempdir()) / "latent-explorer-bench-shipped"),
        help="where generated shipped results are kept between runs",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="keep the data cache (parsed digits and splits) between runs, as a restart would",
    )
    parser.add_argument("--out", default=None, help="file name in bench/results/")
    args = parser.parse_args(argv)
    keys = {v.key for v in VIEWS}
    if args.only and not set(args.only) <= keys:
        parser.error(f"unknown view(s) {set(args.only) - keys}; choose from {sorted(keys)}")
    if not 1 <= args.runs <= 20:
        parser.error("--runs must lie in 1..20")
    # The floors are always measured first: every view's seconds read against them.
    views = [v for v in VIEWS if not args.only or v.key in args.only or v.key.startswith("floor")]
    results = run(views, args.runs, args.timeout, Path(args.shipped_cache), args.restart)
    write_results(args.out or ("views-restart.json" if args.restart else "views.json"), results)
    print(table(results))
    return results


if __name__ == "__main__":
    main()
