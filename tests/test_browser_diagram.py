"""The interactive Diagram page in Debian's chromium: click a block in the overview to open
it, click H12 to select it (its 12 sources and 13 consumers highlighted, its panel shown),
read a link's tooltip, double-click into the dense-layer view, go back by the breadcrumbs,
and reopen the URL in a fresh browser context to find the same view."""

from __future__ import annotations

import pathlib

import pytest
from test_browser import _settle, _shot, browser, server  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.browser

LAYER = "features.denseblock3.denselayer"
X0 = "features.transition2.pool"  # the op whose output is block 3's input x0
OUTPUT = "features.denseblock3.output"


def _ids(page: object, selector: str) -> set[str]:
    return set(page.locator(selector).evaluate_all("els => els.map(e => e.id)"))  # type: ignore[attr-defined]


def _edges(page: object, source: str | None, target: str) -> object:
    """The drawn edges from node ``source`` (any when None) to node ``target``: paths name
    their ends by node index (data-s, data-t)."""
    ids = page.locator("svg.densevis-diagram g.node").evaluate_all(  # type: ignore[attr-defined]
        "els => els.map(e => e.id)")
    match = f'[data-t="{ids.index(target)}"]'
    if source is not None:
        match += f'[data-s="{ids.index(source)}"]'
    return page.locator(f"path.edge{match}")  # type: ignore[attr-defined]


def _open(browser: object, url: str) -> object:  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(url)
    return page


def _check_selection(page: object) -> None:
    """H12 selected: x0 and H1..H11 are its inputs, H13..H24 and the output its consumers."""
    page.locator(f'g.node.focus[id="{LAYER}12"]').wait_for()  # type: ignore[attr-defined]
    assert _ids(page, "g.node.input") == {X0, *(f"{LAYER}{i}" for i in range(1, 12))}
    assert _ids(page, "g.node.consumer") == {*(f"{LAYER}{i}" for i in range(13, 25)), OUTPUT}
    assert page.locator("path.edge.on").count() == 12 + 13  # type: ignore[attr-defined]
    page.get_by_text("H12 of block 3").wait_for()  # type: ignore[attr-defined]
    page.get_by_text("608 input channels", exact=False).wait_for()  # type: ignore[attr-defined]
    page.get_by_text("weight 32×128×3×3", exact=False).wait_for()  # type: ignore[attr-defined]


def test_browse_the_network_by_touching_it(server: str, browser: object) -> None:  # noqa: F811
    page = _open(browser, f"{server}/diagram")
    page.locator("svg.densevis-diagram[data-view=overview]").wait_for()
    _settle(page)

    # Overview -> block 3 by clicking its box.
    page.locator('g.node[id="features.denseblock3"]').click()
    page.locator("svg.densevis-diagram[data-view=block]").wait_for()
    assert page.locator(f'g.node.dense-layer[id^="{LAYER}"]').count() == 24
    assert page.locator("path.edge.link").count() == 300
    crumbs = page.locator(".dv-crumbs > :not(.sep)").all_inner_texts()
    assert crumbs == ["densenet121", "block 3"]
    _settle(page)

    # Click H12: inputs and consumers highlighted in the browser, the panel from Python.
    page.locator(f'g.node[id="{LAYER}12"]').click()
    _check_selection(page)
    _settle(page)
    assert "highlight=denseblock3.denselayer12" in page.url and "block=3" in page.url
    _shot(page, "diagram-selected")

    # Hover the longest link (x0 -> output, the topmost arc) at its peak: its tooltip.
    page.get_by_role("button", name="fit").click()
    path = _edges(page, X0, OUTPUT)
    peak = path.evaluate("""p => {
        const at = p.getPointAtLength(p.getTotalLength() / 2).matrixTransform(p.getScreenCTM());
        return [at.x, at.y]; }""")
    page.mouse.move(peak[0] - 20, peak[1] + 20)
    page.mouse.move(*peak)
    tip = page.locator(".dv-tip")
    tip.wait_for()
    assert tip.inner_text() == "x0 → output: 256 channels"

    # The same URL in a fresh context shows the same view and selection.
    again = _open(browser, page.url)
    again.locator("svg.densevis-diagram[data-view=block]").wait_for()
    _check_selection(again)
    again.context.close()

    # Double-click H12: the dense-layer view; the breadcrumb goes back to block 3.
    page.locator(f'g.node[id="{LAYER}12"]').dblclick()
    page.locator("svg.densevis-diagram[data-view=layer]").wait_for()
    concat = f"{LAYER}12.concat"
    assert _edges(page, None, concat).count() == 12  # type: ignore[attr-defined]
    _settle(page)
    page.locator(".dv-crumbs a", has_text="block 3").click()
    page.locator("svg.densevis-diagram[data-view=block]").wait_for()
    page.context.close()


def test_the_panel_shows_a_loaded_checkpoints_weights(server: str, browser: object,  # noqa: F811
                                                      tmp_path: pathlib.Path) -> None:
    """Upload a densenet-bc-100 state_dict on the Weights page, go to the Diagram through the
    page menu, select block 2's H5: the panel names the file and gives conv1's mean |W|,
    min and max as torch computes them; without a checkpoint it says random init."""
    import torch

    from densevis import build_model

    torch.manual_seed(0)
    state = build_model("densenet-bc-100", "cpu").state_dict()
    for value in state.values():
        if value.is_floating_point():
            value.add_(torch.randn_like(value) * 0.1)
    torch.save(state, tmp_path / "bc100.pth")
    conv1 = state["features.denseblock2.denselayer5.conv1.weight"]
    numbers = (conv1.abs().mean().item(), conv1.min().item(), conv1.max().item())
    expected = ("weight: mean |W| {:.3g}, min {:.3g}, max {:.3g}".format(*numbers)
                .replace("-", "−"))

    page = _open(browser, f"{server}/diagram?model=densenet-bc-100&view=Dense+block&block=2"
                          "&highlight=denseblock2.denselayer5")
    page.get_by_text("H5 of block 2").wait_for()
    page.get_by_text("Random init — load a checkpoint on the Weights page").wait_for()
    assert page.get_by_text("mean |W|").count() == 0

    page.locator('[data-testid="stSidebarNav"] a', has_text="Weights").click()
    upload = page.locator('input[type="file"]')
    upload.wait_for(state="attached")
    _settle(page)
    upload.set_input_files(str(tmp_path / "bc100.pth"))
    page.get_by_text("Loaded 596 tensors from bc100.pth").wait_for()
    _settle(page)

    page.locator('[data-testid="stSidebarNav"] a', has_text="Diagram").click()
    page.locator("svg.densevis-diagram[data-view=block]").wait_for()
    page.locator('g.node[id="features.denseblock2.denselayer5"]').click()
    page.get_by_text("H5 of block 2").wait_for()
    page.get_by_text("Weights: bc100.pth, loaded on the Weights page").wait_for()
    item = page.locator("li", has_text="conv1 conv").locator("li")
    assert item.inner_text() == expected
    _settle(page)
    _shot(page, "diagram-weights")
    page.context.close()
