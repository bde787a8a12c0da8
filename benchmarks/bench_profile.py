"""Cost of a full per-layer profile of densenet121 on CPU (warm-up 3, repeats 10) and the
hook overhead it reports, repeated a few times (the machine may be shared, so medians).

Run: ``python benchmarks/bench_profile.py [--rounds 3] [--batch-size 1] [--threads N]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

import densevis
from densevis.profiler import profile_latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="full profiles to run")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, python {platform.python_version()}")
    model = densevis.build_model("densenet121", device="cpu")
    walls, overheads, plains, hooked, residual = [], [], [], [], []
    for round_index in range(1, args.rounds + 1):
        start = time.perf_counter()
        result = profile_latency(model, batch_size=args.batch_size, warmup=3, repeats=10,
                                 threads=args.threads)
        wall = time.perf_counter() - start
        walls.append(wall)
        overheads.append(result.overhead)
        plains.append(result.plain_total_ms)
        hooked.append(result.hooked_total_ms)
        residual.append(result.unattributed_ms)
        print(f"round {round_index}: profile took {wall:.2f} s for {len(result.ops)} ops; "
              f"plain {result.plain_total_ms:.2f} ms, hooked {result.hooked_total_ms:.2f} ms, "
              f"overhead {100 * result.overhead:+.1f}%, per-layer sum "
              f"{result.op_sum_ms:.2f} ms + unattributed {result.unattributed_ms:.2f} ms "
              f"(between ops per pass {result.pass_residual_ms:.2f} ms)")
    print(f"\ndensenet121, batch {args.batch_size}, {result.threads} threads, warm-up 3, "
          f"repeats 10; median of {args.rounds} profiles:")
    print(f"  wall time of one full profile : {statistics.median(walls):.2f} s "
          f"(13 hooked + 10 plain passes, plus the trace)")
    print(f"  end-to-end without hooks      : {statistics.median(plains):.2f} ms")
    print(f"  end-to-end with hooks         : {statistics.median(hooked):.2f} ms")
    print(f"  unattributed                  : {statistics.median(residual):.2f} ms")
    overhead = statistics.median(overheads)
    verdict = "PASS" if overhead < 0.10 else "FAIL"
    print(f"  hook overhead                 : {100 * overhead:+.1f}% (target < 10%): {verdict}")


if __name__ == "__main__":
    main()
