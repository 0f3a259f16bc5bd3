"""Mini-batches: ``batch_size``, ``shuffle`` and ``shuffle_seed``; an epoch of N samples is
⌈N/B⌉ iterations, each one gradient step on one batch, as a PyTorch DataLoader loop takes them;
the shuffled order comes from NumPy's seeded generator; the bad input."""

import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpstep import batches, functions, scenario
from bpstep.tape import Tape, network_for
from test_bad_input import assert_bad_edit

torch = pytest.importorskip("torch")
from bpstep.crosscheck import run_check  # noqa: E402

BASE = """\
name = "mini"
[network]
sizes = [2, 3, 2]
activation = ["tanh", "sigmoid"]
[init]
method = "uniform"
seed = 5
[data]
inputs = [[0.1, 0.2], [0.5, -0.3], [-0.4, 0.9], [0.3, 0.3], [-0.2, -0.7]]
targets = [[0.4, 0.6], [0.1, 0.9], [0.7, 0.2], [0.5, 0.5], [0.9, 0.1]]
[training]
loss = "mse"
learning_rate = 0.1
epochs = 3
"""


def load(extra):
    return scenario.parse(BASE + extra + "\n", "mini.toml")


def torch_loop(sc):
    """Each iteration's loss and the parameters after the run, from a plain torch loop over the
    batches a DataLoader with ``sc``'s batch size hands out, in bpstep's shuffled order."""
    net, p = network_for(sc)
    params = [torch.tensor(x, requires_grad=True) for x in p.W + p.b]
    L = len(p.W)
    h = dict(functions.OPTIMIZERS[sc.optimizer].hyper, **dict(sc.hyper))
    optimizer = functions.OPTIMIZERS[sc.optimizer].torch(torch, params, h, sc.learning_rate)
    X, T, losses = torch.tensor(net.X), torch.tensor(net.T), []
    for epoch in range(sc.epochs):
        sampler = batches.order(sc.samples, sc.shuffle_seed, epoch).tolist()
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, T), batch_size=sc.batch,
                                             sampler=sampler, drop_last=False)
        for x, t in loader:
            a = x
            for l in range(L):
                z = a @ params[l].T + params[L + l]
                a = torch.tanh(z) if sc.activations[l] == "tanh" else torch.sigmoid(z)
            optimizer.zero_grad()
            loss = torch.nn.MSELoss()(a, t)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses, [x.detach().numpy() for x in params]


SETUPS = ["batch_size = 2", "batch_size = 2\nshuffle = true\nshuffle_seed = 7",
          'batch_size = 3\nshuffle = true\nshuffle_seed = 1\noptimizer = "adam"',
          'batch_size = 1\noptimizer = "sgd"\nmomentum = 0.9', "batch_size = 5\nshuffle = true\nshuffle_seed = 3"]


