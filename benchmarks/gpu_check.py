"""One prepared check of the profiler's CUDA path: densenet121 at batch 1 and 64.

On a machine without CUDA it prints one "no CUDA here" line and exits 0. With CUDA it prints,
per batch size: the hooked and plain end-to-end medians (CUDA events), the hook overhead, the
identity check (per-layer sum + unattributed = hooked total), the slowest ops, then throughput
and the measured device peak with a roofline summary. Exit 1 if an invariant fails.

Run: ``python benchmarks/gpu_check.py [--repeats 10]`` (about a minute on an H100).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA here: gpu_check skipped (nothing to check on this machine)")
        return 0
    import densevis
    from densevis.profiler import measure_peak, measure_throughput, profile_latency, roofline

    name = torch.cuda.get_device_name(0)
    print(f"device: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, cuDNN TF32 "
          f"{torch.backends.cudnn.allow_tf32}")
    model = densevis.build_model("densenet121", device="cuda")
    failures = []
    peak = measure_peak("cuda")
    print(f"peak: {peak.gflops_per_s:.0f} GFLOP/s float32 matmul, {peak.bandwidth_gb_s:.0f} GB/s "
          f"copy, ridge {peak.ridge:.1f} FLOP/byte")
    for batch in (1, 64):
        start = time.perf_counter()
        result = profile_latency(model, batch_size=batch, warmup=args.warmup,
                                 repeats=args.repeats)
        wall = time.perf_counter() - start
        total = result.op_sum_ms + result.unattributed_ms
        print(f"\nbatch {batch}: {result.timer}, profile took {wall:.1f} s")
        print(f"  plain {result.plain_total_ms:.3f} ms, hooked {result.hooked_total_ms:.3f} ms, "
              f"overhead {100 * result.overhead:+.1f}%")
        print(f"  per-layer sum {result.op_sum_ms:.3f} ms + unattributed "
              f"{result.unattributed_ms:.3f} ms = {total:.3f} ms "
              f"(IQR {result.unattributed_q1_ms:.3f}-"
              f"{result.unattributed_q3_ms:.3f}; between ops per pass "
              f"{result.pass_residual_ms:.3f})")
        print(f"  {batch / (result.plain_total_ms / 1e3):.0f} images/s from the plain pass")
        for timing in sorted(result.ops, key=lambda t: -t.median_ms)[:5]:
            print(f"    {timing.name:48} {timing.kind:10} {timing.median_ms:8.3f} ms "
                  f"(IQR {timing.q1_ms:.3f}-{timing.q3_ms:.3f})")
        if result.timer != "cuda events" or not result.device.startswith("cuda"):
            failures.append(f"batch {batch}: timer {result.timer} on {result.device}")
        if len(result.ops) != 430:
            failures.append(f"batch {batch}: {len(result.ops)} rows, expected 430")
        if not all(t.median_ms > 0 and math.isfinite(t.median_ms) for t in result.ops):
            failures.append(f"batch {batch}: a non-positive or non-finite median")
        if not math.isclose(total, result.hooked_total_ms, rel_tol=0.01):
            failures.append(f"batch {batch}: identity off ({total} vs {result.hooked_total_ms})")
        points = roofline(densevis.trace(model, batch_size=batch), result)
        bound = {"compute": 0, "memory": 0}
        for point in points:
            bound[peak.bound(point.intensity)] += 1
        concat_memory = all(peak.bound(p.intensity) == "memory" for p in points
                            if p.kind in ("concat", "batchnorm", "relu"))
        best = max(points, key=lambda p: p.gflops_per_s)
        share = 100 * best.gflops_per_s / peak.gflops_per_s
        print(f"  roofline: {bound['compute']} compute-bound, {bound['memory']} memory-bound ops; "
              f"concat/BN/ReLU all memory-bound: {concat_memory}; best "
              f"{best.name} {best.gflops_per_s:.0f} GFLOP/s ({share:.0f}% of peak)")
        if not concat_memory:
            failures.append(f"batch {batch}: a concat/BN/ReLU op right of the ridge")
    points = measure_throughput(model, batch_sizes=[1, 2, 4, 8, 16, 32, 64, 128])
    print("\nthroughput: " + ", ".join(f"b{p.batch_size} {p.images_per_s:.0f}/s" for p in points))
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    if hooks:
        failures.append(f"{hooks} hooks left on the model")
    print(f"\npeak memory allocated: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("all CUDA-path invariants hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
