"""Compare in a real browser: k = 12 and 48 side by side on one channel scale, the URL that
shares the comparison, and screenshots of the page in the light, dark and print themes
(saved to tests/artifacts/; the README's pictures in assets/ come from them)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from tests.test_browser import ARTIFACTS, _settle, browser, server

pytestmark = pytest.mark.browser
__all__ = ["browser", "server"]  # fixtures shared with tests/test_browser.py

COMPARE = "/compare?compare_rates=12&compare_rates=48&compare_view=dense+block+1"
_NODE_WIDTHS = """frame => [...frame.querySelectorAll('.compare-config')].map(config => ({
    name: config.dataset.config,
    widest: Math.max(...[...config.querySelectorAll('g.node path, g.node polygon')]
                         .map(shape => shape.getBoundingClientRect().width)),
    output: config.querySelector('g.node[id="features.denseblock1.output"] path')
                  .getBoundingClientRect().width}))"""


@pytest.fixture()
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1500, "height": 3200},  # type: ignore[attr-defined]
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    yield page
    context.close()


def _diagrams(page: object) -> object:
    frame = page.frame_locator("iframe[title='the compared diagrams']")  # type: ignore[attr-defined]
    frame.locator(".compare-config").nth(1).locator("g.node").first.wait_for()
    _settle(page)
    return frame


def test_compare_draws_k12_and_k48_on_one_channel_scale(server: str, page: object) -> None:
    page.goto(server + COMPARE)  # type: ignore[attr-defined]
    frame = _diagrams(page)
    k12, k48 = frame.locator("body").evaluate(_NODE_WIDTHS)
    assert (k12["name"], k48["name"]) == ("k=12", "k=48")
    # block 1 of densenet121's blocks: k0 = 64, output 64 + 6k = 136 and 352 channels
    ratio = (64 + 6 * 48) / (64 + 6 * 12)
    assert k48["widest"] / k12["widest"] == pytest.approx(ratio, rel=0.02)
    assert k48["output"] / k12["output"] == pytest.approx(ratio, rel=0.02)
    # the table and the legend name the configs, and the URL holds the comparison
    assert page.get_by_text("k=48", exact=True).count() >= 1  # type: ignore[attr-defined]
    assert "compare_rates=12&compare_rates=48" in page.url  # type: ignore[attr-defined]
    # "export this view": both configs in one SVG, on the same scale as the screen
    with page.expect_download() as download:  # type: ignore[attr-defined]
        page.get_by_role("button", name="SVG", exact=True).click()  # type: ignore[attr-defined]
    assert download.value.suggested_filename == "densenet121-compare-k12-k48-block1.svg"
    svg = pathlib.Path(download.value.path()).read_text()
    assert svg.startswith("<?xml") and svg.count('id="c1/features.denseblock1.output"') == 1
    assert 'id="c2/features.denseblock1.output"' in svg


def test_compare_highlights_the_same_layer_in_each(server: str, page: object) -> None:
    page.goto(server + COMPARE + "&compare_layer=3")  # type: ignore[attr-defined]
    frame = _diagrams(page)
    focused = frame.locator("g.node.focus")
    assert focused.count() == 2
    assert {focused.nth(i).get_attribute("id") for i in range(2)} == {
        "features.denseblock1.denselayer3"}


@pytest.mark.parametrize("scheme, theme", [("light", "match+app"), ("dark", "match+app"),
                                           ("light", "print")])
def test_compare_screenshots(server: str, browser: object, scheme: str, theme: str) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 2600},  # type: ignore[attr-defined]
                                  color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(server + "/compare?compare_rates=12&compare_rates=48&compare_presets=densenet169"
              f"&compare_view=dense+block+1&compare_layer=3&theme={theme}")
    frame = _diagrams(page)
    background = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    expected = {"light": "rgb(255, 255, 255)", "dark": "rgb(23, 22, 20)"}[scheme]
    assert background == expected  # the figures' backdrop follows the app's theme
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = "print" if theme == "print" else scheme
    page.screenshot(path=str(ARTIFACTS / f"compare-{name}.png"))
    context.close()
