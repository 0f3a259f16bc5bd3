"""The PyTorch mirror of the engine: the only module that imports torch, and only when asked.

:class:`Mirror` rebuilds a scenario's network in torch, on a device and in a dtype, and computes
every quantity of the tape with torch's own operations:

- forward: z = a_{l−1} Wᵀ + b, a = f(z) (``torch.sigmoid``, ``tanh``, ``relu``);
- loss: ``BCELoss`` / ``MSELoss`` (``reduction='none'``, then the mean over the outputs, which is
  what ``reduction='mean'`` does for one sample) or ½(t − o)²; E[k] is the output's share of the
  sample's E, the batch E the mean of the samples' E;
- ∂E/∂a and δ = ∂E/∂z: ``retain_grad`` on every z and a, then ``backward`` of the sum of the
  samples' losses. Every sample owns a copy of the parameters, so that one backward leaves each
  sample's own gradient in ``.grad`` of its copy;
- batch gradients: ``.grad`` after ``backward`` of the batch loss (parameters shared by the samples);
- updates: ``torch.optim.SGD``. Frozen entries get a zero gradient (θ − α·0 = θ exactly); a tensor
  frozen as a whole is left out of the optimiser;
- local factors by autograd on the single operation, fed with the torch forward's values:
  ∂a/∂z through f alone, ∂z/∂W (= a_{l−1}) through the layer's linear map, ∂z_{l+1,j}/∂a_{l,i}
  (= W_{l+1,j,i}) through the map of the layer above applied to a copy of a_l per receiving unit;
  the part of ∂E/∂a_{l,i} through unit j is the vector–Jacobian product of δ_{l+1} with that map.

Teacher forcing: each epoch starts from the engine's parameters of that epoch, so epochs are
independent and a run of C epochs is computed at once, stacked on a leading axis; each epoch's
parameters are leaves of their own, so a backward of the sum over epochs leaves each epoch its
own gradient. The results are NumPy float64 arrays with the epoch on the *last* axis, so that
the tape's key lookups (``Record.lookup``) read all the epochs of a step at once.

Sequential update order (each layer updated, from the output down, as soon as its gradients are
known, δ carried down through the updated weights) is not the gradient of a loss, so there is no
single ``backward`` to compare with. The mirror walks the layers itself, each step by autograd:
δ_l = vector–Jacobian product of ∂E/∂a_l through f_l, the layer's gradients through its linear map,
``SGD`` on that layer, then ∂E/∂a_{l−1} = vector–Jacobian product of δ_l through
z_l = a_{l−1} W_l⁺ᵀ, the layer rebuilt with its updated weights.
"""

from __future__ import annotations

import math

import numpy as np

from . import functions
from .engine import EpochArrays


class TorchUnavailable(RuntimeError):
    """torch cannot be imported, or the device asked for is not there."""


def import_torch():
    try:
        _load_libtorch()
        import torch
    except ImportError as e:
        raise TorchUnavailable(f"torch is not installed: {e}") from None
    return torch


def _load_libtorch() -> None:
    """Load torch's largest library, libtorch_cpu (0.4 GB), before ``import torch`` does, with the
    GIL released. Python's import holds the GIL through that dlopen (0.3–0.4 s of relocations and
    static initialisers), and the TUI, which imports torch in a thread while the learner starts
    stepping, could not take a key meanwhile. A foreign call through ctypes releases the GIL.
    The flags are those of Python's own import (``sys.getdlopenflags()``), so the import finds
    the library loaded as it would have loaded it. Linux only, and best effort: where anything
    here fails, ``import torch`` loads the library itself, as it always did."""
    import sys

    if sys.platform != "linux" or "torch" in sys.modules:
        return
    import ctypes
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("torch")
        path = os.path.join(os.path.dirname(spec.origin), "lib", "libtorch_cpu.so")
        if os.path.exists(path):
            dlopen = ctypes.CDLL(None).dlopen
            dlopen.restype, dlopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]
            dlopen(os.fsencode(path), sys.getdlopenflags())
    except (AttributeError, OSError, TypeError, ValueError):
        pass


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


