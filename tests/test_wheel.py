"""A regular (non-editable) wheel carries the built-in scenarios and works from another folder."""

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("hatchling")
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = out.glob("bpstep-*.whl")
    return path


def test_the_wheel_holds_the_package_and_the_scenarios(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("bpstep/__init__.py", "bpstep/__main__.py", "bpstep/cli.py", "bpstep/session.py",
                 "bpstep/scenarios/worked-222.toml", "bpstep/scenarios/xor.toml", "bpstep/scenarios/iris.toml",
                 "bpstep/scenarios/iris.csv"):
        assert name in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "bpstep = bpstep.cli:program" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_runs_from_another_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*args):
        return subprocess.run(list(args), cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)

    where = run(str(python), "-c", "import bpstep, bpstep.scenario as s; print(bpstep.__file__); print(s.builtin_dir())")
    module, scenarios = where.stdout.split()
    assert module.startswith(str(venv)) and scenarios.startswith(str(venv)), where.stdout
    listed = run(str(python), "-m", "bpstep", "list")
    assert listed.returncode == 0 and listed.stderr == ""
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names[0] == "worked-222" and {"xor", "iris"} <= set(names)
    stepped = run(str(venv / "bin" / "bpstep"), "replay", "worked-222", "-c", "step")
    assert stepped.returncode == 0, stepped.stderr
    assert stepped.stdout == "e0 forward #1 z[1,2]@1  z2 = W3·x1 + W4·x2 = 0.4·0.1 + 0.35·0.2 = 0.11000000\n"
    xor = run(str(python), "-m", "bpstep", "replay", "xor", "--epochs", "1", "-c", "goto a[4,1]@4")
    assert xor.returncode == 0 and xor.stdout.startswith("e0 forward ")
