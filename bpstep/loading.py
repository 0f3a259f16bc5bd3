"""Loading a scenario with everything its ``[init]`` may ask for.

:mod:`bpstep.scenario` validates files and never imports the torch mirror; a scenario with
``[init] method = "torch"`` needs the weights ``nn.Linear`` draws, so the loader is handed
:func:`draw_torch_init`, which imports :mod:`bpstep.reference` (and so torch) only when such a
scenario is loaded. The command line and the TUI load scenarios through :func:`load`.
"""

from __future__ import annotations

from . import scenario as scenarios


def draw_torch_init(sizes, bias: bool, seed: int):
    """The weights (and biases) ``nn.Linear`` draws after ``torch.manual_seed(seed)``, as float64
    arrays holding the float32 values exactly; :class:`scenarios.InitUnavailable` without torch."""
    from . import reference  # only for method = "torch": the mirror is the one module with torch

    try:
        return reference.torch_init(list(sizes), bias, seed)
    except reference.TorchUnavailable as e:
        raise scenarios.InitUnavailable(str(e)) from None


def load(spec: str) -> scenarios.Scenario:
    """:func:`bpstep.scenario.load` with torch-drawn weights available."""
    return scenarios.load(spec, draw_torch_init=draw_torch_init)


def parse(text: str, shown: str, default_name: str = "scenario", base=None) -> scenarios.Scenario:
    """:func:`bpstep.scenario.parse` with torch-drawn weights available."""
    return scenarios.parse(text, shown, default_name, draw_torch_init=draw_torch_init, base=base)
