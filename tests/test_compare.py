"""bpstep compare: a user's own backprop against the tape (CSV and JSONL, the first mismatch,
what is wrong because of it, unknown ids, bad files), and the TUI's --compare."""

import json
import subprocess
import sys

import pytest

from bpstep import scenario
from bpstep.compare import compare
from bpstep.session import Session
from bpstep.tui.app import BpstepApp

from conftest import ROOT


def backprop(tmp_path, *flags):
    out = tmp_path / ("bug.csv" if flags else "ok.csv")
    subprocess.run([sys.executable, str(ROOT / "examples" / "my_backprop.py"), str(out), *flags], check=True)
    return out


def test_the_examples_backprop_agrees_with_every_value(tmp_path, run_cli):
    code, out, err = run_cli("compare", "worked-222", str(backprop(tmp_path)))
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"compare worked-222 with {tmp_path / 'ok.csv'}: 37 of 37 value(s) agree"]


def test_sigma_prime_from_z_is_found_at_do1_dz3(tmp_path, run_cli):
    code, out, err = run_cli("compare", "worked-222", str(backprop(tmp_path, "--bug")))
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[1].startswith("first mismatch: da[2,1]/dz[2,1]@1 at epoch 0 (step 12;")
    assert lines[3] == "  bpstep  0.23802157"
    assert lines[4] == "  ∂o1/∂z3 = o1(1 − o1) = 0.60944600(1 − 0.60944600) = 0.23802157"
    assert lines[5] == "  reads a[2,1]@1: yours agrees"
    assert "wrong because of it (they read it): 17" in lines
    assert "wrong on their own: 8" in lines  # the same slip at the three other units


def test_what_is_wrong_because_of_the_first_is_what_reads_it_through_the_tape(tmp_path):
    """Checked against the layout's own readers (``users``), followed to the end of the epoch."""
    session = Session(scenario.load("worked-222"))
    report = compare(session, str(backprop(tmp_path, "--bug")))
    reached, todo = set(), [report.first.index]
    while todo:
        for i in session.layout.users(False, session.tape.step(0, todo.pop()).id, 1).tolist():
            if i not in reached:
                reached.add(i)
                todo.append(i)
    for v in report.downstream:
        assert v.index in reached
    for v in report.own:
        assert v.index not in reached


def test_jsonl_with_epochs_and_printed_digits(tmp_path, run_cli):
    session = Session(scenario.load("xor"))
    rows = [{"epoch": 0, "id": "E", "value": round(session.value("E", 0), 6)},
            {"epoch": 3, "id": "W+[3,1,2]", "value": session.value("W+[3,1,2]", 3)},
            {"epoch": 4, "id": "W[3,1,2]", "value": session.value("W+[3,1,2]", 3)},
            {"epoch": 2, "id": "a[1,1]@3", "value": round(session.value("a[1,1]@3", 2), 4) + 0.001}]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, out, _ = run_cli("compare", "xor", str(path))
    assert code == 1
    assert out.splitlines()[:2] == [f"compare xor with {path}: 3 of 4 value(s) agree",
                                   f"first mismatch: a[1,1]@3 at epoch 2 (step {session.layout.at(False, 'a[1,1]', 3)}; "
                                   f"{path} line 4)"]
    code, out, _ = run_cli("compare", "xor", str(path), "--tol", "0.01")
    assert code == 0


def test_flat_names_are_taken_as_the_session_takes_them(tmp_path, run_cli):
    path = tmp_path / "mine.csv"
    path.write_text("id,value\nh1,0.51998934\nW5,0.45\ndE/dW5,0.02592286\n∂E/∂W6,0.5\n")
    code, out, _ = run_cli("compare", "worked-222", str(path))
    assert code == 1
    assert out.splitlines()[:2] == [f"compare worked-222 with {path}: 3 of 4 value(s) agree",
                                   f"first mismatch: dE/dW[2,1,2]@1 at epoch 0 (step 17; {path} line 5)"]


def test_unknown_ids_are_listed_not_fatal(tmp_path, run_cli):
    path = tmp_path / "mine.csv"
    path.write_text("id,value\nz[1,1]@1,0.08\nq[1],3\nz[9,9]@1,1\n")
    code, out, _ = run_cli("compare", "worked-222", str(path))
    assert code == 0
    assert out.splitlines()[0].endswith("1 of 1 value(s) agree")
    assert "ids bpstep does not know: 2" in out and "line 3" in out and "line 4" in out


@pytest.mark.parametrize("text, expected", [
    (None, "cannot read the values file (No such file or directory)"),
    ("id,value\n\x00\n", "is a binary file; expected a CSV (id,value[,epoch]) or JSONL file"),
    ("", "empty; expected a header id,value"),
    ("name,value\nz[1,1]@1,1\n", "line 1: header 'name,value'"),
    ("id,value\nE\n", "line 2: 1 column(s); expected 2"),
    ("id,value\nz[1,1]@1\n", "line 2: value '1]@1' is not a number"),
    ("id,value\nz[1,1]@1,abc\n", "line 2: value 'abc' is not a number"),
    ("id,value,epoch\nz[1,1]@1,1,x\n", "line 2: epoch 'x'; expected a whole number from 0 to 1"),
    ('{"id": "E", "value": 1}\n{"id": \n', "line 2: not a JSON object"),
    ('{"id": "E"}\n', "line 1: expected an object with id, value"),
    ('{"id": 3, "value": 1}\n', "line 1: id must be a string"),
])
def test_bad_values_files_are_one_line_and_exit_2(tmp_path, run_cli, text, expected):
    path = tmp_path / "v.csv"
    if text is not None:
        path.write_text(text)
    code, out, err = run_cli("compare", "worked-222", str(path))
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and expected in err


async def test_the_tui_marks_the_steps_and_continue_stops_at_the_first_mismatch(tmp_path):
    session = Session(scenario.load("worked-222"))
    session.load_comparison(str(backprop(tmp_path, "--bug")))
    app = BpstepApp(session.scenario, crosscheck=False)
    app.use_session(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert app.session.position == (0, 12)
        tape = app.query_one("#tape").plain().splitlines()
        assert any(line.startswith("▶✗ 12") for line in tape) and any(line.startswith(" ✓ 11") for line in tape)
        assert "yours 0.2469732534768417 ✗ |Δ| 9.0e-03" in app.query_one("#formula").plain()
        await pilot.press("c")
        await pilot.pause()
        assert app.session.position == (0, 13)


def test_open_with_a_bad_values_file_exits_2_before_the_tui(tmp_path, run_cli):
    code, _, err = run_cli("open", "worked-222", "--compare", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv: cannot read the values file" in err
