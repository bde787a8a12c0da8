"""The Streamlit app through streamlit.testing: every page renders without an exception,
the URL (Streamlit's query-param binding) opens a config and follows changes, bad input shows
the reason in plain text and keeps the last valid model, and an upload is loaded once."""

from __future__ import annotations

import io
import pathlib
import re
import time

import pytest
import torch
from streamlit.testing.v1 import AppTest

import densevis
from densevis.app.launch import OPTIONS, UPLOAD_LIMIT_MB
from densevis.app.pages import PAGES
from densevis.app.sidebar import LABELS
from densevis.config import get_config
from densevis.devices import available_devices
from densevis.spec import SPEC_KEYS

ROOT = pathlib.Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TITLES = {"overview": "densenet121", "diagram": "Diagram", "connectivity": "Connectivity",
          "channels": "Channel growth", "layers": "Layers", "compare": "Compare",
          "latency": "Latency", "weights": "Weights and feature reuse", "export": "Export"}
TIMEOUT = 120


def _run(query: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    if page is not None:
        app.switch_page(f"densevis/app/{page}.py").run()
    return app


def _metric(app: AppTest, label: str) -> str:
    for metric in app.metric:
        if metric.label == label:
            return metric.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in app.metric]}")


CODE_SPAN = r"(`+) (.*?) \1"


def _unescaped(markdown: str) -> str:
    """The text a reader sees of markdown whose user text plain() put in code spans."""
    return re.sub(CODE_SPAN, r"\2", markdown)


def _outside_code(markdown: str) -> str:
    """What markdown would interpret: everything outside code spans."""
    return re.sub(CODE_SPAN, "", markdown)


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
    assert "| Dense block 3 | 14x14 | 24 | 256 | 1,024 | 2,837,760 | 549,126,144 |" in facts
    assert ":material/error:" not in facts
    assert app.sidebar.selectbox(key="model").value == "densenet121"
    assert dict(app.query_params) == {}  # the default config needs no query parameters


def test_every_field_has_a_label_and_the_pages_match_the_menu() -> None:
    assert list(LABELS) == list(SPEC_KEYS)
    assert [slug for _, slug, _ in PAGES] == list(TITLES)


@pytest.mark.parametrize("page", list(TITLES))
def test_every_page_renders(page: str) -> None:
    app = _run({"k": "24"}, page=page)
    _no_errors(app)
    expected = "k=24, blocks 6-12-24-16" if page == "overview" else TITLES[page]
    assert app.title[0].value == expected
    assert app.sidebar.text_input(key="k").value == "24"  # the sidebar outlives the switch


def test_fields_and_the_model_box_follow_each_other() -> None:
    app = _run()
    app.sidebar.text_input(key="k").set_value("12").run()
    _no_errors(app)
    assert _metric(app, "Parameters") == "1,448,376"
    assert app.sidebar.selectbox(key="model").value == "custom"
    # (the URL follows typed values in the browser: tests/test_browser.py)
    app.sidebar.text_input(key="k").set_value("32").run()
    assert app.sidebar.selectbox(key="model").value == "densenet121"  # equal again
    app.sidebar.selectbox(key="model").set_value("densenet169").run()
    assert _metric(app, "Parameters") == "14,149,480"
    assert app.sidebar.text_input(key="blocks").value == "6,12,32,32"
    assert app.query_params["blocks"] == "6,12,32,32"
    app.sidebar.text_input(key="blocks").set_value("6,12,48,32").run()
    assert app.sidebar.selectbox(key="model").value == "densenet201"  # named when equal


