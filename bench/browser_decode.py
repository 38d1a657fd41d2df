"""Decoding in the browser against the server path, in one run:
`python -m bench.browser_decode [--drags 12] [--sessions 20] [--seconds 60] [--pace 3] [--no-load]`
(about 15 minutes with the class load; needs /usr/bin/chromium).

Servers started one after another in the same run, each driven by headless Chromium through
Playwright: the old path (LATENT_EXPLORER_BROWSER_DECODE=0: filmstrips from the server, exact
image on release), the new one (ONNX Runtime Web decodes every frame) and Streamlit's floor
(bench/floor_app.py: a fragment with nothing but a range input in a component). For each:
- server CPU per drag: CPU time of the server process (every thread, read in ns through
  explorer/cpuprobe.py) from just before a drag to the end of the run it causes (the page idle
  again), on Latent sliders and Interpolation (the floor: its one slider); also above idle,
  less what the server spends in that time with nothing to do (idle_rate);
- image updates per second while dragging: Latent sliders, λ, the 2-D pad, the GAN's sliders;
- the new path: the runtime's own time to decode one digit and an 11-frame strip;
- unless --no-load: bench.load in drag mode on both paths: a class of --sessions students, each
  at a live page, dragging once every --pace seconds; server CPU per student-minute and per
  drag, and the one-off cost of opening the page.
Medians and p95 over repeats; results go to bench/results/browser_decode.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench import load
from bench.browser import drag, launch, streamlit_server, wait_idle
from bench.common import machine, markdown_table, percentile, write_results
from explorer import cpuprobe

STRIP = 11
OLD = {"LATENT_EXPLORER_BROWSER_DECODE": "0"}


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


def idle_rate(cpu, seconds: float = 5.0) -> float:
    """The server's own CPU ms per second with the page idle (its timers and the websocket)."""
    start, t0 = cpu(), time.monotonic()
    time.sleep(seconds)
    return (cpu() - start) * 1000 / (time.monotonic() - t0)


def drags(page, url: str, path: str, cpu, browser_path: bool, n: int, model: str = "") -> dict:
    """Server CPU per drag (``cpu()``: the server's CPU seconds) and updates per second on one
    page (``model``: the Latent sliders page's model, by its label)."""
    page.goto(f"{url}/{path}")
    wait_idle(page, 120_000)
    if model:
        page.get_by_label("Model").click()
        page.get_by_role("option", name=model).click()
        page.locator(".le-root").first.wait_for(timeout=60_000)
        wait_idle(page, 60_000)
    _ready(page, browser_path)
    wait_idle(page, 60_000)
    page.wait_for_timeout(1500)
    root = page.locator(".le-root").first
    idle = idle_rate(cpu)
    cpu_ms, net_ms, ups = [], [], []
    n_sliders = min(page.locator(".le-range").count(), 4)
    for trial in range(n):
        page.evaluate("window.__leTelemetry.control.frames = 0")
        before_values = root.get_attribute("data-values")
        slider = page.locator(".le-range").nth(trial % n_sliders)
        # End to end and back: a drag towards the end a slider already sits at changes nothing,
        # sends nothing, and the wait below would only run out.
        reverse = (trial // n_sliders) % 2 == 1
        start, t0 = cpu(), time.monotonic()
        began, ended = drag(page, slider, reverse=reverse)
        deadline = time.monotonic() + 20
        while root.get_attribute("data-values") == before_values and time.monotonic() < deadline:
            page.wait_for_timeout(20)
        if root.get_attribute("data-values") == before_values:
            print(f"{path} drag {trial}: no new values within 20 s, skipped", flush=True)
            continue
        wait_idle(page, 60_000)
        page.wait_for_timeout(300)  # the run's last messages
        cpu_ms.append((cpu() - start) * 1000)
        net_ms.append(cpu_ms[-1] - idle * (time.monotonic() - t0))
        print(
            f"{path} drag {trial}: {cpu_ms[-1]:.0f} ms of server CPU "
            f"({net_ms[-1]:.0f} ms above idle)",
            flush=True,
        )
        frames = page.evaluate("window.__leTelemetry.control.frames")
        ups.append(frames / ((ended - began) / 1000))
    out = {
        "server_cpu_ms_per_drag_median": statistics.median(cpu_ms),
        "server_cpu_ms_per_drag_p95": percentile(cpu_ms, 95),
        "server_cpu_ms_all": cpu_ms,
        "above_idle_ms_per_drag_median": statistics.median(net_ms),
        "above_idle_ms_per_drag_p95": percentile(net_ms, 95),
        "idle_cpu_ms_per_s": idle,
        "updates_per_s_median": statistics.median(ups),
        "updates_per_s_min": min(ups),
        "server_images": page.evaluate("window.__leTelemetry.control.serverImages ?? null"),
    }
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
        [f"{url}/app/static/components/runtime.js", f"{url}/{decoder}", STRIP],
    )
    return {
        f"{key}_ms_{q}": (statistics.median(v) if q == "median" else percentile(v, 95))
        for key, v in result.items()
        for q in ("median", "p95")
    }


