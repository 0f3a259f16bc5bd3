"""The tape: every step of every epoch, expanded lazily.

Epochs 0 … E−1 are training epochs, epoch E is the evaluate phase. The parameters at the start
of an epoch come from the nearest checkpoint (kept every ``CHECKPOINT_EVERY`` epochs) and the
vectorised fast-forward; the arrays of a few recent epochs are cached. So reaching epoch 9000
costs 9000 vectorised epochs once, stepping back across an epoch boundary at most
``CHECKPOINT_EVERY`` of them, and memory stays bounded however many epochs are visited.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

import numpy as np

from . import batches, engine, functions
from .ids import indices
from .layout import Layout, Spec
from .notation import Const, Ref, fmt, operands, refs, render
from .edits import Edits

CHECKPOINT_EVERY = 100
RECORDS_KEPT = 4
#: terms of a sum a text line writes in full (XOR's longest has 11; a 64-input layer's has 64)
LINE_TERMS = 32

_GET = {
    "x": lambda r, n, i: r.arrays.act[0][n, i],
    "t": lambda r, n, k: r.T[n, k],
    "lr": lambda r: r.lr,
    "one": lambda r: 1.0,
    "W": lambda r, l, j, i: r.arrays.W[l][j, i],
    "b": lambda r, l, j: r.arrays.b[l][j],
    "z": lambda r, l, n, j: r.arrays.z[l][n, j],
    "a": lambda r, l, n, j: r.arrays.act[l + 1][n, j],
    "Ek": lambda r, n, k: r.arrays.E_terms[n, k],
    "En": lambda r, n: r.arrays.E_sample[n],
    "E": lambda r: r.arrays.E,
    "dEda": lambda r, l, n, j: r.arrays.dEda[l][n, j],
    "dadz": lambda r, l, n, j: r.arrays.dadz[l][n, j],
    "jac": lambda r, l, n, k, j: r.arrays.dadz[l][n, k, j],  # a softmax layer's dadz is its Jacobian
    "opt": lambda r, q, P, l, *idx: r.arrays.opt[(q, P)][l][idx],  # the optimizer's quantities
    "optprev": lambda r, q, P, l, *idx: r.arrays.opt_prev[(q, P)][l][idx],  # and its state before
    "hp": lambda r, name: r.epoch + 1 if name == "steps" else r.hyper[name],
    "dEdz": lambda r, l, n, j: r.arrays.dEdz[l][n, j],
    "dzdW": lambda r, l, n, i: r.arrays.dzdW[l][n, i],
    "gWs": lambda r, l, n, j, i: r.arrays.gW_sample[l][n, j, i],
    "gbs": lambda r, l, n, j: r.arrays.gb_sample[l][n, j],
    "gW": lambda r, l, j, i: r.arrays.gW[l][j, i],
    "gb": lambda r, l, j: r.arrays.gb[l][j],
    "Wd": lambda r, l, j, i: r.arrays.W_down[l][j, i],
    "part": lambda r, l, n, j, i: r.arrays.parts[l][n, j, i],
    "W+": lambda r, l, j, i: r.arrays.W_new[l][j, i],
    "b+": lambda r, l, j: r.arrays.b_new[l][j],
}


class Cancelled(Exception):
    """A long computation was cancelled; the cursor stays where it was."""


#: the most numbers (outputs) a fast-forward holds for the losses it has yet to work out
_HELD = 1 << 20


class _Losses:
    """The batch losses of a fast-forward, worked out a run of epochs at a time into ``losses``:
    consecutive epochs of one network (the same data) are held with what their loss reads, and
    settled together."""

    def __init__(self, losses: np.ndarray):
        self.losses, self.net, self.first, self.seen, self.size = losses, None, 0, [], 0

    def add(self, net: engine.Network, epoch: int, seen: np.ndarray) -> None:
        if net is not self.net or self.size + seen.size > _HELD:
            self.settle()
            self.net, self.first = net, epoch
        self.seen.append(seen)
        self.size += seen.size

    def settle(self) -> None:
        if self.seen:
            self.losses[self.first:self.first + len(self.seen)] = self.net.fast_forward.losses(self.seen)
            self.seen, self.size = [], 0


def network_for(scenario) -> tuple[engine.Network, engine.Params]:
    """The scenario in the engine's dtype: the network and its initial parameters."""
    dt = np.dtype(scenario.dtype)
    W = [np.asarray(w, dtype=dt) for w in scenario.weights]
    b = [np.asarray(v, dtype=dt) for v in scenario.biases] if scenario.bias else None
    W_mask = b_mask = None
    if scenario.freeze:
        W_mask = [np.ones_like(w) for w in W]
        b_mask = [np.ones_like(v) for v in b] if b is not None else None
        for pid in scenario.freeze:
            kind, idx = pid[0], [i - 1 for i in indices(pid)]
            (W_mask if kind == "W" else b_mask)[idx[0]][tuple(idx[1:])] = 0
    net = engine.Network(activations=list(scenario.activations), loss=scenario.loss,
                         lr=dt.type(scenario.learning_rate), sequential=scenario.update_order == "sequential",
                         X=np.asarray(scenario.inputs, dtype=dt), T=np.asarray(scenario.targets, dtype=dt),
                         W_mask=W_mask, b_mask=b_mask, optimizer=scenario.optimizer,
                         hyper=hyper_for(scenario.optimizer, dict(scenario.hyper), dt))
    return net, engine.Params(W, b)


