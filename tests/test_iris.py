"""The built-in iris scenario: Fisher's 150 flowers, a 4-8-3 tanh/softmax network, Adam, shuffled
mini-batches of 16. It learns (training accuracy ≥ 95%), and its first 50 epochs are those of a
plain PyTorch loop (nn.Sequential, CrossEntropyLoss, torch.optim.Adam) over the same batches in
the same order."""

import io

import numpy as np
import pytest

from bpstep import batches, scenario
from bpstep.session import Session
from bpstep.tape import Tape, network_for

torch = pytest.importorskip("torch")
from bpstep.crosscheck import run_check  # noqa: E402


def test_the_data_is_fishers_150_flowers():
    sc = scenario.load("iris")
    assert sc.inputs.shape == (150, 4) and sc.classes == ("setosa", "versicolor", "virginica")
    assert (sc.targets.sum(0) == 50).all()
    assert sc.inputs[0].tolist() == [5.1, 3.5, 1.4, 0.2] and sc.inputs[-1].tolist() == [5.9, 3.0, 5.1, 1.8]
    assert (sc.sizes, sc.activations, sc.loss, sc.optimizer, sc.learning_rate) == (
        (4, 8, 3), ("tanh", "softmax"), "cross_entropy", "adam", 0.01)
    assert (sc.batch, sc.iterations) == (16, 10) and sc.shuffle_seed is not None


def test_it_learns_to_95_percent_training_accuracy():
    session = Session(scenario.load("iris"))
    session.run(f"goto epoch {session.scenario.epochs}")
    line = session.run("print accuracy").messages[0]
    right = int(line.split("(")[1].split(" of ")[0])
    assert right / 150 >= 0.95, line


def test_the_first_50_epochs_are_a_plain_torch_loops():
    sc = scenario.load("iris").with_epochs(50)
    _, p = network_for(sc)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for layer, W, b in zip((model[0], model[2]), p.W, p.b):
            layer.weight.copy_(torch.tensor(W))
            layer.bias.copy_(torch.tensor(b))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = torch.tensor(sc.inputs), torch.tensor(sc.targets.argmax(1))
    theirs = []
    for epoch in range(50):
        sampler = batches.order(150, sc.shuffle_seed, epoch).tolist()
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16, sampler=sampler)
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            theirs.append(loss.item())
    tape = Tape(sc)
    tape.final_params()
    assert len(theirs) == 500
    np.testing.assert_allclose(tape.losses[:500], theirs, rtol=1e-5, atol=1e-7)  # float32's tolerance


def test_check_passes_on_its_first_epochs():
    out = io.StringIO()
    assert run_check(scenario.load("iris").with_epochs(3), "cpu", out=out, err=io.StringIO()) == 0, out.getvalue()
    assert "mini-batches of 16: 10 iterations an epoch, shuffled" in out.getvalue()


def test_the_markdown_of_one_iteration_shows_the_jacobian_and_adams_update(run_cli):
    code, out, err = run_cli("replay", "iris", "--format", "markdown", "-c", "goto epoch 2 iteration 3")
    assert code == 0, err
    assert "This is iteration 3 of the 10 of epoch 2 (of 100)" in out and "a mini-batch of 16 samples" in out
    assert r"\frac{\partial o_{2}}{\partial z^{2}_{1}} = -\left(o_{2} \cdot o_{1}\right) = -\left(0." in out
    # Adam's bias correction at step t = 2·10 + 3 + 1 = 24, with its numbers
    assert r"{0.9}^{24}" in out and r"\hat{m}\left(W^{2}_{11}\right)" in out
