"""The virtual layout (issue 8) against brute force: on random small networks, every position
answers the same as a walk over all the steps, and every motion, breakpoint and condition lands
where a step-by-step search lands, in both views and both directions."""

import dataclasses
import math
import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bpstep import commands, ids
from bpstep.session import Session
from test_engine_props import SETTINGS, networks

_BRACKETS = re.compile(r"\[[^\]]*\]")
#: factor families → the family of the quantity they make (the layer view groups them so)
_MADE_BY = {"dz/da": "dE/da", "dz/dW": "dE/dW", "dz/db": "dE/db"}


def family_layer(qid: str, layers: int) -> tuple:
    """``dE[2,1]/da[1,2]`` → ``("dE/da", 1)``: the layer step a scalar id belongs to."""
    family = _MADE_BY.get(_BRACKETS.sub("", qid), _BRACKETS.sub("", qid))
    return (family, layers) if family == "E" else (family, int(qid[qid.rindex("[") + 1:-1].split(",")[0]))


@st.composite
def frozen(draw):
    """A random network with some parameters frozen."""
    sc = draw(networks())
    params = [f"W[{l},{j},{i}]" for l in range(1, sc.layers + 1) for j in range(1, sc.sizes[l] + 1)
              for i in range(1, sc.sizes[l - 1] + 1)]
    if sc.bias:
        params += [f"b[{l},{j}]" for l in range(1, sc.layers + 1) for j in range(1, sc.sizes[l] + 1)]
    return dataclasses.replace(sc, freeze=frozenset(draw(st.lists(st.sampled_from(params), max_size=3))))


@given(frozen())
@SETTINGS
def test_positions_ids_and_quantities_agree_with_the_walk(sc):
    session = Session(sc)
    layout = session.layout
    for evaluate in (False, True):
        specs = list(layout.specs(evaluate))
        assert [s.index for s in specs] == list(range(layout.length(evaluate)))
        by_id = {}
        for s in specs:
            by_id.setdefault(s.id, {}).setdefault(s.sample, []).append(s.index)
            assert layout.at(evaluate, s.id, s.sample) == s.index
            assert layout.has(s.id)
        for qid, samples in by_id.items():
            every = sorted(i for n, found in samples.items() if n is not None for i in found)
            # no sample: the batch's step where there is one, else every sample's (ids' rule)
            assert layout.find(evaluate, qid, None).tolist() == samples.get(None, every)
            if every:
                assert layout.find(evaluate, qid, ids.EVERY).tolist() == every
            for n in range(1, sc.samples + 1):
                assert layout.find(evaluate, qid, n).tolist() == samples.get(n, [])
        quantities = [s.index for s in specs if not s.factor]
        assert layout.quantity_count(evaluate) == len(quantities)
        for k, i in enumerate(quantities):
            assert layout.select(evaluate, k) == i
        for i in range(len(specs) + 1):
            assert layout.rank(evaluate, i) == sum(q < i for q in quantities)
        runs = []
        for s in specs:
            if runs and runs[-1][2] == s.phase:
                runs[-1][1] = s.index
            else:
                runs.append([s.index, s.index, s.phase])
        assert layout.phase_runs(evaluate) == [tuple(r) for r in runs]
        users = {}
        for s in specs:
            for qid in s.uses:
                users.setdefault(qid, []).append(s.index)
        for qid in set(users) | {s.qid for s in specs}:
            plain, _, n = qid.partition("@")
            assert layout.users(evaluate, plain, int(n) if n else None).tolist() == users.get(qid, [])
    # no id outside the network is taken for one of its steps
    for qid in ("z[9,1]", "W+[1,9,1]", "dE[1,1]/da[1,1]", "da[1,1]/dz[1,2]", "dz[1,1]/dW[2,1,1]", "E[9]"):
        # (a softmax layer 1 of two or more units has the Jacobian term da[1,1]/dz[1,2])
        assert layout.has(qid) == (qid == "da[1,1]/dz[1,2]" and sc.activations[0] == "softmax" and sc.sizes[1] > 1)
    for p in sc.freeze:
        assert not layout.has(ids.head(p) + "+" + p[1:])


# --- the brute-force debugger ----------------------------------------------------------------------