def hyper_for(optimizer: str, given: dict, dt) -> dict:
    """The optimizer's hyper-parameters (torch's defaults where not given), numbers in the dtype."""
    h = dict(functions.OPTIMIZERS[optimizer].hyper, **given)
    return {k: v if isinstance(v, bool) else dt.type(v) for k, v in h.items()}


class Record:
    """The arrays of one epoch, and value lookup by a step's key."""

    def __init__(self, epoch: int, arrays: engine.EpochArrays, net: engine.Network, place: tuple | None = None):
        self.epoch, self.arrays, self.T, self.lr = epoch, arrays, net.T, net.lr
        self.hyper = net.hyper
        #: with mini-batches (epoch, iteration) of the unit, the iteration None in the evaluate
        #: phase; None where units are epochs
        self.place = place

    @property
    def tag(self) -> str:
        """Where the record is in the outputs: ``e3``, or ``e3 i2`` for iteration 2 of epoch 3."""
        if self.place is None:
            return f"e{self.epoch}"
        epoch, iteration = self.place
        return f"e{epoch}" if iteration is None else f"e{epoch} i{iteration}"

    @property
    def words(self) -> str:
        """``epoch 3``, or ``epoch 3 · iteration 2``."""
        return self.tag.replace("e", "epoch ", 1).replace(" i", " · iteration ")

    @property
    def fields(self) -> dict:
        """The same for JSON: the epoch, and the iteration with mini-batches."""
        if self.place is None:
            return {"epoch": self.epoch}
        epoch, iteration = self.place
        return {"epoch": epoch} if iteration is None else {"epoch": epoch, "iteration": iteration}

    def value(self, key: tuple) -> float:
        return float(self.lookup(key))

    def lookup(self, key: tuple):
        """The value at ``key`` as stored; with index arrays in ``key`` and arrays that hold many
        epochs on their last axis, every (step, epoch) at once (the cross-check reads them so)."""
        return _GET[key[0]](self, *key[1:])

    def values(self, key: tuple, shape) -> np.ndarray:
        """The values at ``key`` (index arrays of ``shape``) as float64, one per step."""
        return np.broadcast_to(np.asarray(self.lookup(key), dtype=np.float64), shape)


