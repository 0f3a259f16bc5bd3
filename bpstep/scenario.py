"""Scenario files: TOML → a validated :class:`Scenario`.

Every field is checked; an error is one :class:`ScenarioError` that names the file, the line
where it can be found, the field, what was wrong and what was expected.

**Memory budget.** A scenario whose single expanded epoch would not fit in
:data:`EPOCH_BUDGET_BYTES` (2 GiB) is refused as it loads, before any array of its size is made
(before the weights are drawn or the data converted), with one line that names the file, the
network and the number of samples (``784-4096-4096-10 × 60000 samples``) and the bytes it would
need against the budget. :func:`epoch_bytes` is the estimate; what counts, in the scenario's
dtype unless said otherwise, with N samples and J units in a layer:

* per layer, five N×J arrays: z, a, ∂E/∂a, ∂a/∂z and δ = ∂E/∂z;
* per layer, the weights W, the updated W⁺ and the batch gradient ∂E/∂W (J×I each) and, with
  biases, b, b⁺ and ∂E/∂b (J each);
* the inputs (N×inputs) and targets (N×outputs), the loss terms E[k] (N×outputs), the
  per-sample losses E (N) and the batch loss;
* the loader's own float64 copy of the initial parameters, inputs and targets.

What does not count: the per-sample parameter gradients δₙaₙᵀ and the per-unit parts of ∂E/∂a
(N×J×I each), which are computed when asked for, never held for a whole epoch; the local factors
∂z/∂W = a and ∂z/∂a = W, which are the arrays above; and one loss per epoch, which is bounded by
:data:`MAX_EPOCHS`.

**Torch-drawn weights.** ``[init] method = "torch"`` asks for the weights ``nn.Linear`` draws.
This module does not import the torch mirror: :func:`load` and :func:`parse` are handed a
``draw_torch_init(sizes, bias, seed) -> (weights, biases or None)`` callable by a module that
may load PyTorch (``bpstep.loading`` does it for the command line); without one, such a scenario
is a :class:`ScenarioError`.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

try:  # its compiled build parses big data arrays about twice as fast as the standard library's
    import tomli as toml
except ImportError:  # the same parser, pure Python
    import tomllib as toml

from . import datafile
from .datafile import describe as _kind
from .engine import ACTIVATIONS, LOSSES, UPDATE_ORDERS
from .functions import OPTIMIZERS
from . import batches

_PACKAGE_SCENARIOS = Path(__file__).parent / "scenarios"  # inside an installed wheel
_SOURCE_SCENARIOS = Path(__file__).parent.parent / "scenarios"  # in a source checkout

_KEYS = {
    None: {"name", "title", "description", "notation", "network", "init", "data", "training"},
    "network": {"sizes", "activation", "bias"},
    "init": {"weights", "biases", "method", "seed", "scale"},
    "data": {"file", "inputs", "targets"},
    "training": {"loss", "learning_rate", "epochs", "dtype", "update_order", "freeze", "optimizer", "momentum",
                 "dampening", "nesterov", "weight_decay", "betas", "eps", "batch_size", "shuffle",
                 "shuffle_seed"},
}
_REQUIRED = {None: ("network", "init", "data", "training"), "network": ("sizes",),
             "data": ("targets",), "training": ("learning_rate",)}
#: the tape keeps one loss per epoch; a typo such as 1e12 must not try to allocate terabytes
MAX_EPOCHS = 10_000_000
#: a saved scenario keeps at most this many input and target numbers inline, the rest in a .npy
INLINE_NUMBERS = 10_000
_PARAM_ID = re.compile(r"^(W)\[([0-9]+),([0-9]+),([0-9]+)\]$|^(b)\[([0-9]+),([0-9]+)\]$")
#: an index with more digits is outside any network (and int would refuse thousands of them)
_MAX_INDEX_DIGITS = 18
#: units in one layer (18 digits): far past the memory budget, and the most its arithmetic takes
MAX_UNITS = 10 ** 18 - 1
#: torch.manual_seed takes seeds below 2**64; the uniform init keeps to the same range
MAX_SEED = 2 ** 64 - 1
#: one expanded epoch's arrays (see :func:`epoch_bytes`) must fit in this many bytes: 2 GiB
EPOCH_BUDGET_BYTES = 2 * 1024 ** 3
_ITEMSIZE = {"float32": 4, "float64": 8}


def _numbers_only(value, depth: int) -> bool:
    """Whether ``value`` is lists nested ``depth`` deep of ints and floats (no bools)."""
    if depth == 0:
        return type(value) in (int, float)
    if not isinstance(value, list):
        return False
    if depth == 1:
        return all(type(x) in (int, float) for x in value)
    return all(_numbers_only(v, depth - 1) for v in value)


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is the one line for the user."""


