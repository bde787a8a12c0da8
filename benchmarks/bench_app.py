"""App speed, as a person sees it in Debian's chromium.

Prints, for `densevis app` (torch preloaded at server start) and plain `streamlit run app.py`:
cold start (server launch to the Overview page fully drawn: parameter count and overview
diagram), a growth-rate change to an unseen config, and back to a seen one.
Targets: cold start < 5 s, unseen < 1.5 s, seen < 0.3 s.

    .venv/bin/python benchmarks/bench_app.py
"""

from __future__ import annotations

import pathlib
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
METRIC = '[data-testid="stMetricValue"]'


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _params(page: Page) -> str:
    return page.locator(METRIC).first.inner_text().strip()


def _wait_params_change(page: Page, old: str) -> str:
    page.wait_for_function(
        f"""() => {{ const e = document.querySelector('{METRIC}');
                   return e && e.innerText.trim() !== '{old}'
                     && !document.querySelector('[data-testid="stStatusWidget"]'); }}""",
        polling=10)
    return _params(page)


LAUNCHERS = {
    "densevis app": [sys.executable, "-m", "densevis", "app"],
    "streamlit run app.py": [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")],
}


def main() -> int:
    for launcher in LAUNCHERS:
        measure(launcher)
    return 0


def measure(launcher: str) -> None:
    """Cold start and growth-rate timings with one way of starting the server."""
    from playwright.sync_api import sync_playwright

    port = _port()
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        start = time.perf_counter()
        server = subprocess.Popen(
            [*LAUNCHERS[launcher], "--server.port", str(port), "--server.address", "127.0.0.1"]
            if launcher == "densevis app" else
            [*LAUNCHERS[launcher], "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            served = time.perf_counter() - start
            opened = time.perf_counter() - start
            page.goto(url)
            loaded = time.perf_counter() - start
            page.get_by_text("7,978,856").first.wait_for()
            numbers = time.perf_counter() - start
            page.locator('[data-testid="stImage"] img, [data-testid="stImage"] svg'
                         ).first.wait_for()
            cold = time.perf_counter() - start
            field = page.get_by_label("Growth rate k", exact=True)
            unseen: list[float] = []
            seen: list[float] = []
            # k 32 -> 31 is new once; every later change goes between configs already seen.
            for index, k in enumerate(["31", "32"] * 5):
                before = _params(page)
                field.fill(k)
                began = time.perf_counter()
                field.press("Enter")
                _wait_params_change(page, before)
                (unseen if index == 0 else seen).append(time.perf_counter() - began)
        finally:
            server.terminate()
            browser.close()
    print(f"densevis app speed, started with `{launcher}` (Debian chromium, headless)")
    print(f"  server healthy after           {served:6.2f} s")
    print(f"  page shell loaded              {loaded:6.2f} s")
    print(f"  parameter count shown          {numbers:6.2f} s")
    print(f"  cold start to Overview drawn   {cold:6.2f} s   (target < 5 s)")
    print(f"  opening the page to drawn      {cold - opened:6.2f} s   (server already up)")
    print(f"  growth rate to an unseen config {unseen[0]:6.2f} s   (target < 1.5 s)")
    print(f"  growth rate to a seen config   {statistics.median(seen):6.2f} s   median of "
          f"{len(seen)} (min {min(seen):.2f}, max {max(seen):.2f}; target < 0.3 s)")


if __name__ == "__main__":
    sys.exit(main())
