"""Trace time of densevis against torchinfo, fvcore, ptflops and thop on densenet121 at 224.

Every tool gets the SAME built densevis model (``densevis.build_model("densenet121", "cpu")``)
and a 1x3x224x224 input, in one process (the generic tracer gets it wrapped in an
``nn.Sequential``, a module densevis does not recognise, so its dense blocks are found from
the data flow); each is timed several times and the median is
reported with its ratio to densevis. A peer that is not installed is reported, not fatal
(install them with ``pip install -e ".[bench]"``). Then: trace time for densenet264 and for
2-block networks with 25/50/100/200 layers per block, to show how time grows with depth; and
``densevis.trace(config)`` (building included, as the app and ``densevis summary`` do) on one
block of 100/200/500/1000 dense layers at k = 1 and 32x32 (the app's
``/?page=diagram&k=1&blocks=1000&size=32``), whose block output alone joins L + 1 inputs and
whose links number L(L+1)/2 (500,500 at L = 1000).

Run: ``python benchmarks/bench_trace.py [--runs 7] [--deep-only]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

import densevis
from densevis.config import DenseNetConfig, get_config

INPUT = (1, 3, 224, 224)
GENERIC = "densevis.trace, generic (plain module)"


def median_ms(call: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall time of ``runs`` calls after one untimed call, and the last result."""
    result = call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), result


def _quiet(call: Callable[[], Any]) -> Callable[[], Any]:
    """Run a peer with its prints and warnings swallowed (they would skew nothing, but clutter)."""

    def run() -> Any:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            return call()

    return run


def peers(model: torch.nn.Module) -> dict[str, tuple[Callable[[], Any], Callable[[Any], str]]]:
    """name -> (call that counts the model, how to read its MAC/FLOP figure)."""
    image = torch.randn(*INPUT)
    found: dict[str, tuple[Callable[[], Any], Callable[[Any], str]]] = {}
    try:
        from torchinfo import summary

        found["torchinfo.summary"] = (
            lambda: summary(model, input_size=INPUT, device="cpu", verbose=0),
            lambda stats: f"{stats.total_mult_adds / 1e9:.3f} G mult-adds (conv + linear)",
        )
    except ImportError as error:
        print(f"torchinfo: not installed ({error})")
    try:
        from fvcore.nn import FlopCountAnalysis

        def fvcore_count() -> float:
            analysis = FlopCountAnalysis(model, image)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            return float(analysis.total())

        found["fvcore FlopCountAnalysis"] = (
            fvcore_count,
            lambda total: f"{total / 1e9:.3f} G 'flops' (1 per MAC; conv, linear, BN)",
        )
    except ImportError as error:
        print(f"fvcore: not installed ({error})")
    try:
        from ptflops import get_model_complexity_info

        found["ptflops get_model_complexity_info"] = (
            lambda: get_model_complexity_info(model, INPUT[1:], as_strings=False,
                                              print_per_layer_stat=False, verbose=False),
            lambda result: f"{result[0] / 1e9:.3f} G MACs (conv, linear, BN, ReLU, pools)",
        )
    except ImportError as error:
        print(f"ptflops: not installed ({error})")
    try:
        from thop import profile

        found["thop.profile"] = (
            lambda: profile(model, inputs=(image,), verbose=False),
            lambda result: f"{result[0] / 1e9:.3f} G MACs (conv, linear, BN, ReLU, pools)",
        )
    except ImportError as error:
        print(f"thop: not installed ({error})")
    return found


