"""What every page shares: the sidebar controls, the URL query parameters that mirror them,
and cached traces. Pages call ``current()`` and read records; they compute nothing else."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import streamlit as st

from densevis.config import DEFAULT_PRESET, PRESETS, DenseNetConfig, get_config
from densevis.errors import DenseVisError
from densevis.memory_cap import check_memory
from densevis.records import Trace
from densevis.render.registry import FIGURE_THEMES, MATCH_APP, THEME_TITLES
from densevis.spec import parse_blocks, parse_input_size
from densevis.usermodule import ModuleSpec

Source = DenseNetConfig | ModuleSpec  # what a trace is made from: a config or a custom module

CUSTOM = "custom"

# session key -> (query parameter, parse from text, format as text)
_FIELDS: dict[str, tuple[str, Any, Any]] = {
    "preset": ("model", str, str),
    "growth_rate": ("k", int, str),
    "blocks": ("blocks", str, str),
    "init_features": ("init", int, str),
    "bn_size": ("bn", int, str),
    "compression": ("theta", float, lambda v: f"{v:g}"),
    "input_size": ("size", str, str),
    "num_classes": ("classes", int, str),
    "device": ("device", str, str),
    "theme": ("theme", str, str),
}


@dataclass(frozen=True)
class Current:
    """The sidebar's state after validation: config is None when the input was refused."""

    config: DenseNetConfig | None
    device: str
    theme: str
    error: str | None
    module: ModuleSpec | None = None  # `densevis app --module ...`: the config is not used

    @property
    def source(self) -> Source | None:
        return self.module if self.module is not None else self.config


def custom_module() -> ModuleSpec | None:
    """The module `densevis app --module ...` opened the app on, if any."""
    from densevis.app.launch import MODULE_ENV

    text = os.environ.get(MODULE_ENV)
    if not text:
        return None
    with contextlib.suppress(DenseVisError):
        return ModuleSpec.from_json(text)
    return None


def _preset_fields(name: str) -> dict[str, Any]:
    config = PRESETS[name]
    return {
        "growth_rate": config.growth_rate,
        "blocks": ",".join(str(n) for n in config.block_config),
        "init_features": config.num_init_features,
        "bn_size": config.bn_size,
        "compression": float(config.compression),
        "input_size": "x".join(str(v) for v in config.input_size)
        if config.input_size[0] != config.input_size[1] else str(config.input_size[0]),
        "num_classes": config.num_classes,
    }


@st.cache_resource(show_spinner=False)
def devices() -> list[str]:
    from densevis.devices import available_devices

    return available_devices()


def initialise() -> None:
    """First run of a session: defaults, then whatever the URL says. Later runs: restore any
    sidebar value Streamlit dropped with its widget (it does so around page switches)."""
    if st.session_state.get("_initialised"):
        kept = st.session_state.get("_kept", {})
        for key, value in kept.items():
            if key not in st.session_state:
                st.session_state[key] = value
        return
    state = st.session_state
    state["preset"] = DEFAULT_PRESET
    state.update(_preset_fields(DEFAULT_PRESET))
    state["device"] = "cpu"
    state["theme"] = MATCH_APP
    params = st.query_params
    state["_wanted_page"] = params.get("page")
    preset = params.get("model")
    if preset in PRESETS:
        state["preset"] = preset
        state.update(_preset_fields(preset))
    for key, (name, parse, _) in _FIELDS.items():
        if key == "preset" or name not in params:
            continue
        # a mangled URL value keeps the default; the sidebar shows what is used
        with contextlib.suppress(ValueError):
            state[key] = parse(params[name])
    state["growth_rate"] = min(max(int(state["growth_rate"]), 1), 128)
    if state["theme"] not in FIGURE_THEMES:
        state["theme"] = MATCH_APP
    state["_initialised"] = True


def _on_preset_change() -> None:
    name = st.session_state["preset"]
    if name in PRESETS:
        st.session_state.update(_preset_fields(name))


def _config_from_state() -> DenseNetConfig:
    state = st.session_state
    preset = state["preset"] if state["preset"] in PRESETS else DEFAULT_PRESET
    base = get_config(preset)
    fields = {
        "growth_rate": int(state["growth_rate"]),
        "block_config": parse_blocks(state["blocks"]),
        "num_init_features": int(state["init_features"]),
        "bn_size": int(state["bn_size"]),
        "compression": float(state["compression"]),
        "input_size": parse_input_size(state["input_size"]),
        "num_classes": int(state["num_classes"]),
    }
    changed = {key: value for key, value in fields.items() if getattr(base, key) != value}
    config = base.replace(**changed) if changed else base
    check_memory(config)
    return config


