"""Diagram: browse the network by touching it. The overview, a dense block, a dense layer or
the full network drawn inline (densevis.app.canvas): click a block to open it, click a dense
layer to select it (its inputs and consumers highlighted, its ops in a panel), double-click to
open it, breadcrumbs back up. The pickers and the canvas drive the same URL-bound state."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Any

import streamlit as st

from densevis.app.canvas import DRAWING_AHEAD, DRAWINGS, Drawing, canvas
from densevis.app.downloads import diagram_downloads
from densevis.app.state import current
from densevis.app.text import plain
from densevis.app.traces import (
    Source,
    latency_for,
    needs_blocks,
    require_trace,
    source_of,
)
from densevis.app.weights import STATS
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render.interactive import layer_properties, legend, to_svg
from densevis.render.layout import DiagramOptions, layout
from densevis.render.registry import DIRECTIONS, VIEW_TITLES, VIEWS
from densevis.render.theme import get_theme
from densevis.search import find_dense_layer
from densevis.units import format_si
from densevis.weight_stats import WeightStats

SHOW = {"shape": "shapes", "params": "parameters", "macs": "MACs", "latency": "latency"}
COLOR_BY = {"": "nothing", "params": "parameters", "macs": "MACs",
            "activation": "activation memory", "latency": "latency"}
HINTS = {"overview": "click a dense block to open it",
         "block": "click a layer to select it · double-click opens it · wheel zooms, drag pans",
         "full": "click a layer to select it · double-click opens it · wheel zooms, drag pans",
         "layer": "click an input layer to open it · wheel zooms, drag pans"}
CANVAS_HEIGHT = 560  # px
DRAW_AHEAD_LINKS = 20_000  # the overview draws its blocks ahead, up to this many links in all
URL = "query-params"  # every picker below is mirrored in the URL under its key


def _short(name: str | None) -> str:
    return (name or "").removeprefix("features.")


def _place(name: str) -> tuple[int, int]:
    """(block, layer) of 'denseblockB.denselayerL', or of a custom module's dense layer name
    (recorded by ``render``)."""
    known = st.session_state.get("_dense_places", {})
    if name in known:
        return known[name]
    block, layer = name.split(".")
    return int(block.removeprefix("denseblock")), int(layer.removeprefix("denselayer"))


def _on_action() -> None:
    """A click on the canvas: move the pickers (and so the URL) where the user went."""
    state = st.session_state
    action: dict[str, Any] = state["canvas"].get("action") or {}
    kind = action.get("kind")
    if kind == "block":
        state.update(view="block", block=int(action["block"]), highlight="")
    elif kind == "select":
        state["highlight"] = _short(action.get("id"))
        if state["highlight"]:
            state["block"], state["layer"] = _place(state["highlight"])
    elif kind == "layer":
        block, layer = int(action["block"]), int(action["position"])
        state.update(view="layer", block=block, layer=layer,
                     highlight=f"denseblock{block}.denselayer{layer}")
    elif kind == "go":
        state.update({key: action[key] for key in ("view", "block", "layer") if key in action})


def _follow_selection() -> None:
    """The selected-layer picker moved: the block and layer pickers follow it."""
    state = st.session_state
    if state.get("highlight"):
        state["block"], state["layer"] = _place(state["highlight"])


def _open_layer(block: int, layer: int) -> None:
    st.session_state.update(view="layer", block=block, layer=layer)


def _apply_search(trace: Trace) -> None:
    """When the search text changes: select the found layer (its block and layer too)."""
    state = st.session_state
    query = state.get("diagram_search", "")
    found = find_dense_layer(trace, query) if query else None
    state["diagram_search_missing"] = query if query and found is None else None
    if found is not None:
        state["highlight"] = _short(found.name)
        state["block"], state["layer"] = found.block, found.position
        if state.get("view", "overview") == "overview":
            state["view"] = "block"


def _pickers(trace: Trace, latency: dict[str, float] | None
             ) -> tuple[str, int, int, DiagramOptions]:
    """The view pickers above the canvas (all bound to the URL): view, block, layer, and the
    display options (direction, node contents, colour, expand)."""
    top = st.columns([5, 1, 1, 2], vertical_alignment="bottom")
    view = top[0].segmented_control("View", VIEWS, format_func=VIEW_TITLES.get, key="view",
                                    default="overview", bind=URL) or "overview"
    block = top[1].selectbox("Block", [b.index for b in trace.blocks], key="block", bind=URL)
    if st.session_state.get("layer", 1) > trace.block(block).dense_layers:
        st.session_state["layer"] = 1
    layer = top[2].selectbox("Layer", range(1, trace.block(block).dense_layers + 1),
                             key="layer", bind=URL)
    with top[3].popover("Display options", width="stretch"):
        direction = st.segmented_control("Direction", DIRECTIONS, default="LR",
                                         key="direction", bind=URL,
                                         help="LR: left to right; TB: top to bottom.")
        show = st.multiselect("Nodes show", [k for k in SHOW if k != "latency" or latency],
                              default=["shape", "params"], format_func=SHOW.get, key="show",
                              bind=URL)
        color = st.selectbox("Colour by", [k for k in COLOR_BY if k != "latency" or latency],
                             format_func=COLOR_BY.get, key="color", bind=URL)
        expand = st.toggle("Expand ops (full view)", key="expand", bind=URL,
                           help="Show BN/ReLU/conv inside every dense layer.")
    options = DiagramOptions(direction=direction or "LR", show=tuple(show),
                             color_by=color or None, theme=current().theme, expand=expand,
                             latency_ms=latency)
    return view, block, layer, options


def _selection(trace: Trace) -> str:
    """The selected dense layer (URL-bound) and a search that selects one."""
    names = [_short(row.name) for row in trace.dense_layers()]
    highlight = st.selectbox("Selected layer", ["", *names], format_func=lambda n: n or "none",
                             key="highlight", bind=URL, on_change=_follow_selection,
                             help="Its inputs and consumers are highlighted in the diagram.")
    st.text_input("Find a layer", key="diagram_search", on_change=_apply_search,
                  args=(trace,), placeholder="3.12 or denseblock3.denselayer12, then Enter")
    if st.session_state.get("diagram_search_missing"):
        st.warning("No dense layer matches that search; names look like "  # no echo of input
                   "denseblock1.denselayer1 (or 1.1).")
    return highlight


def _key(source: Source, device: str, view: str, block: int, layer: int,
         options: DiagramOptions) -> tuple[object, ...]:
    """A drawing's cache key: the block and layer only where the view shows them."""
    block, layer = (block if view in ("block", "layer") else 1), (layer if view == "layer" else 1)
    return source, device, view, block, layer, options


