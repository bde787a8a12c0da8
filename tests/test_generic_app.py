"""`densevis app --module ...`: the app opened on a custom module (streamlit.testing). The
sidebar names it "custom module" with no config fields; every page renders or says plainly
what it needs; a broken module is one clear message, never a crash."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from densevis.app.launch import MODULE_ENV
from densevis.cli import main
from densevis.usermodule import ModuleSpec

ROOT = pathlib.Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
FC = ModuleSpec(f"{ROOT / 'examples' / 'fc_densenet.py'}:fc_densenet")
RESNET = ModuleSpec(f"{ROOT / 'examples' / 'resnet.py'}:resnet", input_size="3x40x40")


def _run(monkeypatch: pytest.MonkeyPatch, spec: ModuleSpec, page: str | None = None
         ) -> AppTest:
    monkeypatch.setenv(MODULE_ENV, spec.to_json())
    app = AppTest.from_file(APP, default_timeout=120).run()
    if page:
        app.switch_page(f"densevis/app/{page}.py").run()
    return app


def _page_without_errors(monkeypatch: pytest.MonkeyPatch, spec: ModuleSpec, page: str
                         ) -> AppTest:
    """The page opened on the module, after checking it shows no exception and no error."""
    app = _run(monkeypatch, spec, page)
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def test_sidebar_and_overview_of_a_custom_module(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _run(monkeypatch, FC)
    assert not app.exception and not app.error
    assert app.sidebar.text_input[0].value == "custom module"
    assert app.sidebar.text_input[0].disabled
    labels = [widget.label for widget in app.sidebar.selectbox]
    assert labels == ["Device", "Figure theme"]  # no preset, k or block fields
    assert not app.sidebar.slider
    assert app.title[0].value == "FCDenseNet"
    assert "L = 2, L = 3, L = 4, L = 3, L = 2" in app.caption[0].value
    assert "2 skip/residual joins" in app.caption[0].value


@pytest.mark.parametrize("page", ["diagram", "connectivity", "channels", "layers", "latency",
                                  "export", "compare", "weights"])
def test_every_page_on_a_custom_module(monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    app = _page_without_errors(monkeypatch, FC, page)
    if page in ("compare", "weights"):
        assert "needs a DenseNet config" in app.info[0].value


@pytest.mark.parametrize("page", ["overview", "diagram", "connectivity", "layers", "export"])
def test_a_module_without_dense_blocks(monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    app = _page_without_errors(monkeypatch, RESNET, page)
    if page in ("diagram", "connectivity"):
        assert "No dense blocks found in ResNet" in app.info[0].value
    if page == "overview":
        assert "input 3×40×40" in app.caption[0].value


def test_a_broken_module_is_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _run(monkeypatch, ModuleSpec(FC.spec, args='{"down": 5}'))
    assert not app.exception
    assert "raised TypeError" in app.error[0].value


def test_cli_refuses_a_bad_module_before_serving(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--module", "no/such.py:make"]) == 2
    assert "module file 'no/such.py' does not exist" in capsys.readouterr().err