def test_query_parameters_open_a_config() -> None:
    app = _run({"k": "24", "blocks": "6,12,32,32", "theta": "0.5"})
    _no_errors(app)
    assert app.sidebar.text_input(key="k").value == "24"
    assert app.sidebar.text_input(key="blocks").value == "6,12,32,32"
    config = get_config("densenet121", growth_rate=24, block_config=(6, 12, 32, 32))
    assert _metric(app, "Parameters") == f"{densevis.trace(config).totals.params:,}"
    preset = _run({"model": "densenet-bc-100", "k": "24"})  # a preset under the fields
    assert preset.sidebar.text_input(key="stem").value == "cifar"
    assert preset.sidebar.text_input(key="blocks").value == "16,16,16"
    assert preset.query_params["blocks"] == "16,16,16" and "model" not in preset.query_params
    assert preset.query_params["k"] == "24" and "bn" not in preset.query_params  # bn 4 = default


def test_url_choices_open_as_typed_and_unknown_ones_say_so() -> None:
    app = _run({"theme": "print", "device": "cpu"})
    _no_errors(app)
    assert app.sidebar.selectbox(key="theme").value == "print"  # the value, not its title
    assert not app.sidebar.warning
    unknown = _run({"theme": "neon", "device": "tpu"})
    _no_errors(unknown)
    said = [_unescaped(warning.value) for warning in unknown.sidebar.warning]
    devices = available_devices()
    assert said == [f"?device=tpu is not one of {', '.join(devices)}; showing {devices[0]}.",
                    "?theme=neon is not one of match app, light, dark, transparent, "
                    "transparent-dark, print; showing match app."]
    assert unknown.sidebar.selectbox(key="theme").value == "match app"


@pytest.mark.parametrize(("query", "reason"), [
    ({"theta": "5"}, "compression must be in (0, 1], got 5.0"),
    ({"classes": "1e8"}, "cannot read 'classes=1e8'"),
    ({"k": "-3"}, "growth rate must be a positive integer, got -3"),
    ({"k": "99999", "blocks": "[x](http://example.com)"}, "cannot read 'blocks=[x](http:"),
    ({"blocks": "200,200,200,200", "k": "128"}, "over this server's"),
])
def test_refused_values_say_why_and_keep_the_last_valid_model(
        query: dict[str, str], reason: str) -> None:
    app = _run(query)
    assert not app.exception
    shown = app.sidebar.error[0].value
    assert reason in _unescaped(shown)
    assert "Showing the last valid model, densenet121" in _unescaped(shown)
    assert "](" not in _outside_code(shown)  # user text cannot become a link or an image
    assert _metric(app, "Parameters") == "7,978,856"  # the last valid config stays
    assert app.sidebar.selectbox(key="model").value == "custom"
    app.sidebar.text_input(key="k").set_value("12").run()  # fixing k alone is not enough...
    if set(query) <= {"k"}:
        assert not app.sidebar.error and _metric(app, "Parameters") == "1,448,376"


def test_measure_latency_feeds_the_layers_table() -> None:
    app = _run({"blocks": "16,16,16", "init": "24", "k": "12", "classes": "10", "size": "32",
                "stem": "cifar"}, page="latency")
    assert app.sidebar.selectbox(key="model").value == "densenet-bc-100"
    app.number_input(key="latency_repeats").set_value(2)
    app.number_input(key="latency_warmup").set_value(1)
    app.button(key="latency_measure").click().run()
    _no_errors(app)
    labels = [metric.label for metric in app.metric]
    assert "End-to-end (no hooks)" in labels and "Unattributed" in labels
    assert len(app.get("plotly_chart")) >= 2  # per-layer latency and roofline
    verdicts = [box.value for box in [*app.success, *app.warning] if "Timings " in box.value]
    assert len(verdicts) == 1 and verdicts[0].startswith(("Timings stable", "Timings noisy"))
    app.switch_page("densevis/app/layers.py").run()  # the measurement feeds the Layers page
    _no_errors(app)
    assert app.title[0].value == "Layers"
    frame = app.dataframe[0].value
    traced = densevis.trace("densenet-bc-100")
    assert list(frame["layer"]) == [op.name.removeprefix("features.") for op in traced.ops]
    assert frame["latency (ms)"].notna().all() and (frame["latency (ms)"] > 0).all()
    assert "latency (measured)" in app.radio(key="layers_metric").options


