"""The Streamlit app through streamlit.testing: every page renders without an exception,
controls change the numbers shown, bad input shows an error, and the URL restores a config."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

import densevis
from densevis.config import get_config

ROOT = pathlib.Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = {"overview": "densenet121", "diagram": "Diagram", "connectivity": "Connectivity",
         "channels": "Channel growth", "layers": "Layers", "compare": "Compare",
         "latency": "Latency", "weights": "Weights and feature reuse", "export": "Export"}
TIMEOUT = 120


def _run(query: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    return app.run()


def _metric(app: AppTest, label: str) -> str:
    for metric in app.metric:
        if metric.label == label:
            return metric.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in app.metric]}")


def _no_errors(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def test_opens_on_densenet121_overview() -> None:
    app = _run()
    _no_errors(app)
    assert app.title[0].value == "densenet121"
    assert _metric(app, "Parameters") == "7,978,856"
    assert _metric(app, "MACs") == "2.83 G"
    facts = " ".join(m.value for m in app.markdown)
    assert (":green[:material/check_circle:] **1 7×7 conv, 58 3×3, 61 1×1, 4 average pools, "
            "1 FC; 120 convolutions**") in facts
    assert facts.count(":green[:material/check_circle:]") == 4
    assert ":material/error:" not in facts
    assert app.query_params["model"] == "densenet121"


@pytest.mark.parametrize("page", list(PAGES)[1:])
def test_every_page_renders(page: str) -> None:
    app = _run({"page": page})
    _no_errors(app)
    assert app.title[0].value == PAGES[page]
    assert app.query_params["page"] == page


def test_growth_rate_and_preset_change_the_parameter_count() -> None:
    app = _run()
    app.sidebar.slider(key="growth_rate").set_value(12).run()
    _no_errors(app)
    assert _metric(app, "Parameters") == "1,448,376"
    assert app.query_params["k"] == "12"
    app.sidebar.selectbox(key="preset").set_value("densenet169").run()
    assert _metric(app, "Parameters") == "14,149,480"
    assert app.sidebar.slider(key="growth_rate").value == 32


def test_invalid_values_show_an_error_and_no_exception() -> None:
    app = _run()
    app.sidebar.text_input(key="blocks").set_value("6,x,24").run()
    assert not app.exception
    assert "block config must be whole numbers" in app.sidebar.error[0].value
    app.sidebar.text_input(key="blocks").set_value("6,12,24,16").run()
    app.sidebar.number_input(key="compression").set_value(0.0).run()
    assert not app.exception
    assert "compression must be in (0, 1]" in app.sidebar.error[0].value
    app.sidebar.number_input(key="compression").set_value(0.5).run()
    app.sidebar.slider(key="growth_rate").set_value(128).run()
    app.sidebar.text_input(key="blocks").set_value("200,200,200,200").run()
    assert not app.exception
    assert "this config needs about" in app.sidebar.error[0].value


def test_query_parameters_restore_a_config() -> None:
    app = _run({"model": "densenet121", "k": "24", "blocks": "6,12,32,32", "theta": "0.5"})
    _no_errors(app)
    assert app.sidebar.slider(key="growth_rate").value == 24
    assert app.sidebar.text_input(key="blocks").value == "6,12,32,32"
    config = get_config("densenet121", growth_rate=24, block_config=(6, 12, 32, 32))
    assert _metric(app, "Parameters") == f"{densevis.trace(config).totals.params:,}"


def test_measure_latency_feeds_the_layers_table() -> None:
    app = _run({"page": "latency", "model": "densenet-bc-100"})
    app.number_input(key="latency_repeats").set_value(2)
    app.number_input(key="latency_warmup").set_value(1)
    app.button(key="latency_measure").click().run()
    _no_errors(app)
    labels = [metric.label for metric in app.metric]
    assert "End-to-end (no hooks)" in labels and "Unattributed" in labels
    assert len(app.get("plotly_chart")) >= 2  # per-layer latency and roofline
    profiles = app.session_state["profiles"]
    assert len(profiles) == 1
    latency = next(iter(profiles.values())).latency_ms()
    traced = densevis.trace("densenet-bc-100")
    assert set(latency) == {layer.name for layer in traced.ops}
    assert all(value > 0 for value in latency.values())
    # The measurement feeds the Layers page: a latency column and a latency cost chart.
    app.session_state["_followed_url"] = False  # as if a URL naming the Layers page
    app.session_state["_wanted_page"] = "layers"
    app.run()
    _no_errors(app)
    assert app.title[0].value == "Layers"
    frame = app.dataframe[0].value
    assert frame["latency (ms)"].notna().all() and (frame["latency (ms)"] > 0).all()
    assert "latency (measured)" in app.radio(key="layers_metric").options


def test_diagram_search_picks_block_and_layer() -> None:
    app = _run({"page": "diagram"})
    app.text_input(key="diagram_search").set_value("3.12").run()
    _no_errors(app)
    assert app.selectbox(key="block").value == 3
    assert app.selectbox(key="layer").value == 12
    assert app.selectbox(key="highlight").value == "denseblock3.denselayer12"
    app.selectbox(key="block").set_value(1).run()  # the search no longer pins it
    assert app.selectbox(key="block").value == 1
    assert app.selectbox(key="layer").value == 1  # layer 12 does not exist in block 1
    app.text_input(key="diagram_search").set_value("nosuchlayer").run()
    assert "No dense layer matches" in app.warning[0].value


def test_connectivity_slices_come_from_the_trace() -> None:
    app = _run({"page": "connectivity"})
    app.selectbox(key="connect_block").set_value(2).run()
    app.select_slider(key="connect_layer").set_value(4).run()
    _no_errors(app)
    frame = app.dataframe[0].value
    assert list(frame["slice"]) == ["0:128", "128:160", "160:192", "192:224"]


def test_compare_takes_custom_configs_and_refuses_bad_ones() -> None:
    app = _run({"page": "compare"})
    app.multiselect(key="compare_rates").set_value([12, 24]).run()
    app.text_area(key="compare_custom").set_value("k=24 blocks=6,12,32,32\n").run()
    _no_errors(app)
    frame = app.dataframe[0].value
    assert list(frame["k"]) == [12, 24, 24]
    assert list(frame["params"])[:2] == [1_448_376, 4_743_180]
    app.text_area(key="compare_custom").set_value("k=24 depth=3").run()
    assert not app.exception
    assert "line 1: cannot read 'depth=3'" in app.error[0].value
