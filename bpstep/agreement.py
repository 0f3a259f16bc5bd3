"""When two numbers agree: the tolerances by dtype, the rounding scale of every
value of an epoch, and central finite differences, the cross-check's third witness. NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import engine, functions


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def errors(self, mine, theirs, scale=None, slack=None):
        """(|Δ|, ok) elementwise: ok when |Δ| ≤ rtol·max(S, |mine|, |theirs|) + atol + slack, S the
        value's rounding scale (:func:`error_scales`), slack what the witness may be off by itself
        (both 0 when not given). NaN against NaN and equal infinities are Δ = 0, any other
        non-finite difference is Δ = inf."""
        mine, theirs = np.asarray(mine, np.float64), np.asarray(theirs, np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.abs(mine - theirs)
            err = np.where((mine == theirs) | (np.isnan(mine) & np.isnan(theirs)), 0.0, err)
            err = np.where(np.isnan(err), np.inf, err)
            size = np.maximum(np.abs(mine), np.abs(theirs))
            if scale is not None:
                size = np.where(np.isfinite(scale), np.fmax(size, scale), size)
            bound = self.rtol * np.where(np.isfinite(size), size, 0.0) + self.atol
            return err, err <= (bound if slack is None else bound + np.nan_to_num(slack))

    def describe(self) -> str:
        return f"|bpstep − torch| ≤ {self.rtol:.0e}·S + {self.atol:.0e}, S ≥ |value| its rounding scale"


#: Δ alone, the way a NaN or an infinity counts
EXACT = Tolerance(0.0, 0.0)
#: per dtype; why these numbers: README, "Cross-check against PyTorch"
TOLERANCES = {"float64": Tolerance(rtol=1e-12, atol=1e-15), "float32": Tolerance(rtol=1e-5, atol=1e-8)}
#: central differences: step h, and how close they must come to the engine's gradient
FD_STEP = 1e-6
FD_TOLERANCE = Tolerance(rtol=1e-5, atol=1e-8)


_EPS64 = np.finfo(np.float64).eps


def error_scales(net, arrays: engine.EpochArrays, rtol: float) -> engine.EpochArrays:
    """For every value of a run of epochs (arrays with the epoch on the last axis), its rounding
    scale S ≥ |value|: two correct implementations that round differently may disagree by a few
    ε·S (ε the dtype's unit roundoff). S is |value| where the arithmetic is well-conditioned, and
    larger where digits cancel or a difference from earlier steps is amplified (first-order
    running error analysis, with the inputs x and the epoch's parameters exact):

    - a sum: the sum of its terms' scales (z = Σ W·a + b, ∂E/∂a = Σ parts, batch means);
    - a product x·y: S_x·|y| + |x|·S_y;
    - a = f(z): |a| + |f′(z)|·S_z;  ∂a/∂z: a(1 − a) and 1 − a² are exact only to ε·1, however
      small they are (a saturated unit), plus the drift of a: |1 − 2a|·S_a, 2|a|·S_a; a relu
      whose z is within rtol·S_z of 0 may take either side, so its derivative may differ by 1;
    - the loss: t − o to ε(|t| + |o|) plus S_o; ln(1 − o) to (ε + S_o)/(1 − o);
    - δ of sigmoid outputs under BCE: g = (o − t)/(o(1 − o)) and ∂a/∂z = o(1 − o) share the rounding
      of 1 − o, which cancels in δ = (o − t)/K, so S_δ = (|o| + |t| + S_o)/K;
    - θ⁺ = θ − α·g: |θ| + α·S_g (exactly |θ| for a frozen entry).
    """
    first = lambda x: np.moveaxis(np.asarray(x, np.float64), -1, 0)  # epoch on the first axis
    last = lambda x: np.moveaxis(x, 0, -1)
    W = [first(w) for w in arrays.W]
    b = None if arrays.b is None else [first(v) for v in arrays.b]
    acts, zs = [first(a) for a in arrays.act], [first(z) for z in arrays.z]
    T = np.asarray(net.T, np.float64)
    L, K = len(W), T.shape[-1]
    S_act, S_z = [np.abs(acts[0])], []
    for l, name in enumerate(net.activations):
        S_z.append(S_act[-1] @ np.abs(W[l]).transpose(0, 2, 1) + (0 if b is None else np.abs(b[l])[:, None]))
        slope = np.abs(engine.ACTIVATION_FUNCTIONS[name][1](zs[l], acts[l + 1]))
        # a Jacobian (softmax): S_z of every unit j reaches a_k through ∂a_k/∂z_j
        drift = slope * S_z[-1] if slope.ndim == S_z[-1].ndim else (slope * S_z[-1][..., None, :]).sum(-1)
        S_act.append(np.abs(acts[l + 1]) + drift)
    o, S_o = acts[-1], S_act[-1]
    loss = functions.LOSSES[net.loss]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        spread = np.abs(T) + np.abs(o) + S_o  # of t − o
        S_terms = loss.term_spread(first(arrays.E_terms), o, T, S_o, spread, K)
        S_terms = np.where(np.isnan(S_terms), np.inf, S_terms)
    out = engine.EpochArrays(W=arrays.W, b=arrays.b, z=[last(s) for s in S_z], act=[last(s) for s in S_act],
                             E_terms=last(S_terms), E_sample=last(S_terms.sum(-1)), E=S_terms.sum(-1).mean(-1))
    if not arrays.dEda:
        return out
    n = len(arrays.dEda)
    out.dEda, out.dadz, out.dEdz, out.gW_sample = ([None] * n for _ in range(4))
    out.gW, out.W_down, out.parts, out.W_new = ([None] * n for _ in range(4))
    out.gb_sample, out.gb, out.b_new = ([None] * n for _ in range(3)) if b is not None else ([], [], None)
    out.dzdW = [last(s) for s in S_act[:-1]]
    g = first(arrays.dEda[-1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        S_g = loss.gradient_spread(o, g, S_o, spread, K)
        for l in reversed(range(L)):
            a, S_a, name = acts[l + 1], S_act[l + 1], net.activations[l]
            g, dadz, delta = first(arrays.dEda[l]), first(arrays.dadz[l]), first(arrays.dEdz[l])
            S_dadz = functions.ACTIVATIONS[name].spread(a, zs[l], S_a, S_z[l], rtol)
            if l == L - 1 and name == "sigmoid" and net.loss == "bce":
                S_delta = spread / K + np.abs(delta)
            elif S_dadz.ndim > S_a.ndim:  # softmax: δ = o − t, computed as such
                S_delta = spread + np.abs(delta)
            else:
                S_delta = S_g * np.abs(dadz) + np.abs(g) * S_dadz + np.abs(delta)
            # per sample δ a_{l−1}ᵀ and δ_j W_ji: S_δ|a| + |δ|S_a and S_δ|W| + |δ|S_W, not formed
            A, D, Wd = np.abs(acts[l]), np.abs(delta), np.abs(first(arrays.W_down[l]))
            S_gW = _mean_over_samples(S_delta, A, D, S_act[l])
            free = 1 if net.W_mask is None else net.W_mask[l]  # 0 where frozen
            S_W_new = np.abs(W[l]) + float(net.lr) * S_gW * free
            if net.steps:
                S_W_new = _optimizer_scales(net, arrays, out, l, "W", W[l], S_gW, first, last)
            S_Wd = S_W_new if net.sequential else np.abs(W[l])
            out.dEda[l], out.dadz[l], out.dEdz[l] = last(S_g), last(S_dadz), last(S_delta)
            out.gW_sample[l] = engine.Outer(last(S_delta), last(A), True, more=[(last(D), last(S_act[l]))])
            out.gW[l], out.W_new[l], out.W_down[l] = last(S_gW), last(S_W_new), last(S_Wd)
            out.parts[l] = engine.Outer(last(S_delta), last(Wd), False, more=[(last(D), last(S_Wd))])
            if b is not None:
                S_gb = S_delta.mean(1)
                out.gb_sample[l], out.gb[l] = last(S_delta), last(S_gb)
                free = 1 if net.b_mask is None else net.b_mask[l]
                out.b_new[l] = last(np.abs(b[l]) + float(net.lr) * S_gb * free)
                if net.steps:
                    out.b_new[l] = last(_optimizer_scales(net, arrays, out, l, "b", b[l], S_gb, first, last))
            if l:  # what the layer below reads
                S_g = _sum_over_units(S_delta, Wd, D, S_Wd)
    return out


def _optimizer_scales(net, arrays, out, l, P, theta, S_grad, first, last):
    """The rounding scales of the optimizer's quantities of layer l's weights (``P`` = "W") or
    biases ("b"), into ``out.opt``, each from those it reads (the registry's ``spread``; the
    state before the step is exact, the engine's own); returns θ⁺'s. Arrays epoch first."""
    opt = functions.OPTIMIZERS[net.optimizer]
    h = {k: v if isinstance(v, bool) else float(v) for k, v in net.hyper.items()}
    t = np.asarray(arrays.opt_prev["t"], np.float64).reshape((-1,) + (1,) * (theta.ndim - 1)) + 1
    S, x = {"grad": S_grad}, {"grad": first((arrays.gW if P == "W" else arrays.gb)[l]), "t": t}
    for q in opt.carried:
        if (q, P) in arrays.opt_prev:
            x["prev:" + q] = first(arrays.opt_prev[(q, P)][l])
    for q in net.steps:
        x[q] = first(arrays.opt[(q, P)][l])
        S[q] = opt.spread(q, S, x, theta, h, float(net.lr))
        out.opt.setdefault((q, P), [None] * len(arrays.W))[l] = last(S[q])
    return opt.spread("+", S, x, theta, h, float(net.lr))


#: how many elements of an N×J×I product are formed at once where it is summed
_FORMED_AT_ONCE = 250_000


def _mean_over_samples(S_u, v, u, S_v):
    """(C, J, I): the mean over n of S_u[n, j]·v[n, i] + u[n, j]·S_v[n, i] (u, S_u: (C, N, J);
    v, S_v: (C, N, I)), formed a few rows j at a time. Each row is summed over n exactly as the
    whole product would be (numpy adds along n a row of elements at a time; only a row of one
    element, I = 1, would be summed pairwise, and that product is never split)."""
    C, N, J = S_u.shape
    I = v.shape[-1]
    rows = J if I == 1 else max(1, _FORMED_AT_ONCE // (C * N * I))
    out = np.empty((C, J, I))
    for j in range(0, J, rows):
        s = slice(j, j + rows)
        out[:, s] = (S_u[:, :, s, None] * v[:, :, None, :] + u[:, :, s, None] * S_v[:, :, None, :]).mean(1)
    return out


def _sum_over_units(S_u, W, u, S_W):
    """(C, N, I): the sum over j of S_u[n, j]·W[j, i] + u[n, j]·S_W[j, i] (u, S_u: (C, N, J);
    W, S_W: (C, J, I)), formed a few samples at a time (each sample's sum is its own)."""
    C, N, J = S_u.shape
    I = W.shape[-1]
    rows = max(1, _FORMED_AT_ONCE // (C * J * I))
    out = np.empty((C, N, I))
    for n in range(0, N, rows):
        s = slice(n, n + rows)
        out[:, s] = (S_u[:, s, :, None] * W[:, None] + u[:, s, :, None] * S_W[:, None]).sum(2)
    return out


def finite_differences(net, arrays: engine.EpochArrays, scales: engine.EpochArrays, h: float = FD_STEP):
    """Central differences of every sample's loss and of the batch loss, in float64, for every
    parameter θ, from the starting parameters of a run of epochs (arrays with the epoch on the
    last axis), with the step h·max(1, |θ|) and twice that:

        D(h) = (E(θ + h) − E(θ − h)) / 2h,  witness (4·D(h) − D(2h)) / 3,
        slack |D(h) − D(2h)| + 8·ε·S_E / h

    D(h) errs by about c·h², so the witness (Richardson's extrapolation) is good to O(h⁴) and
    |D(h) − D(2h)|, three times D(h)'s own error, bounds what truncation leaves; where the loss is
    not smooth within ±2h the two steps disagree and that says so. The rounding of E (to about
    ε·S_E, S_E its rounding scale from ``scales``, ε of float64) is divided by h: the second term.

    Returns (witness, slack): the four gradient arrays (per sample, batch) in the engine's layout.
    NaN where there is no witness: a relu changing side within ±2h or BCE's clamps at work (no
    derivative there), and, in the sequential order, every layer below the output, whose engine
    "gradient" is carried down through updated weights and so is no derivative of E.

    Shifting W[l,j,i] by h shifts z[l,j] by exactly h·a[l−1,i] (h for b[l,j]), so only the
    layers from l up are recomputed, for all parameters of layer l at once.
    """
    X, T = np.asarray(net.X, np.float64), np.asarray(net.T, np.float64)
    W = [np.moveaxis(w, -1, 0) for w in arrays.W]  # (C, J, I)
    b = None if arrays.b is None else [np.moveaxis(v, -1, 0) for v in arrays.b]
    C, N, L = W[0].shape[0], X.shape[0], len(W)
    witness, slack = engine.EpochArrays(W=None, b=None), engine.EpochArrays(W=None, b=None)
    for out in (witness, slack):
        nan = lambda *shape: np.full(shape + (C,), np.nan)
        out.gW_sample, out.gW = [nan(N, *w.shape[1:]) for w in W], [nan(*w.shape[1:]) for w in W]
        out.gb_sample = [] if b is None else [nan(N, v.shape[1]) for v in b]
        out.gb = [] if b is None else [nan(v.shape[1]) for v in b]

    def layer(l, a):  # (C, M, J) = a (C, M, I) Wᵀ + b of layer l
        z = a @ W[l].transpose(0, 2, 1)
        return z if b is None else z + b[l][:, None]

    with np.errstate(all="ignore"):
        acts, zs = [np.broadcast_to(X, (C, N, X.shape[1]))], []
        for l, name in enumerate(net.activations):
            zs.append(layer(l, acts[-1]))
            acts.append(engine.ACTIVATION_FUNCTIONS[name][0](zs[-1]))
        o = acts[-1]
        clamped = (o * (1 - o) <= functions.BCE_EPS).any(-1) if net.loss == "bce" else np.zeros((C, N), bool)
        for l in ([L - 1] if net.sequential else range(L)):
            J, I = W[l].shape[1:]
            unit = np.concatenate([np.repeat(np.arange(J), I)] + ([np.arange(J)] if b is not None else []))
            # (C, N, P): ∂z[l, unit]/∂θ for each parameter θ of layer l
            src = np.tile(acts[l], (1, 1, J))
            if b is not None:
                src = np.concatenate([src, np.ones((C, N, J))], axis=2)
            theta = np.concatenate([W[l].reshape(C, -1)] + ([b[l]] if b is not None else []), axis=1)
            step = h * np.maximum(1.0, np.abs(theta))  # (C, P)
            P = unit.size
            E_n, lost = {}, clamped[:, None, :].repeat(P, axis=1)  # (C, P, N)
            for k in (1, -1, 2, -2):
                z = np.repeat(zs[l][:, None], P, axis=1)  # (C, P, N, J)
                shift = k * step[:, :, None] * src.transpose(0, 2, 1)  # (C, P, N)
                z[:, np.arange(P), :, unit] += shift.transpose(1, 0, 2)
                for m in range(l, L):
                    name = net.activations[m]
                    if name == "relu":
                        lost |= ((z > 0) != (zs[m][:, None] > 0)).any(-1)
                    a = engine.ACTIVATION_FUNCTIONS[name][0](z)
                    if m + 1 < L:
                        z = layer(m + 1, a.reshape(C, P * N, -1)).reshape(C, P, N, -1)
                E_n[k] = engine.loss_terms(net, a, T, z).sum(-1)  # (C, P, N)
            def differences(E, S_E):  # E[k]: the losses at θ + k·step → (witness, slack)
                hk = step.reshape(step.shape + (1,) * (E[1].ndim - 2))
                d1, d2 = (E[1] - E[-1]) / (2 * hk), (E[2] - E[-2]) / (4 * hk)
                return (4 * d1 - d2) / 3, np.abs(d1 - d2) + 8 * _EPS64 * S_E / hk

            nW = J * I
            S_En = np.moveaxis(scales.E_sample, -1, 0)[:, None, :]  # (C, 1, N)
            for out, per_sample, batch in zip((witness, slack), differences(E_n, S_En),
                                              differences({k: v.mean(-1) for k, v in E_n.items()},
                                                          np.asarray(scales.E)[:, None])):
                per_sample, batch = np.where(lost, np.nan, per_sample), np.where(lost.any(-1), np.nan, batch)
                out.gW_sample[l] = per_sample[:, :nW].reshape(C, J, I, N).transpose(3, 1, 2, 0)
                out.gW[l] = batch[:, :nW].reshape(C, J, I).transpose(1, 2, 0)
                if b is not None:
                    out.gb_sample[l] = per_sample[:, nW:].transpose(2, 1, 0)
                    out.gb[l] = batch[:, nW:].T
    return witness, slack
