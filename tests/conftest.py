import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture
def run_cli(capsys):
    """Run ``bpstep ARGS`` in-process: (exit code, stdout, stderr)."""
    from bpstep.cli import main

    def run(*args):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