@pytest.mark.parametrize("setup", SETUPS)
def test_the_iterations_train_as_a_torch_dataloader_loop_does(setup):
    sc = load(setup)
    tape = Tape(sc)
    losses, params = torch_loop(sc)
    assert tape.epochs == sc.epochs * -(-5 // sc.batch) == len(losses)
    p = tape.final_params()
    np.testing.assert_allclose(np.concatenate([x.ravel() for x in p.W + p.b]),
                               np.concatenate([x.ravel() for x in params]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tape.losses[:-1], losses, rtol=1e-12)


def test_an_iteration_steps_through_its_batch_only():
    sc = load("batch_size = 2\nshuffle = true\nshuffle_seed = 7")
    tape = Tape(sc)
    unit = 1 * 3 + 2  # epoch 1, iteration 2: the last batch, one sample
    which = batches.order(5, 7, 1)[4:]
    assert tape.batch(unit).tolist() == which.tolist()
    rec = tape.record(unit)
    assert rec.arrays.act[0].tolist() == sc.inputs[which].tolist() and rec.T.tolist() == sc.targets[which].tolist()
    assert [s.sample for s in tape.steps(unit) if s.id == "z[1,1]"] == [1]
    assert tape.length(unit) < tape.length(unit - 1)
    # the steps' values are the engine's, bit for bit, whether reached by steps or jumps
    assert Tape(sc).params(unit + 1).flat().tolist() == tape.params(unit + 1).flat().tolist()


def test_the_order_is_numpys_seeded_generator():
    assert batches.order(5, 7, 2).tolist() == np.random.default_rng([7, 2]).permutation(5).tolist()
    assert batches.order(5, None, 2).tolist() == [0, 1, 2, 3, 4]
    assert batches.iterations(150, 16) == 10


BAD = [
    ("epochs = 3", "epochs = 3\nbatch_size = 0", "batch_size"),
    ("epochs = 3", "epochs = 3\nbatch_size = 6", "≤ 5"),
    ("epochs = 3", "epochs = 3\nbatch_size = 2.5", "whole number"),
    ("epochs = 3", "epochs = 3\nshuffle = true", "shuffle_seed"),
    ("epochs = 3", "epochs = 3\nshuffle = 1", "true or false"),
    ("epochs = 3", "epochs = 3\nshuffle_seed = 4", "shuffle = true"),
    ("epochs = 3", "epochs = 3\nshuffle = true\nshuffle_seed = -1", "≥ 0"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[1] for c in BAD])
def test_bad_batching_is_one_line(run_cli, write_scenario, case):
    assert_bad_edit(run_cli, write_scenario, BASE, case)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.integers(1, 5), seed=st.one_of(st.none(), st.integers(0, 2 ** 32)),
       optimizer=st.sampled_from(['optimizer = "sgd"', 'optimizer = "adam"', 'optimizer = "sgd"\nmomentum = 0.9',
                                  'optimizer = "adam"\nweight_decay = 0.1']),
       dtype=st.sampled_from(["float64", "float32"]))
def test_check_passes_over_batch_sizes_and_shuffling(batch, seed, optimizer, dtype):
    shuffle = "" if seed is None else f"\nshuffle = true\nshuffle_seed = {seed}"
    sc = load(f'batch_size = {batch}{shuffle}\n{optimizer}\ndtype = "{dtype}"')
    out = io.StringIO()
    assert run_check(sc, "cpu", out=out, err=io.StringIO()) == 0, out.getvalue()
    K = -(-5 // batch)
    batched = f"mini-batches of {batch}: {K} iteration{'s' if K > 1 else ''} an epoch" in out.getvalue()
    assert batched == (K > 1 or seed is not None)


def test_goto_iteration_print_order_and_the_outputs_name_the_iteration(run_cli, write_scenario):
    path = write_scenario(BASE + "batch_size = 2\nshuffle = true\nshuffle_seed = 7\n")
    code, out, err = run_cli("replay", str(path), "-c", "goto epoch 1 iteration 2 phase update; print order; where")
    assert code == 0, err
    order = " ".join(map(str, batches.order(5, 7, 1) + 1))
    lines = out.splitlines()
    assert lines[0].startswith("e1 i2 update #")
    a, b, c, d, e = order.split()
    assert lines[1] == (f"# order  epoch 1, 3 batches of 2: {a} {b} | {c} {d} | {e} "
                        "(np.random.default_rng([7, 1]).permutation(5) + 1)")
    assert lines[2].startswith("# epoch 1 · iteration 2 · update · step ")
    code, out, err = run_cli("replay", str(path), "--format", "jsonl", "-c", "goto epoch 2 iteration 1; goto epoch 3")
    first, last = (json.loads(x) for x in out.splitlines())
    assert (first["epoch"], first["iteration"], last["epoch"], last["phase"]) == (2, 1, 3, "evaluate")
    assert "iteration" not in last


@pytest.mark.parametrize("script, must", [
    ("goto epoch 1 iteration 3", "iteration 3 is outside 0…2"),
    ("goto epoch 3 iteration 0", "evaluate phase"),
    ("goto epoch 1 iteration x", "iteration"),
])
def test_bad_goto_iteration_is_one_line(run_cli, write_scenario, script, must):
    path = write_scenario(BASE + "batch_size = 2\n")
    code, out, err = run_cli("replay", str(path), "-c", script)
    assert code == 2 and len(err.splitlines()) == 1 and must in err, err


def test_what_if_keeps_to_what_a_batched_run_can_take(run_cli, write_scenario, tmp_path):
    path = write_scenario(BASE + "batch_size = 2\n")
    code, out, err = run_cli("replay", str(path), "-c", "set x[1]@1 0.5")
    assert code == 2 and "numbered within its batch" in err, err
    code, out, err = run_cli("replay", str(path), "-c", f"goto epoch 1 iteration 1; set lr 0.5; save {tmp_path / 'w.toml'}")
    assert code == 2 and "epoch 1 iteration 1" in err, err
    saved = tmp_path / "s.toml"
    code, out, err = run_cli("replay", str(path), "-c", f"set lr 0.5; save {saved}")
    assert code == 0, err
    assert scenario.load(str(saved)).batch_size == 2


def test_the_status_line_names_the_iteration():
    from bpstep.session import Session
    from bpstep.tui.frame import Frame
    from bpstep.tui.status import _epoch

    session = Session(load("batch_size = 2"))
    session.run("goto epoch 1 iteration 2")
    assert _epoch(Frame(session))[:2] == ("epoch 1/3 · iteration 2/3", "e1/3 i2/3")
    session.run("goto epoch 3")
    assert _epoch(Frame(session))[:2] == ("epoch 3/3", "e3/3")
