"""Measured latency: shapes and invariants of the records (never the times themselves)."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from math import prod

import pytest
import torch

import densevis
from densevis.cli import main
from densevis.config import DenseNetConfig, estimate_memory
from densevis.errors import DenseVisError
from densevis.model import DenseNet
from densevis.profiler import (
    default_batch_sizes,
    measure_peak,
    measure_throughput,
    profile_latency,
    roofline,
)
from densevis.records import Trace
from densevis.render.perf_charts import latency_chart, roofline_chart, throughput_chart
from densevis.timing import UNATTRIBUTED, DevicePeak, Profile, ThroughputPoint

SMALL = DenseNetConfig(block_config=(2, 3), growth_rate=8, num_init_features=16,
                       input_size=(32, 32), stem="cifar", num_classes=10)
SMALL_ARGS = ["--blocks", "2,3", "--growth-rate", "8", "--init-features", "16",
              "--input-size", "32", "--stem", "cifar", "--num-classes", "10"]
REPEATS, WARMUP = 5, 1


@pytest.fixture(scope="module")
def small_model() -> DenseNet:
    return densevis.build_model(SMALL, device="cpu")


@pytest.fixture(scope="module")
def small_trace(small_model: DenseNet) -> Trace:
    return densevis.trace(small_model)


@pytest.fixture(scope="module")
def small_profile(small_model: DenseNet) -> Profile:
    return profile_latency(small_model, batch_size=1, warmup=WARMUP, repeats=REPEATS,
                          time_budget_s=0)


def _hooks_left(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


# --------------------------------------------------------------------------- latency


def test_every_traced_op_has_a_row_in_trace_order(small_profile: Profile,
                                                  small_trace: Trace) -> None:
    assert [t.name for t in small_profile.ops] == [layer.name for layer in small_trace.ops]
    assert [t.kind for t in small_profile.ops] == [layer.kind for layer in small_trace.ops]
    assert [t.block for t in small_profile.ops] == [layer.block for layer in small_trace.ops]
    latency = small_profile.latency_ms()
    assert list(latency) == [layer.name for layer in small_trace.ops]
    # concatenations are timed too: 5 dense layers + 2 block outputs
    assert sum(1 for t in small_profile.ops if t.kind == "concat") == 7
    assert UNATTRIBUTED not in latency
    assert small_profile.latency_ms(include_unattributed=True)[UNATTRIBUTED] == pytest.approx(
        small_profile.unattributed_ms)


def test_medians_are_positive_finite_and_inside_their_quartiles(small_profile: Profile) -> None:
    for timing in small_profile.ops:
        assert math.isfinite(timing.median_ms) and timing.median_ms > 0, timing.name
        assert timing.q1_ms <= timing.median_ms <= timing.q3_ms, timing.name
        assert timing.iqr_ms == pytest.approx(timing.q3_ms - timing.q1_ms)
    assert small_profile.plain_total_ms > 0 and math.isfinite(small_profile.plain_total_ms)


def test_layers_plus_unattributed_add_up_to_the_hooked_total(small_profile: Profile) -> None:
    total = small_profile.op_sum_ms + small_profile.unattributed_ms
    assert total == pytest.approx(small_profile.hooked_total_ms, rel=0.01)
    # the layers cannot take longer than the pass they ran in
    assert small_profile.op_sum_ms < small_profile.hooked_total_ms * 1.05
    # the unattributed row's median sits inside its own quartiles
    assert (small_profile.unattributed_q1_ms - 1e-9 <= small_profile.unattributed_ms
            <= small_profile.unattributed_q3_ms + 1e-9)
    assert math.isfinite(small_profile.pass_residual_ms)
    frame = small_profile.to_dataframe()
    assert len(frame) == len(small_profile.ops) + 1
    assert frame["name"].iloc[-1] == UNATTRIBUTED
    assert frame["median_ms"].sum() == pytest.approx(small_profile.hooked_total_ms, rel=0.01)
    assert frame["share"].sum() == pytest.approx(1.0, rel=0.01)


def test_the_run_is_described(small_profile: Profile) -> None:
    assert small_profile.device == "cpu"
    assert small_profile.timer == "perf_counter_ns"
    assert small_profile.threads == torch.get_num_threads()
    assert (small_profile.batch_size, small_profile.warmup, small_profile.repeats) == (
        1, WARMUP, REPEATS)
    assert small_profile.input_size == (32, 32)
    assert small_profile.overhead == pytest.approx(
        small_profile.hooked_total_ms / small_profile.plain_total_ms - 1)


def test_profile_round_trips_through_json(small_profile: Profile) -> None:
    data = json.loads(small_profile.to_json())
    assert data["overhead"] == pytest.approx(small_profile.overhead)
    assert Profile.from_dict(data) == small_profile


def test_progress_threads_and_hooks_are_cleaned_up(small_model: DenseNet) -> None:
    calls: list[tuple[int, int]] = []
    before = torch.get_num_threads()
    small_model.train()
    result = profile_latency(small_model, batch_size=2, warmup=2, repeats=3, threads=1,
                             time_budget_s=0,
                             progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 5) for i in range(1, 6)]
    assert result.threads == 1 and result.batch_size == 2
    assert torch.get_num_threads() == before
    assert small_model.training  # the caller's mode is restored
    small_model.eval()
    assert _hooks_left(small_model) == 0


def test_interrupt_removes_the_hooks(small_model: DenseNet) -> None:
    def stop(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        profile_latency(small_model, warmup=1, repeats=5, progress=stop)
    assert _hooks_left(small_model) == 0


def test_densenet121_has_a_row_for_each_of_its_ops(trace121: Trace) -> None:
    result = profile_latency("densenet121", device="cpu", warmup=0, repeats=1,
                             time_budget_s=0)
    assert list(result.latency_ms()) == [layer.name for layer in trace121.ops]
    assert len(result.ops) == 430
    assert result.op_sum_ms + result.unattributed_ms == pytest.approx(result.hooked_total_ms)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch size"),
        ({"batch_size": -3}, "batch size"),
        ({"batch_size": True}, "batch size"),
        ({"repeats": 0}, "repeats"),
        ({"warmup": -1}, "warm-up"),
        ({"threads": 0}, "threads"),
        ({"device": "cuda:7"}, "not available"),
        ({"device": "tpu"}, "unknown device"),
        ({"batch_size": 4, "max_memory": 1_000_000}, "cap"),
    ],
)
def test_bad_profile_input_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(DenseVisError, match=message):
        profile_latency(SMALL, **{"device": "cpu", **kwargs})


def test_bad_module_is_refused() -> None:
    with pytest.raises(DenseVisError, match="a custom module needs an input size"):
        profile_latency(torch.nn.Linear(2, 2))  # any module is timed, given its input size


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_sizes": [0]}, "batch size"),
        ({"batch_sizes": []}, "at least one"),
        ({"batch_sizes": [1, 10**6]}, "cap"),
        ({"repeats": 0}, "repeats"),
        ({"max_batch": 0}, "largest batch"),
    ],
)
def test_bad_throughput_input_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(DenseVisError, match=message):
        measure_throughput(SMALL, device="cpu", **kwargs)


# --------------------------------------------------------------------------- throughput


def test_throughput_covers_the_batch_sizes_asked(small_model: DenseNet) -> None:
    points = measure_throughput(small_model, batch_sizes=[1, 3, 4], warmup=0, repeats=2)
    assert [p.batch_size for p in points] == [1, 3, 4]
    for point in points:
        assert point.ms_per_batch > 0 and math.isfinite(point.ms_per_batch)
        assert point.images_per_s == pytest.approx(point.batch_size / point.ms_per_batch * 1e3)


def test_default_batch_sizes_double_up_to_the_memory_cap(small_model: DenseNet) -> None:
    cap = estimate_memory(SMALL, 8).total_bytes
    assert default_batch_sizes(SMALL, cap, 1024) == [1, 2, 4, 8]
    assert default_batch_sizes(SMALL, cap, 4) == [1, 2, 4]
    assert default_batch_sizes(SMALL, cap - 1, 1024) == [1, 2, 4]
    points = measure_throughput(small_model, max_batch=4, warmup=0, repeats=1)
    assert [p.batch_size for p in points] == [1, 2, 4]


# --------------------------------------------------------------------------- roofline


def test_roofline_points_follow_the_trace_conventions(small_trace: Trace,
                                                      small_profile: Profile) -> None:
    points = roofline(small_trace, small_profile)
    assert [p.name for p in points] == [layer.name for layer in small_trace.ops]
    peak = DevicePeak(device="cpu", gflops_per_s=100.0, bandwidth_gb_s=10.0)
    assert peak.ridge == pytest.approx(10.0)
    for point, layer, timing in zip(points, small_trace.ops, small_profile.ops,
                                    strict=True):
        moved = 4 * (prod(layer.input_shape) + layer.params + prod(layer.output_shape))
        assert point.bytes == moved
        if layer.kind in ("conv", "linear"):
            assert point.flops == layer.flops > 0
        else:  # elementwise work: one FLOP per output element, for the roofline only
            assert point.flops == prod(layer.output_shape)
        assert point.intensity == pytest.approx(point.flops / moved)
        assert point.gflops_per_s == pytest.approx(point.flops / (timing.median_ms / 1e3) / 1e9)
        if layer.kind in ("concat", "batchnorm", "relu"):
            assert peak.bound(point.intensity) == "memory", layer.name
    convs = [p for p in points if p.kind == "conv" and "conv2" in p.name]
    assert all(p.intensity > 1 for p in convs)


def test_roofline_refuses_a_profile_at_another_batch(small_model: DenseNet,
                                                     small_profile: Profile) -> None:
    with pytest.raises(DenseVisError, match="batch"):
        roofline(densevis.trace(small_model, batch_size=2), small_profile)


def test_device_peak_is_measured_once_per_device() -> None:
    peak = measure_peak("cpu")
    assert peak.device == "cpu"
    assert peak.gflops_per_s > 0 and math.isfinite(peak.gflops_per_s)
    assert peak.bandwidth_gb_s > 0 and math.isfinite(peak.bandwidth_gb_s)
    assert measure_peak("cpu") is peak
    assert peak.roof(peak.ridge * 10) == pytest.approx(peak.gflops_per_s)
    assert peak.roof(peak.ridge / 10) == pytest.approx(peak.gflops_per_s / 10)


# --------------------------------------------------------------------------- charts


def test_charts_draw_the_records(small_trace: Trace, small_profile: Profile) -> None:
    figure = latency_chart(small_profile, theme="dark")
    bars = sum(len(trace.y) for trace in figure.data)
    assert bars == len(small_profile.ops) + 1
    names = [trace.name for trace in figure.data]
    assert names[-1] == UNATTRIBUTED and "block 1" in names and "block 2" in names
    peak = DevicePeak(device="cpu", gflops_per_s=100.0, bandwidth_gb_s=10.0)
    points = roofline(small_trace, small_profile)
    chart = roofline_chart(points, peak)
    kinds = {p.kind for p in points}
    assert {trace.name for trace in chart.data} == kinds | {"roof"}
    assert max(chart.data[-1].y) == pytest.approx(100.0)
    rates = throughput_chart([ThroughputPoint(1, 10.0, 100.0), ThroughputPoint(2, 15.0, 133.3)])
    assert list(rates.data[0].x) == [1, 2] and list(rates.data[0].y) == [10.0, 15.0]


# --------------------------------------------------------------------------- CLI


def test_cli_json_and_csv(capsys: pytest.CaptureFixture[str], small_trace: Trace) -> None:
    assert main(["profile", *SMALL_ARGS, "--device", "cpu", "--repeats", "2", "--warmup", "0",
                 "--time-budget", "0", "--format", "json", "--no-progress", "--throughput",
                 "--batch-sizes", "1,2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in data["ops"]] == [layer.name for layer in small_trace.ops]
    assert [row["batch_size"] for row in data["throughput"]] == [1, 2]
    assert main(["profile", *SMALL_ARGS, "--device", "cpu", "--repeats", "1", "--warmup", "0",
                 "--time-budget", "0", "--format", "csv", "--no-progress"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("name,kind,block,median_ms,q1_ms,q3_ms")
    assert len(lines) == len(small_trace.ops) + 2
    assert lines[-1].startswith(UNATTRIBUTED)


def test_cli_table_with_roofline(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    chart = tmp_path / "perf.html"
    assert main(["profile", *SMALL_ARGS, "--device", "cpu", "--repeats", "1", "--warmup", "0",
                 "--time-budget", "0", "--roofline", "--no-progress", "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert "Layer latency" in out and "unattributed" in out and "overhead" in out
    assert "denseblock2.concat" in out and "memory" in out and "device peak" in out
    assert chart.read_text().count("plotly-graph-div") == 2


@pytest.mark.parametrize(
    "args",
    [
        ["--batch-size", "0"],
        ["--repeats", "0"],
        ["--warmup", "-1"],
        ["--device", "cuda:3"],
        ["--device", "quantum"],
        ["--batch-size", "64", "--max-memory", "1M"],
        ["--throughput", "--batch-sizes", "1,zero"],
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", *SMALL_ARGS, "--no-progress", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("densevis: error: ")
    assert "Traceback" not in captured.err and captured.out == ""


def test_cli_subprocess_has_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "densevis", "profile", "--batch-size", "-2"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "densevis: error: batch size must be a positive integer, got -2"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA here")
def test_cuda_path_uses_events() -> None:
    result = profile_latency(SMALL, device="cuda", warmup=1, repeats=3)
    assert result.timer == "cuda events" and result.device.startswith("cuda")
    assert all(t.median_ms > 0 for t in result.ops)
    assert result.op_sum_ms + result.unattributed_ms == pytest.approx(result.hooked_total_ms)


# --------------------------------------------------------------------------- verdict


def test_noise_reasons_from_spread_overhead_and_unattributed() -> None:
    from densevis.timing import noise_reasons

    steady = [10.0, 10.1, 10.0, 10.2, 10.1]
    assert noise_reasons(steady, steady, unattributed_ms=0.5) == ()
    spread = noise_reasons([10.0, 30.0, 10.0, 150.0, 12.0], steady, unattributed_ms=0.5)
    assert spread == ("hooked pass times spread 167% of their median (IQR; stable under 10%)",)
    faster = noise_reasons([5.0] * 5, [10.0] * 5, unattributed_ms=0.5)  # the CLI's -49 %
    assert faster == ("hook overhead -50% is outside the plausible -5% to +30%",)
    assert noise_reasons(steady, steady, unattributed_ms=6.0) == (
        "unattributed 6.0 ms is over half the pass",)


def test_verdict_round_trips_and_reads_as_a_line(small_profile: Profile) -> None:
    noisy = dataclasses.replace(small_profile, noise=("a reason",), rounds=40)
    assert noisy.verdict == "noisy"
    assert noisy.verdict_text == "noisy; never settled in 40 rounds: a reason"
    data = json.loads(noisy.to_json())
    assert data["verdict"] == "noisy" and data["noise"] == ["a reason"]
    assert Profile.from_dict(data) == noisy
    calm = dataclasses.replace(small_profile, noise=(), rounds=REPEATS)
    assert calm.verdict_text == f"stable: the last {REPEATS} of {REPEATS} rounds agree"


def test_noisy_rounds_repeat_until_the_time_budget(small_model: DenseNet,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import densevis.profiler

    monkeypatch.setattr(densevis.profiler, "noise_reasons", lambda *args: ("forced",))
    kept = profile_latency(small_model, warmup=0, repeats=3, time_budget_s=0)
    assert kept.rounds == 3 and kept.verdict == "noisy"
    extended = profile_latency(small_model, warmup=0, repeats=3, time_budget_s=0.3)
    assert extended.rounds > 3 and extended.repeats == 3
    assert "never settled" in extended.verdict_text
    monkeypatch.setattr(densevis.profiler, "noise_reasons", lambda *args: ())
    assert profile_latency(small_model, warmup=0, repeats=3, time_budget_s=5).rounds == 3


def test_threads_are_capped_at_the_cores_and_never_leak(small_model: DenseNet) -> None:
    import threading

    from densevis.profiler import cpu_cores

    with pytest.raises(DenseVisError, match=f"threads must be at most {cpu_cores()}"):
        profile_latency(small_model, threads=cpu_cores() + 1)
    assert main(["profile", *SMALL_ARGS, "--threads", "100000", "--no-progress"]) == 2
    before = torch.get_num_threads()
    results: list[Profile] = []
    workers = [threading.Thread(target=lambda: results.append(profile_latency(
        small_model, warmup=0, repeats=2, threads=1, time_budget_s=0))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [result.threads for result in results] == [1, 1, 1, 1]
    assert torch.get_num_threads() == before


def test_latency_chart_is_log_scaled_and_marks_clipped_bars(small_profile: Profile) -> None:
    negative = dataclasses.replace(small_profile, unattributed_ms=-0.2)
    chart = latency_chart(negative)
    assert chart.layout.yaxis.type == "log"
    last = chart.data[-1]
    assert last.name == "unattributed" and last.y[-1] > 0
    assert last.marker.pattern.shape[-1] == "x"
    assert "clipped" in last.customdata[-1][4] and last.customdata[-1][3] == -0.2
