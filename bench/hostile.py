"""Hostile study links against a class: `python -m bench.hostile [--hostile 4] [--loads 5]`.

One `streamlit run` server; a bystander (one headless-Chromium tab) opens a page a student
would (AE vs VAE, the default findings and atlas, then Latent sliders) ``--loads`` times on a
quiet server and times each until the page is idle. Then ``--hostile`` other browsers each open
a study link with a new seed and 1,000 pairs (`/AE_vs_VAE?view=pairs&pairs=1000&pair_seed=N`),
the costliest thing a link can ask for, and keep their tabs open while the bystander opens the
same pages again. Reported: the bystander's median load time quiet and under attack and their
ratio (goal ≤ 2), the server's peak RSS (goal < 1.2 GB) and CPU seconds, and what each hostile
tab was shown (its place in the queue). Results go to bench/results/hostile.json.
"""

from __future__ import annotations

import argparse
import threading
import time

import psutil

from bench.browser import launch, streamlit_server, wait_idle
from bench.common import cpu_seconds, machine, percentile, write_results

PAGES = ("AE_vs_VAE", "AE_vs_VAE?view=atlas", "Latent_sliders")


def _load(page, url: str) -> float:
    began = time.perf_counter()
    page.goto(url)
    wait_idle(page, 300_000)
    return time.perf_counter() - began


def _bystander(page, base: str, loads: int) -> list[float]:
    return [_load(page, f"{base}/{PAGES[i % len(PAGES)]}") for i in range(loads)]


class _Peak:
    """The server's peak RSS, read every 0.2 s on a thread."""

    def __init__(self, process: psutil.Process) -> None:
        self.process, self.peak, self._stop = process, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.2)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run(hostile: int, loads: int) -> dict:
    from playwright.sync_api import sync_playwright

    with streamlit_server() as (base, proc), sync_playwright() as playwright:
        server = psutil.Process(proc.pid)
        browser = launch(playwright)
        bystander = browser.new_page(viewport={"width": 1280, "height": 720})
        _bystander(bystander, base, len(PAGES))  # warm: every page once
        cpu0 = cpu_seconds(server)
        quiet = _bystander(bystander, base, loads)
        peak = _Peak(server)
        cpu1 = cpu_seconds(server)
        tabs = []
        for k in range(hostile):  # each its own browser: its own cookie, its own owner
            tab = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            tab.goto(f"{base}/AE_vs_VAE?view=pairs&pairs=1000&pair_seed={101 + k}")
            tabs.append(tab)
        for tab in tabs:
            wait_idle(tab, 300_000)
        attacked = _bystander(bystander, base, loads)
        shown = [
            tab.locator('[data-testid="stAlert"]').first.inner_text(timeout=5_000)
            if tab.locator('[data-testid="stAlert"]').count()
            else ""
            for tab in tabs
        ]
        cpu2 = cpu_seconds(server)
        rss = peak.stop()
        browser.close()
    quiet_p50, attacked_p50 = percentile(quiet, 50), percentile(attacked, 50)
    return {
        "machine": machine(),
        "hostile": hostile,
        "loads": loads,
        "quiet_s": quiet,
        "attacked_s": attacked,
        "quiet_p50_s": round(quiet_p50, 2),
        "attacked_p50_s": round(attacked_p50, 2),
        "ratio": round(attacked_p50 / quiet_p50, 2),
        "peak_rss_mb": round(rss / 2**20),
        "server_cpu_quiet_s": round(cpu1 - cpu0, 1),
        "server_cpu_attacked_s": round(cpu2 - cpu1, 1),
        "hostile_tabs_shown": [text[:160] for text in shown],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--hostile", type=int, default=4, help="hostile browsers (default 4)")
    parser.add_argument("--loads", type=int, default=6, help="bystander loads per phase")
    args = parser.parse_args(argv)
    if not 1 <= args.hostile <= 20 or not 1 <= args.loads <= 50:
        parser.error("--hostile must lie in 1..20 and --loads in 1..50")
    results = run(args.hostile, args.loads)
    write_results("hostile.json", results)
    print(
        f"bystander p50: quiet {results['quiet_p50_s']} s, under {args.hostile} hostile links "
        f"{results['attacked_p50_s']} s (×{results['ratio']}); server peak RSS "
        f"{results['peak_rss_mb']} MB"
    )
    return results


if __name__ == "__main__":
    main()
