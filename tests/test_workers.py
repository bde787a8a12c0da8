"""The app's tracing worker processes: a worker's trace is the tracer's own, a refusal comes
back as a message, a dead worker costs one message (not the server), and bad settings are
refused by `densevis app` before it serves."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import densevis
from densevis.app import workers
from densevis.cli import main
from densevis.config import estimate_memory
from densevis.errors import DenseVisError


def test_a_worker_trace_equals_the_tracer_in_this_process() -> None:
    config = densevis.get_config("densenet121").replace(growth_rate=20, block_config=(3, 5))
    made = workers.trace_in_worker(config)
    assert made == densevis.trace(config, device="cpu")
    assert made.totals.params == estimate_memory(config).params
    assert [block.links for block in made.blocks] == [6, 15]  # L(L+1)/2 from the worker


def test_a_refusal_in_a_worker_comes_back_as_its_message() -> None:
    huge = densevis.get_config("densenet121").replace(num_classes=3_000_000_000)
    with pytest.raises(DenseVisError, match="memory"):
        workers.trace_in_worker(huge)


def test_a_dead_worker_is_one_message_and_the_next_trace_works() -> None:
    pool = workers._executor()
    pool.submit(os._exit, 1).exception(timeout=60)  # a worker dies, as an OOM kill would
    with pytest.raises(DenseVisError, match="stopped its worker process"):
        workers.trace_in_worker(densevis.get_config("densenet121"))
    assert workers._executor() is not pool  # fresh workers
    assert workers.trace_in_worker(densevis.get_config("densenet121")).totals.params == 7_978_856


@pytest.mark.parametrize("value", ["x", "-1", "65", "2.5", ""])
def test_densevis_app_refuses_a_bad_worker_count(value: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(workers.WORKERS_ENV, value)
    assert main(["app"]) == 2
    assert "DENSEVIS_TRACE_WORKERS must be a whole number from 0 to 64" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "count"), [("0", 0), ("3", 3), (None, min(os.cpu_count() or 1,
                                                                              4))])
def test_the_worker_count(value: str | None, count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if value is None:
        monkeypatch.delenv(workers.WORKERS_ENV, raising=False)
    else:
        monkeypatch.setenv(workers.WORKERS_ENV, value)
    assert workers.worker_count() == count


def test_only_cpu_traces_with_few_enough_links_go_to_a_worker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(workers.WORKERS_ENV, "2")
    monkeypatch.setattr(workers, "_warm", lambda: True)  # started (see the next test)
    base = densevis.get_config("densenet121")
    assert workers.suits_a_worker(base, "cpu", crowded=False)
    assert not workers.suits_a_worker(base, "cuda", crowded=True)
    assert workers.suits_a_worker(base.replace(block_config=(315,)), "cpu", False)  # 49,770
    assert not workers.suits_a_worker(base.replace(block_config=(317,)), "cpu", False)  # 50,403
    monkeypatch.setenv(workers.WORKERS_ENV, "0")
    assert not workers.suits_a_worker(base, "cpu", crowded=True)


def test_the_scripts_streamlit_runs_act_only_as_main() -> None:
    """A new worker imports the parent's __main__, which Streamlit sets to its last script."""
    import ast

    from densevis.app.pages import HERE, PAGES

    root = Path(__file__).resolve().parents[1]
    scripts = [root / "app.py", HERE / "main.py", *(HERE / f"{slug}.py" for _, slug, _ in PAGES)]
    for script in scripts:
        for statement in ast.parse(script.read_text()).body:
            if isinstance(statement, ast.If):
                assert ast.unparse(statement.test) in ("__name__ == '__main__'",
                                                       "TYPE_CHECKING"), script.name
            else:
                assert isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                              ast.ClassDef, ast.Assign, ast.AnnAssign)) or (
                    isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                ), f"{script.name} line {statement.lineno} acts on import"


def test_workers_leave_with_a_killed_server(tmp_path: Path) -> None:
    """SIGKILL (the OOM killer, kill -9) lets no shutdown run: the workers notice alone."""
    import signal
    import subprocess
    import sys

    server = subprocess.Popen(
        [sys.executable, "-c", "from densevis.app import workers; workers.start(); "
         "import densevis; workers.trace_in_worker(densevis.get_config('densenet121')); "
         "print('ready', flush=True); import time; time.sleep(600)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, workers.WORKERS_ENV: "2"})
    assert server.stdout is not None and server.stdout.readline() == "ready\n"
    children = [int(pid) for task in Path(f"/proc/{server.pid}/task").iterdir()
                for pid in (task / "children").read_text().split()]
    assert len(children) >= 2  # two workers (and multiprocessing's resource tracker)
    server.send_signal(signal.SIGKILL)
    server.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.2)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()
                and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]


def test_workers_start_when_traces_overlap_and_take_over_once_started(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One person's traces stay in the server; overlapping ones start the workers, and the
    traces run in the server until the workers have imported torch."""
    monkeypatch.setenv(workers.WORKERS_ENV, "2")
    monkeypatch.setattr(workers, "_pool", None)
    config = densevis.get_config("densenet121")
    assert not workers.suits_a_worker(config, "cpu", crowded=False)
    assert workers._pool is None  # alone: no workers started
    assert not workers.suits_a_worker(config, "cpu", crowded=True)  # this one stays here...
    assert workers._pool is not None  # ...and starts them
    deadline = time.monotonic() + 60
    while not workers.suits_a_worker(config, "cpu", False) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers.suits_a_worker(config, "cpu", crowded=False)


def test_a_trace_knows_when_others_are_tracing() -> None:
    from densevis.app import traces

    with traces._counted() as first, traces._counted() as second:
        assert (first, second) == (False, True)
    with traces._counted() as alone:
        assert not alone