def custom(layers: int) -> DenseNetConfig:
    """A 2-block CIFAR-style network with `layers` dense layers per block (k=12, 32x32)."""
    return DenseNetConfig(block_config=(layers, layers), growth_rate=12, num_init_features=24,
                          input_size=(32, 32), stem="cifar", num_classes=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per tool (median)")
    parser.add_argument("--deep-only", action="store_true",
                        help="only the one-block 100..1000-layer configs")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    if not args.deep_only:
        compare_tools(args.runs)
    deep_blocks(max(3, args.runs // 2))


def deep_blocks(runs: int) -> None:
    """densevis.trace(config) on one block of L dense layers: model built, probe, records."""
    print(f"\none deep block from a config (densenet121 stem, k=1, 32x32), median of {runs}")
    print(f"{'dense layers':>12} {'ops':>6} {'links':>8} {'s':>7} {'us/link':>8}")
    for layers in (100, 200, 500, 1000):
        config = get_config("densenet121", growth_rate=1, block_config=(layers,),
                            input_size=(32, 32))
        elapsed, records = median_ms(lambda config=config: densevis.trace(config, device="cpu"),
                                     runs)
        assert len(records.links) == layers * (layers + 1) // 2
        print(f"{layers:12d} {len(records.ops):6d} {len(records.links):8d} "
              f"{elapsed / 1e3:7.2f} {1e3 * elapsed / len(records.links):8.2f}")


def compare_tools(runs: int) -> None:
    """densevis against the peers on densenet121, then depth scaling on built models."""
    model = densevis.build_model("densenet121", device="cpu")
    # The same network as a module densevis does not recognise: the generic tracer (#14).
    plain = torch.nn.Sequential(model)

    def macs(records: Any) -> str:
        return (f"{records.totals.macs / 1e9:.3f} G MACs (conv + linear; FLOPs = 2 x MACs = "
                f"{records.totals.flops / 1e9:.3f} G); {len(records.links)} dense links")

    tools: dict[str, tuple[Callable[[], Any], Callable[[Any], str]]] = {
        "densevis.trace": (lambda: densevis.trace(model), macs),
        GENERIC: (lambda: densevis.trace(plain, input_size=(3, 224, 224)), macs),
        **{name: (_quiet(call), figure) for name, (call, figure) in peers(model).items()},
    }
    # Rounds interleave the tools, so a burst of load on a shared machine hits all of them.
    times: dict[str, list[float]] = {name: [] for name in tools}
    results: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for round_index in range(runs + 1):
        for name, (call, _) in tools.items():
            if name in failed:
                continue
            start = time.perf_counter()
            try:
                results[name] = call()
            except Exception as error:  # a peer failing is a finding, not a crash
                failed[name] = f"{type(error).__name__}: {error}"
                continue
            if round_index:  # round 0 is the warm-up
                times[name].append((time.perf_counter() - start) * 1e3)
    ours_ms = statistics.median(times["densevis.trace"])
    print(f"\ndensenet121 at 224, batch 1, median of {runs} interleaved runs each")
    print(f"{'tool':36} {'ms':>9} {'x densevis':>11}  MAC/FLOP figure")
    for name, (_, figure) in tools.items():
        if name in failed:
            print(f"{name:36} failed: {failed[name]}")
            continue
        elapsed = statistics.median(times[name])
        print(f"{name:36} {elapsed:9.1f} {elapsed / ours_ms:11.2f}  {figure(results[name])}")
    if times.get("torchinfo.summary"):
        torchinfo_ms = statistics.median(times["torchinfo.summary"])
        for name in ("densevis.trace", GENERIC):
            elapsed = statistics.median(times[name])
            verdict = "PASS" if elapsed <= torchinfo_ms / 2 else "FAIL"
            print(f"{name} / torchinfo = {elapsed / torchinfo_ms:.2f} (target <= 0.50): "
                  f"{verdict}")

    print("\ndepth scaling (densevis.trace on a built model)")
    print(f"{'network':34} {'ops':>6} {'ms':>9} {'us/op':>8}")
    deep = densevis.build_model("densenet264", device="cpu")
    elapsed, records = median_ms(lambda: densevis.trace(deep), runs)
    print(f"{'densenet264 (6-12-64-48)':34} {len(records.ops):6d} {elapsed:9.1f} "
          f"{1e3 * elapsed / len(records.ops):8.1f}")
    previous = None
    for layers in (25, 50, 100, 200):
        net = densevis.build_model(custom(layers), device="cpu")
        elapsed, records = median_ms(lambda net=net: densevis.trace(net), max(3, runs // 2))
        growth = f"  x{elapsed / previous:.2f} for 2x layers" if previous else ""
        print(f"{f'2 blocks of {layers} layers (k=12)':34} {len(records.ops):6d} "
              f"{elapsed:9.1f} {1e3 * elapsed / len(records.ops):8.1f}{growth}")
        previous = elapsed


if __name__ == "__main__":
    main()
