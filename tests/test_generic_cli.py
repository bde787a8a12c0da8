"""`--module` on the command line: your own model for summary, export and profile, its
weights from --checkpoint, and one clear line with exit code 2 for every bad input."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from densevis.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CIFAR = f"{EXAMPLES / 'cifar_densenet.py'}:densenet_bc"
RESNET = f"{EXAMPLES / 'resnet.py'}:resnet"


def test_summary_of_a_file_factory_with_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--module", CIFAR, "--module-args", '{"depth": 40}',
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"] is None and data["model"] == "CifarDenseNetBC"
    assert [b["dense_layers"] for b in data["blocks"]] == [6, 6, 6]  # (40 - 4) / 6
    assert [b["links"] for b in data["blocks"]] == [21, 21, 21]
    assert data["input_shape"] == [1, 3, 32, 32]


def test_summary_of_a_package_module_and_input_size(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    assert main(["summary", "--module", "resnet:resnet", "--input-size", "3x64x48"]) == 0
    out = capsys.readouterr().out
    assert "ResNet (custom module)" in out and "input 3x64x48" in out
    assert "no dense blocks found" in out
    rows = [line for line in out.splitlines() if line.lstrip("│ ").startswith("residual")]
    assert len(rows) == 6 and "layer2.0.shortcut.1" in out


def test_checkpoint_loads_into_the_module(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from resnet import resnet
    finally:
        sys.path.remove(str(EXAMPLES))
    path = tmp_path / "resnet.pt"
    torch.save({"state_dict": resnet().state_dict()}, path)
    assert main(["summary", "--module", RESNET, "--checkpoint", str(path),
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["params"] == 175_258


class _Evil:
    def __reduce__(self) -> tuple:
        return (print, ("ran code from a pickle",))


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(("case", "message"), [
    ("missing file", "module file .* does not exist"),
    ("missing attribute", "has no attribute 'nothing_here'"),
    ("factory raises", r"densenet_bc\(\*\*\{'depth': 41\}\) raised ValueError: depth must be"),
    ("fails on input", "ResNet failed on input 1x32x32: RuntimeError"),
    ("no tensor", "returned no tensor"),
    ("not a module", "returned a int, not a torch.nn.Module"),
    ("bad json", "--module-args is not valid JSON"),
    ("config option", "--growth-rate: DenseNet config options do not apply to --module"),
    ("bad spec", "--module must look like FILE.py:FACTORY"),
    ("import error", "importing .* failed: ModuleNotFoundError"),
    ("unsafe checkpoint", "it is not plain weights .* nothing from it was executed"),
    ("wrong checkpoint", "does not fit ResNet: .*missing keys"),
    ("throughput", "--throughput needs a DenseNet config"),
])
def test_bad_module_input_is_one_line_and_exit_2(case: str, message: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"x": _Evil()}))
    other = tmp_path / "other.pt"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    broken = _write(tmp_path / "broken.py", "import not_a_real_package_xyz\n")
    odd = _write(tmp_path / "odd.py",
                 "import torch\nclass Talk(torch.nn.Module):\n"
                 "    def forward(self, x):\n        return 'hello'\n"
                 "talk = Talk()\ndef number():\n    return 3\n")
    argv = {
        "missing file": ["summary", "--module", "no/such/file.py:make"],
        "missing attribute": ["summary", "--module", f"{RESNET[:-7]}:nothing_here"],
        "factory raises": ["summary", "--module", CIFAR, "--module-args", '{"depth": 41}'],
        "fails on input": ["summary", "--module", RESNET, "--input-size", "1x32x32"],
        "no tensor": ["summary", "--module", f"{odd}:talk", "--input-size", "8"],
        "not a module": ["summary", "--module", f"{odd}:number"],
        "bad json": ["summary", "--module", RESNET, "--module-args", "{depth: 4}"],
        "config option": ["summary", "--module", RESNET, "--growth-rate", "12"],
        "bad spec": ["summary", "--module", "resnet"],
        "import error": ["summary", "--module", f"{broken}:make"],
        "unsafe checkpoint": ["summary", "--module", RESNET, "--checkpoint", str(evil)],
        "wrong checkpoint": ["summary", "--module", RESNET, "--checkpoint", str(other)],
        "throughput": ["profile", "--module", RESNET, "--throughput", "--no-progress",
                       "--time-budget", "0"],
    }[case]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("densevis: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert "ran code from a pickle" not in captured.out + captured.err


def test_profile_of_a_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "--module", RESNET, "--repeats", "2", "--warmup", "0",
                 "--time-budget", "0", "--no-progress", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = [op["name"] for op in data["profile"]["ops"]] if "profile" in data else \
        [op["name"] for op in data["ops"]]
    assert "conv1" in names and "fc" in names
    assert "layer1.0.relu" not in names  # called twice per block: not timed one by one


def test_a_real_process_prints_no_traceback() -> None:
    result = subprocess.run([sys.executable, "-m", "densevis", "summary", "--module",
                             f"{EXAMPLES / 'missing.py'}:make"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("densevis: error: module file")


def test_export_of_a_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "up.svg"
    assert main(["export", "--module", f"{EXAMPLES / 'fc_densenet.py'}:fc_densenet",
                 "--view", "block", "--block", "4", "-o", str(target)]) == 0
    svg = target.read_text()
    assert svg.count('class="edge link"') == 6
    assert svg.count('class="edge output&#45;link"') == 3
    assert main(["export", "--module", RESNET, "--view", "full", "-o", str(target)]) == 2
    assert "no dense blocks found in ResNet" in capsys.readouterr().err
