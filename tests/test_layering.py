"""The layering rule: records, config and renderers never pull in torch; only densevis/app
imports streamlit; and the code is ruff clean."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _modules_after_import(*modules: str) -> set[str]:
    code = "import sys; import " + ", ".join(modules) + "; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    return set(out.split())


def test_pure_modules_do_not_import_torch() -> None:
    pure = ["densevis", "densevis.config", "densevis.records", "densevis.metrics",
            "densevis.units", "densevis.render.tables"]
    pure += [f"densevis.render.{p.stem}" for p in (ROOT / "densevis" / "render").glob("*.py")
             if p.stem != "__init__"]
    loaded = _modules_after_import(*sorted(set(pure)))
    assert "torch" not in loaded
    assert "streamlit" not in loaded


def test_only_the_app_package_imports_streamlit() -> None:
    app = ROOT / "densevis" / "app"
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "densevis").rglob("*.py")
                 if app not in path.parents
                 and ("import streamlit" in (text := path.read_text())
                      or "from streamlit" in text)]
    assert offenders == []


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(pathlib.Path(sys.executable).parent / "ruff")
    done = subprocess.run([ruff, "check", "densevis", "tests", "app.py",
                           "benchmarks"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
