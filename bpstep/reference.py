"""The PyTorch mirror of the engine: the only module that imports torch, and only when asked."""

from __future__ import annotations

import numpy as np


class TorchUnavailable(RuntimeError):
    """torch cannot be imported, or the device asked for is not there."""


def import_torch():
    try:
        import torch
    except ImportError as e:
        raise TorchUnavailable(f"torch is not installed: {e}") from None
    return torch


def torch_init(sizes, bias, seed):
    """The weights (and biases) ``nn.Linear`` draws for ``sizes`` after ``torch.manual_seed(seed)``,
    layers created in order, as float64 arrays holding the float32 values exactly."""
    torch = import_torch()
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        layers = [torch.nn.Linear(a, b, bias=bias) for a, b in zip(sizes[:-1], sizes[1:])]
    finally:
        torch.random.set_rng_state(gen_state)
    weights = [layer.weight.detach().numpy().astype(np.float64) for layer in layers]
    biases = [layer.bias.detach().numpy().astype(np.float64) for layer in layers] if bias else None
    return weights, biases