def pad_updates(page, url: str, browser_path: bool) -> float:
    """Image updates per second while the 2-D VAE's pad is dragged."""
    page.goto(f"{url}/Latent_sliders")
    wait_idle(page, 120_000)
    page.get_by_label("Model").click()
    page.get_by_role("option", name="VAE (d=2)").click()
    page.locator(".le-pad").wait_for(timeout=60_000)
    wait_idle(page, 60_000)
    _ready(page, browser_path)
    page.wait_for_timeout(1500)
    ups = []
    pad = page.locator(".le-pad")
    for trial in range(5):
        # From the left edge, 20 px lower each time, to the lower right corner, 10 px inside.
        start = 20 * trial / (pad.bounding_box()["height"] - 20)
        page.evaluate("window.__leTelemetry.control.frames = 0")
        began, ended = drag(page, pad, ((0.0, start), (1.0, 1.0)), inset=10)
        ups.append(page.evaluate("window.__leTelemetry.control.frames") / ((ended - began) / 1000))
        wait_idle(page, 60_000)
    return statistics.median(ups)


def _probe_env(folder: str, label: str) -> tuple[dict, callable]:
    path = str(Path(folder) / f"{label}.sock")
    return {cpuprobe.ENV: path}, functools.partial(cpuprobe.read, path)


def one_path(playwright, label: str, env: dict, drags_n: int, decoder: str) -> dict:
    """Everything measured on one server: the old path (``env`` = OLD) or the new one."""
    on = label == "browser_path"
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        probe_env, cpu = _probe_env(folder, label)
        with streamlit_server({**env, **probe_env}) as (url, _):
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            out = {
                "latent_sliders": drags(page, url, "Latent_sliders", cpu, on, drags_n),
                "interpolation": drags(page, url, "Interpolation", cpu, on, drags_n),
                "gan_sliders": drags(page, url, "Latent_sliders", cpu, on, 4, "DCGAN (z=100)"),
                "pad_updates_per_s_median": pad_updates(page, url, on),
            }
            if on:
                out["decode"] = decode_timings(page, url, decoder)
            browser.close()
    return out


def floor(playwright, drags_n: int) -> dict:
    """Streamlit's own cost of a release: bench/floor_app.py, the same drags."""
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        probe_env, cpu = _probe_env(folder, "floor")
        with streamlit_server(probe_env, script="bench/floor_app.py") as (url, _):
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            out = drags(page, url, "", cpu, False, drags_n)
            browser.close()
    return out


