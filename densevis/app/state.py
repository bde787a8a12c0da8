"""What every page shares. Streamlit keeps the state: the sidebar's fields are widgets bound
to the URL (their keys are spec.SPEC_KEYS, so ?k=24&blocks=6,12,32,32 opens that model) and
outlive page switches; traces are cached for the whole server, keyed on the frozen config."""

from __future__ import annotations

import contextlib
import os
import pickle
import re
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from densevis.app import budget
from densevis.app.cache import ByteCache
from densevis.config import DEFAULT_PRESET, PRESETS, DenseNetConfig, estimate_memory
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render.registry import FIGURE_THEMES, MATCH_APP, THEME_TITLES
from densevis.spec import SPEC_KEYS, parse_config_spec
from densevis.usermodule import ModuleSpec

Source = DenseNetConfig | ModuleSpec  # what a trace is made from: a config or a custom module

CUSTOM = "custom"
LABELS = {"k": "Growth rate k", "blocks": "Block config (dense layers per block)",
          "init": "Initial features", "bn": "Bottleneck width bn_size (0 = none)",
          "theta": "Compression θ in (0, 1]", "size": "Input size (224 or HxW)",
          "classes": "Classes", "stem": "Stem (imagenet or cifar)"}
IN_VIEW = ("k", "blocks")  # the other fields sit in "More settings"
TRACES: ByteCache[Trace] = ByteCache(256 * 2**20, 256,  # a trace takes ~5x its pickle
                                     lambda trace: 5 * len(pickle.dumps(trace)))


@dataclass(frozen=True)
class Current:
    """This run's state: the config shown (the last valid one when the fields are refused),
    or the custom module `densevis app --module` opened the app on."""

    config: DenseNetConfig | None
    device: str
    theme: str
    error: str | None
    module: ModuleSpec | None = None

    @property
    def source(self) -> Source:
        return self.module if self.module is not None else self.config  # type: ignore[return-value]


def plain(text: object) -> str:
    """User text as a markdown code span: shown as typed, never a link, image, HTML or
    directive (the fence is longer than any run of backticks inside)."""
    words = " ".join(str(text).split())
    fence = "`" * (max(map(len, re.findall("`+", words)), default=0) + 1)
    return f"{fence} {words} {fence}"


def field_text(config: DenseNetConfig, key: str) -> str:
    """A config field as the sidebar and the URL write it (SPEC_KEYS syntax)."""
    value = getattr(config, SPEC_KEYS[key][0])
    if key == "size":
        return str(value[0]) if value[0] == value[1] else "x".join(map(str, value))
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def named(config: DenseNetConfig) -> DenseNetConfig:
    """The preset the config equals (so it carries its name), else the config as custom."""
    plain_config = replace(config, name=CUSTOM)
    return next((p for p in PRESETS.values() if replace(p, name=CUSTOM) == plain_config),
                plain_config)


def config_from_state() -> DenseNetConfig:
    """The validated config the sidebar's fields spell (DenseVisError says what is wrong)."""
    texts = {key: "".join(str(st.session_state.get(key) or "").split()) for key in SPEC_KEYS}
    for key, text in texts.items():
        if not text:
            raise DenseVisError(f"{LABELS[key]} is empty")
    config = named(parse_config_spec(" ".join(f"{k}={t}" for k, t in texts.items())))
    budget.check_fits(estimate_memory(config).total_bytes, config.label)
    return config


def _fill_from_preset() -> None:
    """The Model box changed: its preset fills the fields (and so the URL)."""
    preset = PRESETS.get(st.session_state["model"])
    for key in SPEC_KEYS if preset else ():
        if st.session_state.get(key) != field_text(preset, key):  # the URL keeps the rest
            st.session_state[key] = field_text(preset, key)


def _start_session() -> None:
    """A session's first run: fields the URL leaves out come from the preset it names
    (?model=densenet169), else the default; a named preset's fields go into the URL."""
    params = st.query_params
    base = PRESETS.get(params.get("model", ""), PRESETS[DEFAULT_PRESET])
    for key in SPEC_KEYS:
        if key not in params:
            st.session_state[key] = field_text(base, key)
            if "model" in params:
                params[key] = st.session_state[key]
    params.pop("model", None)


@st.cache_resource(show_spinner=False)
def devices() -> list[str]:
    from densevis.devices import available_devices

    return available_devices()


def custom_module() -> ModuleSpec | None:
    """The module `densevis app --module ...` opened the app on, if any."""
    from densevis.app.launch import MODULE_ENV

    text = os.environ.get(MODULE_ENV)
    with contextlib.suppress(DenseVisError):
        return ModuleSpec.from_json(text) if text else None
    return None


def _device_and_theme(bar: Any) -> tuple[str, str]:
    bar.selectbox("Device", devices(), key="device", bind="query-params",
                  help="Where models are built and timed; cuda and mps appear when present.")
    bar.selectbox("Figure theme", FIGURE_THEMES, key="theme", bind="query-params",
                  format_func=lambda name: THEME_TITLES.get(name, name),
                  help="Diagrams, charts and exports; “match app” follows the app's own "
                       "light or dark theme (Settings in the app menu).")
    return st.session_state["device"], figure_theme(st.session_state["theme"])


