"""Exports in the browser: the Export page shows only the pickers a view uses, names its
files after what they hold, and writes the DPI asked into the PNG."""

from __future__ import annotations

import io
import pathlib

import pytest
from test_browser import _settle, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _labels(page: object) -> set[str]:
    """The labels of the widgets on the page."""
    return set(page.locator('[data-testid="stWidgetLabel"]').all_inner_texts())  # type: ignore[attr-defined]


def test_export_page(server: str, browser: object, tmp_path: pathlib.Path) -> None:  # noqa: F811
    from PIL import Image

    context = browser.new_context(viewport={"width": 1440, "height": 900},  # type: ignore[attr-defined]
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{server}/export")
    page.get_by_role("button", name="LaTeX", exact=True).wait_for()  # the last section
    _settle(page)
    assert {"Block", "Layer"}.isdisjoint(_labels(page))  # the overview uses neither
    assert page.get_by_role("button", name="Latex", exact=True).count() == 0
    page.get_by_text("Preview of densenet121-k32-overview.* (PNG at 150 dpi)").wait_for()

    page.get_by_role("radio", name="Dense layer").click()
    page.get_by_text("Preview of densenet121-k32-block1-layer1.* (PNG at 150 dpi)").wait_for()
    _settle(page)
    assert {"Block", "Layer"} <= _labels(page)
    page.get_by_role("radio", name="300 dpi").click()
    page.get_by_text("Preview of densenet121-k32-block1-layer1.* (PNG at 300 dpi)").wait_for()
    _settle(page)
    with page.expect_download() as caught:
        page.get_by_role("button", name="PNG", exact=True).first.click()
    download = caught.value
    assert download.suggested_filename == "densenet121-k32-block1-layer1.png"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    with Image.open(io.BytesIO(target.read_bytes())) as image:
        assert round(image.info["dpi"][0]) == 300
    context.close()


def test_export_what_the_diagram_shows(server: str, browser: object,  # noqa: F811
                                       tmp_path: pathlib.Path) -> None:
    """Select H12 on the Diagram page, export SVG from its menu: the file marks the same
    nodes as the page (focus, inputs, consumers) and is named after what it holds."""
    import xml.etree.ElementTree as ET

    context = browser.new_context(viewport={"width": 1440, "height": 900},  # type: ignore[attr-defined]
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{server}/diagram")
    page.locator("svg.densevis-diagram[data-view=overview]").wait_for()
    _settle(page)
    page.locator('g.node[id="features.denseblock3"]').click()
    page.locator("svg.densevis-diagram[data-view=block]").wait_for()
    _settle(page)
    layer = "features.denseblock3.denselayer12"
    page.locator(f'g.node[id="{layer}"]').click()
    page.locator(f'g.node.focus[id="{layer}"]').wait_for()
    _settle(page)
    on_page = {state: set(page.locator(f"svg.densevis-diagram g.node.{state}").evaluate_all(
        "els => els.map(e => e.id)")) for state in ("focus", "input", "consumer")}
    assert on_page["focus"] == {layer} and len(on_page["input"]) == 12

    page.get_by_role("button", name="Export this view").click()
    with page.expect_download() as caught:
        page.get_by_role("button", name="SVG", exact=True).click()
    download = caught.value
    assert download.suggested_filename == "densenet121-k32-block3-highlight3.12.svg"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    in_file: dict[str, set[str]] = {"focus": set(), "input": set(), "consumer": set()}
    for group in ET.parse(target).getroot().iter("{http://www.w3.org/2000/svg}g"):
        classes = (group.get("class") or "").split()
        for state in in_file:
            if "node" in classes and state in classes:
                in_file[state].add(group.get("id"))
    assert in_file == on_page
    context.close()
