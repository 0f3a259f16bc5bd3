"""The public Python API: bpstep.open and the session's run / where / value / steps, as the
README shows them (its example runs here), and what bpstep.__all__ promises."""

import re
import subprocess
import sys

import pytest

import bpstep
from bpstep.tape import Tape

from conftest import ROOT


def test_the_readme_example_runs(capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    exec(compile(code, "README.md", "exec"), {})  # our own README's example, not user input
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "∂E/∂W5 = ∂E/∂o1 × ∂o1/∂z3 × ∂z3/∂W5 = 0.20944600 × 0.23802157 × 0.51998934 = 0.02592286"
    assert len(out) == 1 + 55 and out[1].startswith("0 z[1,1]@1 z1 z1 = W1·x1 + W2·x2 [0.3, 0.1, 0.25, 0.2] 0.08")


def test_the_readme_pytorch_example_runs(capsys):
    pytest.importorskip("torch")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### From PyTorch", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    exec(compile(code, "README.md", "exec"), {})  # our own README's example, not user input
    loss, mhat = map(float, capsys.readouterr().out.split())
    assert 1.0 < loss < 1.2 and mhat != 0


def test_everything_in_all_is_there_and_import_stays_light():
    for name in bpstep.__all__:
        assert getattr(bpstep, name) is not None
    code = "import sys, bpstep; print(sorted(m for m in sys.modules if m.startswith('bpstep')))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "['bpstep']"
    with pytest.raises(AttributeError):
        bpstep.no_such_thing


def test_open_takes_a_name_a_path_or_a_scenario(tmp_path):
    by_name = bpstep.open("xor")
    assert bpstep.open(ROOT / "scenarios" / "xor.toml").scenario.sizes == by_name.scenario.sizes
    assert bpstep.open(by_name.scenario).scenario is by_name.scenario
    with pytest.raises(bpstep.ScenarioError):
        bpstep.open(tmp_path / "missing.toml")


def test_value_reads_steps_and_given_values_and_asks_for_a_sample():
    s = bpstep.open("xor")
    tape = Tape(s.scenario)
    assert s.value("E") == tape.record(0).arrays.E
    assert s.value("z[2,3]@2") == tape.step(0, s.layout.at(False, "z[2,3]", 2)).value
    assert s.value("W[1,1,1]", epoch=5) == tape.params(5).W[0][0, 0]
    assert s.value("x[2]@2") == 1.0 and s.value("lr") == 1.0
    assert bpstep.open("worked-222").value("dE/dW5") == bpstep.open("worked-222").value("dE/dW[2,1,1]@1")
    with pytest.raises(bpstep.CommandError, match=r"z\[1,1\] has a value per sample; expected z\[1,1\]@n"):
        s.value("z[1,1]")
    with pytest.raises(bpstep.CommandError, match="unknown id"):
        s.value("z[9,1]@1")
    assert s.value("dE/dW[1,1,1]", epoch=s.scenario.epochs) != s.value("dE/dW[1,1,1]", epoch=s.scenario.epochs)  # NaN


def test_run_moves_the_cursor_and_steps_follow_it():
    s = bpstep.open("worked-222")
    with pytest.raises(bpstep.CommandError):
        s.run("goto nowhere")
    s.run("goto epoch 1")
    assert s.where().epoch == 1 and s.where().phase == "evaluate"
    assert [step.qid for step in s.steps()][:2] == ["z[1,1]@1", "z[1,2]@1"] and len(list(s.steps())) == 11