def table(results: dict) -> str:
    """The README's table (markdown) of a results dict."""
    old, new, fl = results["server_path"], results["browser_path"], results["floor"]

    def cpu(r: dict) -> str:
        return (
            f"{r['server_cpu_ms_per_drag_median']:.1f} / {r['server_cpu_ms_per_drag_p95']:.1f} ms"
        )

    def ups(r: dict) -> str:
        pages = (r["latent_sliders"], r["interpolation"], r["gan_sliders"])
        sliders, lam, gan = (page["updates_per_s_median"] for page in pages)
        return " / ".join(f"{v:.0f}" for v in (sliders, lam, r["pad_updates_per_s_median"], gan))

    def both(show, key: str) -> list[str]:  # the old path's, the browser path's in bold
        return [show(old[key]), f"**{show(new[key])}**"]

    rows = [
        ["Latent sliders: server CPU", *both(cpu, "latent_sliders"), "≤ 20 ms"],
        ["Interpolation: server CPU", *both(cpu, "interpolation"), "≤ 20 ms"],
        ["Streamlit's floor: an empty fragment's release", cpu(fl), "", ""],
        ["updates/s while dragging (sliders / λ / pad / GAN)", ups(old), f"**{ups(new)}**", "≥ 50"],
    ]
    d = new.get("decode")
    if d:
        one = f"{d['one_ms_median']:.1f}, {d['one_ms_p95']:.1f}"
        strip = f"{d['strip_ms_median']:.1f}, {d['strip_ms_p95']:.1f}"
        what = "browser decode of one digit / 11-frame strip (p50, p95)"
        rows.append([what, "", f"{one} / {strip} ms", "≤ 8 / 30 ms p95"])
    if "load" in results:
        lo, ln = results["load"]["server_path"], results["load"]["browser_path"]
        minute = [f"{r['server_cpu_s_per_session_minute']:.2f} s" for r in (lo, ln)]
        ratio = lo["server_cpu_s_per_session_minute"] / ln["server_cpu_s_per_session_minute"]
        drags = [
            f"{r['drags']} of {r['drags_scheduled']}; {r['server_cpu_ms_per_drag']:.0f} ms"
            for r in (lo, ln)
        ]
        opening = [f"{r['server_cpu_s_per_open']:.2f} s" for r in (lo, ln)]
        load_ = (
            f"class load ({lo['sessions']} students dragging for {lo['seconds']:.0f} s, one "
            f"drag every {lo['pace_s']:.0f} s each)"
        )
        rows += [
            [
                f"{load_}: server CPU per student-minute",
                minute[0],
                f"**{minute[1]}** ({ratio:.1f}× less)",
                "10× less",
            ],
            ["class load: drags done of those scheduled; server CPU per drag", *drags, ""],
            ["class load: opening a live page, server CPU per student (once)", *opening, ""],
        ]
    header = ["per drag, median / p95", "old path", "browser path", "goal"]
    return markdown_table(header, rows)


def main(argv: list[str] | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    from explorer import checkpoints, onnx_export
    from explorer.ui.cache import CHECKPOINT_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drags", type=int, default=12, help="drags per page and path")
    parser.add_argument("--sessions", type=int, default=20, help="class load: sessions")
    parser.add_argument("--seconds", type=float, default=60.0, help="class load: seconds")
    parser.add_argument(
        "--pace", type=float, default=3.0, help="class load: seconds between one student's drags"
    )
    parser.add_argument("--no-load", action="store_true", help="skip the class load")
    args = parser.parse_args(argv)
    vae = checkpoints.load(CHECKPOINT_DIR / "vae.safetensors")
    for name in checkpoints.discover(CHECKPOINT_DIR):
        onnx_export.export(checkpoints.load(CHECKPOINT_DIR / f"{name}.safetensors"))
    decoder = onnx_export.urls(onnx_export.export(vae))["decoder"]
    results: dict = {"machine": f"{machine()}, headless Chromium", "drags": args.drags}
    with sync_playwright() as playwright:
        results["floor"] = floor(playwright, args.drags)
        results["server_path"] = one_path(playwright, "server_path", OLD, args.drags, decoder)
        results["browser_path"] = one_path(playwright, "browser_path", {}, args.drags, decoder)
    if not args.no_load:
        results["load"] = {
            label: {
                k: v
                for k, v in load.run(
                    args.sessions, args.seconds, drag=True, env=env, pace=args.pace
                ).items()
                if k != "rss_mb_over_time"
            }
            for label, env in (("server_path", OLD), ("browser_path", {}))
        }
    results["table"] = table(results)
    write_results("browser_decode.json", results)
    print(json.dumps(results, indent=2))
    print(results["table"])
    return results


if __name__ == "__main__":
    main()
