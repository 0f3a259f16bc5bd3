"""Diagnostics: what goes wrong in training that a condition on one step cannot see, because it
is about a unit over the whole batch or about a whole layer.

- **dead** (relu): zⱼ ≤ 0 for every sample n of the batch, so aⱼ = 0 and relu′ = 0 for all of
  them and no gradient reaches the unit's weights; it stays so until something else moves zⱼ.
  It becomes true at z[l,j]@N, the last sample's pre-activation.
- **saturated EPS** (sigmoid, tanh): σ′(zⱼ) = σ(1 − σ) or tanh′(zⱼ) = 1 − tanh² below EPS (default
  1e-3): the unit passes back less than EPS of each ∂E/∂a. True at each such da[l,j]/dz[l,j]@n.
- **vanishing EPS** / **exploding X**: the layer's gradient norm ‖g‖ = √(Σ (∂E/∂W)² + Σ (∂E/∂b)²)
  of the batch below EPS (default 1e-6) or above X (default 1e3). True at the layer's last
  batch-gradient step, where ‖g‖ is complete.

Each is a breakpoint (``break dead``, …) and a row of ``health``. The gradient norms over the
epochs (:class:`GradientNorms`) are the loss panel's second plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import engine, ids
from .notation import fmt

#: the diagnostics and their default thresholds
DEFAULTS = {"dead": None, "saturated": 1e-3, "vanishing": 1e-6, "exploding": 1e3}
SATURATING = ("sigmoid", "tanh")


@dataclass(frozen=True)
class Diagnostic:
    """A numerical trouble to break on (``kind``, as in ``break vanishing``) and its threshold."""

    kind: str
    threshold: float | None

    def describe(self) -> str:
        return self.kind + ("" if self.threshold is None else f" {self.threshold:g}")


def dead(scenario, arrays, layer: int) -> np.ndarray | None:
    """Which units of ``layer`` (1-based) are dead relus (a bool per unit), or None: not relu."""
    if scenario.activations[layer - 1] != "relu":
        return None
    return np.all(arrays.z[layer - 1] <= 0, axis=0)


def saturated(scenario, arrays, layer: int, eps: float) -> np.ndarray | None:
    """Where the activation's derivative is below ``eps``, N × J; None: not a saturating
    activation, or an epoch without a backward pass."""
    if scenario.activations[layer - 1] not in SATURATING or not arrays.dadz:
        return None
    return np.asarray(arrays.dadz[layer - 1]) < eps


def gradient_norm(arrays, layer: int) -> float | None:
    """‖(∂E/∂W, ∂E/∂b)‖ of the batch for ``layer``, float64; None without a backward pass."""
    if not arrays.gW:
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's norm is inf or nan, quietly
        total = np.sum(np.square(np.asarray(arrays.gW[layer - 1], dtype=np.float64)))
        if arrays.gb:
            total += np.sum(np.square(np.asarray(arrays.gb[layer - 1], dtype=np.float64)))
    return math.sqrt(total) if np.isfinite(total) else float(total)


def _norm_out_of_bounds(d: Diagnostic, norm: float | None) -> bool:
    if norm is None:
        return False
    return norm < d.threshold if d.kind == "vanishing" else norm > d.threshold


def hits(d: Diagnostic, scenario, grid, arrays) -> list:
    """``(block, indices)`` of the steps of one epoch where ``d`` is true, the indices ascending."""
    out = []
    for layer in range(1, scenario.layers + 1):
        if d.kind == "dead":
            units = dead(scenario, arrays, layer)
            block = grid.by_kind.get(("z", layer))
            if units is None or block is None or not units.any():
                continue
            j = np.flatnonzero(units)
            out.append((block, grid.position(block, {"n": np.full_like(j, scenario.samples - 1), "j": j})))
        elif d.kind == "saturated":
            mask = saturated(scenario, arrays, layer, d.threshold)
            block = grid.by_kind.get(("dadz", layer))
            if mask is None or block is None or not mask.any():
                continue
            n, j = np.nonzero(mask)
            out.append((block, np.sort(grid.position(block, {"n": n, "j": j}))))
        elif _norm_out_of_bounds(d, gradient_norm(arrays, layer)):
            last = _last_gradient_step(scenario, grid, layer)
            if last is not None:
                out.append(last)
    return [(block, np.asarray(pos, dtype=np.int64)) for block, pos in out]


def _last_gradient_step(scenario, grid, layer: int):
    """``(block, [index])`` of the layer's last batch-gradient step, or None."""
    fan_in, units = scenario.sizes[layer - 1], scenario.sizes[layer]
    last = None
    for kind, env in (("gW", {"j": units - 1, "i": fan_in - 1, "p": units * fan_in - 1}), ("gb", {"j": units - 1})):
        block = grid.by_kind.get((kind, layer))
        if block is None:
            continue
        pos = grid.position(block, env)
        if pos is not None and pos >= 0 and (last is None or pos > last[1][0]):
            last = (block, [int(pos)])
    return last


