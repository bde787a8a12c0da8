"""Interactive diagram speed in headless chromium against a real `streamlit run`:

1. click on a dense layer of densenet121 block 3 -> its inputs and consumers highlighted and
   painted (target < 0.5 s), median and worst of several layers;
2. a 100-layer block (5,050 links + 101 output links) -> the block drawn (target < 1.5 s):
   drawn on the click (the layer view's breadcrumb back to the block: layout + SVG built on
   the server then), clicked in the overview (which draws its blocks ahead while shown), and
   a cached reopen;
3. hover: one tooltip shown and painted while moving over links of that block (smooth: a
   frame or two).

Run: ``.venv/bin/python benchmarks/bench_diagram.py`` (needs Debian's chromium, like the
browser tests). Prints figures and ratios to the targets.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from densevis.app.launch import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
BIG = "blocks=100&k=4&init=8&size=32"  # one block of 100 dense layers

PAINTED = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
CLICK = """async id => {
  const node = [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
    .map(r => r.getElementById(id)).find(Boolean) || document.getElementById(id);
  const t0 = performance.now();
  node.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  await """ + PAINTED + """;
  return performance.now() - t0;
}"""
HOVER = """async count => {
  const hits = [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
    .flatMap(r => [...r.querySelectorAll('path.hit')]);
  const times = [];
  for (let i = 0; i < count; i++) {
    const hit = hits[(i * 997) % hits.length];
    const t0 = performance.now();
    hit.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    await """ + PAINTED + """;
    times.push(performance.now() - t0);
    hit.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));
  }
  return times;
}"""


def _server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
         "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if wait_until_serving(url, process):
        return process, url
    process.kill()
    raise SystemExit("streamlit did not start")


def _idle(page: Page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    page.wait_for_timeout(300)


def _open_block(page: Page, url: str, click: str) -> float:
    """Seconds from a click (on ``click``, once the page is idle) to the 100-layer block
    drawn and painted."""
    page.goto(url)
    page.locator("svg.densevis-diagram").wait_for()
    _idle(page)
    start = time.perf_counter()
    page.locator(click).dispatch_event("click")
    page.locator("svg.densevis-diagram[data-view=block]").wait_for()
    page.evaluate(PAINTED)
    took = time.perf_counter() - start
    loaded = page.locator(".dv-root").get_attribute("data-load-ms")
    print(f"    (of which the browser's parse and layout of the SVG: {loaded} ms)")
    return took


def main() -> None:
    process, url = _server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/diagram?view=Dense+block&block=3")
            page.locator("svg.densevis-diagram[data-view=block]").wait_for()
            _idle(page)
            clicks = [page.evaluate(CLICK, f"features.denseblock3.denselayer{layer}") / 1000
                      for layer in (12, 1, 24, 6, 18, 12, 3)]
            median = statistics.median(clicks)
            print(f"click -> highlighted block 3 painted: median {median * 1000:.0f} ms, "
                  f"worst {max(clicks) * 1000:.0f} ms over {len(clicks)} clicks "
                  f"({max(clicks) / 0.5:.2f} of the 0.5 s target)")
            page.goto(f"{url}/diagram?{BIG}&view=Dense+layer&layer=50")  # warm the trace
            page.locator("svg.densevis-diagram").wait_for()
            crumb = ".dv-crumbs a >> text=block 1"
            cold = _open_block(page, f"{url}/diagram?{BIG}&view=Dense+layer&layer=50", crumb)
            overview = f"{url}/diagram?{BIG.replace('k=4', 'k=5')}&view=Overview"
            ahead = _open_block(page, overview, 'g.node[id="features.denseblock1"]')
            again = _open_block(page, overview, 'g.node[id="features.denseblock1"]')
            print(f"100-layer block opened: drawn on the click (from the layer view's "
                  f"breadcrumb) {cold:.2f} s ({cold / 1.5:.2f} of the 1.5 s target); from the "
                  f"overview, drawn ahead while it was shown, {ahead:.2f} s "
                  f"({ahead / 1.5:.2f}); again {again:.2f} s")
            links = page.locator("path.edge.link").count()
            hovers = page.evaluate(HOVER, 40)
            print(f"  {links} links drawn; hover -> tooltip painted: median "
                  f"{statistics.median(hovers):.0f} ms, worst {max(hovers):.0f} ms "
                  f"over {len(hovers)} links")
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
