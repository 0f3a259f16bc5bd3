"""``bpstep.from_torch``: a PyTorch model, its data, loss and optimizer as a bpstep scenario.

Supported, and mirrored exactly (the model's weights copied as they are, in their dtype):

- the model: an ``nn.Sequential`` (or a module whose children, in order, compute its forward)
  of ``nn.Linear`` layers, all with a bias or all without, each followed by at most one of
  ``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``, ``nn.Identity`` or, after the last, ``nn.Softmax(dim=-1)``;
  a ``Linear`` followed by none is an identity layer;
- the loss: ``nn.MSELoss``, ``nn.BCELoss`` or ``nn.CrossEntropyLoss`` (which takes the logits:
  the model then ends in a ``Linear`` and bpstep adds the softmax), reduction ``"mean"``;
- the optimizer: ``torch.optim.SGD`` (lr, momentum, dampening, nesterov, weight_decay) or
  ``torch.optim.Adam`` (lr, betas, eps, weight_decay), freshly made (no step taken), over some
  or all of the model's parameters (those left out are frozen); none: SGD with torch's default lr
  (1e-3);
- float32 or float64 parameters and data, on any device (copied to the CPU).

Anything else raises :class:`Unsupported`, naming the object and what is supported. Nothing
here imports torch: the objects are the caller's, read through their attributes; the model is
never changed.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import loading
from .scenario import ScenarioError

ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu", "Identity": "identity"}
LOSSES = {"MSELoss": "mse", "BCELoss": "bce", "CrossEntropyLoss": "cross_entropy"}
#: torch.optim.SGD's default learning rate, used when no optimizer is given
TORCH_SGD_LR = 1e-3
SUPPORTED = ("nn.Linear followed by nn.Sigmoid, nn.Tanh, nn.ReLU, nn.Identity or (last) nn.Softmax(dim=-1); "
             "loss nn.MSELoss, nn.BCELoss or nn.CrossEntropyLoss with reduction='mean'; "
             "torch.optim.SGD (momentum, dampening, nesterov, weight_decay) or torch.optim.Adam "
             "(betas, eps, weight_decay), freshly made; float32 or float64")


class Unsupported(ValueError):
    """A model, loss, optimizer or setting bpstep cannot mirror; ``str()`` names it and lists
    what is supported."""


def _refuse(what: str) -> Unsupported:
    return Unsupported(f"{what}; bpstep supports {SUPPORTED}")


def _kind(obj) -> str:
    return type(obj).__name__


def _array(t, what: str) -> np.ndarray:
    """A tensor's values as float64 (exact for float32 and float64), on the CPU."""
    dtype = str(getattr(t, "dtype", ""))
    if dtype not in ("torch.float32", "torch.float64", "torch.int64"):
        raise _refuse(f"{what} has dtype {dtype or type(t).__name__}")
    return t.detach().cpu().numpy().astype(np.float64)


def _layers(model, inputs):
    """``(linears, activations)`` of a chain of Linear and activation modules."""
    children = list(model) if _kind(model) == "Sequential" else list(model.children())
    if _kind(model) != "Sequential":
        _check_chain(model, children, inputs)
    linears, activations = [], []
    for m in children:
        kind = _kind(m)
        if kind == "Linear":
            if len(linears) > len(activations):
                activations.append("identity")
            linears.append(m)
        elif kind in ACTIVATIONS or kind == "Softmax":
            if len(linears) != len(activations) + 1:
                raise _refuse(f"{kind} at position {children.index(m)} of the model follows no nn.Linear")
            if kind == "Softmax" and getattr(m, "dim", None) not in (-1, 1):
                raise _refuse(f"nn.Softmax(dim={m.dim}) takes the softmax across samples")
            activations.append("softmax" if kind == "Softmax" else ACTIVATIONS[kind])
        else:
            raise _refuse(f"the model holds {kind} ({m!r})")
    if not linears:
        raise _refuse(f"the model {_kind(model)} holds no nn.Linear")
    if len(linears) > len(activations):
        activations.append("identity")
    return linears, activations


def _check_chain(model, children, inputs):
    """A module that is not a Sequential is a chain only if applying its children in order
    gives its forward's result."""
    try:
        x, out = inputs, model(inputs)
        for m in children:
            x = m(x)
        same = tuple(x.shape) == tuple(out.shape) and bool((x == out).all())
    except Exception as e:  # the user's forward, whatever it raises
        raise _refuse(f"{_kind(model)}'s forward could not be followed ({type(e).__name__}: {e})") from None
    if not same:
        raise _refuse(f"{_kind(model)}'s forward is not its children applied in order")


def _loss(loss_fn, activations):
    kind = _kind(loss_fn)
    if kind not in LOSSES:
        raise _refuse(f"the loss {kind}")
    if getattr(loss_fn, "reduction", "mean") != "mean":
        raise _refuse(f"{kind}(reduction={loss_fn.reduction!r})")
    extra = {"CrossEntropyLoss": ("weight", "ignore_index", "label_smoothing"), "BCELoss": ("weight",)}
    for attr in extra.get(kind, ()):
        value = getattr(loss_fn, attr, None)
        if value is not None and not (attr == "ignore_index" and value == -100) and not (
                attr == "label_smoothing" and value == 0.0):
            raise _refuse(f"{kind}({attr}={value!r})")
    name = LOSSES[kind]
    if name == "cross_entropy":
        if activations[-1] == "softmax":
            raise _refuse("nn.CrossEntropyLoss after nn.Softmax (CrossEntropyLoss takes the logits: leave the Softmax out)")
        if activations[-1] != "identity":
            raise _refuse(f"nn.CrossEntropyLoss after {activations[-1]} (it takes the logits of a last nn.Linear)")
        activations[-1] = "softmax"
    elif activations[-1] == "softmax":
        raise _refuse(f"nn.Softmax with {kind} (bpstep pairs softmax with cross-entropy)")
    return name


