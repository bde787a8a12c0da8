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
