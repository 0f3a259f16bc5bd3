"""bpstep: a step-through debugger for backpropagation in the terminal.

The public Python API is what ``__all__`` lists; everything else may change. The names are
imported when first used, so that ``import bpstep`` (and the command line) stays quick::

    import bpstep
    s = bpstep.open("worked-222")        # a built-in name, a .toml path or a Scenario
    s.run("goto dE/dW[2,1,1]@1")
    s.value("dE/dW[2,1,1]@1")            # 0.0259228...
    for step in s.steps():               # the steps of the cursor's epoch
        print(step.qid, step.name, step.formula, step.numbers(), step.value)

    sc = bpstep.from_torch(model, x, y, torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.5))
    bpstep.debug(model, x, y, torch.nn.MSELoss())   # the TUI on it, until you quit
"""

__version__ = "0.1.0"

__all__ = ["open", "debug", "from_torch", "Session", "Result", "Step", "Scenario", "ScenarioError", "CommandError",
           "CompareError", "Unsupported", "compare"]

_HOMES = {"Session": "session", "Result": "session", "Step": "tape", "Scenario": "scenario",
          "ScenarioError": "scenario", "CommandError": "commands", "CompareError": "compare", "compare": "compare",
          "from_torch": "torch_model", "Unsupported": "torch_model"}


def open(source):  # noqa: A001 (bpstep.open, as the issue's API names it; the builtin is untouched)
    """A :class:`Session` on ``source``: a built-in scenario's name, a path to a ``.toml`` file,
    or a :class:`Scenario`. Raises :class:`ScenarioError` for one that cannot be used."""
    from .loading import load
    from .scenario import Scenario
    from .session import Session

    return Session(source if isinstance(source, Scenario) else load(str(source)))


def debug(model, inputs, targets, loss_fn, optimizer=None, **kw) -> None:
    """Open the debugger's TUI on a PyTorch model being trained (see :func:`from_torch`, which
    takes the same arguments), the way ``breakpoint()`` opens pdb; returns when you quit."""
    from .torch_model import from_torch
    from .tui.app import BpstepApp

    BpstepApp(from_torch(model, inputs, targets, loss_fn, optimizer, **kw)).run()


def __getattr__(name):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'bpstep' has no attribute {name!r}")
