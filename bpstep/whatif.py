"""What-if edits: ``set ID VALUE``, ``reset [ID]``, ``save FILE``.

An edit is a value set at an epoch (the cursor's when it was made):

- a parameter ``W[l,j,i]`` or ``b[l,j]``: its value at the start of that epoch, before its
  forward pass; training goes on from there;
- an input ``x[i]@n``, a target ``t[k]@n`` (every sample without ``@n``) or the learning rate
  ``lr``: its value from that epoch on.

Epochs before the edit keep their numbers; the tape forgets everything from the edit's epoch on
and recomputes it when it is next needed. The scenario itself is never changed, so ``reset``
(all edits, or those of one id) gives the original run back exactly.

``save FILE`` writes a scenario file that replays the edited run. A scenario file starts at
epoch 0, so when every edit was made at one epoch e it holds the run from e on: the parameters
at the start of e (with the edits), the data with the edits, and E − e epochs; its epoch k is
epoch e + k of the edited run (for e = 0, the edited run itself). Edits made at different epochs
cannot start one file and are refused. Numbers are written with ``repr``, which reads back to
the same float.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

from . import files
from .commands import CommandError, Ref
from .edits import DATA, PARAMETERS, SETTINGS, param_indices as _indices
from .functions import OPTIMIZERS
from .ids import head as _head, parse
from .notation import fmt_short

def problem(ref: Ref, value: float | None, scenario) -> str | None:
    """None when ``set ref value`` can be done (``value`` None: only the id is checked), else
    what is wrong. The id is already known to name a quantity of the network."""
    head = _head(ref.id)
    if head not in PARAMETERS + DATA:
        return (f"{ref} is computed, not given; expected a parameter W[l,j,i] or b[l,j], an input "
                "x[i][@n], a target t[k][@n] or lr")
    if head in SETTINGS:
        return _setting_problem(head, value, scenario)
    if head in ("x", "t") and (scenario.iterations > 1 or scenario.shuffle_seed is not None):
        return (f"{ref}: with mini-batches a sample is numbered within its batch, so data cannot be set; "
                "expected a parameter, lr or an optimizer setting")
    if head == "t" and scenario.loss == "cross_entropy":  # δ = o − t needs each row to sum to 1
        return f"{ref}: cross_entropy's targets are one-hot rows; one t[k] cannot change alone"
    if value is None:
        return None
    if not math.isfinite(value):
        return f"{ref}: expected a finite number, got {value}"
    if head == "lr" and value <= 0:
        return f"lr: expected a learning rate > 0, got {value!r}"
    if head == "t" and scenario.loss == "bce" and not 0 <= value <= 1:
        return f"{ref}: bce needs targets in [0, 1], got {value!r}"
    return None


def _setting_problem(name: str, value: float | None, scenario) -> str | None:
    """What is wrong with ``set`` of an optimizer's hyper-parameter, as the scenario checks it;
    a value that would add or drop a step of the update (momentum or weight decay from or to 0)
    is refused: the steps of an epoch are the scenario's."""
    h = dict(OPTIMIZERS[scenario.optimizer].hyper, **dict(scenario.hyper))
    if name not in h:
        return f"{name}: not a hyper-parameter of optimizer {scenario.optimizer!r}"
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        return f"{name}: expected a number ≥ 0, got {value!r}"
    if name in ("beta1", "beta2") and value >= 1:
        return f"{name}: expected a number in [0, 1), got {value!r}"
    if name in ("momentum", "weight_decay") and (value == 0) != (h[name] == 0):
        return (f"{name}: {value!r} would {'drop' if value == 0 else 'add'} a step of every update; expected a "
                f"value {'≠' if h[name] else '='} 0 as the scenario's")
    if name == "dampening" and value != 0 and h["nesterov"]:
        return "dampening: nesterov needs dampening = 0 (as torch)"
    return None


# --- the commands --------------------------------------------------------------------------------


def set_value(tape, epoch: int, ref: Ref, value: float) -> str:
    old = _given(tape, epoch, ref)
    if not tape.edits:  # the scenario's own run: keep its losses to show beside the edited run's
        tape.original_losses = tape.losses.copy()
    tape.edits.set(epoch, ref.id, ref.sample, value, old)
    tape.invalidate(epoch)
    when = f"at the start of epoch {epoch}" if _head(ref.id) in PARAMETERS else f"from epoch {epoch} on"
    return f"set {ref} = {value!r} {when} (was {old!r}); recomputed from epoch {epoch}"


def _given(tape, epoch, ref):
    """The value of a given quantity in force at ``epoch`` (of sample 1 when none is named)."""
    head, n = _head(ref.id), (ref.sample or 1) - 1
    if head == "lr":
        return float(tape.network(epoch).lr)
    if head in SETTINGS:
        return float(tape.network(epoch).hyper[head])
    if head in PARAMETERS:
        p, idx = tape.params(epoch), _indices(ref.id)
        return float((p.W if head == "W" else p.b)[idx[0]][tuple(idx[1:])])
    net = tape.network(epoch)
    return float((net.X if head == "x" else net.T)[n, _indices(ref.id)[0]])


def described(tape) -> list[tuple[str, str]]:
    """``(long, short)`` of each edit in force, named as on screen: ``α = 1 from epoch 0 on
    (was 0.5 in the scenario)`` and ``α 0.5→1``."""
    out = []
    for (epoch, qid, n), value in tape.edits.items.items():
        q, was = parse(qid), tape.edits.was[(epoch, qid, n)]
        name = tape.layout.names.given(q.family, q.idx)
        name = (name if n is None else name.sample(n)).uni
        where = "in the scenario" if epoch == 0 or q.family in DATA else f"at epoch {epoch} of the original run"
        when = f"at the start of epoch {epoch}" if q.family in PARAMETERS else f"from epoch {epoch} on"
        out.append((f"{name} = {fmt_short(value)} {when} (was {fmt_short(was)} {where})",
                    f"{name} {fmt_short(was)}→{fmt_short(value)}"))
    return out


