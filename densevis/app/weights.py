"""Weights: load a checkpoint safely, the paper's feature-reuse heat map (Figure 5), and the
memory cost of concatenation, analytic and measured."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from densevis.app import budget
from densevis.app.launch import UPLOAD_LIMIT_MB
from densevis.app.state import current
from densevis.app.text import plain
from densevis.app.traces import needs_config, require_trace
from densevis.app.widgets import show_figure
from densevis.config import DenseNetConfig, estimate_memory
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.reuse import FeatureReuse
from densevis.weight_stats import WeightStats

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

LOADED = "weights_loaded"  # session state: (upload's file_id, its reuse or None, messages)
STATS = "weight_stats"  # session state: the loaded checkpoint's WeightStats, for the Diagram
CONFIG_FROM = {"file": "read from the file", "inferred": "inferred from the tensor shapes",
               "argument": "as given"}


@st.cache_resource(show_spinner=False, max_entries=8)
def _random_reuse(config: DenseNetConfig) -> FeatureReuse:
    """Heat map of a freshly initialised model of this config (cached per config)."""
    from densevis.model import build_model
    from densevis.reuse_measure import feature_reuse

    with budget.reserve(estimate_memory(config).state_bytes, f"building {config.label}"):
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
        max_upload_size=UPLOAD_LIMIT_MB, on_change=_upload_changed)
    reuse = _loaded(upload) if upload is not None else _kept()
    if reuse is None:
        st.info("No checkpoint loaded: showing the current config with random weights, which "
                "show no learned reuse (each column is uniform; columns differ only by their "
                "initialisation scale). Load torchvision's trained densenet121 file to see "
                "the paper's Figure 5.")
        with st.spinner("Initialising weights…"):
            reuse = _random_reuse(trace.config)
        _offer_download()
    _show_reuse(reuse, state.theme)
    _show_memory(trace, state.device, state.theme)


def _loaded(upload: UploadedFile) -> FeatureReuse | None:
    """The upload's feature reuse, loaded once per uploaded file (reruns reuse it); its weight
    statistics are kept for the Diagram page's panel."""
    kept = st.session_state.get(LOADED)
    if kept is None or kept[0] != upload.file_id:
        file_id, (reuse, stats, messages) = upload.file_id, _load(upload)
        kept = st.session_state[LOADED] = (file_id, reuse, messages)
        st.session_state[STATS] = stats
    _, reuse, messages = kept
    for kind, text in messages:
        getattr(st, kind)(text)
    return reuse


def _kept() -> FeatureReuse | None:
    """The checkpoint loaded earlier in this session (the uploader forgets its file when the
    page is left; the loaded weights stay until the user lets them go)."""
    kept = st.session_state.get(LOADED)
    stats: WeightStats | None = st.session_state.get(STATS)
    if kept is None or kept[1] is None or stats is None:
        return None
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.success(f"Showing {plain(stats.source)}, loaded earlier in this session; upload "
                 "another file to replace it.")
    right.button("Use random weights", on_click=_forget, key="weights_forget", width="stretch")
    return kept[1]


def _forget() -> None:
    for key in (LOADED, STATS):
        st.session_state.pop(key, None)


def _upload_changed() -> None:
    """The user removed the uploaded file: the weights go with it."""
    if st.session_state.get("weights_upload") is None:
        _forget()


def _load(upload: UploadedFile
          ) -> tuple[FeatureReuse | None, WeightStats | None, list[tuple[str, str]]]:
    """Load a checkpoint; its reuse and weight statistics (None when refused) and the
    messages to show."""
    from densevis.reuse_measure import feature_reuse, weight_stats
    from densevis.weights import load_checkpoint

    name = plain(upload.name)
    limit = UPLOAD_LIMIT_MB * 1024**2
    if upload.size > limit:
        return None, None, [("error", f"{name} is {upload.size / 1024**2:.0f} MB, over the "
                                f"{UPLOAD_LIMIT_MB} MB limit.")]
    try:  # the file, the tensors and the model together: about three times its size
        with budget.reserve(3 * upload.size, f"loading {upload.name}"), \
                st.spinner(f"Loading {name} (weights only, no pickled code)…"):
            loaded = load_checkpoint(upload.getvalue(), name=upload.name, device="cpu",
                                     max_bytes=limit)
            reuse, stats = feature_reuse(loaded), weight_stats(loaded)
    except DenseVisError as problem:
        return None, None, [("error", plain(problem))]
    config = loaded.config
    renamed = loaded.renamed_legacy_keys
    summary = (f"Loaded {loaded.tensors} tensors from {name}; config "
               f"{CONFIG_FROM.get(loaded.config_from, loaded.config_from)}: "
               f"k = {config.growth_rate}, blocks {config.block_config}, "
               f"{config.num_init_features} initial features, bn_size {config.bn_size}, "
               f"{config.num_classes} classes"
               + (f"; renamed {renamed} legacy keys" if renamed else ""))
    notes = [("caption", plain(note)) for note in loaded.notes]
    return reuse, stats, [("success", summary), *notes]


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
                st.error(f"Download failed: {plain(problem)}")


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
    key = (trace.config, int(batch), device)
    measured = st.session_state.get("weights_measured", {}).get(key)
    if st.button("Measure on the device (a few training steps)", key="weights_measure"):
        from densevis.memory_measure import measure_memory

        try:
            needed = estimate_memory(trace.config, int(batch)).total_bytes * 3
            with budget.reserve(needed, "the memory measurement"), \
                    st.spinner("Running training steps both ways…"):
                measured = measure_memory(trace.config, int(batch), device)
            st.session_state.setdefault("weights_measured", {})[key] = measured
        except DenseVisError as problem:
            st.error(plain(problem))
    show_figure(memory_chart(MemoryReport(analytic, measured), theme=theme),
                key="weights_memory")


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
