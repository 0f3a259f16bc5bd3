"""Import hygiene: the headless core loads neither textual nor torch; only
bpstep/reference.py imports torch and only bpstep/tui/ imports textual; imports go one way,
tui → session → tape → engine."""

import ast
import subprocess
import sys

import pytest

from conftest import ROOT

PACKAGE = ROOT / "bpstep"
HEADLESS = ["bpstep", "bpstep.scenario", "bpstep.engine", "bpstep.notation", "bpstep.layout", "bpstep.tape",
            "bpstep.commands", "bpstep.session", "bpstep.replay", "bpstep.cli"]


def test_the_headless_modules_load_neither_textual_nor_torch():
    code = ("import sys\n"
            f"for name in {HEADLESS!r}:\n"
            "    __import__(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'textual')))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_replaying_loads_neither_textual_nor_torch():
    code = ("import io, sys, contextlib\n"
            "from bpstep.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['replay', 'xor', '--epochs', '2', '-c', 'continue; rcontinue']) == 0\n"
            "    assert main(['list']) == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'textual')))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path):
    """The top-level names of everything a module imports (anywhere in it, lazily or not), and
    the bpstep modules it imports relatively."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    outside, inside = set(), set()
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            outside |= {a.name.split(".")[0] for a in node.names}
            inside |= {a.name for a in node.names if a.name.startswith("bpstep")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
                inside.add(target)
                if not node.module:
                    inside |= {f"{base}.{a.name}" for a in node.names}
            else:
                outside.add(node.module.split(".")[0])
                if node.module.startswith("bpstep"):
                    inside.add(node.module)
    return outside, inside


def test_the_scan_sees_lazy_imports():
    outside, inside = imported(PACKAGE / "loading.py")
    assert "bpstep.reference" in inside and "bpstep.scenario" in inside
    outside, _ = imported(PACKAGE / "scenario.py")
    assert "numpy" in outside and "tomli" in outside
    outside, _ = imported(PACKAGE / "reference.py")
    assert "torch" in outside


def test_only_reference_imports_torch():
    offenders = [p.relative_to(ROOT).as_posix() for p in modules()
                 if p != PACKAGE / "reference.py" and "torch" in imported(p)[0]]
    assert offenders == []
    # nor as text (importlib tricks, strings for __import__)
    for p in modules():
        if p != PACKAGE / "reference.py":
            text = p.read_text(encoding="utf-8")
            assert "import torch" not in text and "from torch" not in text, p


def test_only_the_tui_imports_textual():
    tui = PACKAGE / "tui"
    offenders = [p.relative_to(ROOT).as_posix() for p in modules()
                 if tui not in p.parents and ("textual" in imported(p)[0]
                                              or "import textual" in p.read_text(encoding="utf-8")
                                              or "from textual" in p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_scenario_loader_is_handed_the_torch_init_instead_of_importing_the_mirror():
    _, inside = imported(PACKAGE / "scenario.py")
    assert not {name for name in inside if name.split(".")[-1] in ("reference", "crosscheck", "loading")}
    assert "reference" not in (PACKAGE / "scenario.py").read_text(encoding="utf-8")  # nor by name
    # and at run time: a torch-init scenario parsed without a drawer loads neither the mirror nor torch
    code = ("import sys\n"
            "from bpstep import scenario\n"
            "text = '[network]\\nsizes = [2, 1]\\n[init]\\nmethod = \"torch\"\\n[data]\\n"
            "inputs = [[0, 1]]\\ntargets = [[1]]\\n[training]\\nlearning_rate = 0.1\\n'\n"
            "try:\n"
            "    scenario.parse(text, 't.toml')\n"
            "except scenario.ScenarioError as e:\n"
            "    print('refused', 'init.method' in str(e))\n"
            "print(sorted(m for m in sys.modules if m in ('bpstep.reference', 'bpstep.loading', 'torch')))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["refused True", "[]"]


@pytest.mark.parametrize("module, forbidden", [
    ("engine", {"scenario", "notation", "layout", "tape", "session", "commands", "replay", "cli", "tui"}),
    ("scenario", {"reference", "crosscheck", "loading", "tape", "session", "replay", "cli", "tui"}),
    ("layout", {"tape", "session", "replay", "cli", "tui"}),
    ("tape", {"session", "replay", "cli", "tui"}),
    ("session", {"replay", "cli", "tui"}),
    ("commands", {"session", "replay", "cli", "tui"}),
    ("replay", {"cli", "tui"}),
])
def test_imports_go_one_way(module, forbidden):
    _, inside = imported(PACKAGE / f"{module}.py")
    hit = {name.split(".")[1] for name in inside if name.count(".") >= 1} & forbidden
    assert not hit, f"bpstep.{module} imports {sorted(hit)}"


def test_nothing_runs_user_text_as_code():
    for p in modules():
        tree = ast.parse(p.read_text(encoding="utf-8"))
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"eval", "exec", "compile", "__import__"}, p
