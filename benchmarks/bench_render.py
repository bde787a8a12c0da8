"""Diagram speed: block views of L = 24, 48, 100 to SVG, and the full densenet121 view against
torchview's ``draw_graph(...).visual_graph.pipe("svg")`` for the same model, in the same run.

Run: ``.venv/bin/python benchmarks/bench_render.py`` (needs the ``bench`` extra for torchview).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import densevis
from densevis.render.diagrams import block_diagram, full_diagram
from densevis.render.export import diagram_bytes

BLOCK_SIZES = (24, 48, 100)
REPEATS = 3


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The fastest of `repeats` runs, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print("block view -> SVG (build graph + neato -n2), best of", REPEATS)
    for layers in BLOCK_SIZES:
        config = densevis.get_config("densenet121").replace(block_config=(layers,),
                                                            input_size=(64, 64))
        trace = densevis.trace(config, device="cpu")
        seconds = best_of(REPEATS, lambda t=trace: diagram_bytes(block_diagram(t, 1), "svg"))
        links = layers * (layers + 1) // 2
        print(f"  L = {layers:3d} ({links:5d} links + {layers + 1:3d} output links): "
              f"{seconds:6.3f} s {'(target < 2 s: ok)' if seconds < 2 else '(over 2 s!)'}")

    trace = densevis.trace("densenet121", device="cpu")
    ours = best_of(REPEATS, lambda: diagram_bytes(full_diagram(trace), "svg"))
    print(f"full densenet121 view -> SVG (densevis):            {ours:6.3f} s")
    try:
        from torchview import draw_graph
    except ImportError:
        print("torchview is not installed: pip install -e '.[bench]' for the comparison")
        return
    model = densevis.build_model("densenet121", "cpu")
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        draw_graph(model, input_size=(1, 3, 224, 224), device="cpu").visual_graph.pipe("svg")
        runs.append(time.perf_counter() - start)
    theirs = min(runs)
    print(f"full densenet121 view -> SVG (torchview draw_graph): {theirs:6.3f} s "
          f"(runs: {', '.join(f'{r:.2f}' for r in runs)}; median {statistics.median(runs):.2f})")
    ratio = ours / theirs
    print(f"ratio densevis / torchview: {ratio:.3f} "
          f"{'(target <= 0.5: ok)' if ratio <= 0.5 else '(over 0.5!)'}")


if __name__ == "__main__":
    main()