def why(d: Diagnostic, scenario, arrays, step) -> str:
    """What made ``d`` true at ``step`` (one of its hits), in words."""
    layer, j = ids.parse(step.id).idx[:2]
    if d.kind == "dead":
        z = arrays.z[layer - 1][:, j - 1]
        return (f"relu unit a[{layer},{j}] is dead: z ≤ 0 for all {len(z)} samples of the batch "
                f"(largest z = {fmt(float(np.max(z)))}), so no gradient reaches its weights")
    if d.kind == "saturated":
        name = "σ′" if scenario.activations[layer - 1] == "sigmoid" else "tanh′"
        return f"{name} = {fmt(step.value)} < {d.threshold:g}: the unit passes back almost none of its ∂E/∂a"
    side = "<" if d.kind == "vanishing" else ">"
    return f"layer {layer}'s gradient norm ‖∂E/∂W, ∂E/∂b‖ = {fmt(gradient_norm(arrays, layer))} {side} {d.threshold:g}"


def health(scenario, arrays, eps: float = DEFAULTS["saturated"]) -> list[str]:
    """Per layer: its units and activation, dead and saturated units (saturated: below ``eps``
    for every sample), and the batch's gradient norm — as lines of a table."""
    rows = [("layer", "units", "activation", "dead", f"saturated (< {eps:g})", "‖∂E/∂W, ∂E/∂b‖")]
    for layer in range(1, scenario.layers + 1):
        units = scenario.sizes[layer]
        d = dead(scenario, arrays, layer)
        s = saturated(scenario, arrays, layer, eps)
        norm = gradient_norm(arrays, layer)
        rows.append((str(layer), str(units), scenario.activations[layer - 1],
                     "—" if d is None else _share(int(d.sum()), units),
                     "—" if s is None else _share(int(np.all(s, axis=0).sum()), units),
                     "—" if norm is None else f"{norm:.4e}"))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def _share(count: int, units: int) -> str:
    return f"{count} of {units} ({100 * count / units:.0f}%)"


class GradientNorms:
    """Each layer's batch gradient norm at the training epochs whose parameters the tape holds
    (every 100th epoch that a run has passed, the recent ones, the ones shown): the points of
    the gradient-norm plot. ``wanted`` picks the epochs still to compute, as jobs that do not
    touch the tape, so that ``compute`` can run in a worker thread; a what-if edit (a new
    generation of the tape) forgets them all."""

    def __init__(self, tape):
        self.tape = tape
        self.generation = tape.generation
        self._norms: dict[int, list] = {}

    def wanted(self, first: int, last: int, count: int) -> list:
        """``(epoch, network, parameters)`` of at most ``count`` epochs spread over
        ``first…last`` whose norms are not known yet."""
        if self.tape.generation != self.generation:
            self.generation, self._norms = self.tape.generation, {}
        epochs = np.array([e for e in self.tape.known_epochs() if first <= e <= last], dtype=np.int64)
        if len(epochs) > count:  # the known epoch nearest to each of ``count`` evenly spaced ones
            want = np.linspace(first, last, count)
            at = np.clip(np.searchsorted(epochs, want), 1, len(epochs) - 1)
            nearer = np.where(want - epochs[at - 1] <= epochs[at] - want, at - 1, at)
            epochs = np.unique(epochs[nearer])
        epochs = epochs.tolist()
        return [(e, self.tape.network(e), self.tape.params(e)) for e in epochs if e not in self._norms]

    @staticmethod
    def compute(jobs) -> dict:
        """epoch → the layers' norms, one full epoch each (no tape involved)."""
        out = {}
        for epoch, net, params in jobs:
            _, _, arrays = engine.run_epoch(net, params, full=True)
            out[epoch] = [gradient_norm(arrays, layer) for layer in range(1, net.layers + 1)]
        return out

    def add(self, generation: int, norms: dict) -> None:
        if generation == self.generation:
            self._norms.update(norms)

    def series(self) -> np.ndarray:
        """layers × epochs: the norms known, NaN elsewhere."""
        out = np.full((self.tape.scenario.layers, self.tape.epochs + 1), np.nan)
        for epoch, norms in self._norms.items():
            out[:, epoch] = norms
        return out