def _drawing(trace: Trace, source: Source, device: str, view: str, block: int, layer: int,
             options: DiagramOptions) -> Drawing:  # DRAWINGS lives in a module, not this page
    """(inline SVG, why it was simplified, the colour legend) of a view without highlight,
    cached for the server: the browser highlights, so a selection never redraws the SVG."""
    def make() -> Drawing:
        shape = layout(trace, view, block, layer, options)
        return to_svg(shape, options.theme), shape.note, legend(shape, options.theme)

    return DRAWINGS.get(_key(source, device, view, block, layer, options), make)


def _draw_ahead(trace: Trace, source: Source, device: str, options: DiagramOptions) -> None:
    """While the overview is on screen, draw its blocks in a background thread: the likely
    next click finds its block drawn (up to DRAW_AHEAD_LINKS links in all)."""
    blocks, links = [], 0
    for block in trace.blocks:
        links += block.links + block.output_links
        if links > DRAW_AHEAD_LINKS:
            break
        if _key(source, device, "block", block.index, 1, options) not in DRAWINGS:
            blocks.append(block.index)

    def draw() -> None:
        with DRAWING_AHEAD:  # one at a time: a later one finds what an earlier one drew
            for index in blocks:
                with contextlib.suppress(DenseVisError):
                    _drawing(trace, source, device, "block", index, 1, options)

    if blocks:
        threading.Thread(target=draw, name="densevis-draw-ahead", daemon=True).start()