class InitUnavailable(Exception):
    """Raised by a ``draw_torch_init`` callable that cannot draw (no torch); ``str()`` says why."""


#: ``draw_torch_init(sizes, bias, seed)`` → (float64 weight arrays, float64 bias arrays or None)
TorchInitDrawer = Callable[[list, bool, int], tuple]


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: the network, its initial parameters, the data and the training settings."""

    name: str
    title: str
    description: str
    notation: str
    sizes: tuple
    activations: tuple
    bias: bool
    weights: tuple  # float64 arrays, one per layer, rows = receiving unit
    biases: tuple | None
    inputs: np.ndarray
    targets: np.ndarray
    loss: str
    learning_rate: float
    epochs: int
    dtype: str
    update_order: str
    freeze: frozenset
    source: str
    #: the names of the classes by index when the targets were a column of class labels, else ()
    classes: tuple = ()
    #: ``[training] optimizer`` and its hyper-parameters as (name, value) pairs, torch's names
    optimizer: str = "sgd"
    hyper: tuple = ()
    #: ``[training] batch_size`` (None: the whole batch) and ``shuffle_seed`` (None: no shuffling)
    batch_size: int | None = None
    shuffle_seed: int | None = None

    @property
    def optimizer_state(self) -> bool:
        """Whether the optimizer carries state from epoch to epoch (momentum, Adam)."""
        h = dict(self.hyper)
        return self.optimizer == "adam" or bool(h.get("momentum"))

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def samples(self) -> int:
        return self.inputs.shape[0]

    @property
    def batch(self) -> int:
        """Samples in a full mini-batch (B)."""
        return self.batch_size or self.samples

    @property
    def iterations(self) -> int:
        """Iterations of an epoch: ⌈N/B⌉ (1 without mini-batches)."""
        return batches.iterations(self.samples, self.batch)

    def with_epochs(self, epochs: int) -> "Scenario":
        return replace(self, epochs=epochs)

    def with_dtype(self, dtype: str) -> "Scenario":
        return replace(self, dtype=dtype)

    def save(self, path, overwrite: bool = False) -> Path:
        """Write the scenario as a TOML file that ``bpstep open`` and ``replay`` load back to the
        same numbers; data of more than :data:`INLINE_NUMBERS` numbers goes to a ``.npy`` beside
        it (inputs, then targets, as columns). An existing file is replaced only with
        ``overwrite``. Returns the path written."""
        from .files import write_atomically
        from .whatif import _toml, scenario_toml  # the writer ``save`` uses, for the same file format

        target = Path(path)
        if target.exists() and not overwrite:
            raise ScenarioError(f"{target}: exists; expected a new file, or overwrite=True to replace it")
        text = scenario_toml(self, self.weights, self.biases, self.inputs, self.targets, self.learning_rate,
                             self.epochs, self.title, self.description)
        text = f"name = {_toml(self.name)}\n" + text
        if self.inputs.size + self.targets.size > INLINE_NUMBERS:
            side = target.with_suffix(".npy")
            np.save(side, np.hstack([self.inputs, self.targets]))
            data = f'[data]\nfile = {_toml(side.name)}\ntargets = "{self.inputs.shape[1]}:"\n'
            text = re.sub(r"\[data\]\ninputs = .*\ntargets = .*\n", lambda m: data, text)
        write_atomically(target, text)
        return target


def builtin_dir() -> Path:
    return _PACKAGE_SCENARIOS if _PACKAGE_SCENARIOS.is_dir() else _SOURCE_SCENARIOS


def builtin_names() -> list[str]:
    """The built-in scenarios: ``worked-222`` (what ``bpstep`` opens) first, then the others by name."""
    return sorted((p.stem for p in builtin_dir().glob("*.toml")), key=lambda name: (name != "worked-222", name))


def resolve(spec: str) -> Path:
    """A built-in name or a path → the file to read."""
    builtin = builtin_dir() / f"{spec}.toml"
    if "/" not in spec and not spec.endswith(".toml") and builtin.is_file():
        return builtin
    return Path(spec)


def epoch_bytes(sizes, samples: int, dtype: str = "float64", bias: bool = True) -> int:
    """The bytes one expanded epoch of this network and data holds (what counts: the module's
    docstring). Pure arithmetic on Python integers: nothing is allocated, however large."""
    item = _ITEMSIZE[dtype]
    n = samples
    units = sum(sizes[1:])
    params = sum(j * i for i, j in zip(sizes[:-1], sizes[1:])) + (units if bias else 0)
    engine = (5 * n * units                    # z, a, ∂E/∂a, ∂a/∂z, δ per layer
              + 3 * params                     # W, W⁺, ∂E/∂W (b, b⁺, ∂E/∂b)
              + n * (sizes[0] + sizes[-1])     # inputs, targets
              + n * sizes[-1] + n + 1)         # E[k], E per sample, the batch E
    loader = params + n * (sizes[0] + sizes[-1])  # the scenario's float64 copies
    return engine * item + loader * 8


def budget_problem(sizes, samples: int, dtype: str = "float64", bias: bool = True) -> str | None:
    """None when one epoch fits in :data:`EPOCH_BUDGET_BYTES`, else the reason, for one line."""
    need = epoch_bytes(sizes, samples, dtype, bias)
    if need <= EPOCH_BUDGET_BYTES:
        return None
    shown_need, shown_budget = _bytes(need), _bytes(EPOCH_BUDGET_BYTES)
    if shown_need == shown_budget:  # a hair over: the exact counts
        shown_need, shown_budget = f"{need:,} bytes", f"{EPOCH_BUDGET_BYTES:,} bytes"
    return (f"{'-'.join(map(str, sizes))} × {samples} sample{'s' if samples != 1 else ''} in {dtype} would "
            f"need {shown_need} for one epoch's arrays, over the budget of {shown_budget}; "
            "expected fewer units or samples")


def dtype_problem(weights, biases, X, T, lr, dtype: str) -> tuple[str, str] | None:
    """None when ``dtype`` holds every number of a scenario (1e39 in float32 would become inf),
    else ``(field, what does not fit)``."""
    fields = [("init.weights", f"weights[{l}]", w) for l, w in enumerate(weights)]
    fields += [("init.biases", f"biases[{l}]", b) for l, b in enumerate(biases or ())]
    fields += [("data.inputs", "inputs", X), ("data.targets", "targets", T), ("training.learning_rate", "learning_rate", lr)]
    for field, what, values in fields:
        values = np.asarray(values)
        with np.errstate(over="ignore"):
            held = np.isfinite(values.astype(dtype))
        if not held.all():
            where = tuple(np.argwhere(~held)[0]) if held.ndim else ()
            index = "".join(f"[{i}]" for i in where)
            return field, (f"{what}{index} = {values[where]:g} does not fit in {dtype} "
                           f"(largest {float(np.finfo(dtype).max):.4g})")
    return None


def check_dtype(sc: "Scenario") -> None:
    """Refuse a loaded scenario whose numbers its dtype, overridden, cannot hold."""
    problem = dtype_problem(sc.weights, sc.biases, sc.inputs, sc.targets, sc.learning_rate, sc.dtype)
    if problem:
        raise ScenarioError(f"{sc.source}: {problem[0]}: {problem[1]}; expected a smaller number or float64")


def check_budget(sc: "Scenario") -> None:
    """Refuse a loaded scenario that no longer fits (its dtype overridden to float64, say)."""
    problem = budget_problem(sc.sizes, sc.samples, sc.dtype, sc.bias)
    if problem:
        raise ScenarioError(f"{sc.source}: {problem}")


def _bytes(n: int) -> str:
    for unit, size in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"
    return f"{n} bytes"


def load(spec: str, draw_torch_init: TorchInitDrawer | None = None) -> Scenario:
    """A built-in name or a file → a validated scenario; ``draw_torch_init`` draws the weights
    of ``[init] method = "torch"`` (see the module's docstring)."""
    path = resolve(spec)
    shown = spec if path.parent == builtin_dir() else str(path)
    if path.is_dir():
        raise ScenarioError(f"{shown}: is a directory; expected a scenario .toml file or one of: "
                            f"{', '.join(builtin_names())}")
    if not path.exists():
        raise ScenarioError(f"{shown}: no such file or built-in scenario; built-ins are: "
                            f"{', '.join(builtin_names())}")
    try:
        text = read_text(path, shown, "scenario", "a TOML scenario file")
    except UnreadableFile as e:
        raise ScenarioError(str(e)) from None
    return parse(text, shown, default_name=path.stem, draw_torch_init=draw_torch_init, base=path.parent)


class UnreadableFile(ValueError):
    """A file the user named that is not readable text; ``str()`` is the one line to print."""


#: the longest scenario file read: far past what the memory budget lets a TOML file describe
MAX_SCENARIO_BYTES = 4 * 1024 ** 3
#: the longest script read (a script is commands typed by hand or written by a small program)
MAX_SCRIPT_BYTES = 1024 ** 2
_CHUNK = 1024 ** 2


def read_text(path: Path, shown: str, noun: str, expected: str, limit: int = MAX_SCENARIO_BYTES) -> str:
    """The UTF-8 text of a file the user named (a scenario or a script), read a chunk at a time
    so that an endless or binary one (``/dev/zero``, a pipe that never ends) is refused at once:
    at its first NUL byte, or past ``limit`` bytes."""
    parts, size, decoder = [], 0, codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise UnreadableFile(f"{shown}: the {noun} is longer than {_bytes(limit)}; "
                                         f"expected {expected} of at most {_bytes(limit)}")
                parts.append(decoder.decode(chunk))
                if "\x00" in parts[-1]:
                    raise UnreadableFile(f"{shown}: is a binary file; expected {expected}")
            parts.append(decoder.decode(b"", final=True))
    except OSError as e:
        raise UnreadableFile(f"{shown}: cannot read the {noun} ({e.strerror})") from None
    except UnicodeDecodeError:
        raise UnreadableFile(f"{shown}: is not UTF-8 text; expected {expected}") from None
    return "".join(parts)


def parse(text: str, shown: str, default_name: str = "scenario",
          draw_torch_init: TorchInitDrawer | None = None, base: Path | None = None) -> Scenario:
    """``base`` is the folder ``[data] file`` is relative to (the scenario's; default: the current one)."""
    if not text.strip():
        raise ScenarioError(f"{shown}: the file is empty; expected a TOML scenario with [network], "
                            "[init], [data] and [training]")
    try:
        doc = toml.loads(text)
    except toml.TOMLDecodeError as e:
        raise ScenarioError(f"{shown}: TOML syntax error: {e}") from None
    except RecursionError:  # tomli refuses 400 levels; the pure-Python parser may run out of stack first
        raise ScenarioError(f"{shown}: TOML: arrays or inline tables nested hundreds of levels deep; "
                            "expected the few levels a scenario has") from None
    except ValueError:  # int() of a number written with more than 4,300 digits
        raise ScenarioError(f"{shown}: TOML: a number written with thousands of digits; "
                            "expected one that fits in a float") from None
    return _Validator(doc, text, shown, draw_torch_init, base).scenario(default_name)


class _Validator:
    def __init__(self, doc: dict, text: str, shown: str, draw_torch_init: TorchInitDrawer | None = None,
                 base: Path | None = None):
        self.doc, self.lines, self.shown = doc, text.splitlines(), shown
        self.draw_torch_init, self.base = draw_torch_init, base or Path()

    # -- error reporting ------------------------------------------------------------------------

    def _line(self, table, key):
        """The line where ``key`` is set in ``[table]`` (best effort, for the message)."""
        current = None
        for number, line in enumerate(self.lines, 1):
            stripped = line.strip()
            header = re.match(r"^\[\s*([A-Za-z_]+)\s*\]", stripped)
            if header:
                current = header.group(1)
                if (key is None and current == table) or (table is None and current == key):
                    return number
                continue
            if current == table and re.match(rf"^{re.escape(str(key))}\s*=", stripped):
                return number
        return None

    def fail(self, table, key, message):
        field = key if table is None else (table if key is None else f"{table}.{key}")
        line = self._line(table, key)
        where = f"{self.shown}:{line}" if line else self.shown
        raise ScenarioError(f"{where}: {message}" if field is None else f"{where}: {field}: {message}")

    # -- typed getters --------------------------------------------------------------------------

    def table(self, name):
        value = self.doc.get(name)
        if not isinstance(value, dict):
            self.fail(None, name, f"expected a [{name}] table, got {_kind(value)}")
        return value

    def check_keys(self, table, values):
        for key in values:
            if key not in _KEYS[table]:
                expected = ", ".join(sorted(_KEYS[table]))
                self.fail(table, key, f"unknown key; expected one of: {expected}")
        for key in _REQUIRED.get(table, ()):
            if key not in values:
                self.fail(table, None, f"missing required {'table [' + key + ']' if table is None else 'key ' + repr(key)}")

    def string(self, table, values, key, default=None, choices=None):
        value = values.get(key, default)
        if not isinstance(value, str):
            self.fail(table, key, f"expected a string, got {_kind(value)}")
        if choices and value not in choices:
            self.fail(table, key, f"unknown value {value!r}; expected one of: {', '.join(choices)}")
        return value

    def number(self, table, values, key, default=None, positive=False):
        value = values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(table, key, f"expected a number, got {_kind(value)}")
        if not _finite(value):
            self.fail(table, key, f"expected a finite number, got {value}")
        if positive and value <= 0:
            self.fail(table, key, f"expected a number > 0, got {value}")
        return float(value)

    def integer(self, table, values, key, default=None, minimum=None, maximum=None):
        value = values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(table, key, f"expected a whole number, got {_kind(value)}")
        if minimum is not None and value < minimum:
            self.fail(table, key, f"expected a whole number ≥ {minimum}, got {value}")
        if maximum is not None and value > maximum:
            self.fail(table, key, f"expected a whole number ≤ {maximum}, got {value}")
        return value

    def matrix(self, table, key, value, shape, what):
        """A nested list of finite numbers of exactly ``shape`` → float64 array."""
        def walk(v, dims, path):
            if not dims:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    self.fail(table, key, f"{what}{path}: expected a number, got {_kind(v)}")
                if not _finite(v):
                    self.fail(table, key, f"{what}{path}: expected a finite number, got {v}")
                return
            if not isinstance(v, list) or len(v) != dims[0]:
                got = f"{len(v)} entries" if isinstance(v, list) else _kind(v)
                self.fail(table, key, f"{what}{path}: expected a list of {dims[0]} "
                                      f"(shape {list(shape)}), got {got}")
            for i, item in enumerate(v):
                walk(item, dims[1:], f"{path}[{i}]")
        if _numbers_only(value, len(shape)):  # the usual case, checked on the array at once
            try:
                array = np.array(value, dtype=np.float64)
            except (ValueError, OverflowError):  # ragged, or an int past float range: the walk says which
                array = None
            if array is not None and array.shape == tuple(shape) and np.isfinite(array).all():
                return array
        walk(value, list(shape), "")  # names the first entry that is wrong
        return np.array(value, dtype=np.float64).reshape(shape)

    def per_layer(self, init, key, shapes, what):
        """[init] weights or biases: one array per weight layer, each of its shape."""
        raw = init[key]
        if not isinstance(raw, list) or len(raw) != len(shapes):
            self.fail("init", key, f"expected {len(shapes)} {what} (one per weight layer), "
                                   f"got {len(raw) if isinstance(raw, list) else _kind(raw)}")
        return [self.matrix("init", key, v, shape, f"{key}[{l}]") for l, (v, shape) in enumerate(zip(raw, shapes))]

    # -- the scenario ---------------------------------------------------------------------------

    def scenario(self, default_name) -> Scenario:
        doc = self.doc
        self.check_keys(None, doc)
        name = self.string(None, doc, "name", default_name)
        title = self.string(None, doc, "title", name)
        description = self.string(None, doc, "description", "")
        notation = self.string(None, doc, "notation", "layered", ("flat", "layered"))

        net = self.table("network")
        self.check_keys("network", net)
        sizes = net["sizes"]
        if (not isinstance(sizes, list) or len(sizes) < 2
                or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes)):
            self.fail("network", "sizes", f"expected a list of at least two whole numbers ≥ 1, got {sizes!r}")
        if max(sizes) > MAX_UNITS:  # far past the memory budget, and past what its arithmetic may hold
            self.fail("network", "sizes", f"a layer of {max(sizes)} units; expected at most {MAX_UNITS:,}")
        layers = len(sizes) - 1
        activation = net.get("activation", "sigmoid")
        if isinstance(activation, str):
            activation = [activation] * layers
        if not isinstance(activation, list) or len(activation) != layers:
            self.fail("network", "activation",
                      f"expected one name or a list of {layers} (one per weight layer), got {activation!r}")
        for a in activation:
            if a not in ACTIVATIONS:
                self.fail("network", "activation", f"unknown activation {a!r}; expected one of: "
                                                   f"{', '.join(ACTIVATIONS)}")
        if "softmax" in activation[:-1]:
            self.fail("network", "activation", f"softmax is for the output layer only; layer "
                                               f"{activation.index('softmax') + 1} of {layers} has it")
        if activation[-1] == "softmax" and sizes[-1] < 2:
            self.fail("network", "activation", "softmax needs at least 2 outputs; the network has 1")
        bias = net.get("bias", True)
        if not isinstance(bias, bool):
            self.fail("network", "bias", f"expected true or false, got {_kind(bias)}")

        data = self.doc.get("data")
        table = self.data_file(data["file"]) if isinstance(data, dict) and "file" in data else None
        self.budget(sizes, bias, table)  # before anything of the network's size is drawn or converted
        weights, biases = self.init(self.table("init"), sizes, bias)

        data = self.table("data")
        self.check_keys("data", data)
        X, T, classes = self.data(data, sizes) if table is None else self.file_data(data, sizes, table)

        tr = self.table("training")
        self.check_keys("training", tr)
        loss = self.string("training", tr, "loss", "half_sse", LOSSES)
        if (loss == "cross_entropy") != (activation[-1] == "softmax"):
            self.fail("training", "loss", "loss = \"cross_entropy\" goes with activation \"softmax\" on the output "
                                          f"layer; got loss {loss!r} and output activation {activation[-1]!r}")
        if loss == "cross_entropy":
            self.one_hot(T)
        if loss == "bce" and ((T < 0).any() or (T > 1).any()):
            bad = next(v for v in T.ravel() if not 0 <= v <= 1)
            self.fail("data", "targets", f"loss = \"bce\" needs targets in [0, 1], got {bad:g}")
        lr = self.number("training", tr, "learning_rate", positive=True)
        epochs = self.integer("training", tr, "epochs", 1, minimum=1, maximum=MAX_EPOCHS)
        dtype = self.string("training", tr, "dtype", "float64", ("float32", "float64"))
        order = self.string("training", tr, "update_order", "simultaneous", UPDATE_ORDERS)
        freeze = tr.get("freeze", [])
        if not isinstance(freeze, list) or not all(isinstance(f, str) for f in freeze):
            self.fail("training", "freeze", f"expected a list of parameter ids such as \"W[1,1,1]\", got {freeze!r}")
        freeze = [re.sub(r"\s+", "", f) for f in freeze]  # "W[1, 1, 1]" as commands accept it
        for f in freeze:
            problem = param_id_problem(f, sizes, bias)
            if problem:
                self.fail("training", "freeze", problem)
        problem = dtype_problem(weights, biases, X, T, lr, dtype)
        if problem:
            self.fail(*problem[0].split("."), f"{problem[1]}; expected a smaller number or dtype = \"float64\"")
        optimizer = self.string("training", tr, "optimizer", "sgd", tuple(OPTIMIZERS))
        hyper = self.hyper(tr, optimizer)
        if OPTIMIZERS[optimizer].kinds(hyper) and order == "sequential":
            self.fail("training", "update_order", f"update_order = \"sequential\" is for plain gradient descent; "
                                                  f"optimizer {optimizer!r} here has state or weight decay")
        if freeze and hyper["weight_decay"]:
            self.fail("training", "freeze", "a frozen parameter would still decay: expected weight_decay = 0 "
                                            "with freeze")
        batch_size, shuffle_seed = self.batching(tr, X.shape[0])
        return Scenario(name=name, title=title, description=description, notation=notation,
                        sizes=tuple(sizes), activations=tuple(activation), bias=bias,
                        weights=tuple(weights), biases=None if biases is None else tuple(biases),
                        inputs=X, targets=T, loss=loss, learning_rate=lr, epochs=epochs, dtype=dtype,
                        update_order=order, freeze=frozenset(freeze), source=self.shown, classes=classes,
                        optimizer=optimizer, hyper=tuple(hyper.items()), batch_size=batch_size,
                        shuffle_seed=shuffle_seed)

    def batching(self, tr, samples: int) -> tuple:
        """``batch_size`` (1…N; None when absent) and the shuffle seed (None without shuffling)."""
        batch_size = None
        if "batch_size" in tr:
            batch_size = self.integer("training", tr, "batch_size", minimum=1, maximum=samples)
        shuffle = tr.get("shuffle", False)
        if not isinstance(shuffle, bool):
            self.fail("training", "shuffle", f"expected true or false, got {_kind(shuffle)}")
        if shuffle and "shuffle_seed" not in tr:
            self.fail("training", "shuffle", "shuffle = true needs shuffle_seed (a whole number ≥ 0) to fix "
                                             "the order of every epoch")
        if not shuffle and "shuffle_seed" in tr:
            self.fail("training", "shuffle_seed", "shuffle_seed is for shuffle = true")
        seed = self.integer("training", tr, "shuffle_seed", minimum=0, maximum=MAX_SEED) if shuffle else None
        return batch_size, seed

    def hyper(self, tr, optimizer) -> dict:
        """The optimizer's hyper-parameters, torch's defaults where not given, checked as torch
        checks them."""
        opt = OPTIMIZERS[optimizer]
        for key in ("momentum", "dampening", "nesterov", "betas", "eps"):
            mine = key in opt.hyper or (key == "betas" and "beta1" in opt.hyper)
            if key in tr and not mine:
                self.fail("training", key, f"{key} is not a setting of optimizer {optimizer!r}")
        h = {}
        for key, default in opt.hyper.items():
            if key in ("beta1", "beta2"):
                continue
            if isinstance(default, bool):
                value = tr.get(key, default)
                if not isinstance(value, bool):
                    self.fail("training", key, f"expected true or false, got {_kind(value)}")
                h[key] = value
            else:
                h[key] = self.number("training", tr, key, default)
                if h[key] < 0:
                    self.fail("training", key, f"expected a number ≥ 0, got {h[key]:g}")
        if optimizer == "sgd" and h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            self.fail("training", "nesterov", "nesterov needs momentum > 0 and dampening = 0 (as torch)")
        if "beta1" in opt.hyper:
            betas = tr.get("betas", [opt.hyper["beta1"], opt.hyper["beta2"]])
            if (not isinstance(betas, list) or len(betas) != 2
                    or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in betas)):
                self.fail("training", "betas", f"expected two numbers [beta1, beta2], got {betas!r}")
            for k, v in enumerate(betas):
                if not 0 <= v < 1:
                    self.fail("training", "betas", f"beta{k + 1} = {v:g}: expected a number in [0, 1)")
            h = {"beta1": float(betas[0]), "beta2": float(betas[1]), **h}
        return h

    def data(self, data, sizes):
        """``[data] inputs`` and ``targets`` as numbers in the file → (X, T, no classes)."""
        if "inputs" not in data:
            self.fail("data", None, "missing required key 'inputs' (or a data file: file = \"x.csv\")")
        inputs = data["inputs"]
        if not isinstance(inputs, list) or not inputs:
            self.fail("data", "inputs", f"expected a list of samples (one row per sample), got {_kind(inputs)}")
        n = len(inputs)
        X = self.matrix("data", "inputs", inputs, (n, sizes[0]), "inputs")
        targets = data["targets"]
        if isinstance(targets, list) and targets and not any(isinstance(t, list) for t in targets):
            return X, self.class_indices(targets, n, sizes[-1]), ()
        T = self.matrix("data", "targets", targets, (n, sizes[-1]), "targets")
        return X, T, ()

    def class_indices(self, targets, n, outputs):
        """``targets = [0, 2, 1]``: one class index per sample (0-based, as torch's
        CrossEntropyLoss takes them) → one-hot rows."""
        if len(targets) != n:
            self.fail("data", "targets", f"expected {n} class indices (one per sample), got {len(targets)}")
        if outputs < 2:
            self.fail("data", "targets", "class indices need a network of at least 2 outputs; expected one "
                                         "row per sample such as [[0], [1]]")
        for k, t in enumerate(targets):
            if isinstance(t, bool) or not isinstance(t, int):
                self.fail("data", "targets", f"targets[{k}]: expected a class index (a whole number), got {_kind(t)}")
            if not 0 <= t < outputs:
                self.fail("data", "targets", f"targets[{k}]: class index {t} out of range for {outputs} outputs; "
                                             f"expected 0…{outputs - 1}")
        return np.eye(outputs)[targets]

    def one_hot(self, T):
        """Cross-entropy's targets: one-hot rows (so that δ = o − t)."""
        ok = ((T == 0) | (T == 1)).all(1) & (T.sum(1) == 1)
        if not ok.all():
            n = int(np.flatnonzero(~ok)[0])
            row = ", ".join(f"{v:g}" for v in T[n])
            self.fail("data", "targets", f"loss = \"cross_entropy\" needs one-hot target rows or class indices; "
                                         f"row {n + 1} is [{row}]")

    def data_file(self, name):
        """``[data] file``, read (its columns are picked and converted by :meth:`file_data`)."""
        if not isinstance(name, str) or not name:
            self.fail("data", "file", f"expected the name of a .csv, .npy or .npz file, got {_kind(name)}")
        try:
            return datafile.read(self.base / name, name)
        except datafile.DataFileError as e:
            self.fail("data", e.field, str(e))

    def file_data(self, data, sizes, table):
        """``[data] inputs`` and ``targets`` as columns of ``table`` → (X, T, the class names):
        the inputs default to every column that is not a target; one target column for a
        network of several outputs holds class labels, which become one-hot rows."""
        try:
            targets = table.select("targets", data["targets"])
            if "inputs" in data:
                inputs = table.select("inputs", data["inputs"])
                both = next((k for k in inputs if k in targets), None)
                if both is not None:
                    raise datafile.DataFileError("inputs", f"{table.column_names([both])[0]} is a target too; "
                                                           "expected each column to be an input or a target")
            else:
                inputs = [k for k in table.keys if k not in targets]
            width = table.block(inputs).shape[1] if inputs else 0
            if width != sizes[0]:
                what = (f"input column{'s' * (width != 1)}" if "inputs" in data
                        else f"column{'s' * (width != 1)} that {'are' if width != 1 else 'is'} not a target (the inputs)")
                raise datafile.DataFileError("inputs" if "inputs" in data else "targets",
                                             f"{width} {what} in {table.shown} for a network of {sizes[0]} "
                                             f"inputs; expected {sizes[0]}")
            X = table.numbers(inputs)
            outputs, width = sizes[-1], table.block(targets).shape[1]
            if width == outputs:
                return X, table.numbers(targets), ()
            if width == 1:
                T, classes = table.classes("targets", targets[0], outputs)
                return X, T, classes
            raise datafile.DataFileError("targets", f"{width} target columns in {table.shown} for a network of "
                                                    f"{outputs} outputs; expected {outputs} (one per output) "
                                                    "or one column of class labels")
        except datafile.DataFileError as e:
            self.fail("data", e.field, str(e))

    def budget(self, sizes, bias, table=None):
        """Refuse a network and data too big for :data:`EPOCH_BUDGET_BYTES`, from their sizes
        alone: the number of samples is the length of ``[data] inputs`` (its rows are checked
        later) or the rows of the data file, and the dtype ``[training] dtype`` (float64 where
        it is not valid yet)."""
        data = self.doc.get("data")
        inputs = data.get("inputs") if isinstance(data, dict) else None
        samples = table.rows if table is not None else len(inputs) if isinstance(inputs, list) and inputs else 1
        problem = budget_problem(sizes, samples, self.dtype(), bias)
        if problem:
            self.fail("network", "sizes", problem)

    def dtype(self) -> str:
        """``[training] dtype`` before the table is checked (float64 where it is not valid yet)."""
        training = self.doc.get("training")
        dtype = training.get("dtype") if isinstance(training, dict) else None
        return dtype if dtype in _ITEMSIZE else "float64"

    def init(self, init, sizes, bias):
        self.check_keys("init", init)
        shapes = [(sizes[l + 1], sizes[l]) for l in range(len(sizes) - 1)]
        if "weights" in init:
            for key in ("method", "seed", "scale"):
                if key in init:
                    self.fail("init", key, "give either explicit weights or a method, not both")
            weights = self.per_layer(init, "weights", shapes, "matrices")
            if not bias:
                if "biases" in init:
                    self.fail("init", "biases", "network.bias is false; remove biases or set bias = true")
                return weights, None
            if "biases" not in init:
                self.fail("init", None, "missing required key 'biases' (network.bias is true and weights are explicit)")
            biases = self.per_layer(init, "biases", [(s[0],) for s in shapes], "vectors")
            return weights, biases
        if "biases" in init:
            self.fail("init", "biases", "explicit biases need explicit weights too")
        if "method" not in init:
            self.fail("init", None, "expected either 'weights' or 'method' (\"torch\" or \"uniform\")")
        method = self.string("init", init, "method", choices=("torch", "uniform"))
        seed = self.integer("init", init, "seed", 0, minimum=0, maximum=MAX_SEED)
        if method == "torch":
            if "scale" in init:
                self.fail("init", "scale", "scale applies to method = \"uniform\" only")
            if self.draw_torch_init is None:
                self.fail("init", "method", "method = \"torch\" needs the weights PyTorch draws, and this "
                                            "loader was given no way to draw them; open the scenario with "
                                            "bpstep (bpstep.loading) or use method = \"uniform\"")
            try:
                weights, biases = self.draw_torch_init(list(sizes), bias, seed)
            except InitUnavailable as e:
                self.fail("init", "method", f"method = \"torch\" needs PyTorch ({e}); "
                                            "install torch or use method = \"uniform\"")
            return list(weights), None if biases is None else list(biases)
        scale = self.number("init", init, "scale", 0.0, positive=False) if "scale" in init else None
        if scale is not None and scale <= 0:
            self.fail("init", "scale", f"expected a number > 0, got {scale}")
        dtype = self.dtype()
        largest = float(np.finfo(dtype).max) / 2  # the width 2·scale of U(−scale, scale) must be finite too
        if scale is not None and scale > largest:
            self.fail("init", "scale", f"{scale:g} is too large for U(−scale, scale) in {dtype}; "
                                       f"expected at most {largest:.4g}")
        return uniform_init(list(sizes), bias, seed, scale)


