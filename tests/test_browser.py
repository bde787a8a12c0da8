"""End to end: `streamlit run app.py` on a free loopback port, driven in Debian's chromium
by Playwright. Checks the diagram and a chart are drawn, moves the growth-rate slider, clicks
a download, and saves screenshots to tests/artifacts/."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from densevis.app.launch import free_port, wait_until_serving

ROOT = pathlib.Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)",
                allow_module_level=True)


class _Exploit:
    """Unpickling this would create a file: the loader must refuse it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.path}",))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    if not wait_until_serving(url, process):
        process.kill()
        raise AssertionError("streamlit did not start: " + process.stdout.read().decode()[-2000:])
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _settle(page: object) -> None:
    """Wait until the script run is over (no 'running' status widget), then a beat more."""
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    page.wait_for_timeout(300)  # type: ignore[attr-defined]


def _params_metric(page: object) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Parameters")  # type: ignore[attr-defined]
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_app_end_to_end(server: str, browser: object, tmp_path: pathlib.Path) -> None:
    context = browser.new_context(viewport={"width": 1600, "height": 1000},  # type: ignore[attr-defined]
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(server)
    page.get_by_text("7,978,856").first.wait_for()
    assert _params_metric(page) == "7,978,856"

    # The overview diagram: an SVG image on the Overview page.
    image = page.locator('[data-testid="stImage"] img').first
    image.wait_for()
    assert image.get_attribute("src").startswith("data:image/svg+xml")
    assert image.evaluate("img => img.naturalWidth") > 100
    _shot(page, "overview")

    # Type k = 31 in the sidebar: the parameter count, the Model box and the URL follow.
    field = page.get_by_label("Growth rate k", exact=True)
    field.fill("31")
    field.press("Enter")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
                 .some(e => e.innerText.trim() !== '7,978,856'
                            && /^[0-9,]+$/.test(e.innerText.trim()))""")
    changed = _params_metric(page)
    assert re.fullmatch(r"[0-9,]+", changed) and changed != "7,978,856"
    _settle(page)
    assert "k=31" in page.url
    assert page.get_by_role("combobox", name="Model").input_value() == "custom"

    # The Diagram page (through the page menu): the overview drawn inline (tests in
    # test_browser_diagram.py drive it).
    page.locator('[data-testid="stSidebarNav"] a', has_text="Diagram").click()
    page.locator("svg.densevis-diagram g.node.block").first.wait_for()
    assert page.locator("svg.densevis-diagram g.node.block").count() == 4
    _shot(page, "diagram")

    # A plotly chart on the Channels page, reached through the page menu: the config stays.
    page.locator('[data-testid="stSidebarNav"] a', has_text="Channels").click()
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    _settle(page)
    assert "/channels?" in page.url and "k=31" in page.url
    assert page.get_by_text("k=31", exact=True).count() >= 1  # legend: only k differs
    assert page.locator(".js-plotly-plot").count() >= 1
    _shot(page, "channels")

    # Download the layer table as CSV and check the file.
    page.goto(f"{server}/layers")
    button = page.get_by_role("button", name="Download CSV")
    button.wait_for()
    _settle(page)
    _shot(page, "layers")
    with page.expect_download() as caught:
        button.click()
    target = tmp_path / "layers.csv"
    caught.value.save_as(target)
    lines = target.read_text().splitlines()
    assert lines[0].startswith("#,layer,kind,block")
    assert len(lines) == 431  # header + 430 ops of densenet121

    # The Export page: the overview diagram as SVG, made when the button is clicked.
    page.goto(f"{server}/export")
    svg_button = page.get_by_role("button", name="SVG").first
    svg_button.wait_for()
    _settle(page)
    with page.expect_download() as caught:
        svg_button.click()
    svg = tmp_path / "overview.svg"
    caught.value.save_as(svg)
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "Dense block 4" in svg.read_text()
    _shot(page, "export")

    # The Weights page: a pickle that would run code is refused (and runs nothing); a
    # checkpoint saved by densevis loads and its config is read back.
    import torch

    from densevis import build_model
    from densevis.weights import save_checkpoint

    marker = tmp_path / "pwned"
    torch.save({"state_dict": _Exploit(str(marker))}, tmp_path / "evil.pth")
    save_checkpoint(build_model("densenet-bc-100", "cpu"), tmp_path / "bc100.pth")
    page.goto(f"{server}/weights")
    upload = page.locator('input[type="file"]')
    upload.wait_for(state="attached")
    _settle(page)
    upload.set_input_files(str(tmp_path / "evil.pth"))
    page.get_by_text("refused 'evil.pth'").wait_for()
    assert not marker.exists()
    upload.set_input_files(str(tmp_path / "bc100.pth"))
    page.get_by_text("Loaded 596 tensors from bc100.pth").wait_for()
    _settle(page)
    _shot(page, "weights")
    context.close()
    for name in ("overview", "diagram", "channels", "layers", "export", "weights"):
        assert (ARTIFACTS / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hostile_url_shows_the_reason_as_text(server: str, browser: object) -> None:
    """Markdown in a URL value stays text (no link, no remote image); the page keeps the last
    valid model; /overview opens the Overview; the dark theme and another preset draw."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(90_000)
    remote: list[str] = []
    page.on("request", lambda request: remote.append(request.url)
            if urllib.parse.urlsplit(request.url).hostname == "example.com" else None)
    page.goto(f"{server}/?blocks=[x](http://example.com)&k=99999"
              "&init=![y](http://example.com/y.png)")
    alert = page.locator('[data-testid="stSidebar"] [data-testid="stAlert"]').first
    alert.wait_for()
    _settle(page)
    text = alert.inner_text()
    assert "[x](http://example.com)" in text and "Showing the last valid model" in text
    assert alert.locator("a, img").count() == 0 and not remote
    assert _params_metric(page) == "7,978,856"
    page.locator('[data-testid="stImage"] img').first.wait_for()
    _settle(page)
    _shot(page, "hostile-url")
    page.goto(f"{server}/overview?blocks=6,12,32,32&theme=dark")
    page.get_by_text("14,149,480").first.wait_for()
    page.locator('[data-testid="stImage"] img').first.wait_for()
    _settle(page)
    assert page.get_by_role("combobox", name="Model").input_value() == "densenet169"
    assert page.get_by_text("Page not found").count() == 0
    _shot(page, "overview-densenet169-dark")
    context.close()


def test_state_lives_in_the_url_and_survives_page_switches(server: str, browser: object) -> None:
    """Picking a preset writes its fields into the address bar (a fresh browser reopens it);
    a page's own choices (bound to the URL or kept for the session) outlive a page switch."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(server)
    page.get_by_text("7,978,856").first.wait_for()
    _settle(page)
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="densenet169").click()
    page.get_by_text("14,149,480").first.wait_for()
    _settle(page)
    # Streamlit rewrites the address with history.replaceState, which page.url does not see.
    address = page.evaluate("location.href")
    assert "blocks=6%2C12%2C32%2C32" in address
    fresh = browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    other = fresh.new_page()
    other.goto(address)
    other.get_by_text("14,149,480").first.wait_for(timeout=90_000)
    assert other.get_by_role("combobox", name="Model").input_value() == "densenet169"
    fresh.close()

    # The Layers page's filter (kept for the session) and the Diagram's view (in the URL).
    page.locator('[data-testid="stSidebarNav"] a', has_text="Layers").click()
    page.get_by_label("Filter by name").fill("denseblock4")
    page.get_by_label("Filter by name").press("Enter")
    _settle(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Diagram").click()
    page.locator("svg.densevis-diagram g.node.block").first.wait_for()
    page.locator('g.node[id="features.denseblock3"]').click()
    page.locator("svg.densevis-diagram[data-view=block]").wait_for()
    _settle(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Layers").click()
    _settle(page)
    assert page.get_by_label("Filter by name").input_value() == "denseblock4"
    page.locator('[data-testid="stSidebarNav"] a', has_text="Diagram").click()
    page.locator("svg.densevis-diagram[data-view=block]").wait_for()
    assert page.locator("g.node.dense-layer").count() == 32  # densenet169's block 3
    assert "blocks=6%2C12%2C32%2C32" in page.evaluate("location.href")
    context.close()