def sidebar() -> Current:
    """Draw the sidebar controls and return the validated state (call once per run)."""
    initialise()
    bar = st.sidebar
    module = custom_module()
    if module is not None:
        return _module_sidebar(bar, module)
    bar.selectbox("Model", [*PRESETS, CUSTOM], key="preset", on_change=_on_preset_change,
                  help="A preset fills the fields below; change any field for a custom net.")
    bar.slider("Growth rate k", 1, 128, key="growth_rate",
               help="Channels each dense layer adds.")
    bar.text_input("Block config", key="blocks", help="Dense layers per block, e.g. 6,12,24,16")
    error: str | None = None
    with bar.expander("More settings"):
        st.number_input("Initial features", min_value=1, max_value=4096, key="init_features")
        st.number_input("Bottleneck width bn_size (0 = none)", min_value=0, max_value=64,
                        key="bn_size")
        st.number_input("Compression θ", min_value=0.0, max_value=2.0, step=0.05,
                        key="compression", help="In (0, 1]; 0.5 halves channels at transitions.")
        st.text_input("Input size", key="input_size", help="224 or HxW, e.g. 224x192")
        st.number_input("Classes", min_value=1, max_value=100_000, key="num_classes")
    _device_and_theme(bar)
    try:
        config = _config_from_state()
    except DenseVisError as problem:
        config, error = None, str(problem)
        bar.error(error)
    _write_query_params()
    st.session_state["_kept"] = {key: st.session_state[key] for key in _FIELDS}
    return Current(config=config, device=st.session_state["device"],
                   theme=figure_theme(st.session_state["theme"]), error=error)


def _device_and_theme(bar: Any) -> None:
    if st.session_state["device"] not in devices():  # e.g. a shared URL naming cuda
        st.session_state["device"] = "cpu"
    bar.selectbox("Device", devices(), key="device",
                  help="Where models are built and timed; cuda and mps appear when present.")
    bar.selectbox("Figure theme", FIGURE_THEMES, key="theme",
                  format_func=lambda name: THEME_TITLES.get(name, name),
                  help="Diagrams, charts and exports; “match app” follows the app's own "
                       "light or dark theme (Settings in the app menu).")


def _module_sidebar(bar: Any, module: ModuleSpec) -> Current:
    """The sidebar for a custom module: what it is, device and theme; no config fields."""
    bar.text_input("Model", "custom module", disabled=True, key="custom_module_label",
                   help="Opened with `densevis app --module`; its dense blocks are found from "
                        "the data flow.")
    bar.caption(f"`{module.label}`" + (f" · {module.args}" if module.args else "") +
                (f" · weights {module.checkpoint.rsplit('/', 1)[-1]}" if module.checkpoint
                 else " · random weights"))
    _device_and_theme(bar)
    st.session_state["_kept"] = {key: st.session_state[key] for key in _FIELDS}
    return Current(config=None, device=st.session_state["device"],
                   theme=figure_theme(st.session_state["theme"]), error=None, module=module)


def figure_theme(choice: str) -> str:
    """The theme figures are drawn in: the choice, or for "match app" Streamlit's own
    light/dark theme (light while the browser has not said)."""
    if choice != MATCH_APP:
        return choice
    return "dark" if st.context.theme.type == "dark" else "light"


def _write_query_params() -> None:
    state = st.session_state
    params = {name: fmt(state[key]) for key, (name, _, fmt) in _FIELDS.items()}
    page = state.get("_page")
    if page:
        params["page"] = page
    for name, value in params.items():  # only the sidebar's own: pages bind theirs
        if st.query_params.get(name) != value:
            st.query_params[name] = value


@st.cache_resource(show_spinner=False, max_entries=64)
def _trace_cached(config_json: str, device: str) -> Trace:
    from densevis.tracer import trace

    source = source_of_key(config_json)
    if isinstance(source, ModuleSpec):
        from densevis.usermodule import trace_module_spec

        return trace_module_spec(source, device)
    return trace(source, device=device)


def config_key(config: Source) -> str:
    """A stable text key for a config or a custom module (cache keys, session storage)."""
    import json

    if isinstance(config, ModuleSpec):
        return "module:" + config.to_json()
    return json.dumps(config.to_dict(), sort_keys=True)


def source_of_key(key: str) -> Source:
    """Inverse of config_key."""
    import json

    if key.startswith("module:"):
        return ModuleSpec.from_json(key.removeprefix("module:"))
    return DenseNetConfig.from_dict(json.loads(key))


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
    """The config with another k (the same config, and its preset name, when k is unchanged)."""
    if growth_rate == config.growth_rate:
        return config
    return config.replace(growth_rate=growth_rate)


def trace_of(config: Source, device: str = "cpu") -> Trace:
    """The trace of a config (or custom module), cached per source and device (records are
    immutable)."""
    return _trace_cached(config_key(config), device)


def latency_for(config: Source) -> dict[str, float] | None:
    """Per-op median latency (ms) measured in this session for this config, if any."""
    profile = st.session_state.get("profiles", {}).get(config_key(config))
    return profile.latency_ms() if profile is not None else None


def store_profile(config: Source, profile: Any) -> None:
    st.session_state.setdefault("profiles", {})[config_key(config)] = profile


def current() -> Current:
    """The state the sidebar produced in this run."""
    return st.session_state["_current"]


def require_trace() -> Trace | None:
    """The current trace, or None after telling the user why there is none."""
    state = current()
    if state.source is None:
        st.warning(f"Fix the model settings in the sidebar to see this page: {state.error}")
        return None
    label = state.config.label if state.config is not None else "the custom module"
    with st.spinner(f"Tracing {label}…"):
        try:
            return trace_of(state.source, state.device)
        except DenseVisError as problem:
            st.error(str(problem))
            return None
