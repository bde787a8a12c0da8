"""The app's state, kept by Streamlit: the sidebar's fields are widgets bound to the URL
(their keys are spec.SPEC_KEYS, so ?k=24&blocks=6,12,32,32 opens that model) and outlive
page switches; each run turns them into one validated, frozen config."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from densevis.app import budget
from densevis.config import DEFAULT_PRESET, PRESETS, DenseNetConfig, estimate_memory, named
from densevis.errors import DenseVisError
from densevis.spec import SPEC_KEYS, parse_config_spec, spec_text
from densevis.usermodule import ModuleSpec

KEEP = "session"  # persist_state for page widgets: their values survive page switches


@dataclass(frozen=True)
class Current:
    """This run's state: the config shown (the last valid one when the fields are refused,
    with the reason in ``error``), or the module `densevis app --module` opened."""

    config: DenseNetConfig | None
    device: str
    theme: str
    error: str | None
    module: ModuleSpec | None = None

    @property
    def source(self) -> DenseNetConfig | ModuleSpec:
        return self.module if self.module is not None else self.config  # type: ignore[return-value]


def config_from_fields(labels: dict[str, str]) -> tuple[DenseNetConfig, str | None]:
    """The config the fields spell, or the last valid one and why the fields are refused."""
    texts = {key: "".join(str(st.session_state.get(key) or "").split()) for key in SPEC_KEYS}
    try:
        if empty := [labels[key] for key, text in texts.items() if not text]:
            raise DenseVisError(f"{empty[0]} is empty")
        config = named(parse_config_spec(" ".join(f"{k}={t}" for k, t in texts.items())))
        budget.check_fits(estimate_memory(config).total_bytes, config.label)
    except DenseVisError as problem:
        return st.session_state.get("_last_valid", PRESETS[DEFAULT_PRESET]), str(problem)
    st.session_state["_last_valid"] = config
    return config, None


def fill_from_preset() -> None:
    """The Model box changed: its preset fills the fields (Streamlit writes them to the URL)."""
    preset = PRESETS.get(st.session_state["model"])
    for key in SPEC_KEYS if preset else ():
        if st.session_state.get(key) != spec_text(preset, key):  # the URL keeps the rest
            st.session_state[key] = spec_text(preset, key)


def start_session() -> None:
    """A session's first run: fields the URL leaves out come from the preset it names
    (?model=densenet169: what differs from the default goes into the URL), else the default."""
    params, default = st.query_params, PRESETS[DEFAULT_PRESET]
    base = PRESETS.get(params.get("model", ""), default)
    for key in SPEC_KEYS:
        if key not in params:
            st.session_state[key] = spec_text(base, key)
            if spec_text(base, key) != spec_text(default, key):  # the rest need no words
                params[key] = st.session_state[key]
    params.pop("model", None)


def keep(state: Current) -> Current:
    """Keep this run's state for current()."""
    st.session_state["_current"] = state
    return state


def current() -> Current:
    """The state the sidebar produced in this run."""
    return st.session_state["_current"]