def _finite(value) -> bool:
    """Whether a TOML number is a finite float (a whole number past 1.8e308 is not)."""
    return math.isfinite(value) if isinstance(value, float) else abs(value) <= _FLOAT64_MAX


_FLOAT64_MAX = int(np.finfo(np.float64).max)


def uniform_init(sizes, bias, seed, scale=None):
    """U(−s, s) from NumPy's generator, weights then bias layer by layer; s defaults to
    1/√fan_in, the bound nn.Linear uses."""
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        s = scale if scale is not None else 1 / math.sqrt(fan_in)
        weights.append(rng.uniform(-s, s, (fan_out, fan_in)))
        if bias:
            biases.append(rng.uniform(-s, s, (fan_out,)))
    return weights, biases if bias else None


def param_id_problem(text, sizes, bias):
    """None when ``text`` names a weight or bias of this network, else what is wrong."""
    m = _PARAM_ID.match(text)
    if not m:
        return f"{text!r} is not a parameter id; expected W[l,j,i] or b[l,j]"
    if any(g and len(g) > _MAX_INDEX_DIGITS for g in m.groups()[1:]):
        return f"{text[:40]}… is outside the network (sizes {list(sizes)}): an index of more than 18 digits"
    layers = len(sizes) - 1
    if m.group(1):
        l, j, i = int(m.group(2)), int(m.group(3)), int(m.group(4))
        if not (1 <= l <= layers and 1 <= j <= sizes[l] and 1 <= i <= sizes[l - 1]):
            return f"{text} is outside the network (sizes {list(sizes)})"
        return None
    l, j = int(m.group(6)), int(m.group(7))
    if not bias:
        return f"{text}: the network has no biases"
    if not (1 <= l <= layers and 1 <= j <= sizes[l]):
        return f"{text} is outside the network (sizes {list(sizes)})"
    return None