def _module_sidebar(bar: Any, module: ModuleSpec) -> Current:
    """The sidebar for a custom module: what it is, device and theme; no config fields."""
    bar.text_input("Model", "custom module", disabled=True, key="custom_module_label",
                   help="Opened with `densevis app --module`; its dense blocks are found from "
                        "the data flow.")
    bar.caption(plain(module.label) + (f" · {plain(module.args)}" if module.args else "") +
                (f" · weights {plain(module.checkpoint.rsplit('/', 1)[-1])}"
                 if module.checkpoint else " · random weights"))
    return Current(None, *_device_and_theme(bar), None, module=module)


def sidebar() -> Current:
    """Draw the sidebar and keep this run's state for current() (call once per run)."""
    module = custom_module()
    if module is not None:
        st.session_state["_current"] = _module_sidebar(st.sidebar, module)
        return st.session_state["_current"]
    if "model" not in st.session_state:
        _start_session()
    bar = st.sidebar
    model_box = bar.container()
    for key in IN_VIEW:
        bar.text_input(LABELS[key], None, key=key, bind="query-params", max_chars=400)
    with bar.expander("More settings"):
        for key in (key for key in SPEC_KEYS if key not in IN_VIEW):
            st.text_input(LABELS[key], None, key=key, bind="query-params", max_chars=400)
    device, theme = _device_and_theme(bar)
    try:
        config, error = config_from_state(), None
        st.session_state["_last_valid"] = config
    except DenseVisError as problem:
        config = st.session_state.get("_last_valid", PRESETS[DEFAULT_PRESET])
        error = str(problem)
        bar.error(f"{plain(error)}  \nShowing the last valid model, {plain(config.label)}.")
    st.session_state["model"] = config.name if error is None else CUSTOM
    model_box.selectbox("Model", [*PRESETS, CUSTOM], key="model", on_change=_fill_from_preset,
                        help="A preset fills the fields below; it reads custom once they "
                             "differ from every preset.")
    state = Current(config, device, theme, error)
    st.session_state["_current"] = state
    return state


def figure_theme(choice: str) -> str:
    """The theme figures are drawn in: the choice, or for "match app" Streamlit's own
    light/dark theme (light while the browser has not said)."""
    if choice != MATCH_APP:
        return choice
    return "dark" if st.context.theme.type == "dark" else "light"


def current() -> Current:
    """The state the sidebar produced in this run."""
    return st.session_state["_current"]


def trace_of(source: Source, device: str = "cpu") -> Trace:
    """The trace of a config (or custom module), cached for the server per source and device."""
    from densevis.tracer import trace
    from densevis.usermodule import trace_module_spec

    def make() -> Trace:
        with budget.reserve(budget.bytes_for(source), f"tracing {_label(source)}"):
            if isinstance(source, ModuleSpec):
                return trace_module_spec(source, device)
            return trace(source, device=device)

    return TRACES.get((source, device), make)


def _label(source: Source) -> str:
    return source.label if isinstance(source, DenseNetConfig) else "the custom module"


def source_of(trace: Trace) -> Source:
    """What a trace was made from: its config, or the custom module the app was opened on."""
    if trace.config is not None:
        return trace.config
    module = current().module
    assert module is not None, "a custom trace without a module"
    return module


def needs_config(trace: Trace, what: str) -> bool:
    """True (after saying so) when a page needs a DenseNet config and this is a custom module."""
    if trace.config is not None:
        return False
    st.info(f"{what} needs a DenseNet config; {trace.model} is a custom module "
            "(`densevis app --module`). The overview, diagrams, connectivity, channels, layers, "
            "latency and export pages work on it.")
    return True


def needs_blocks(trace: Trace) -> bool:
    """True (after saying so) when the trace has no dense block for this page to show."""
    if trace.blocks:
        return False
    st.info(f"No dense blocks found in {trace.model}: this page shows dense blocks. The "
            "overview, the layer table and latency still apply.")
    return True


def with_growth_rate(config: DenseNetConfig, growth_rate: int) -> DenseNetConfig:
    """The config with another k (named after a preset when it equals one)."""
    return config if growth_rate == config.growth_rate else named(
        config.replace(growth_rate=growth_rate))


def latency_for(config: Source) -> dict[str, float] | None:
    """Per-op median latency (ms) measured in this session for this config, if any."""
    profile = st.session_state.get("profiles", {}).get(config)
    return profile.latency_ms() if profile is not None else None


def store_profile(config: Source, profile: Any) -> None:
    st.session_state.setdefault("profiles", {})[config] = profile


def require_trace() -> Trace | None:
    """The current trace, or None after telling the user why there is none."""
    state = current()
    with st.spinner(f"Tracing {_label(state.source)}…"):
        try:
            return trace_of(state.source, state.device)
        except DenseVisError as problem:
            st.error(plain(problem))
            return None
