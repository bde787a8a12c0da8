"""Weights: load a checkpoint safely, the paper's feature-reuse heat map (Figure 5), and the
memory cost of concatenation, analytic and measured."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from densevis.app.state import config_key, current, needs_config, require_trace
from densevis.app.widgets import show_figure
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.reuse import FeatureReuse

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

UPLOAD_LIMIT_MB = 512
CONFIG_FROM = {"file": "read from the file", "inferred": "inferred from the tensor shapes",
               "argument": "as given"}


@st.cache_resource(show_spinner=False, max_entries=8)
def _random_reuse(key: str) -> FeatureReuse:
    """Heat map of a freshly initialised model of this config (cached per config)."""
    import json

    from densevis.config import DenseNetConfig
    from densevis.model import build_model
    from densevis.reuse_measure import feature_reuse

    config = DenseNetConfig.from_dict(json.loads(key))
    return feature_reuse(build_model(config, "cpu"))


def render() -> None:
    trace = require_trace()
    if trace is None or needs_config(trace, "The weights page (checkpoints, feature reuse)"):
        return
    state = current()
    st.title("Weights and feature reuse")
    upload = st.file_uploader(
        f"Load a DenseNet state_dict (.pth, .pt or .safetensors; up to {UPLOAD_LIMIT_MB} MB)",
        type=["pth", "pt", "bin", "safetensors"], key="weights_upload",
        max_upload_size=UPLOAD_LIMIT_MB)
    reuse = None
    if upload is not None:
        reuse = _load(upload)
    if reuse is None:
        st.info("No checkpoint loaded: showing the current config with random weights, which "
                "show no learned reuse (each column is uniform; columns differ only by their "
                "initialisation scale). Load torchvision's trained densenet121 file to see "
                "the paper's Figure 5.")
        with st.spinner("Initialising weights…"):
            reuse = _random_reuse(config_key(trace.config))
        _offer_download()
    _show_reuse(reuse, state.theme)
    _show_memory(trace, state.device, state.theme)


def _load(upload: UploadedFile) -> FeatureReuse | None:
    from densevis.reuse_measure import feature_reuse
    from densevis.weights import load_checkpoint

    if upload.size > UPLOAD_LIMIT_MB * 1024**2:
        st.error(f"{upload.name} is {upload.size / 1024**2:.0f} MB, over the "
                 f"{UPLOAD_LIMIT_MB} MB limit.")
        return None
    try:
        with st.spinner(f"Loading {upload.name} (weights only, no pickled code)…"):
            loaded = load_checkpoint(upload.getvalue(), name=upload.name, device="cpu",
                                     max_bytes=UPLOAD_LIMIT_MB * 1024**2)
            reuse = feature_reuse(loaded)
    except DenseVisError as problem:
        st.error(str(problem))
        return None
    config = loaded.config
    st.success(
        f"Loaded {loaded.tensors} tensors from {upload.name}; config "
        f"{CONFIG_FROM.get(loaded.config_from, loaded.config_from)}: "
        f"k = {config.growth_rate}, blocks {config.block_config}, "
        f"{config.num_init_features} initial features, bn_size {config.bn_size}, "
        f"{config.num_classes} classes"
        + (f"; renamed {loaded.renamed_legacy_keys} legacy keys"
           if loaded.renamed_legacy_keys else ""))
    for note in loaded.notes:
        st.caption(note)
    return reuse


def _offer_download() -> None:
    from densevis.weights import TORCHVISION_URLS

    with st.expander("Download torchvision's trained weights (needs internet)"):
        name = st.selectbox("Model", list(TORCHVISION_URLS), key="weights_download_model")
        st.caption(TORCHVISION_URLS[name])
        if st.button("Download", key="weights_download"):
            from pathlib import Path

            from densevis.weights import download_torchvision_weights

            try:
                with st.spinner("Downloading…"):
                    path = download_torchvision_weights(
                        name, Path.home() / ".cache" / "densevis")
                st.success(f"Saved to {path}; upload it above.")
            except (DenseVisError, OSError) as problem:
                st.error(f"Download failed: {problem}")


def _show_reuse(reuse: FeatureReuse, theme: str) -> None:
    from densevis.render.reuse_charts import reuse_heatmap_chart
    from densevis.reuse import REUSE_NOTE

    st.subheader("Feature reuse (the paper's Figure 5)")
    left, right = st.columns([1, 2])
    block = left.selectbox("Block", [b.block for b in reuse.blocks], key="weights_block")
    normalize = right.radio("Scale", ["none", "column"], horizontal=True,
                            key="weights_normalize",
                            format_func={"none": "as is",
                                         "column": "each column to its maximum"}.get)
    show_figure(reuse_heatmap_chart(reuse, block=block, theme=theme, normalize=normalize),
                key="weights_heatmap")
    st.caption(REUSE_NOTE)
    st.download_button("Heat map values (JSON)", reuse.to_json(), file_name="reuse.json",
                       mime="application/json", key="weights_json",
                       on_click="ignore")


def _show_memory(trace: Trace, device: str, theme: str) -> None:
    from densevis.memory import MemoryReport, concat_memory
    from densevis.render.memory_charts import memory_chart

    st.subheader("Memory of concatenation")
    st.caption("Naive: every concatenation allocates a new tensor, so memory grows with L². "
               "Memory-efficient (Pleiss et al. 2017): shared storage and recomputation, "
               "linear in L. Analytic figures come from the trace.")
    batch = st.number_input("Batch size", 1, 1024, 8, key="weights_batch")
    analytic = concat_memory(trace, int(batch))
    measured = st.session_state.get("weights_measured", {}).get((config_key(trace.config),
                                                                 int(batch), device))
    if st.button("Measure on the device (a few training steps)", key="weights_measure"):
        from densevis.memory_measure import measure_memory

        try:
            with st.spinner("Running training steps both ways…"):
                measured = measure_memory(trace.config, int(batch), device)
            st.session_state.setdefault("weights_measured", {})[
                (config_key(trace.config), int(batch), device)] = measured
        except DenseVisError as problem:
            st.error(str(problem))
    show_figure(memory_chart(MemoryReport(analytic, measured), theme=theme),
                key="weights_memory")