class Brute:
    """Motions and breakpoints by walking every step of every epoch."""

    def __init__(self, session, layered):
        self.s, self.tape = session, session.tape
        self.steps = [step for e in range(self.tape.epochs + 1) for step in self.tape.steps(e)]
        #: (evaluate, id) of the ids with a batch step
        self.batch = {(s.epoch == self.tape.epochs, s.id) for s in self.steps if s.sample is None}
        L = session.scenario.layers
        self.layer = {}  # position → (epoch, layer step)
        for e in range(self.tape.epochs + 1):
            groups = {}
            for step in self.tape.steps(e):
                key = (step.phase,) + family_layer(step.id, L)
                self.layer[step.position] = (e, groups.setdefault(key, len(groups)))
        self.layered = layered

    def unit(self, pos):
        return self.layer[pos] if self.layered else pos

    def units(self):
        """The steps of the view in order: (unit, its scalar positions, made of factors only)."""
        out = {}
        for step in self.steps:
            u = self.unit(step.position)
            out.setdefault(u, [[], True, step.phase])
            out[u][0].append(step.position)
            out[u][1] &= step.factor
        return sorted((u, v[0], v[1], v[2]) for u, v in out.items())

    def target(self, start, kind, count, forward):
        units = self.units()
        order = [u for u, *_ in units]
        k = order.index(start)
        if kind == "step":
            return order[max(0, min(len(order) - 1, k + (count if forward else -count)))]
        if kind == "next":
            quantities = [u for u, _, factor, _ in units if not factor]
            after = [u for u in quantities if (u > start if forward else u < start)]
            if count > len(after):
                return order[-1] if forward else order[0]
            return after[count - 1] if forward else after[-count]
        if kind == "finish":
            runs = []  # (first, last) of each phase stretch within an epoch
            for u, _, _, phase in units:
                if runs and runs[-1][2] == phase and runs[-1][1][0] == u[0]:
                    runs[-1][1] = u
                else:
                    runs.append([u, u, phase])
            r = next(n for n, run in enumerate(runs) if run[0] <= start <= run[1])
            if forward:
                if start < runs[r][1]:
                    return runs[r][1]
                return runs[r + 1][1] if r + 1 < len(runs) else start
            if start > runs[r][0]:
                return runs[r][0]
            return runs[r - 1][0] if r > 0 else start
        return order[-1] if forward else order[0]

    def hit_at(self, step, bp) -> bool:
        if bp.phase:
            k = self.steps.index(step)
            before = self.steps[k - 1] if k else None
            return step.phase == bp.phase and (before is None or before.phase != step.phase
                                               or before.epoch != step.epoch)
        if bp.nan:
            return not math.isfinite(step.value)
        if step.id != bp.ref.id or not self.names(bp.ref, step):
            return False
        if bp.cond is None:
            return True
        lookup = lambda r: self.s.lookup(r, step.epoch, step.sample)  # noqa: E731
        return bool(commands.evaluate(bp.cond, step.value, lookup))

    def names(self, ref, step) -> bool:
        """Whether ``ref`` (of the step's id) names the step: ``@n`` its sample, ``@*`` every
        sample, no sample the batch's step where its epoch has one, else every sample."""
        if ref.sample == ids.EVERY:
            return step.sample is not None
        if ref.sample is not None:
            return step.sample == ref.sample
        return step.sample is None or (step.epoch == self.tape.epochs, step.id) not in self.batch

    def motion(self, start_pos, name, count):
        forward = not name.startswith("r")
        kind = name if forward else name[1:]
        start = self.unit(start_pos)
        target = self.target(start, kind, count, forward)
        hits = []
        for step in self.steps:
            u = self.unit(step.position)
            if not (start < u <= target if forward else target <= u < start):
                continue
            for bp in self.s.breakpoints:
                if self.hit_at(step, bp):
                    hits.append((u, step.position, bp.number))
                    break
        if hits:
            u = min(h[0] for h in hits) if forward else max(h[0] for h in hits)
            inside = [h for h in hits if h[0] == u]
            return inside[0][1:] if forward else inside[-1][1:]
        if target == start:
            return start_pos, None
        first = next(step.position for step in self.steps if self.unit(step.position) == target)
        return first, None


_MOTIONS = ["step", "next", "finish", "continue", "rstep", "rnext", "rfinish", "rcontinue"]