def _optimizer(optimizer, linears):
    """``(name, lr, settings, frozen ids)``."""
    if optimizer is None:
        return "sgd", None, {}, []
    kind = _kind(optimizer)
    if kind not in ("SGD", "Adam"):
        raise _refuse(f"the optimizer {kind}")
    if any(optimizer.state.values()) or len(optimizer.state):
        raise _refuse(f"a {kind} that has taken steps (its state is not empty): make a fresh one")
    if len(optimizer.param_groups) != 1:
        raise _refuse(f"a {kind} with {len(optimizer.param_groups)} parameter groups")
    group = optimizer.param_groups[0]
    defaults = {"SGD": {"maximize": False, "foreach": None, "differentiable": False, "fused": None},
                "Adam": {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                         "differentiable": False, "fused": None, "decoupled_weight_decay": False}}[kind]
    for key, default in defaults.items():
        if key in group and group[key] != default:
            raise _refuse(f"{kind}({key}={group[key]!r})")
    lr = group["lr"]
    if not isinstance(lr, (int, float)):
        raise _refuse(f"{kind} with a tensor learning rate")
    settings = {"weight_decay": float(group.get("weight_decay", 0.0))}
    if kind == "SGD":
        settings |= {"momentum": float(group.get("momentum", 0.0)), "dampening": float(group.get("dampening", 0.0)),
                     "nesterov": bool(group.get("nesterov", False))}
    else:
        settings |= {"betas": [float(b) for b in group["betas"]], "eps": float(group["eps"])}
    held = {id(p) for p in group["params"]}
    frozen = []
    for l, lin in enumerate(linears, 1):
        J, I = lin.weight.shape
        if id(lin.weight) not in held:
            frozen += [f"W[{l},{j},{i}]" for j in range(1, J + 1) for i in range(1, I + 1)]
        if lin.bias is not None and id(lin.bias) not in held:
            frozen += [f"b[{l},{j}]" for j in range(1, J + 1)]
    return kind.lower(), float(lr), settings, frozen


def from_torch(model, inputs, targets, loss_fn, optimizer=None, *, epochs: int = 1, batch_size=None, name=None):
    """The scenario of training ``model`` on ``inputs`` and ``targets`` with ``loss_fn`` and
    ``optimizer`` for ``epochs`` epochs, in batches of ``batch_size`` samples taken in order (a
    ``DataLoader(..., batch_size, shuffle=False)``; all at once by default), as the module's
    docstring says; raises :class:`Unsupported` otherwise. The model is left as it was."""
    linears, activations = _layers(model, inputs)
    loss = _loss(loss_fn, activations)
    with_bias = {lin.bias is not None for lin in linears}
    if len(with_bias) != 1:
        raise _refuse("nn.Linear layers some with a bias and some without")
    dtypes = {str(p.dtype) for lin in linears for p in lin.parameters()}
    if len(dtypes) != 1 or dtypes - {"torch.float32", "torch.float64"}:
        raise _refuse(f"parameters of dtype {', '.join(sorted(dtypes))}")
    dtype = dtypes.pop().removeprefix("torch.")
    X = _array(inputs, "the inputs")
    T = _array(targets, "the targets")
    if X.ndim != 2:
        raise _refuse(f"inputs of shape {tuple(X.shape)} (expected samples × features)")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise _refuse(f"batch_size={batch_size!r} (expected a whole number ≥ 1)")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise _refuse(f"epochs={epochs!r} (expected a whole number ≥ 1)")
    optim, lr, settings, frozen = _optimizer(optimizer, linears)
    if lr is None:
        lr = TORCH_SGD_LR
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    if loss == "cross_entropy" and T.ndim == 1:
        T = T.astype(np.int64).tolist()  # class indices, as CrossEntropyLoss takes them
    title = name or f"{_kind(model)} from PyTorch"
    sc = SimpleNamespace(notation="layered", sizes=sizes, activations=activations, bias=with_bias.pop(), loss=loss,
                         dtype=dtype, update_order="simultaneous", freeze=frozen, optimizer=optim,
                         optimizer_state=optim == "adam" or bool(settings.get("momentum")), hyper=_hyper(settings),
                         batch_size=batch_size if batch_size is not None and batch_size < X.shape[0] else None,
                         shuffle_seed=None)
    from .whatif import scenario_toml

    W = [_array(lin.weight, f"Linear {l} weight") for l, lin in enumerate(linears, 1)]
    b = [_array(lin.bias, f"Linear {l} bias") for l, lin in enumerate(linears, 1)] if sc.bias else None
    text = scenario_toml(sc, W, b, X, T, lr, epochs, title, "made by bpstep.from_torch from a PyTorch model")
    try:
        return loading.parse(text, f"from_torch({title})", default_name=name or "from-torch")
    except ScenarioError as e:
        raise Unsupported(f"from_torch: {e}") from None


def _hyper(settings: dict) -> tuple:
    """The settings as scenario_toml writes them (betas split into beta1, beta2)."""
    h = dict(settings)
    if "betas" in h:
        h["beta1"], h["beta2"] = h.pop("betas")
    return tuple(h.items())
