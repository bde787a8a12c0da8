"""`densevis app` from a normal (non-editable) install: the app ships inside the package."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import sysconfig
import urllib.request

import pytest
import tomllib

from densevis.app.launch import OPTIONS, free_port, wait_until_serving
from densevis.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_launch_options_match_the_repository_config() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    flat = {f"{section}.{key}": str(value).lower() for section, values in config.items()
            for key, value in values.items()}
    assert flat == {name: value.lower() for name, value in OPTIONS.items()}


@pytest.mark.slow
def test_app_runs_from_a_built_wheel(tmp_path: pathlib.Path) -> None:
    """Build the wheel, install it (no editable link) into a fresh venv that borrows the
    dependencies, and serve the Overview with Streamlit's own --server.port option."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("densevis-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the fresh venv's own site-packages come first, so the wheel's densevis wins
    (pathlib.Path(site) / "borrowed.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", site, str(wheel)], check=True)
    where = subprocess.run([python, "-c", "import densevis.app.main as m; print(m.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    assert where.stdout.strip().startswith(site)
    port = free_port()
    server = subprocess.Popen(
        [python, "-m", "densevis", "app", "--server.port", str(port),
         "--server.address=127.0.0.1", "--server.headless", "true"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_until_serving(f"http://127.0.0.1:{port}", server), "the app did not start"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
            assert b"<title>Streamlit</title>" in reply.read()
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.parametrize("argv, message", [
    (["app", "--port", "-1"], "port must be 1-65535"),
    (["app", "--port", "70000"], "port must be 1-65535"),
    (["app", "--server.port", "70000"], "port must be 1-65535"),
    (["app", "--bogus"], "unknown option '--bogus'"),
    (["summary", "--server.port", "1"], "unrecognized arguments"),
])
def test_app_refuses_bad_options(argv: list[str], message: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err