class Step:
    """One step of the tape: a :class:`Spec` with the numbers of its epoch."""

    __slots__ = ("epoch", "spec", "record")

    def __init__(self, epoch: int, spec: Spec, record: Record):
        self.epoch, self.spec, self.record = epoch, spec, record

    index = property(lambda self: self.spec.index)
    phase = property(lambda self: self.spec.phase)
    sample = property(lambda self: self.spec.sample)
    id = property(lambda self: self.spec.id)
    qid = property(lambda self: self.spec.qid)
    factor = property(lambda self: self.spec.factor)
    uses = property(lambda self: self.spec.uses)

    @property
    def position(self) -> tuple:
        return (self.epoch, self.spec.index)

    @property
    def name(self) -> str:
        return self.spec.name.uni

    @property
    def value(self) -> float:
        return self.record.value(self.spec.key)

    def numbers(self) -> list:
        """The values that the formula reads, in reading order."""
        return [self.record.value(k) for k in self.spec.keys]

    @property
    def formula(self) -> str:
        return f"{self.name} = {self.spec.sym}"

    def _numbers_text(self) -> str:
        """The right-hand side with the numbers put in."""
        return self.spec.template.format(*operands(self.spec.rhs, self.numbers()))

    @property
    def substituted(self) -> str:
        return f"{self.name} = {self._numbers_text()}"

    def head(self, most: int) -> tuple:
        """``(rhs, its numbers as written, terms left out)``: a sum of more than ``most`` terms
        only as far as its first ``most`` (a pre-activation of 784 inputs is more than anyone
        reads on one line, and building it all costs more than the epoch)."""
        rhs, more = self.spec.head(most)
        values = [self.record.value(r.key) for r in refs(rhs)] if more else self.numbers()
        return rhs, operands(rhs, values), more

    def line(self, shown: str | None = None) -> str:
        """formula = numbers = value, leaving out what would only repeat itself; ``shown`` in
        place of the value (a quiz's question hides it). A sum of more than ``LINE_TERMS`` terms
        is written as far as its first ``LINE_TERMS``, then how many more there are."""
        spec, value = self.spec, fmt(self.value) if shown is None else shown
        rhs, numbers, more = self.head(LINE_TERMS)
        if isinstance(rhs, Const):
            return f"{self.name} = {value}"
        if isinstance(rhs, Ref):
            return f"{self.name} = {spec.sym} = {value}"
        if not more:
            return f"{self.name} = {spec.sym} = {spec.template.format(*numbers)} = {value}"
        rest = f" + … {more} more"
        sym, template = render(rhs, lambda r: r.name.uni), render(rhs, lambda r: "{}")
        return f"{self.name} = {sym}{rest} = {template.format(*numbers)}{rest} = {value}"


