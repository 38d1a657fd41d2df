"""Decoding in the browser against the server path: `python -m bench.browser_decode` (about 4
minutes; needs /usr/bin/chromium).

Two `streamlit run` servers in one run, the old path (LATENT_EXPLORER_BROWSER_DECODE=0: filmstrips
from the server, exact image on release) and the new one (ONNX Runtime Web decodes every frame),
each driven by headless Chromium through Playwright:
- server CPU per drag: user + system CPU seconds of the server process from just before a drag
  to the end of the run it causes (the page idle again), on Latent sliders and on Interpolation;
- the new path only: image updates per second while dragging, and the runtime's own time to
  decode one digit and an 11-frame strip.
Medians and p95 over repeats; results go to bench/results/browser_decode.json.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import psutil

from bench.browser import launch, streamlit_server, wait_idle
from bench.live import RESULTS, _drag, pct

DRAGS = int(os.environ.get("BENCH_DRAGS", "12"))
STRIP = 11


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def _ready(page, want_runtime: bool) -> None:
    root = page.locator(".le-root").first
    root.wait_for(timeout=120_000)
    if not want_runtime:
        return
    for _ in range(2):
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if root.get_attribute("data-runtime") == "ready":
                return
            page.wait_for_timeout(200)
        page.reload()  # opened before the background export ended
        wait_idle(page, 120_000)
    raise RuntimeError("the browser runtime never became ready")


def idle_rate(server: psutil.Process, seconds: float = 5.0) -> float:
    """The server's own CPU ms per second with the page idle (its timers and the websocket)."""
    start, t0 = _cpu(server), time.monotonic()
    time.sleep(seconds)
    return (_cpu(server) - start) * 1000 / (time.monotonic() - t0)


def drags(page, url: str, path: str, server: psutil.Process, browser_path: bool) -> dict:
    """Server CPU per drag and (browser path) updates per second on one page."""
    page.goto(f"{url}/{path}")
    wait_idle(page, 120_000)
    _ready(page, browser_path)
    wait_idle(page, 60_000)
    page.wait_for_timeout(1500)
    root = page.locator(".le-root").first
    idle = idle_rate(server)
    cpu_ms, net_ms, ups = [], [], []
    n_sliders = min(page.locator(".le-range").count(), 4)
    for trial in range(DRAGS):
        page.evaluate("window.__leStats.frames = 0")
        before_values = root.get_attribute("data-values")
        slider = page.locator(".le-range").nth(trial % n_sliders)
        # End to end and back: a drag towards the end a slider already sits at changes nothing,
        # sends nothing, and the wait below would only run out.
        reverse = (trial // n_sliders) % 2 == 1
        start, t0 = _cpu(server), time.monotonic()
        began, ended = _drag(page, slider, reverse=reverse)
        deadline = time.monotonic() + 20
        while root.get_attribute("data-values") == before_values and time.monotonic() < deadline:
            page.wait_for_timeout(20)
        if root.get_attribute("data-values") == before_values:
            print(f"{path} drag {trial}: no new values within 20 s, skipped", flush=True)
            continue
        wait_idle(page, 60_000)
        page.wait_for_timeout(300)  # the run's last messages
        cpu_ms.append((_cpu(server) - start) * 1000)
        net_ms.append(cpu_ms[-1] - idle * (time.monotonic() - t0))
        print(f"{path} drag {trial}: {cpu_ms[-1]:.0f} ms of server CPU "
              f"({net_ms[-1]:.0f} ms above idle)", flush=True)  # fmt: skip
        frames = page.evaluate("window.__leStats.frames")
        ups.append(frames / ((ended - began) / 1000))
    out = {"server_cpu_ms_per_drag_median": statistics.median(cpu_ms),
           "server_cpu_ms_per_drag_p95": pct(cpu_ms, 95), "server_cpu_ms_all": cpu_ms,
           "above_idle_ms_per_drag_median": statistics.median(net_ms),
           "above_idle_ms_per_drag_p95": pct(net_ms, 95), "idle_cpu_ms_per_s": idle}  # fmt: skip
    if browser_path:
        out["updates_per_s_median"] = statistics.median(ups)
        out["updates_per_s_min"] = min(ups)
    return out


def decode_timings(page, url: str, decoder: str) -> dict:
    """The runtime's decode time (ms) of one digit and of an 11-frame strip, 200 runs each."""
    result = page.evaluate(
        """async ([runtime, model, strip]) => {
          const rt = await import(runtime);
          const times = {one: [], strip: []};
          for (const [key, n] of [["one", 1], ["strip", strip]]) {
            for (let i = 0; i < 220; i += 1) {
              const codes = Float32Array.from({length: n * 16}, () => Math.random() * 4 - 2);
              const t = performance.now();
              await rt.decode(model, codes, n);
              if (i >= 20) times[key].push(performance.now() - t);
            }
          }
          return times;
        }""",
        [f"{url}/app/static/model_runtime.js", f"{url}/{decoder}", STRIP],
    )
    return {f"{key}_ms_{q}": (statistics.median(v) if q == "median" else pct(v, 95))
            for key, v in result.items() for q in ("median", "p95")}  # fmt: skip


def pad_updates(page, url: str) -> float:
    """Image updates per second while the 2-D VAE's pad is dragged (browser path)."""
    page.goto(f"{url}/Latent_sliders")
    wait_idle(page, 120_000)
    page.get_by_label("Model").click()
    page.get_by_role("option", name="VAE (d=2)").click()
    page.locator(".le-pad").wait_for(timeout=60_000)
    wait_idle(page, 60_000)
    _ready(page, True)
    ups = []
    for trial in range(5):
        box = page.locator(".le-pad").bounding_box()
        page.evaluate("window.__leStats.frames = 0")
        page.mouse.move(box["x"] + 10, box["y"] + 10 + trial * 20)
        page.mouse.down()
        began = page.evaluate("performance.now()")
        page.mouse.move(box["x"] + box["width"] - 10, box["y"] + box["height"] - 10, steps=60)
        ended = page.evaluate("performance.now()")
        page.mouse.up()
        ups.append(page.evaluate("window.__leStats.frames") / ((ended - began) / 1000))
        wait_idle(page, 60_000)
    return statistics.median(ups)


def main() -> dict:
    from playwright.sync_api import sync_playwright

    from explorer import checkpoints, onnx_export
    from explorer.ui import CHECKPOINT_DIR

    vae = checkpoints.load(CHECKPOINT_DIR / "vae.safetensors")
    for name in checkpoints.discover(CHECKPOINT_DIR):
        onnx_export.export(checkpoints.load(CHECKPOINT_DIR / f"{name}.safetensors"))
    decoder = onnx_export.urls(onnx_export.export(vae))["decoder"]
    results: dict = {"machine": f"{psutil.cpu_count()} cores, headless Chromium", "drags": DRAGS}
    with sync_playwright() as playwright:
        for label, env in (("server_path", {"LATENT_EXPLORER_BROWSER_DECODE": "0"}),
                           ("browser_path", {})):  # fmt: skip
            with streamlit_server(env) as (url, proc):
                server = psutil.Process(proc.pid)
                browser = launch(playwright)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                on = label == "browser_path"
                results[label] = {
                    "latent_sliders": drags(page, url, "Latent_sliders", server, on),
                    "interpolation": drags(page, url, "Interpolation", server, on),
                }
                if on:
                    results[label]["pad_updates_per_s_median"] = pad_updates(page, url)
                    results[label]["decode"] = decode_timings(page, url, decoder)
                browser.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "browser_decode.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
