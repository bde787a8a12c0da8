"""The command line: formats, and one clear line with exit code 2 for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from densevis.cli import main


def test_summary_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "densenet121"
    assert data["totals"]["params"] == 7_978_856
    assert [b["links"] for b in data["blocks"]] == [21, 78, 300, 136]


def test_summary_custom_config_csv_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--growth-rate", "12", "--blocks", "6,12,24,16",
                 "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("#,layer,kind,block")
    params = sum(int(line.split(",")[10]) for line in lines[1:])
    assert params == 1_448_376
    assert main(["summary", "--model", "densenet-bc-100", "--format", "markdown"]) == 0
    assert "| conv0 " in capsys.readouterr().out


def test_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--input-size", "224x192"]) == 0
    out = capsys.readouterr().out
    assert "7,978,856" in out and "1 7x7, 58 3x3, 61 1x1" in out
    assert "denseblock3.denselayer24.conv2" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--growth-rate", "0"], "growth rate must be a positive integer, got 0"),
        (["--blocks", ""], "block config is empty"),
        (["--blocks", "6,x"], "block config must be whole numbers"),
        (["--bn-size", "-1"], "bn_size must be 0"),
        (["--compression", "1.5"], "compression must be in (0, 1]"),
        (["--compression", "0"], "compression must be in (0, 1]"),
        (["--input-size", "16"], "vanishes at transition 3; the minimum for this config is 29"),
        (["--model", "vgg"], "known models: densenet121"),
        (["--device", "quantum"], "unknown device 'quantum'"),
        (["--device", "cuda:7"], "not available on this machine; available:"),
        (["--growth-rate", "4000", "--blocks", "100,100,100"], "this config needs about"),
        (["--max-memory", "1M"], "over the 1 MiB cap"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--view", "nope"],
         "densevis export: error: argument --view: invalid choice: 'nope'"),
        (["summary", "--bogus"], "densevis summary: error: unrecognized arguments: --bogus"),
        (["nope"], "densevis: error: argument COMMAND: invalid choice: 'nope'"),
        ([], "densevis: error: the following arguments are required: COMMAND"),
    ],
)
def test_argument_errors_are_one_line_not_the_usage_block(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith(message) and err.count("\n") == 1
    assert "usage:" not in err and err.rstrip().endswith("--help)")


def test_console_script_runs_in_a_subprocess() -> None:
    done = subprocess.run([sys.executable, "-m", "densevis", "summary", "--growth-rate", "-1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("densevis: error: growth rate must be a positive integer, "
                                   "got -1")
