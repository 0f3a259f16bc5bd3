"""Why two free runs part: each engine trains alone from the same start, and the same sums
taken in a different order differ in their last bit (float32: about 1e-7 of the value). Training
feeds each epoch's result into the next, so those bits are carried along; where the loss changes
fastest (XOR's drop) a small difference in the weights is a large difference in the loss, and
the runs part by up to a percent before they meet again. Every step is still computed right: the
teacher-forced cross-check starts each epoch from bpstep's own parameters and agrees to the last
bits. This module finds where a run changes fastest and says so; it needs no torch."""

from __future__ import annotations

import math

import numpy as np

#: the reason, for ``bpstep check`` (the loss panel says it in a few words)
WHY = ("the same float32 sums taken in another order differ in their last bit, and training carries "
       "that on and amplifies it where the loss changes fastest; each step is still right: the "
       "teacher-forced ✓ above starts every epoch from bpstep's own parameters")


def steepest(losses: np.ndarray) -> int | None:
    """The epoch whose next epoch's loss differs most from its own (the drop), among the epochs
    computed so far; None with fewer than two."""
    change = np.abs(np.diff(np.asarray(losses, dtype=np.float64)))
    if not np.isfinite(change).any():
        return None
    return int(np.nanargmax(change))


def around(centre: int, last: int, step: int, count: int = 2) -> list[int]:
    """``centre`` and ``count`` epochs each side at ``step``, within 0…``last``."""
    return sorted({min(last, max(0, centre + k * step)) for k in range(-count, count + 1)})


def in_range(text: str, last: int) -> list[int] | None:
    """The epochs of ``A:B`` or ``A:B:STEP`` (about 20 of them without a step), within 0…``last``;
    None when ``text`` is not such a range."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts) or int(parts[0]) > int(parts[1]):
        return None
    lo, hi = int(parts[0]), min(int(parts[1]), last)
    step = int(parts[2]) if len(parts) == 3 else max(1, math.ceil((hi - lo) / 20))
    return list(range(lo, hi + 1, max(1, step))) if lo <= last else None


def note(losses: np.ndarray, epoch: int, dtype: str) -> str:
    """The loss panel's line near a float32 run's steepest change (within 1% of the run), or ''."""
    centre = steepest(losses) if dtype == "float32" else None
    if centre is None or abs(epoch - centre) > max(10, len(losses) // 100):
        return ""
    return f"e{centre} steepest: free runs part here (float32 sum order; bpstep check says more)"