class Tape:
    """The whole run of a scenario, expanded an epoch at a time."""

    def __init__(self, scenario, layout: Layout | None = None):
        self.scenario = scenario
        self.layout = layout or Layout(scenario)
        self.net, params = network_for(scenario)
        #: what-if edits (:mod:`bpstep.whatif`); ``network(epoch)`` is the net in force at an epoch
        self.edits = Edits(self.net)
        self.generation = 0  # counts invalidations, for caches of computed values
        #: iterations of an epoch (⌈N/B⌉); the tape's units are iterations: unit u is iteration
        #: u mod K of epoch u div K, and unit E·K the evaluate phase. Without mini-batches K = 1
        #: and a unit is an epoch.
        self.iterations = scenario.iterations
        self.batched = self.iterations > 1 or scenario.shuffle_seed is not None
        self._batch_layouts = {scenario.samples: self.layout}
        self.epochs = scenario.epochs * self.iterations
        self._checkpoints = {0: params}
        self._frontier = (0, params)  # the latest epoch whose start parameters are known
        #: the start parameters of the last CHECKPOINT_EVERY epochs computed behind the frontier
        #: (or recorded), so that walking back over them (rcontinue, N across epochs) costs one
        #: epoch each after the first
        self._recent: dict[int, engine.Params] = {}
        self._records: OrderedDict[int, Record] = OrderedDict()
        #: loss of each epoch's forward pass (epoch E: the evaluate phase); NaN until computed
        self.losses = np.full(self.epochs + 1, np.nan)
        #: while what-if edits are in force: the scenario's own run's losses, as far as known
        self.original_losses = None

    # -- positions -------------------------------------------------------------------------------

    def is_evaluate(self, epoch: int) -> bool:
        return epoch == self.epochs

    def epoch_iteration(self, unit: int) -> tuple:
        """(epoch, iteration) of a unit; the evaluate phase is (E, 0)."""
        return divmod(unit, self.iterations)

    def unit(self, epoch: int, iteration: int = 0) -> int:
        """The unit of iteration ``iteration`` of ``epoch``."""
        return epoch * self.iterations + iteration

    def batch(self, unit: int) -> np.ndarray:
        """The samples (0-based) a training unit trains on; every sample in the evaluate phase."""
        sc = self.scenario
        if not self.batched or self.is_evaluate(unit):
            return np.arange(sc.samples)
        return batches.batch(sc.samples, sc.batch, sc.shuffle_seed, *self.epoch_iteration(unit))

    def layout_of(self, unit: int) -> Layout:
        """The layout of a unit's steps: that of its batch's size (the last batch may be smaller)."""
        if not self.batched or self.is_evaluate(unit):
            return self.layout
        epoch, iteration = self.epoch_iteration(unit)
        size = min(self.scenario.batch, self.scenario.samples - iteration * self.scenario.batch)
        if size not in self._batch_layouts:
            sc = self.scenario
            self._batch_layouts[size] = Layout(replace(sc, inputs=sc.inputs[:size], targets=sc.targets[:size]))
        return self._batch_layouts[size]

    def specs(self, epoch: int):
        """The epoch's steps as a sequence (each :class:`Spec` made when asked for)."""
        return self.layout_of(epoch).specs(self.is_evaluate(epoch))

    # the grid the motions read (bpstep.motions): the same for every training epoch

    def length(self, epoch: int) -> int:
        return self.layout_of(epoch).length(self.is_evaluate(epoch))

    @property
    def last(self) -> tuple:
        return (self.epochs, self.length(self.epochs) - 1)

    def phase_runs(self, epoch: int) -> list:
        return self.layout_of(epoch).phase_runs(self.is_evaluate(epoch))

    def quantity_count(self, epoch: int) -> int:
        return self.layout_of(epoch).quantity_count(self.is_evaluate(epoch))

    def rank(self, epoch: int, index: int) -> int:
        return self.layout_of(epoch).rank(self.is_evaluate(epoch), index)

    def select(self, epoch: int, k: int) -> int:
        return self.layout_of(epoch).select(self.is_evaluate(epoch), k)

    # -- numbers ---------------------------------------------------------------------------------

    def params(self, epoch: int, progress=None, cancelled=None) -> engine.Params:
        """The parameters at the start of ``epoch`` (after ``epoch`` updates).
        ``progress(done, total)`` is told how far a long fast-forward is; ``cancelled()`` stops it
        (raising :class:`Cancelled`), keeping the checkpoints it passed."""
        if epoch in self._recent:
            return self.edits.apply(epoch, self._recent[epoch])
        start = max(e for e in self._checkpoints if e <= epoch)
        f_epoch, f_params = self._frontier
        if start <= f_epoch <= epoch:
            start = f_epoch
        p = self._checkpoints[start] if start != f_epoch else f_params
        # past the frontier nothing but checkpoints is kept (fresh memory for a hundred copies of
        # a big network's weights costs more than the epochs); an epoch behind it is being walked
        # back to, and the walk goes on backwards: keep the epochs on the way
        keep = start != f_epoch
        run = _Losses(self.losses)
        try:
            for e in range(start, epoch):
                if (e - start) % 256 == 255:
                    if cancelled is not None and cancelled():
                        raise Cancelled()
                    if progress is not None:
                        progress(e - start, epoch - start)
                net = self.network(e)
                p, seen = engine.advance(net, self.edits.apply(e, p))
                run.add(net, e, seen)
                self._reached(e + 1, p, keep)
        finally:
            run.settle()
        return self.edits.apply(epoch, p)

    def _reached(self, epoch: int, p: engine.Params, keep: bool = True) -> None:
        """Keep the start parameters of ``epoch`` (before the edits made there) where later
        visits find them: a checkpoint, the frontier and, with ``keep``, the recent epochs."""
        if epoch % CHECKPOINT_EVERY == 0:
            self._checkpoints.setdefault(epoch, p)
        if keep:
            self._recent[epoch] = p
            if len(self._recent) > CHECKPOINT_EVERY:
                del self._recent[next(iter(self._recent))]
        if epoch > self._frontier[0]:
            self._frontier = (epoch, p)

    def known_epochs(self) -> list[int]:
        """The training epochs whose start parameters are held: reaching one walks no epoch."""
        held = set(self._checkpoints) | set(self._recent) | set(self._records) | {self._frontier[0]}
        return sorted(e for e in held if e < self.epochs)

    def network(self, epoch: int) -> engine.Network:
        """The network (inputs, targets, learning rate) in force at ``epoch``, with the unit's
        batch of samples."""
        net = self.edits.network(epoch)
        if not self.batched or self.is_evaluate(epoch):
            return net
        which = self.batch(epoch)
        return replace(net, X=net.X[which], T=net.T[which])

    def invalidate(self, epoch: int) -> None:
        """Forget everything computed from ``epoch`` on (a what-if edit was made there)."""
        for e in [e for e in self._records if e >= epoch]:
            del self._records[e]
        for e in [e for e in self._checkpoints if e > epoch]:
            del self._checkpoints[e]
        self._recent = {e: p for e, p in self._recent.items() if e <= epoch}
        if self._frontier[0] >= epoch:
            start = max(self._checkpoints)
            self._frontier = (start, self._checkpoints[start])
        self.losses[epoch:] = np.nan
        self.generation += 1

    def record(self, epoch: int, progress=None, cancelled=None) -> Record:
        if not 0 <= epoch <= self.epochs:
            raise IndexError(f"epoch {epoch} is outside 0…{self.epochs}")
        rec = self._records.get(epoch)
        if rec is not None:
            self._records.move_to_end(epoch)
            return rec
        p = self.params(epoch, progress, cancelled)
        net = self.network(epoch)
        if self.is_evaluate(epoch):
            arrays = engine.evaluate(net, p)
        else:
            new_p, _, arrays = engine.run_epoch(net, p, full=True)
            self._reached(epoch + 1, new_p)
        self.losses[epoch] = arrays.E
        place = None
        if self.batched:
            place = (self.scenario.epochs, None) if self.is_evaluate(epoch) else self.epoch_iteration(epoch)
        rec = self._records[epoch] = Record(epoch, arrays, net, place)
        while len(self._records) > RECORDS_KEPT:
            self._records.popitem(last=False)
        return rec

    def step(self, epoch: int, index: int) -> Step:
        return Step(epoch, self.layout_of(epoch).spec(self.is_evaluate(epoch), index), self.record(epoch))

    def steps(self, epoch: int, start: int = 0, stop: int | None = None):
        rec, evaluate, layout = self.record(epoch), self.is_evaluate(epoch), self.layout_of(epoch)
        for index in range(start, self.length(epoch) if stop is None else stop):
            yield Step(epoch, layout.spec(evaluate, index), rec)

    def final_params(self) -> engine.Params:
        return self.params(self.epochs)

    def nonfinite(self, epoch: int) -> bool:
        """Whether any quantity of the epoch is NaN or infinite (cheap, on whole arrays)."""
        a = self.record(epoch).arrays
        # every array a step reads: a sum of finite terms (E, a batch mean) or an update can
        # overflow on its own
        arrays = ([a.E_terms, a.E_sample, a.E] + a.z + a.act + a.dEda + a.dadz + a.dEdz + a.parts
                  + a.W_down + a.gW_sample + a.gW + a.gb + a.W_new + (a.b_new or [])
                  + [x for xs in a.opt.values() for x in xs])
        return not all(np.isfinite(x).all() for x in arrays)
