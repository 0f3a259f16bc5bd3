"""A from-scratch NumPy backprop of the lecture's 2-2-2 network, one epoch, writing every value
it computes under bpstep's ids, so that ``bpstep compare`` can check it:

    python examples/my_backprop.py mine.csv          # everything agrees
    python examples/my_backprop.py mine.csv --bug    # sigma' taken from z instead of sigma(z)
    bpstep compare worked-222 mine.csv

With ``--bug`` the derivative of the sigmoid is computed as z(1 - z) instead of o(1 - o), a
classic slip; compare names da[2,1]/dz[2,1]@1 (the lecture's ∂o1/∂z3) as the first value that
is wrong, and every gradient and update below it as wrong because of it.
"""

import csv
import sys

import numpy as np

x = np.array([0.1, 0.2])
t = np.array([0.4, 0.6])
W = [np.array([[0.30, 0.25], [0.40, 0.35]]), np.array([[0.45, 0.40], [0.70, 0.60]])]
lr = 0.5


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def backprop(bug: bool):
    """(id, value) of every quantity of one epoch, named as bpstep names them."""
    rows = []
    a, zs, acts = x, [], [x]
    for l, w in enumerate(W, 1):
        z = w @ a
        a = sigmoid(z)
        zs.append(z)
        acts.append(a)
        rows += [(f"z[{l},{j}]@1", z[j - 1]) for j in (1, 2)] + [(f"a[{l},{j}]@1", a[j - 1]) for j in (1, 2)]
    o = acts[-1]
    rows.append(("E@1", float(np.sum(0.5 * (t - o) ** 2))))
    dE_da = -(t - o)
    grads = [None, None]
    for l in (2, 1):
        slope = zs[l - 1] * (1 - zs[l - 1]) if bug else acts[l] * (1 - acts[l])
        delta = dE_da * slope
        grads[l - 1] = np.outer(delta, acts[l - 1])
        for j in (1, 2):
            rows += [(f"dE/da[{l},{j}]@1", dE_da[j - 1]), (f"da[{l},{j}]/dz[{l},{j}]@1", slope[j - 1]),
                     (f"dE/dz[{l},{j}]@1", delta[j - 1])]
            rows += [(f"dE/dW[{l},{j},{i}]@1", grads[l - 1][j - 1, i - 1]) for i in (1, 2)]
        dE_da = W[l - 1].T @ delta
    for l in (2, 1):
        new = W[l - 1] - lr * grads[l - 1]
        rows += [(f"W+[{l},{j},{i}]", new[j - 1, i - 1]) for j in (1, 2) for i in (1, 2)]
    return rows


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit("usage: python examples/my_backprop.py OUT.csv [--bug]")
    with open(argv[0], "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "value"])
        for qid, value in backprop("--bug" in argv[1:]):
            out.writerow([qid, repr(float(value))])


if __name__ == "__main__":
    main(sys.argv[1:])