DEVICE_CHOICES = "cpu, cuda, cuda:N, mps or auto"


def resolve_device(torch, name: str):
    """``cpu | cuda | cuda:N | mps | auto`` → a ``torch.device``; auto takes cuda, then mps, then cpu."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not has_mps:
            raise TorchUnavailable("--device mps: no Apple MPS device is available; "
                                   "use --device cpu or --device auto")
        return torch.device("mps")
    kind, _, index = name.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise TorchUnavailable(f"--device {name!r}: unknown device; expected {DEVICE_CHOICES}")
    if not torch.cuda.is_available():
        raise TorchUnavailable(f"--device {name}: no CUDA device is available (torch {torch.__version__}); "
                               "use --device cpu or --device auto")
    count = torch.cuda.device_count()
    if index and int(index) >= count:
        raise TorchUnavailable(f"--device {name}: there {'is' if count == 1 else 'are'} {count} CUDA "
                               f"device{'s' if count != 1 else ''} (cuda:0…cuda:{count - 1})")
    return torch.device(name)


class Mirror:
    """The engine's network (an ``engine.Network``) rebuilt in torch."""

    def __init__(self, net, dtype: str, device: str = "cpu"):
        torch = self.torch = import_torch()
        # The arrays are small (at most a few hundred epochs of a small network): splitting an
        # operation over threads costs more than it saves, and on a busy machine far more.
        torch.set_num_threads(1)
        self.device = resolve_device(torch, device)
        if self.device.type == "mps" and dtype == "float64":
            raise TorchUnavailable("--device mps has no float64; use --dtype float32 or --device cpu")
        self.dtype = getattr(torch, dtype)
        self.net = net
        self.X, self.T = self.tensor(net.X), self.tensor(net.T)
        self.lr = float(net.lr)
        self.f = [functions.ACTIVATIONS[name].torch(torch) for name in net.activations]
        self.loss = functions.LOSSES[net.loss].torch(torch)
        self.from_logits = functions.LOSSES[net.loss].from_logits
        self.jacobian = [not functions.ACTIVATIONS[name].elementwise for name in net.activations]
        self.W_mask = None if net.W_mask is None else [self.tensor(m) for m in net.W_mask]
        self.b_mask = None if net.b_mask is None else [self.tensor(m) for m in net.b_mask]

    def tensor(self, array):
        """A copy of a NumPy array on the device, in the dtype (a copy: SGD updates in place)."""
        return self.torch.tensor(np.asarray(array), device=self.device).to(self.dtype)

    def numpy(self, t) -> np.ndarray:
        """A (C, …) tensor → float64 NumPy array with the epoch axis last."""
        return np.moveaxis(t.detach().to("cpu", self.torch.float64).numpy(), 0, -1)

    # -- the arithmetic --------------------------------------------------------------------------

    def forward(self, W, b, X=None):
        """z and a of every layer for the inputs X (default: all samples). W is (C, J, I) shared
        by the samples, (C, N, J, I) per sample, or (J, I): one run of the network, computed as
        ``nn.Linear`` computes it."""
        linear = self.torch.nn.functional.linear
        X = self.X if X is None else X
        one = W[0].dim() == 2
        acts, zs = [X if one else X.expand(W[0].shape[0], -1, -1)], []
        for l, f in enumerate(self.f):
            if one:
                z = linear(acts[-1], W[l], None if b is None else b[l])
            else:
                z = _linear(W[l], acts[-1])
                if b is not None:
                    z = z + (b[l] if b[l].dim() == 3 else b[l][:, None])
            zs.append(z)
            acts.append(f(z))
        return zs, acts

    def losses(self, z, o, T=None):
        """(E[k] of every sample, E of every sample, batch E) from torch's loss of the outputs o
        (of the logits z: cross-entropy) against the targets T (default: all samples')."""
        T = self.T if T is None else T
        if self.from_logits:  # CrossEntropyLoss takes (rows, classes): the epochs folded into the rows
            K = z.shape[-1]
            E_n = self.loss(z.reshape(-1, K), T.expand_as(z).reshape(-1, K)).reshape(z.shape[:-1])
            terms = -(T * self.torch.log_softmax(z, -1))  # E[k], each output's share
        elif self.loss is None:  # half_sse
            terms = 0.5 * (T - o) ** 2
            E_n = terms.sum(-1)
        else:
            elementwise = self.loss(o, T.expand_as(o))
            terms, E_n = elementwise / o.shape[-1], elementwise.mean(-1)
        return terms, E_n, E_n.mean(-1)

    def leaves(self, W, b, copies=0):
        """NumPy (C, J, I) / (C, J) arrays → parameter leaves, with ``copies`` > 0 one per sample."""
        def leaf(array):
            t = self.tensor(array)
            if copies:
                t = t[:, None].expand(-1, copies, *t.shape[1:]).clone()
            return t.requires_grad_()
        return [leaf(w) for w in W], None if b is None else [leaf(v) for v in b]

    def optimiser(self, W, b, layers):
        """``torch.optim.SGD`` over the parameters of ``layers``, leaving out tensors frozen as a
        whole (None when nothing is left)."""
        params = []
        for l in layers:
            for p, masks in ((W[l], self.W_mask), (None if b is None else b[l], self.b_mask)):
                if p is not None and (masks is None or masks[l].any()):
                    params.append(p)
        return self.optimizer_of(params) if params else None

    def optimizer_of(self, params):
        """The scenario's torch optimizer (``torch.optim.SGD`` or ``Adam``) over ``params``."""
        h = {k: v if isinstance(v, bool) else float(v) for k, v in self.net.hyper.items()}
        return functions.OPTIMIZERS[self.net.optimizer].torch(self.torch, params, h, self.lr)

    def optimizer_epochs(self, W, b, state) -> dict:
        """Each epoch's update by the scenario's torch optimizer, from the engine's optimizer state
        at the epoch's start (``state``: {(quantity, "W" | "b"): per layer (C, …) NumPy stacks,
        "t": the steps taken before each epoch}): the leaves ``W``, ``b`` (their ``.grad`` the
        batch gradients) get θ⁺, and the optimizer's quantities come back as {(quantity, "W" |
        "b"): per layer (C, …) tensors}, read off its state after ``step()`` (the buffer, m, v)
        or computed from it as torch's update does (g with weight decay, m̂, v̂, Δ)."""
        torch, opt = self.torch, functions.OPTIMIZERS[self.net.optimizer]
        h = {k: v if isinstance(v, bool) else float(v) for k, v in self.net.hyper.items()}
        kinds = self.net.steps
        tensors = [("W", W, self.W_mask)] + ([("b", b, self.b_mask)] if b is not None else [])
        out = {(q, P): [torch.empty_like(x) for x in xs] for q in kinds for P, xs, _ in tensors}
        for c in range(W[0].shape[0]):
            t = int(state["t"][c]) + 1
            params = []
            for P, xs, masks in tensors:
                for l, x in enumerate(xs):
                    p = x.detach()[c].clone().requires_grad_()
                    p.grad = x.grad[c] * (1 if masks is None else masks[l])
                    params.append((P, l, p, x.detach()[c].clone()))
            optimizer = self.optimizer_of([p for *_, p, _ in params])
            for P, l, p, _ in params:
                if t > 1:  # the engine's state before this epoch (torch starts its own at step 1)
                    for q, name in opt.state.items():
                        if (q, P) in state:
                            optimizer.state[p][name] = self.tensor(state[(q, P)][l][..., c])
                    if "beta1" in h:
                        optimizer.state[p]["step"] = torch.tensor(float(t - 1))
            optimizer.step()
            for P, l, p, theta in params:
                st, g = optimizer.state[p], p.grad
                if h["weight_decay"]:
                    g = g.add(theta, alpha=h["weight_decay"])
                shown = {"g": g, "buf": st.get("momentum_buffer"), "m": st.get("exp_avg"), "v": st.get("exp_avg_sq")}
                if "nes" in kinds:
                    shown["nes"] = g.add(shown["buf"], alpha=h["momentum"])
                if "m" in kinds:
                    c1, c2 = 1 - h["beta1"] ** t, 1 - h["beta2"] ** t
                    shown["mhat"], shown["vhat"] = shown["m"] / c1, shown["v"] / c2
                    shown["upd"] = (self.lr / c1) * shown["m"] / (shown["v"].sqrt() / math.sqrt(c2) + h["eps"])
                for q in kinds:
                    out[(q, P)][l][c] = shown[q]
                with torch.no_grad():  # θ⁺ into the epoch's slice of the leaf
                    (W if P == "W" else b)[l][c] = p.detach()
        return out

    def step(self, optimiser, W, b, layers):
        """Zero the gradients of frozen entries (θ − α·0 = θ exactly), then the SGD step."""
        for l in layers:
            for p, masks in ((W[l], self.W_mask), (None if b is None else b[l], self.b_mask)):
                if p is not None and masks is not None and p.grad is not None:
                    p.grad.mul_(masks[l])
        if optimiser is not None:
            optimiser.step()

    def updater(self, W, b, carried):
        """``carry`` for :meth:`layered` in the sequential order: SGD on layer l from its gradients,
        then its updated weights (kept in ``carried``) carry δ down."""
        optimisers = [self.optimiser(W, b, [l]) for l in range(len(W))]

        def update(l, gW_l, gb_l):
            W[l].grad = gW_l.clone()  # the mask of frozen entries must not reach the gradient shown
            if b is not None:
                b[l].grad = gb_l.clone()
            self.step(optimisers[l], W, b, [l])
            carried[l] = W[l].detach().clone()
            return carried[l]
        return update

    def layered(self, zs, acts, W, b, g, carry, delta_top=None):
        """Backward one layer at a time from ∂E/∂a_L = ``g`` (the sequential order); ``delta_top``:
        δ of the output layer where the loss gives it (softmax). ``carry(l, gW, gb)`` returns the
        weights that carry δ_l down (updating them first where that is the point).
        Returns ∂E/∂a, δ, ∂E/∂W, ∂E/∂b per layer."""
        grad = self.torch.autograd.grad
        L = len(zs)
        dEda, dEdz, gW, gb = [None] * L, [None] * L, [None] * L, [None] * L
        for l in reversed(range(L)):
            dEda[l] = g
            if l == L - 1 and delta_top is not None:
                delta = delta_top
            else:
                delta = grad(acts[l + 1], zs[l], g, retain_graph=True)[0]
            dEdz[l] = delta
            params = [W[l]] + ([] if b is None else [b[l]])
            grads = grad(zs[l], params, delta, retain_graph=True)
            gW[l], gb[l] = grads[0], grads[1] if b is not None else None
            down = carry(l, gW[l], gb[l])
            if l:
                a = acts[l].detach().requires_grad_()
                g = grad(_linear(down, a), a, delta)[0]
        return dEda, dEdz, gW, gb

    # -- what the cross-check reads ---------------------------------------------------------------

    def epochs(self, W, b, state=None, samples=slice(None)) -> EpochArrays:
        """Every quantity of C training epochs, teacher-forced from the (C, J, I) / (C, J) parameter
        stacks ``W``, ``b``; float64 arrays with the epoch axis last. The quantities of one sample
        only for ``samples`` (a slice: a big batch a few samples at a time, its per-sample parameter
        copies being samples × parameters large), those of the batch always whole."""
        torch, L = self.torch, len(self.f)
        grad = torch.autograd.grad
        sequential = self.net.sequential
        XA, TA = self.X[samples], self.T[samples]
        WB, bB = self.leaves(W, b)  # shared by the samples: forward values, batch loss, update
        WA, bA = self.leaves(W, b, copies=XA.shape[0])  # one copy per sample: per-sample gradients
        zB, aB = self.forward(WB, bB)
        terms, E_n, E = self.losses(zB[-1], aB[-1])
        zA, aA = self.forward(WA, bA, XA)
        E_nA = self.losses(zA[-1], aA[-1], TA)[1]

        if sequential:
            W_down = [None] * L
            gB, deltaB = self.output_gradients(E.sum(), zB[-1], aB[-1], self.T)
            _, _, gW, gb = self.layered(zB, aB, WB, bB, gB, self.updater(WB, bB, W_down), deltaB)
            gA, deltaA = self.output_gradients(E_nA.sum(), zA[-1], aA[-1], TA)
            dEda, dEdz, gWs, gbs = self.layered(zA, aA, WA, bA, gA, lambda l, *_: W_down[l], deltaA)
        else:
            W_down = [self.tensor(w) for w in W]
            for t in zA + aA[1:]:
                t.retain_grad()
            E_nA.sum().backward()
            dEda, dEdz = [a.grad for a in aA[1:]], [z.grad for z in zA]
            if self.from_logits:  # the loss read the logits: o is not on its path
                dEda[-1] = self.output_gradients(None, None, aA[-1], TA)[0]
            gWs, gbs = [w.grad for w in WA], None if bA is None else [v.grad for v in bA]
            E.sum().backward()
            gW, gb = [w.grad.clone() for w in WB], None if bB is None else [v.grad.clone() for v in bB]
            if self.net.steps:
                opt_out = self.optimizer_epochs(WB, bB, state)
            else:
                self.step(self.optimiser(WB, bB, range(L)), WB, bB, range(L))

        dadz, dzdW, Wd, parts = [], [], [None], [None]
        for l in range(L):
            z = zB[l][:, samples].detach().requires_grad_()
            if self.jacobian[l]:  # [k, j] = ∂a_k/∂z_j: a backward of each a_k
                a = self.f[l](z)
                dadz.append(torch.stack([grad(a[..., k].sum(), z, retain_graph=True)[0]
                                         for k in range(a.shape[-1])], dim=-2))
            else:
                dadz.append(grad(self.f[l](z), z, torch.ones_like(z))[0])
            w = WA[l].detach().requires_grad_()
            a = aB[l][:, samples].detach()
            z_of_w = _linear(w, a)
            dzdW.append(grad(z_of_w, w, torch.ones_like(z_of_w))[0][:, :, 0, :])
            if l:
                # z_{l+1} as a function of one copy of a_l per receiving unit j: its Jacobian is W,
                # and δ pulled back through unit j alone is the part of ∂E/∂a_l through j.
                copies = a[:, :, None, :].expand(-1, -1, W_down[l].shape[1], -1).clone()
                copies.requires_grad_()
                z_of_a = (W_down[l][:, None] * copies).sum(-1)
                Wd.append(grad(z_of_a, copies, torch.ones_like(z_of_a), retain_graph=True)[0][:, 0])
                parts.append(grad(z_of_a, copies, dEdz[l])[0])

        many = lambda ts: None if ts is None else [None if t is None else self.numpy(t) for t in ts]
        arrays = self._forward_arrays(W, b, zB, aB, terms, E_n, E, samples)
        arrays.dEda, arrays.dadz, arrays.dEdz = many(dEda), many(dadz), many(dEdz)
        arrays.gW_sample, arrays.gW, arrays.W_down, arrays.parts = many(gWs), many(gW), many(Wd), many(parts)
        if b is not None:
            arrays.gb_sample, arrays.gb = many(gbs), many(gb)
        arrays.W_new, arrays.b_new, arrays.dzdW = many(WB), many(bB), many(dzdW)
        if self.net.steps:
            arrays.opt = {k: many(v) for k, v in opt_out.items()}
        return arrays

    def output_gradients(self, E, z, o, T):
        """(∂E/∂o, δ of the output or None) by autograd. Where the loss reads the logits (cross-
        entropy), ∂E/∂o is that of its definition E = −Σ_k t_k ln o_k and δ = ∂E/∂z comes from
        the loss itself (``E``, a sum of losses, of the logits ``z``); otherwise ∂E/∂o of ``E``."""
        grad = self.torch.autograd.grad
        if not self.from_logits:
            return grad(E, o, retain_graph=True)[0], None
        leaf = o.detach().requires_grad_()
        dEdo = grad(-(T * self.torch.log(leaf)).sum(), leaf)[0]
        return dEdo, None if E is None else grad(E, z, retain_graph=True)[0]

    def _forward_arrays(self, W, b, zs, acts, terms, E_n, E, samples=slice(None)) -> EpochArrays:
        """The forward values and losses (of ``samples``; the batch E whole) as float64 arrays."""
        C = W[0].shape[0]
        start = lambda ps: None if ps is None else [np.moveaxis(np.asarray(p, np.float64), 0, -1) for p in ps]
        X = np.asarray(self.net.X, np.float64)[samples]
        some = lambda t: self.numpy(t[:, samples])
        return EpochArrays(W=start(W), b=start(b), z=[some(z) for z in zs],
                           act=[np.broadcast_to(X[..., None], X.shape + (C,))] + [some(a) for a in acts[1:]],
                           E_terms=some(terms), E_sample=some(E_n), E=self.numpy(E))

    def evaluate(self, W, b, state=None) -> EpochArrays:
        """The forward pass and loss from (C, J, I) / (C, J) parameter stacks (the evaluate phase)."""
        with self.torch.no_grad():
            Wt, bt = [self.tensor(w) for w in W], None if b is None else [self.tensor(v) for v in b]
            zs, acts = self.forward(Wt, bt)
            return self._forward_arrays(W, b, zs, acts, *self.losses(zs[-1], acts[-1]))

    def train(self, W, b, epochs: int, progress=None, batches=None):
        """A free run of torch alone from the parameters ``W``, ``b`` (NumPy, one epoch's shapes).
        ``batches(epoch)``: the samples of each iteration of an epoch (index arrays, a
        DataLoader's batches); None: one full batch. Returns the loss of every iteration's forward
        pass (and of the evaluate phase after the last update, so one more value) and the final
        parameters as float64 arrays."""
        torch = self.torch
        Wt, bt = self.leaves(W, b)
        losses = []
        layers = range(len(Wt))
        if self.net.sequential:
            update_layer = self.updater(Wt, bt, [None] * len(Wt))
        else:
            optimiser = self.optimiser(Wt, bt, layers)
        for e in range(epochs):
            if progress is not None and e % 500 == 0:
                progress(e, epochs)
            for which in [None] if batches is None else batches(e):
                X, T = (self.X, self.T) if which is None else (self.X[torch.as_tensor(which)],
                                                               self.T[torch.as_tensor(which)])
                zs, acts = self.forward(Wt, bt, X)
                E = self.losses(zs[-1], acts[-1], T)[2]
                losses.append(E.detach())
                if self.net.sequential:
                    g, delta = self.output_gradients(E.sum(), zs[-1], acts[-1], T)
                    self.layered(zs, acts, Wt, bt, g, update_layer, delta)
                else:
                    for p in Wt + (bt or []):
                        p.grad = None
                    E.sum().backward()
                    self.step(optimiser, Wt, bt, layers)
        with torch.no_grad():
            losses.append(self.losses(*(x[-1] for x in self.forward(Wt, bt)))[2])
        losses = torch.stack(losses)
        final = lambda ts: None if ts is None else [t.detach().to("cpu", torch.float64).numpy() for t in ts]
        return losses.to("cpu", torch.float64).numpy(), final(Wt), final(bt)


#: elements of the product W·a past which a layer shared by the samples is computed by ``bmm``
_PRODUCT_AT_ONCE = 1 << 20


def _linear(W, a):
    """z_j = Σ_i W_ji a_i: (C, N, I) with (C, J, I) or per-sample (C, N, J, I) → (C, N, J), and
    (N, I) with (J, I) → (N, J). Stacks are written as a product and a sum, not ``matmul``: for
    thousands of tiny matrices (an epoch each) that is several times faster than ``bmm``; but
    the product of a big layer with every sample (C × N × J × I) would take far more memory
    than the layer, so there ``bmm`` it is."""
    if W.dim() == 2:
        return a @ W.T
    if W.dim() == 3 and W.shape[0] * a.shape[1] * W.shape[1] * W.shape[2] > _PRODUCT_AT_ONCE:
        return a @ W.transpose(1, 2)
    return ((W if W.dim() == 4 else W.unsqueeze(1)) * a.unsqueeze(-2)).sum(-1)
