"""The app under load: N concurrent sessions (N = 1, 8, 32) change the model for 60 s each.

Each session speaks Streamlit's own websocket protocol (the protobuf BackMsg/ForwardMsg pairs
a browser sends and receives), so no browser shares the 2 cores with the server. A session
opens the Overview, then keeps typing another growth rate and block config into the sidebar
(the widget states a browser would send) and waits for the script run to finish. It checks the
Parameters figure against the trace of the config it asked for, so an answer from another
session's config counts as a leak. Printed per N: reruns, errors, leaks, p50/p95 rerun time
(request to script finished, on loopback), the server's peak and final RSS. A fresh server
per N, on 127.0.0.1 only; every loop is bounded by the time limit.

By default a session types its next config the moment the last one is drawn (back to back):
N sessions then keep N reruns in flight on the server's cores, so a rerun's time grows about
as N x (CPU time of a rerun) / cores. ``--think S`` makes each session pause between edits,
as a person reading the page does: a random pause of 0.5 S to 1.5 S (mean S), seeded per
session so runs repeat; the first edit comes after 0 to S, so the sessions do not all type at
the same instant after opening (people arrive spread out).

    .venv/bin/python benchmarks/bench_load.py [--seconds 60] [--sessions 1 8 32] [--think 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import pathlib
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

import densevis
from densevis.app.launch import free_port, wait_until_serving

ROOT = pathlib.Path(__file__).resolve().parents[1]
GROWTH_RATES = range(8, 75)  # with three block configs: 201 distinct configs
BLOCKS = ("6,12,24,16", "6,12,32,32", "4,8,16,8")
LABELS = {"k": "Growth rate k", "blocks": "Block config (dense layers per block)"}
REPLY_TIMEOUT_S = 60.0


@dataclass
class Tally:
    """What all sessions of one run saw."""

    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    leaks: int = 0
    opens: int = 0  # first runs of a session (the Overview of densenet121), not timed
    asked: set[tuple[int, str]] = field(default_factory=set)  # configs typed, all sessions


def _configs() -> list[tuple[int, str]]:
    return [(k, blocks) for blocks in BLOCKS for k in GROWTH_RATES]


def _expected(configs: list[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The Parameters figure the Overview must show for each config."""
    base = densevis.get_config("densenet121")
    return {(k, blocks): f"{densevis.trace(base.replace(growth_rate=k, block_config=tuple(map(int, blocks.split(','))))).totals.params:,}"  # noqa: E501
            for k, blocks in configs}


def _rerun(widgets: dict[str, str]) -> bytes:
    message = BackMsg()
    state = message.rerun_script
    state.SetInParent()  # a rerun even with no widget states yet
    for widget_id, value in widgets.items():
        state.widget_states.widgets.add(id=widget_id, string_value=value)
    return message.SerializeToString()


async def _run_once(socket_: websockets.ClientConnection, widgets: dict[str, str],
                    ids: dict[str, str]) -> tuple[str | None, list[str]]:
    """Send one rerun and read until the script finishes: the Parameters figure and any
    exception or error shown. Fills ``ids`` (label -> widget id, value) on the way."""
    await socket_.send(_rerun(widgets))
    params, problems = None, []
    while True:
        reply = ForwardMsg()
        reply.ParseFromString(await asyncio.wait_for(socket_.recv(), REPLY_TIMEOUT_S))
        kind = reply.WhichOneof("type")
        if kind == "script_finished":
            if reply.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return params, problems
            continue  # a run stopped early for the next one
        if kind != "delta" or reply.delta.WhichOneof("type") != "new_element":
            continue
        element = reply.delta.new_element
        which = element.WhichOneof("type")
        if which == "metric" and element.metric.label == "Parameters":
            params = element.metric.body
        elif which == "exception":
            problems.append(f"exception: {element.exception.message}")
        elif which == "alert" and element.alert.format == element.alert.ERROR:
            problems.append(f"error: {element.alert.body[:120]}")
        elif which == "text_input":
            ids[element.text_input.label] = element.text_input.id
            widgets.setdefault(element.text_input.id, element.text_input.value)


