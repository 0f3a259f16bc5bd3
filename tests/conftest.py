import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_cli(capsys):
    """Run ``bpstep ARGS`` in-process: (exit code, stdout, stderr)."""
    from bpstep.cli import main

    def run(*args):
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def bpstep_process(*args, cwd=None, timeout=120, python=None):
    """Run ``python -m bpstep ARGS`` as a separate process (source tree on the path)."""
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([python or sys.executable, "-m", "bpstep", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def make_app():
    """The TUI app for a scenario (a built-in name, a file or a Scenario), keeping every notification in
    ``said`` (the screen drops them after a few seconds): ``make_app(source, **kwargs)``. The
    cross-check is off unless a ``checker_factory`` is given or ``crosscheck=True`` asks for it."""
    from bpstep import scenario
    from bpstep.tui.app import BpstepApp

    class Recording(BpstepApp):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.said = []

        def notify(self, message, **kwargs):
            self.said.append((message, kwargs.get("severity", "information")))
            super().notify(message, **kwargs)

    def make(source="worked-222", **kwargs):
        kwargs.setdefault("crosscheck", "checker_factory" in kwargs)
        loaded = source if isinstance(source, scenario.Scenario) else scenario.load(str(source))
        return Recording(loaded, **kwargs)

    return make


@pytest.fixture
def run_proc():
    """Run ``python -m bpstep ARGS`` in a subprocess: the CompletedProcess (text)."""
    return bpstep_process


@pytest.fixture
def write_scenario(tmp_path):
    """Write TOML text (dedented) to a scenario file in a temporary folder; returns its path."""
    import textwrap

    def write(text, name="scenario.toml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


DIVERGING = """
    title = "identity network with a huge learning rate: it blows up to inf, then nan"
    [network]
    sizes = [1, 1, 1]
    activation = "identity"
    bias = false
    [init]
    weights = [[[2.0]], [[3.0]]]
    [data]
    inputs = [[1.0]]
    targets = [[0.0]]
    [training]
    loss = "half_sse"
    learning_rate = 100.0
    epochs = 8
"""


@pytest.fixture
def diverging(write_scenario):
    """A scenario whose values overflow to inf, then nan, within its 8 epochs."""
    return write_scenario(DIVERGING, "diverging.toml")


def fit_to_loss(loss, acts, sizes):
    """A drawn network made valid for its loss, as the scenario rules ask: sigmoid outputs for
    bce, softmax over at least 2 outputs for cross_entropy, softmax nowhere else."""
    acts = ["sigmoid" if a == "softmax" else a for a in acts]
    sizes = list(sizes)
    if loss == "bce":
        acts[-1] = "sigmoid"
    if loss == "cross_entropy":
        acts[-1], sizes[-1] = "softmax", max(2, sizes[-1])
    return acts, sizes


def targets_for(loss, rng, n, K, low=0.0):
    """N×K targets for the loss: one-hot rows of random classes for cross_entropy, else uniform
    in [low, 1)."""
    import numpy as np

    if loss == "cross_entropy":
        return np.eye(K)[rng.integers(0, K, n)]
    return rng.uniform(low, 1, (n, K))


_BIG = """
[network]
sizes = [64, 32, 10]
activation = "sigmoid"
[init]
method = "uniform"
seed = 4
[data]
inputs = {inputs}
targets = {targets}
[training]
loss = "mse"
learning_rate = 0.5
epochs = 2
dtype = "float32"
"""


@pytest.fixture
def big_scenario(write_scenario):
    """A 64-32-10 network over 16 samples (95,717 steps an epoch): its sums are longer than a
    text line or the formula panel writes whole."""
    import numpy as np

    rng = np.random.default_rng(3)
    return write_scenario(_BIG.format(inputs=rng.random((16, 64)).round(3).tolist(),
                                      targets=rng.random((16, 10)).round(3).tolist()), "big.toml")