def reset(tape, ref: Ref | None) -> str:
    epochs = tape.edits.remove(ref)
    if not epochs:
        if ref is None:
            return "no edits to reset"
        raise CommandError(f"reset: {ref} has no edits")
    tape.invalidate(min(epochs))
    if not tape.edits:  # the scenario's run again: what was known of it is known again
        np.copyto(tape.losses, tape.original_losses, where=np.isnan(tape.losses))
        tape.original_losses = None
    return f"reset {len(epochs)} edit(s){'' if ref is None else f' of {ref}'}; recomputed from epoch {min(epochs)}"


def save(tape, path: str, force: bool = False) -> str:
    """Write the edited scenario to ``path``, atomically; a file already there is replaced only
    with ``force`` (a script shared by someone else must not overwrite pyproject.toml)."""
    if not force and files.exists(path):
        raise CommandError(f"save: {path} exists; expected a new file name, or save! {path} to replace it")
    sc, edits = tape.scenario, tape.edits
    epochs = sorted({e for e, _, _ in edits.items})
    if len(epochs) > 1:
        raise CommandError(f"save: edits were made at epochs {', '.join(map(str, epochs))}; a scenario "
                           "file starts at one epoch; reset all but one epoch's edits and save again")
    start = epochs[0] if epochs else 0
    if start and tape.batched:
        raise CommandError("save: with mini-batches a scenario file starts at epoch 0 iteration 0; the edits "
                           "were made at epoch {} iteration {}: make them there".format(*tape.epoch_iteration(start)))
    if start and sc.optimizer_state:
        raise CommandError(f"save: the edits were made at epoch {start}, where the optimizer has state "
                           "(a momentum buffer, Adam's m and v) that a scenario file cannot start with; "
                           "make them at epoch 0")
    if start >= sc.epochs:
        raise CommandError(f"save: the edits are in the evaluate phase (epoch {start}), which trains nothing; "
                           "make them at a training epoch")
    if start == 0:  # the scenario's own numbers, as written, with the edits as typed
        from .engine import Params
        p = edits.apply(0, Params([w.copy() for w in sc.weights],
                                  None if sc.biases is None else [v.copy() for v in sc.biases]))
    else:
        p = tape.params(start)
    X, T, lr = edits.data(start, sc.inputs, sc.targets, sc.learning_rate)
    done = "; ".join(f"{qid}{'' if n is None else f'@{n}'} = {v!r}" for (_, qid, n), v in edits.items.items())
    note = f"{sc.name} with the what-if edits {done or '(none)'} made at epoch {start}"
    if start:
        note += f"; the run from epoch {start} on, its epochs counted from 0"
    hyper = edits.hyper(start, dict(sc.hyper))
    text = scenario_toml(sc, p.W, p.b, X, T, lr, sc.epochs - start, f"{sc.title} (what-if)", note, hyper)
    try:
        files.write_atomically(path, text)
    except files.WriteError as e:
        raise CommandError(f"save: {e}") from None
    return f"saved {path}" + (f" (the run from epoch {start}, counted from 0 there)" if start else "")


def scenario_toml(sc, W, b, X, T, lr, epochs, title, description, hyper=None) -> str:
    """A scenario file with explicit numbers; it loads back to the same floats."""
    lines = [f"title = {_toml(title)}", f"description = {_toml(description)}", f"notation = {_toml(sc.notation)}",
             "", "[network]", f"sizes = {_toml(list(sc.sizes))}", f"activation = {_toml(list(sc.activations))}",
             f"bias = {_toml(sc.bias)}", "", "[init]", _rows("weights", W)]
    if b is not None:
        lines.append(_rows("biases", b))
    lines += ["", "[data]", f"inputs = {_toml(X)}", f"targets = {_toml(T)}", "", "[training]",
              f"loss = {_toml(sc.loss)}", f"learning_rate = {_toml(float(lr))}", f"epochs = {epochs}",
              f"dtype = {_toml(sc.dtype)}", f"update_order = {_toml(sc.update_order)}",
              f"freeze = {_toml(sorted(sc.freeze))}"]
    if sc.optimizer != "sgd" or sc.optimizer_state or dict(sc.hyper).get("weight_decay"):
        h = dict(hyper or sc.hyper)
        lines.append(f"optimizer = {_toml(sc.optimizer)}")
        if "beta1" in h:
            lines.append(f"betas = {_toml([h.pop('beta1'), h.pop('beta2')])}")
        lines += [f"{k} = {_toml(v if isinstance(v, bool) else float(v))}" for k, v in h.items()]
    batch_size, seed = getattr(sc, "batch_size", None), getattr(sc, "shuffle_seed", None)  # from_torch: none
    if batch_size is not None:
        lines.append(f"batch_size = {batch_size}")
    if seed is not None:
        lines += ["shuffle = true", f"shuffle_seed = {seed}"]
    return "\n".join(lines) + "\n"


_TOML_UNSAFE = re.compile("[\x7f\ud800-\udfff]")


def _rows(key, arrays):
    return f"{key} = [\n" + ",\n".join(f"  {_toml(a)}" for a in arrays) + "]"


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        # a JSON string is a TOML basic string, once DEL (which JSON leaves as it is and TOML
        # refuses) is escaped, and a lone surrogate (a file name's undecodable byte, which no
        # UTF-8 file can hold) is the replacement character
        return _TOML_UNSAFE.sub(lambda m: "\\u007f" if m.group() == "\x7f" else "\ufffd",
                                json.dumps(v, ensure_ascii=False))
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))
