"""Nothing is lost: ``save`` and ``export`` write through a temporary file renamed over the
target, so a full disk leaves the old file whole; ``save`` from a script replaces a file only
when told to; whatever ``save`` writes loads back."""

import dataclasses
import errno
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bpstep import files, scenario
from conftest import ROOT
from bpstep.commands import CommandError
from bpstep.session import Session
from bpstep.tape import Tape

GOOD = b"# a good scenario, which a failed save must leave as it is\n" + (ROOT / "scenarios" / "xor.toml").read_bytes()


def full_disk_after(monkeypatch, room: int):
    """``os.write`` that writes ``room`` bytes in all, then fails as a full disk does."""
    real = os.write
    left = [room]

    def write(fd, data):
        if not left[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real(fd, bytes(data[:left[0]]))
        left[0] -= n
        return n

    monkeypatch.setattr(files.os, "write", write)


def edited_session():
    session = Session(scenario.load("xor"))
    session.execute("set lr 0.25")
    return session


@pytest.mark.parametrize("room", [0, 100, 5000])
def test_a_full_disk_during_save_leaves_the_old_file_byte_for_byte(tmp_path, monkeypatch, room):
    target = tmp_path / "xor-edited.toml"
    target.write_bytes(GOOD)
    session = edited_session()
    full_disk_after(monkeypatch, room)
    with pytest.raises(CommandError, match=f"save: cannot write {target}: No space left on device"):
        session.save(str(target), force=True)
    assert target.read_bytes() == GOOD
    assert os.listdir(tmp_path) == ["xor-edited.toml"]  # no temporary file left behind


def test_a_save_that_succeeds_replaces_the_file_and_keeps_its_mode(tmp_path):
    target = tmp_path / "xor-edited.toml"
    target.write_bytes(GOOD)
    target.chmod(0o640)
    edited_session().save(str(target), force=True)
    assert scenario.load(str(target)).learning_rate == 0.25
    assert target.stat().st_mode & 0o777 == 0o640 and os.listdir(tmp_path) == ["xor-edited.toml"]


@pytest.mark.parametrize("command", ["save {}", "save  {}"])
def test_save_from_a_script_refuses_a_file_that_exists(tmp_path, run_cli, command):
    target = tmp_path / "pyproject.toml"
    target.write_bytes(GOOD)
    code, out, err = run_cli("replay", "xor", "-c", "set lr 0.25; " + command.format(target))
    assert code == 2 and err == (f"bpstep: -c:1: save: {target} exists; expected a new file name, "
                                 f"or save! {target} to replace it\n")
    assert target.read_bytes() == GOOD


def test_save_refuses_a_symbolic_link_and_never_writes_through_it(tmp_path, run_cli):
    precious = tmp_path / "precious.toml"
    precious.write_bytes(GOOD)
    link = tmp_path / "link.toml"
    link.symlink_to(precious)
    assert run_cli("replay", "xor", "-c", f"save {link}")[0] == 2
    assert run_cli("replay", "xor", "-c", f"save! {link}")[0] == 0
    assert precious.read_bytes() == GOOD and not link.is_symlink()  # the link itself was replaced


@pytest.mark.parametrize("command", ["save! {}", "save {} --force", "SAVE! {}"])
def test_save_bang_or_force_replaces_it(tmp_path, run_cli, command):
    target = tmp_path / "old.toml"
    target.write_bytes(GOOD)
    code, out, err = run_cli("replay", "xor", "-c", "set lr 0.25; " + command.format(target))
    assert code == 0 and err == "" and f"# saved {target}" in out
    assert scenario.load(str(target)).learning_rate == 0.25


def test_save_writes_del_escaped(tmp_path):
    sc = dataclasses.replace(scenario.load("worked-222"), title="a\x7fb")
    path = tmp_path / "t.toml"
    Session(sc).save(str(path))
    assert "\\u007f" in path.read_text(encoding="utf-8")
    assert scenario.load(str(path)).title == "a\x7fb (what-if)"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.text(), name=st.text(min_size=1))
def test_whatever_save_writes_loads_back(tmp_path, title, name):
    sc = dataclasses.replace(scenario.load("worked-222"), title=title, name=name)
    path = tmp_path / "t.toml"
    Session(sc, Tape(sc)).save(str(path), force=True)
    saved = scenario.load(str(path))
    assert saved.title == title + " (what-if)"
    assert saved.description.startswith(f"{name} with the what-if edits")


def test_save_writes_a_name_with_an_undecodable_byte_as_the_replacement_character(tmp_path):
    sc = dataclasses.replace(scenario.load("worked-222"), name="caf\udce9")  # a file name's byte 0xE9
    path = tmp_path / "t.toml"
    Session(sc).save(str(path))
    assert scenario.load(str(path)).description.startswith("caf\ufffd with the what-if edits")
