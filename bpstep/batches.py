"""Mini-batches: the samples each iteration of an epoch trains on, in the order a PyTorch
``DataLoader(dataset, batch_size=B, shuffle=..., drop_last=False)`` loop hands them out.

An epoch of N samples is ⌈N/B⌉ iterations. Its order is 0…N−1, or with shuffling
``np.random.default_rng([shuffle_seed, epoch]).permutation(N)``: a generator of its own per
epoch, so any epoch's order is known without drawing the ones before it. Iteration i trains on
``order[i·B:(i+1)·B]``; the last batch holds what is left (fewer than B samples when B does not
divide N). The torch mirror and the tests take the same index arrays from here.
"""

from __future__ import annotations

import numpy as np


def iterations(samples: int, batch_size: int) -> int:
    """Iterations of an epoch: ⌈N/B⌉."""
    return -(-samples // batch_size)


def order(samples: int, shuffle_seed: int | None, epoch: int) -> np.ndarray:
    """The samples of ``epoch`` in the order the epoch trains on them (0-based)."""
    if shuffle_seed is None:
        return np.arange(samples)
    return np.random.default_rng([shuffle_seed, epoch]).permutation(samples)


def batch(samples: int, batch_size: int, shuffle_seed: int | None, epoch: int, iteration: int) -> np.ndarray:
    """The samples (0-based, in order) of iteration ``iteration`` of ``epoch``."""
    return order(samples, shuffle_seed, epoch)[iteration * batch_size:(iteration + 1) * batch_size]