async def _session(url: str, start: int, deadline: float, tally: Tally,
                   expected: dict[tuple[int, str], str], think: float) -> None:
    configs = itertools.islice(itertools.cycle(list(expected)), start, None)
    pauses = random.Random(start)
    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None,
                                      open_timeout=REPLY_TIMEOUT_S) as socket_:
            widgets: dict[str, str] = {}
            ids: dict[str, str] = {}
            await _run_once(socket_, widgets, ids)
            tally.opens += 1
            if think:
                await asyncio.sleep(think * pauses.random())
            while time.monotonic() < deadline:
                k, blocks = next(configs)
                tally.asked.add((k, blocks))
                widgets[ids[LABELS["k"]]] = str(k)
                widgets[ids[LABELS["blocks"]]] = blocks
                began = time.perf_counter()
                params, problems = await _run_once(socket_, widgets, ids)
                tally.times.append(time.perf_counter() - began)
                tally.errors += problems
                tally.leaks += params is not None and params != expected[(k, blocks)]
                if params is None and not problems:
                    tally.errors.append(f"no Parameters figure for k={k} blocks={blocks}")
                if think:
                    pause = think * pauses.uniform(0.5, 1.5)
                    await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
    except (OSError, TimeoutError, websockets.WebSocketException, KeyError) as problem:
        tally.errors.append(f"session {start}: {type(problem).__name__}: {problem}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (its threads together)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_kib(pid: int) -> dict[str, int]:
    status = pathlib.Path(f"/proc/{pid}/status").read_text().splitlines()
    return {line.split(":")[0]: int(line.split()[1]) for line in status
            if line.startswith(("VmRSS", "VmHWM"))}


def _children(pid: int) -> list[int]:
    """The processes the server started (its tracing workers)."""
    found = []
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _workers_kib(pid: int) -> tuple[int, int, int]:
    """(processes, their peak RSS summed, their RSS now summed), KiB."""
    peak = now = 0
    children = _children(pid)
    for child in children:
        with contextlib.suppress(OSError):
            memory = _memory_kib(child)
            peak, now = peak + memory["VmHWM"], now + memory["VmRSS"]
    return len(children), peak, now


def _serve() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "densevis", "app", "--server.port", str(port),
         "--server.address", "127.0.0.1"], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if wait_until_serving(f"http://127.0.0.1:{port}", server):
        return server, port
    server.kill()
    raise SystemExit("the app did not start")


def measure(sessions: int, seconds: float, expected: dict[tuple[int, str], str],
            think: float) -> None:
    server, port = _serve()
    try:
        tally = Tally()
        url = f"ws://127.0.0.1:{port}/_stcore/stream"
        deadline = time.monotonic() + seconds
        step = len(expected) // sessions

        async def everyone() -> None:
            await asyncio.gather(*(_session(url, i * step, deadline, tally, expected, think)
                                   for i in range(sessions)))

        def cpu_now() -> float:  # the server's and its workers'
            return sum(map(_cpu_seconds, [server.pid, *_children(server.pid)]))

        cpu_before = cpu_now()
        asyncio.run(everyone())
        memory = _memory_kib(server.pid)
        workers = _workers_kib(server.pid)
        cpu = cpu_now() - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    times = sorted(tally.times)
    p50 = statistics.median(times) if times else float("nan")
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else float("nan")
    print(f"N = {sessions:2d}: {len(times)} reruns, {len(tally.errors)} errors, "
          f"{tally.leaks} leaks, rerun p50 {p50:.2f} s, p95 {p95:.2f} s, "
          f"server RSS peak {memory['VmHWM'] / 1024:.0f} MiB, "
          f"at the end {memory['VmRSS'] / 1024:.0f} MiB; {workers[0]} trace workers peak "
          f"{workers[1] / 1024:.0f} MiB, at the end {workers[2] / 1024:.0f} MiB; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    runs = len(times) + tally.opens
    print(f"       {len(tally.asked)} distinct configs typed; CPU of server and workers "
          f"{cpu:.1f} s for "
          f"{runs} script runs = {1e3 * cpu / max(runs, 1):.0f} ms each, so "
          f"{os.cpu_count()} cores serve at most {os.cpu_count() * runs / max(cpu, 1e-9):.1f} "
          f"runs/s", flush=True)
    for problem in sorted(set(tally.errors))[:5]:
        print("   ", problem)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause between a session's edits, seconds (0: back to back)")
    args = parser.parse_args()
    configs = _configs()
    expected = _expected(configs)
    pause = f"think {args.think:g} s (0.5-1.5x)" if args.think else "back to back"
    print(f"{len(configs)} distinct configs; {args.seconds:.0f} s per run; {pause}; "
          f"load average before {os.getloadavg()[0]:.2f}", flush=True)
    for sessions in args.sessions:
        measure(sessions, args.seconds, expected, args.think)
    return 0


if __name__ == "__main__":
    sys.exit(main())
