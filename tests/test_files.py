"""Writing files: whole or not at all, never replacing a device, FIFO or symlink, keeping the
mode, honouring the umask; every CLI output goes through it, and checks come before work
(issue 12, point 5)."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

from densevis.cli import main
from densevis.errors import DenseVisError
from densevis.render import export
from densevis.render.export import check_writable, write_atomic


def test_new_file_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert write_atomic(tmp_path / "a.txt", b"one") is False
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


def test_replacing_keeps_the_mode_and_says_so(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    target.chmod(0o600)
    assert write_atomic(target, b"new") is True
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temp file left


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomic(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"


def test_a_character_device_is_written_not_replaced(tmp_path: Path) -> None:
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    assert write_atomic(link, b"discarded") is False
    assert link.is_symlink()
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_is_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomic(fifo, b"through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DenseVisError, match="it is a folder"):
        write_atomic(tmp_path, b"x")
    with pytest.raises(DenseVisError, match="it is a folder"):
        check_writable(tmp_path)


def _disk_full(fd: int) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "layers.txt"
    old.write_text("the old table\n")
    monkeypatch.setattr(os, "fsync", _disk_full)
    assert main(["summary", "--model", "densenet-bc-100", "-o", str(old)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert old.read_text() == "the old table\n"
    assert [p.name for p in tmp_path.iterdir()] == ["layers.txt"]


def test_summary_table_to_a_file_is_the_table(tmp_path: Path) -> None:
    out = tmp_path / "t.txt"
    assert main(["summary", "--model", "densenet-bc-100", "-o", str(out)]) == 0
    text = out.read_text()
    assert "denseblock3.denselayer16.conv2" in text and "769,162" in text


def test_profile_chart_into_a_missing_folder_fails_before_profiling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import densevis.profiler

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("profiled before checking the output")

    monkeypatch.setattr(densevis.profiler, "profile_latency", never)
    chart = tmp_path / "nodir" / "x.html"
    assert main(["profile", "--model", "densenet-bc-100", "--chart", str(chart)]) == 2
    assert capsys.readouterr().err == (
        f"densevis: error: cannot write {chart}: folder {chart.parent} does not exist\n")
    for output in (["-o", str(chart)], ["--chart", str(tmp_path)]):
        assert main(["profile", "--model", "densenet-bc-100", *output]) == 2
    err = capsys.readouterr().err
    assert err.count("densevis: error: cannot write") == 2


def test_export_all_names_what_it_replaced_and_keeps_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "overview.svg").write_text("an older kit")
    (tmp_path / "my_notes.txt").write_text("mine")

    def fake_export_all(trace: object, folder: Path, **kwargs: object) -> list[Path]:
        written = []
        for name in ("overview.svg", "deck.pptx"):
            write_atomic(Path(folder) / name, b"new")
            written.append(Path(folder) / name)
        return written

    monkeypatch.setattr(export, "export_all", fake_export_all)
    assert main(["export", "--all", "--model", "densenet-bc-100", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "replaced 1 older file(s) of the same names: overview.svg" in out
    assert (tmp_path / "my_notes.txt").read_text() == "mine"