def _crumbs(trace: Trace, view: str, block: int, layer: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"label": trace.model, "go": {"view": "overview"}}]
    if view == "full":
        items.append({"label": "full network", "go": {"view": "full"}})
    if view in ("block", "layer"):
        items.append({"label": f"block {block}", "go": {"view": "block", "block": block}})
    if view == "layer":
        items.append({"label": f"layer {layer}", "go": {}})
    return items


def _panel(trace: Trace, name: str, opener: bool = True) -> None:
    """Netron-style properties of the selected dense layer, and a way into it."""
    block, position = _place(name)
    row = trace.dense_layers(block)[position - 1]
    st.subheader(f"H{position} of block {block}")
    st.caption(row.name)
    st.markdown(f"**{row.in_channels:,}** input channels (k0 + k(l−1)) → "
                f"**{row.out_channels:,}** new  \n**{format_si(row.params, 3)}** params · "
                f"**{format_si(row.macs, 3)}** MACs")
    if opener:
        st.button("Open the dense-layer view", on_click=_open_layer, args=(block, position),
                  width="stretch", key="panel_open")
    stats = _weight_stats(trace)
    lines = []
    for op in layer_properties(trace, block, position, stats):
        geometry = ", ".join(f"{key} {op[key]}" for key in ("kernel", "stride", "padding")
                             if op[key])
        weights = f"; {op['weights']}" if op["weights"] else ""
        lines.append(f"- `{op['op']}` {op['kind']}{', ' + geometry if geometry else ''}; "
                     f"{op['in ch']} → {op['out ch']} ch, out {op['output']}{weights}; "
                     f"{op['params']:,} params")
        lines.extend(f"  - {text}" for text in op["stats"])  # type: ignore[attr-defined]
    st.markdown("\n".join(lines))


def _weight_stats(trace: Trace) -> WeightStats | None:
    """The loaded checkpoint's statistics when they belong to the config shown (and a line
    saying where the panel's weight figures come from)."""
    stats: WeightStats | None = st.session_state.get(STATS)
    if stats is not None and stats.fits(trace.config):
        st.caption(f"Weights: {plain(stats.source)}, loaded on the Weights page.")
        return stats
    if trace.config is not None:
        other = f" ({plain(stats.source)} is loaded, for {stats.config.label})" if stats else ""
        st.caption("Random init — load a checkpoint on the Weights page for weight "
                   f"statistics{other}.")
    return None


def render() -> None:
    trace = require_trace()
    if trace is None or needs_blocks(trace):
        return
    st.title("Diagram")
    st.session_state["_dense_places"] = {_short(row.name): (row.block, row.position)
                                         for row in trace.dense_layers()}
    view, block, layer, options = _pickers(trace, latency_for(source_of(trace)))
    left, right = st.columns([3, 1])  # the same columns always: the canvas never remounts
    with right:
        highlight = _selection(trace)
    source, device = source_of(trace), current().device
    try:
        svg, note, scale = _drawing(trace, source, device, view, block, layer, options)
    except DenseVisError as problem:
        left.error(str(problem))
        return
    if view == "overview":
        _draw_ahead(trace, source, device, options)
    full_names = {_short(row.name): row.name for row in trace.dense_layers()}
    focus = full_names.get(highlight or "") if view in ("block", "full") else None
    look = get_theme(options.theme)
    if note:
        right.info(note)
    with left:
        canvas({"svg": svg, "key": hashlib.blake2b(svg.encode(), digest_size=8).hexdigest(),
                "view": view, "focus": focus, "height": CANVAS_HEIGHT, "hint": HINTS[view],
                "crumbs": _crumbs(trace, view, block, layer), "background": look.backdrop},
               key="canvas", on_action=_on_action)
        if scale:
            st.caption(f"colour: {COLOR_BY[options.color_by or '']}, "
                       f"{scale[0][1]} (light) … {scale[-1][1]} (dark)")
        diagram_downloads(trace, view, block, layer, options, highlight=focus)
    with right:
        if view == "layer":
            _panel(trace, f"denseblock{block}.denselayer{layer}", opener=False)
        elif focus:
            _panel(trace, highlight)
        else:
            st.caption("Click a dense layer in a block or the full network to see its ops, "
                       "kernels, channels and weight shapes here.")


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