def test_diagram_search_picks_block_and_layer() -> None:
    app = _run(page="diagram")
    app.text_input(key="diagram_search").set_value("3.12").run()
    _no_errors(app)
    assert app.selectbox(key="block").value == 3
    assert app.selectbox(key="layer").value == 12
    assert app.selectbox(key="highlight").value == "denseblock3.denselayer12"
    app.selectbox(key="block").set_value(1).run()  # the search no longer pins it
    assert app.selectbox(key="block").value == 1
    assert app.selectbox(key="layer").value == 1  # layer 12 does not exist in block 1
    app.text_input(key="diagram_search").set_value("[x](http://example.com)").run()
    assert "No dense layer matches" in app.warning[0].value
    assert "](" not in _outside_code(app.warning[0].value)


def test_the_diagram_draws_a_view_once_for_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page file is re-executed on every run, the drawing cache is not: the overview
    draws its four blocks ahead in the background, so opening block 3, selecting a layer and
    rerunning draw nothing more; the dense-layer view draws once."""
    import threading

    import densevis.app.canvas
    import densevis.render.interactive
    from densevis.app.cache import ByteCache

    drawn: list[str] = []
    to_svg = densevis.render.interactive.to_svg
    monkeypatch.setattr(densevis.render.interactive, "to_svg", lambda layout, *args, **kwargs:
                        drawn.append(layout.name) or to_svg(layout, *args, **kwargs))
    monkeypatch.setattr(densevis.app.canvas, "DRAWINGS", ByteCache(2**26, 8, len))
    app = _run(page="diagram")
    for thread in threading.enumerate():
        if thread.name == "densevis-draw-ahead":
            thread.join(60)
    assert sorted(drawn) == ["block1", "block2", "block3", "block4", "overview"]
    app.segmented_control(key="view").set_value("block").run()
    app.selectbox(key="block").set_value(3).run()
    app.selectbox(key="highlight").set_value("denseblock3.denselayer12").run()
    app.run()
    _no_errors(app)
    assert len(drawn) == 5
    app.segmented_control(key="view").set_value("layer").run()
    assert drawn[5:] == ["layer_b3_l12"]


def test_connectivity_slices_come_from_the_trace() -> None:
    app = _run(page="connectivity")
    app.selectbox(key="connect_block").set_value(2).run()
    app.select_slider(key="connect_layer").set_value(4).run()
    _no_errors(app)
    frame = app.dataframe[0].value
    assert list(frame["slice"]) == ["0:128", "128:160", "160:192", "192:224"]


def test_compare_takes_custom_configs_and_refuses_bad_ones() -> None:
    app = _run(page="compare")
    app.multiselect(key="compare_rates").set_value([12, 24]).run()
    app.text_area(key="compare_custom").set_value("k=24 blocks=6,12,32,32\n").run()
    _no_errors(app)
    frame = app.dataframe[0].value
    assert list(frame["k"]) == [12, 24, 24]
    assert list(frame["params"])[:2] == [1_448_376, 4_743_180]
    app.text_area(key="compare_custom").set_value("k=24 depth=3").run()
    assert not app.exception
    assert "line 1: cannot read 'depth=3'" in _unescaped(app.error[0].value)


def test_a_checkpoint_is_loaded_once_per_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    import densevis.weights

    calls = []
    load = densevis.weights.load_checkpoint
    monkeypatch.setattr(densevis.weights, "load_checkpoint",
                        lambda *args, **kwargs: calls.append(1) or load(*args, **kwargs))
    buffer = io.BytesIO()
    torch.save(densevis.build_model("densenet-bc-100", "cpu").state_dict(), buffer)
    app = _run(page="weights")
    app.file_uploader(key="weights_upload").set_value(
        ("bc[1](http://x).pth", buffer.getvalue(), "application/octet-stream")).run()
    _no_errors(app)
    assert "Loaded 596 tensors from bc[1](http://x).pth" in _unescaped(app.success[0].value)
    app.radio(key="weights_normalize").set_value("column").run()
    app.selectbox(key="weights_block").set_value(2).run()
    assert calls == [1] and app.success  # three runs, one load


def test_a_loaded_checkpoint_feeds_the_diagram_panel_until_let_go() -> None:
    """Weights page upload -> the Diagram panel names the file and shows mean |W| of conv1
    (torch's value), but not for another config; back on the Weights page the checkpoint is
    still shown (the uploader forgot its file); "Use random weights" lets it go and the
    panel says random init."""
    torch.manual_seed(0)
    state = densevis.build_model("densenet-bc-100", "cpu").state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    conv1 = state["features.denseblock1.denselayer2.conv1.weight"]
    app = _run({"model": "densenet-bc-100"}, page="weights")
    app.file_uploader(key="weights_upload").set_value(
        ("bc.pth", buffer.getvalue(), "application/octet-stream")).run()
    app.switch_page("densevis/app/diagram.py").run()
    app.segmented_control(key="view").set_value("block").run()
    app.selectbox(key="highlight").set_value("denseblock1.denselayer2").run()
    _no_errors(app)
    assert any("Weights: ` bc.pth `, loaded on the Weights page" in c.value for c in app.caption)
    assert f"weight: mean |W| {conv1.abs().mean().item():.3g}," in app.markdown[-1].value
    app.text_input(key="k").set_value("24").run()  # another config: not its weights
    app.selectbox(key="highlight").set_value("denseblock1.denselayer2").run()
    assert any("(` bc.pth ` is loaded, for densenet-bc-100)" in c.value for c in app.caption)
    assert "mean |W|" not in app.markdown[-1].value
    app.switch_page("densevis/app/weights.py").run()
    assert "Showing ` bc.pth `, loaded earlier" in app.success[0].value
    app.button(key="weights_forget").click().run()
    assert not app.success
    app.switch_page("densevis/app/diagram.py").run()
    assert any(c.value.startswith("Random init — load a checkpoint") for c in app.caption)


def test_one_upload_limit_everywhere() -> None:
    assert OPTIONS["server.maxUploadSize"] == str(UPLOAD_LIMIT_MB)
    assert f"up to {UPLOAD_LIMIT_MB} MB" in (ROOT / "README.md").read_text()
    app = _run(page="weights")
    assert f"up to {UPLOAD_LIMIT_MB} MB" in app.file_uploader(key="weights_upload").label


def test_the_memory_budget_waits_then_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from densevis.app import budget
    from densevis.errors import DenseVisError

    monkeypatch.setattr(budget, "BUDGET", 100)
    monkeypatch.setattr(budget, "WAIT_S", 0.2)
    with pytest.raises(DenseVisError, match="needs about 101 B, over this server's 100 B"):
        budget.check_fits(101, "this model")
    with budget.reserve(60, "first"):
        assert budget.held() == 60
        with pytest.raises(DenseVisError, match="the server is busy: second needs 60 B"), \
                budget.reserve(60, "second"):
            pass
        with budget.reserve(40, "third"):  # what fits does not wait
            assert budget.held() == 100
    monkeypatch.setattr(budget, "WAIT_S", 10.0)
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with budget.reserve(60, "other session"):
            holding.set()
            time.sleep(0.3)
        done.set()

    threading.Thread(target=hold).start()
    holding.wait(5)
    with budget.reserve(60, "waiting session"):  # waits for the other one to finish
        assert done.is_set() and budget.held() == 60
    assert budget.held() == 0


def test_the_caches_are_bounded_by_bytes() -> None:
    from densevis.app.cache import ByteCache

    cache: ByteCache[bytes] = ByteCache(max_bytes=10, max_entries=100, size_of=len)
    made: list[str] = []
    for key in ("a", "b", "c"):
        cache.get(key, lambda key=key: made.append(key) or b"12345")
    assert len(cache) == 2 and cache.bytes == 10 and "a" not in cache  # "a" went first
    cache.get("b", lambda: b"never made")
    cache.get("a", lambda: made.append("a again") or b"12345")
    assert made == ["a", "b", "c", "a again"]
    assert cache.get("huge", lambda: b"x" * 11) == b"x" * 11 and "huge" not in cache


@pytest.mark.parametrize("blocks", [(6, 12, 24, 16), (200,)])
def test_a_traces_weight_in_the_cache_follows_its_memory(blocks: tuple[int, ...]) -> None:
    """The trace cache weighs a trace by counting ops and links; the oracle is tracemalloc
    on a fresh copy of the trace (every object it holds allocated anew)."""
    import gc
    import pickle
    import tracemalloc

    import densevis
    from densevis.app.traces import trace_bytes

    trace = densevis.trace(densevis.get_config("densenet121", block_config=blocks,
                                               growth_rate=4), device="cpu")
    data = pickle.dumps(trace)
    gc.collect()
    tracemalloc.start()
    copy = pickle.loads(data)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert copy == trace
    assert held <= trace_bytes(trace) <= 1.5 * held  # an upper bound, not far above


def test_compared_diagrams_wrap_into_even_rows_instead_of_hiding() -> None:
    """Four configs too wide for one row at a readable scale go two and two; two fit in one."""
    from densevis.app.compare import _FIT_WIDTH, _MIN_SCALE, _arrangement

    assert _arrangement([500.0, 520.0]) == (2, 1.0)
    per_row, factor = _arrangement([700.0, 750.0, 800.0, 900.0])
    assert per_row == 2 and factor >= _MIN_SCALE
    assert factor * (800 + 900 + 18) <= _FIT_WIDTH


def test_tracing_reserves_what_the_tracer_allocates() -> None:
    """The app reserves for a trace what the tracer holds against its cap (weights and one
    probe-sized pass), not the full-size activations: one byte less is refused."""
    import densevis
    from densevis.app import budget

    config = densevis.get_config("densenet-bc-100")
    needed = budget.bytes_to_trace(config)
    assert needed < budget.bytes_for(config)
    assert densevis.trace(config, device="cpu", max_memory=needed).totals.params == 769_162
    with pytest.raises(densevis.DenseVisError, match="over the"):
        densevis.trace(config, device="cpu", max_memory=needed - 1)


def test_a_value_being_made_is_made_once() -> None:
    """Sessions asking for a value another session is making wait for it (one trace of a
    config, not one per session); when the maker fails, the waiter makes its own."""
    import threading
    import time

    from densevis.app.cache import ByteCache

    cache: ByteCache[str] = ByteCache(max_bytes=100, max_entries=10, size_of=len)
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(value: str) -> str:
        calls.append(value)
        started.set()
        release.wait(5)
        if value == "fails":
            raise RuntimeError("maker failed")
        return value

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", lambda: slow("v"))))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.get("k", lambda: "again")))
    second.start()
    time.sleep(0.2)  # the second caller is inside get(); without waiting it would make "again"
    release.set()
    first.join(5)
    second.join(5)
    assert (calls, results) == (["v"], ["v", "v"])

    started.clear()
    release.clear()
    failed: list[str] = []

    def failing() -> None:
        try:
            cache.get("bad", lambda: slow("fails"))
        except RuntimeError as problem:
            failed.append(str(problem))

    maker = threading.Thread(target=failing)
    maker.start()
    started.wait(5)
    waiter = threading.Thread(target=lambda: results.append(cache.get("bad", lambda: "own")))
    waiter.start()
    time.sleep(0.2)
    release.set()
    maker.join(5)
    waiter.join(5)
    assert (failed, results[-1], "bad" in cache) == (["maker failed"], "own", False)
