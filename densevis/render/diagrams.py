"""The diagram API of exports and the CLI: a view of a trace as a pinned graphviz graph.

A thin wrapper: ``layout.py`` computes every position (records -> plain data) and
``graphviz.py`` writes it as DOT for ``neato -n2``; the app draws the same layouts as
interactive SVG (``interactive.py``). Reads records only: never imports torch.
"""

from __future__ import annotations

import graphviz

from densevis.records import Trace
from densevis.render.graphviz import LINK_CLASS, OUTPUT_LINK_CLASS, PINNED_ENGINE, to_graphviz
from densevis.render.layout import (
    COLOR_METRICS,
    DIRECTIONS,
    SHOW_FIELDS,
    VIEWS,
    DiagramOptions,
    block_layout,
    full_layout,
    layer_layout,
    layout,
    overview_layout,
)

__all__ = ["COLOR_METRICS", "DIRECTIONS", "LINK_CLASS", "OUTPUT_LINK_CLASS", "PINNED_ENGINE",
           "SHOW_FIELDS", "VIEWS", "DiagramOptions", "block_diagram", "diagram", "full_diagram",
           "layer_diagram", "overview_diagram"]


def _theme(options: DiagramOptions | None) -> str:
    return (options or DiagramOptions()).theme


def diagram(trace: Trace, view: str, block: int = 1, layer: int = 1,
            options: DiagramOptions | None = None) -> graphviz.Digraph:
    """The named view, after checking the view name and the block / layer numbers."""
    return to_graphviz(layout(trace, view, block, layer, options), _theme(options))


def overview_diagram(trace: Trace, options: DiagramOptions | None = None) -> graphviz.Digraph:
    return to_graphviz(overview_layout(trace, options), _theme(options))


def block_diagram(trace: Trace, block: int, options: DiagramOptions | None = None
                  ) -> graphviz.Digraph:
    return to_graphviz(block_layout(trace, block, options), _theme(options))


def layer_diagram(trace: Trace, block: int, position: int,
                  options: DiagramOptions | None = None) -> graphviz.Digraph:
    return to_graphviz(layer_layout(trace, block, position, options), _theme(options))


def full_diagram(trace: Trace, options: DiagramOptions | None = None) -> graphviz.Digraph:
    return to_graphviz(full_layout(trace, options), _theme(options))
