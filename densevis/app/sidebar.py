"""The sidebar every page shares: the Model box, the config fields (bound to the URL), the
device and the figure theme; or, for a module opened with `densevis app --module`, what it is."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import streamlit as st

from densevis.app.state import Current, config_from_fields, fill_from_preset, keep, start_session
from densevis.app.text import plain
from densevis.config import PRESETS
from densevis.errors import DenseVisError
from densevis.render.registry import FIGURE_THEMES, MATCH_APP, THEME_TITLES
from densevis.spec import SPEC_KEYS
from densevis.usermodule import ModuleSpec

CUSTOM = "custom"  # the Model box when the fields equal no preset
LABELS = {"k": "Growth rate k", "blocks": "Block config (dense layers per block)",
          "init": "Initial features", "bn": "Bottleneck width bn_size (0 = none)",
          "theta": "Compression θ in (0, 1]", "size": "Input size (224 or HxW)",
          "classes": "Classes", "stem": "Stem (imagenet or cifar)"}
IN_VIEW = ("k", "blocks")  # the other fields sit in "More settings"


def sidebar() -> Current:
    """Draw the sidebar and keep this run's state for current() (call once per run)."""
    module = custom_module()
    if module is not None:
        return keep(_module_sidebar(st.sidebar, module))
    if "model" not in st.session_state:
        start_session()
    bar = st.sidebar
    model_box = bar.container()
    for key in IN_VIEW:
        bar.text_input(LABELS[key], None, key=key, bind="query-params", max_chars=400)
    with bar.expander("More settings"):
        for key in (key for key in SPEC_KEYS if key not in IN_VIEW):
            st.text_input(LABELS[key], None, key=key, bind="query-params", max_chars=400)
    device, theme = _device_and_theme(bar)
    config, error = config_from_fields(LABELS)
    if error is not None:
        bar.error(f"{plain(error)}  \nShowing the last valid model, {plain(config.label)}.")
    st.session_state["model"] = config.name if error is None else CUSTOM
    model_box.selectbox("Model", [*PRESETS, CUSTOM], key="model", on_change=fill_from_preset,
                        help="A preset fills the fields below; it reads custom once they "
                             "differ from every preset.")
    return keep(Current(config, device, theme, error))


def _device_and_theme(bar: Any) -> tuple[str, str]:
    choices = {"device": devices(), "theme": FIGURE_THEMES}
    for key, options in choices.items():
        asked = st.query_params.get(key)
        if asked is not None and asked not in options:  # Streamlit drops it from the URL
            bar.warning(f"{plain(f'?{key}={asked}')} is not one of {', '.join(options)}; "
                        f"showing {st.session_state.get(key, options[0])}.")
    bar.selectbox("Device", choices["device"], key="device", bind="query-params",
                  help="Where models are built and timed; cuda and mps appear when present.")
    # The options are shown as they are: a bound selectbox reads and writes the URL in its
    # shown words, so titles here made a typed ?theme=print count as no choice at all.
    bar.selectbox("Figure theme", choices["theme"], key="theme", bind="query-params",
                  help="Diagrams, charts and exports; “match app” follows the app's own "
                       "light or dark theme (Settings in the app menu). " + "; ".join(
                           f"{name}: {title}" for name, title in THEME_TITLES.items()
                           if title != name) + ".")
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


def figure_theme(choice: str) -> str:
    """The theme figures are drawn in: the choice, or for "match app" Streamlit's own
    light/dark theme (light while the browser has not said)."""
    if choice != MATCH_APP:
        return choice
    return "dark" if st.context.theme.type == "dark" else "light"


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
