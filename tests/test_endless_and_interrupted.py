"""An endless or binary script is refused at once, naming the script; a Ctrl-C while bpstep's
modules are still loading exits 130 without a traceback."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("script", ["/dev/zero"])
def test_a_binary_endless_script_is_refused_naming_it(run_cli, script):
    if not os.path.exists(script):
        pytest.skip(f"no {script} here")
    assert run_cli("replay", "xor", "--script", script) == (
        2, "", f"bpstep: {script}: is a binary file; expected a script of bpstep commands\n")


def test_an_endless_text_script_is_refused_past_a_mebibyte(run_cli):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a child writing "step" lines for ever, until the pipe is closed
        os.close(read)
        try:
            while True:
                os.write(write, b"step\n" * 4096)
        except OSError:
            os._exit(0)
    os.close(write)
    try:
        code, out, err = run_cli("replay", "xor", "--script", f"/proc/self/fd/{read}"
                                 if os.path.exists("/proc/self/fd") else f"/dev/fd/{read}")
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert code == 2 and out == "" and err.endswith(
        ": the script is longer than 1 MiB; expected a script of bpstep commands of at most 1 MiB\n")


# Ctrl-C at the moment NumPy is imported, made deterministic: an import hook raises it there
_INTERRUPT_AT_NUMPY = """
import sys
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
"""


@pytest.mark.parametrize("entry", [
    "from bpstep.cli import main\nsys.exit(main())",  # what the console script `bpstep` does
    "import runpy\nrunpy.run_module('bpstep', run_name='__main__')",  # python -m bpstep
])
def test_ctrl_c_while_modules_load_exits_130_without_a_traceback(entry):
    code = _INTERRUPT_AT_NUMPY + entry
    proc = subprocess.run([sys.executable, "-c", code, "replay", "xor", "-c", "step"], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "")
