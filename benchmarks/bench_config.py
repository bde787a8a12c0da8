"""How long config checks take on hostile input (issue 12, point 1): every check must answer
in under 50 ms, whatever the input. Prints one line per input: milliseconds and the outcome.

    .venv/bin/python benchmarks/bench_config.py
"""

from __future__ import annotations

import time

from densevis.config import DenseNetConfig, estimate_memory, get_config, minimum_input_size
from densevis.errors import DenseVisError
from densevis.memory_cap import check_memory
from densevis.spec import parse_blocks, parse_config_spec

HOSTILE_BLOCKS = ["1," * 19 + "1", "1," * 21 + "1", "1," * 29 + "1", "1," * 11 + "1",
                  "99999999999999999999999", "1000,1000", "6,12,,16"]
HOSTILE_SPECS = ["k=99999999999 blocks=1000,1000", "size=99999999999999 blocks=6",
                 "blocks=12,12,12,12,12,12,12,12,12,12,12,12 size=8189"]


def _timed(label: str, call: object) -> float:
    start = time.perf_counter()
    try:
        outcome = f"ok {call()!r}"[:70]  # type: ignore[operator]
    except DenseVisError as error:
        outcome = f"refused: {error}"[:90]
    ms = (time.perf_counter() - start) * 1e3
    print(f"{ms:8.2f} ms  {label[:40]:<40} {outcome}")
    return ms


def main() -> None:
    worst = 0.0
    for blocks in HOSTILE_BLOCKS:
        worst = max(worst, _timed(f"--blocks {blocks}", lambda b=blocks: check_memory(
            get_config("densenet121", block_config=parse_blocks(b))).total_bytes))
    for spec in HOSTILE_SPECS:
        worst = max(worst, _timed(spec, lambda s=spec: check_memory(
            parse_config_spec(s)).total_bytes))
    widest = DenseNetConfig(block_config=(1,) * 12, input_size=(8189, 8189))
    worst = max(worst, _timed("minimum_input_size, 12 blocks",
                              lambda: minimum_input_size(widest)))
    deepest = DenseNetConfig(growth_rate=1, block_config=(1000, 1000), num_init_features=1)
    worst = max(worst, _timed("estimate_memory, 2000 layers",
                              lambda: estimate_memory(deepest).params))
    print(f"slowest check: {worst:.2f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