@st.composite
def breakpoints(draw, sc):
    session = Session(sc)
    specs = list(session.layout.specs(False))
    out = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["id", "id@n", "cond", "phase", "nan"]))
        spec = draw(st.sampled_from(specs))
        if kind == "phase":
            out.append(f"break phase {draw(st.sampled_from(['forward', 'loss', 'backward', 'update', 'evaluate']))}")
        elif kind == "nan":
            out.append("break nan")
        elif kind == "cond":
            ref = spec.id if draw(st.booleans()) else spec.qid
            value = draw(st.sampled_from([0.0, 0.1, 0.5, -0.1]))
            other = draw(st.sampled_from(specs)).id
            out.append(f"break {ref} if value > {value} or abs({other}) < {abs(value)}")
        else:
            every = f"{spec.id}@*" if spec.sample is not None and draw(st.booleans()) else spec.id
            out.append(f"break {spec.qid if kind == 'id@n' else every}")
    return out


@given(st.data())
@SETTINGS
def test_motions_and_breakpoints_land_where_a_step_by_step_walk_lands(data):
    sc = data.draw(frozen())
    session = Session(sc)
    for text in data.draw(breakpoints(sc)):
        session.execute(text)
    brute = {False: Brute(session, False), True: Brute(session, True)}
    for _ in range(data.draw(st.integers(4, 12))):
        name = data.draw(st.sampled_from(_MOTIONS + ["view"]))
        if name == "view":
            session.execute("view scalar" if session.view == "layer" else "view layer")
            continue
        count = data.draw(st.integers(1, 30)) if name in ("step", "next", "rstep", "rnext") else 1
        start = session.position
        expected, number = brute[session.view == "layer"].motion(start, name, count)
        result = session.execute(f"{name} {count}" if count > 1 else name)
        assert session.position == expected, (name, count, start, session.view)
        assert (result.hit.number if result.hit else None) == number


def test_a_network_of_mnist_size_is_arithmetic():
    """784-256-128-10 over 128 samples: 69,637,525 steps an epoch, and the layout has at most
    16 blocks a layer; finding, naming and counting steps does not enumerate them."""
    from bpstep import layout as layouts
    sc = _sized((784, 256, 128, 10), 128)
    lay = layouts.Layout(sc)
    assert lay.length(False) == 69_637_525
    assert len(lay.grid(False).blocks) <= 16 * sc.layers
    i = lay.at(False, "dE/dW[1,128,784]", 64)
    spec = lay.spec(False, i)
    assert (spec.qid, spec.phase, spec.factor) == ("dE/dW[1,128,784]@64", "backward", False)
    assert lay.select(False, lay.rank(False, i)) == i
    assert lay.find(False, "dE/dW[1,128,784]", None).size == 1  # the batch mean
    assert lay.find(False, "dE/dW[1,128,784]", ids.EVERY).size == 128


def _sized(sizes, samples):
    from bpstep import scenario
    rng = np.random.default_rng(0)
    text = f"""
        [network]
        sizes = {list(sizes)}
        activation = "sigmoid"
        [init]
        method = "uniform"
        seed = 1
        [data]
        inputs = {rng.random((samples, sizes[0])).round(2).tolist()}
        targets = {rng.random((samples, sizes[-1])).round(2).tolist()}
        [training]
        loss = "mse"
        learning_rate = 0.5
        dtype = "float32"
    """
    return scenario.parse(text, "<big>")


@given(frozen())
@SETTINGS
def test_a_big_layer_step_is_focused_on_the_same_units_and_edges_as_step_by_step(sc):
    from bpstep.tui.network import layer_focus, whole_layer
    session = Session(sc)
    grid = session.layer_tape
    for epoch in (0, sc.epochs):
        for k in range(grid.length(epoch)):
            spec = grid.step(epoch, k).spec
            assert whole_layer(spec.family, spec.layer, sc.sizes, sc.freeze) == layer_focus(spec.first_ids, sc.sizes)


def test_a_long_sum_is_built_only_as_far_as_it_is_shown():
    from bpstep import layout as layouts
    lay = layouts.Layout(_sized((300, 4, 2), 2))
    spec = lay.spec(False, lay.at(False, "z[1,1]", 2))
    head, more = spec.head(10)
    assert more == 291 and "rhs" not in spec.__dict__  # 300 products and the bias; the whole sum not built
    assert head.args == spec.rhs.args[:10] and len(spec.rhs.args) == 301
    assert spec.head(400) == (spec.rhs, 0)
    assert not spec.plain and lay.spec(False, lay.at(False, "dz[1,1]/dW[1,1,1]", 1)).plain
