"""bpstep.from_torch: a PyTorch model trained by torch itself for 20 epochs and bpstep's run of
the scenario made from it agree (losses and parameters, within the cross-check's tolerances);
the model is never changed; what cannot be mirrored is one clear error; Scenario.save round
trips; bpstep.debug opens the app."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import bpstep  # noqa: E402
from bpstep.agreement import TOLERANCES  # noqa: E402
from bpstep.torch_model import Unsupported, from_torch  # noqa: E402

EPOCHS = 20
ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}


def model_for(act, bias=True, dtype=torch.float32, outputs=2, last=None):
    torch.manual_seed(7)
    layers = [nn.Linear(3, 4, bias=bias), ACT[act](), nn.Linear(4, outputs, bias=bias)]
    if last is not None:
        layers.append(last)
    return nn.Sequential(*layers).to(dtype)


def data(loss, dtype, outputs=2):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(6, 3, generator=g, dtype=dtype)
    if loss == "ce":
        return x, torch.tensor([0, 2, 1, 1, 0, 2])
    return x, torch.rand(6, outputs, generator=g, dtype=dtype)


CASES = [  # (activation, loss, optimizer, bias, dtype)
    ("sigmoid", "mse", None, True, torch.float64),
    ("tanh", "mse", ("sgd", {"lr": 0.3}), False, torch.float32),
    ("relu", "mse", ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}), True, torch.float64),
    ("sigmoid", "bce", ("sgd", {"lr": 0.5, "momentum": 0.5, "dampening": 0.1}), True, torch.float32),
    ("identity", "mse", ("adam", {"lr": 0.01}), True, torch.float64),
    ("tanh", "ce", ("adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.01}), True, torch.float32),
    ("relu", "ce", ("sgd", {"lr": 0.2}), False, torch.float64),
    ("sigmoid", "ce", ("adam", {"lr": 0.05}), False, torch.float32),
]


def build(act, loss, opt, bias, dtype):
    outputs = 3 if loss == "ce" else 2
    last = nn.Sigmoid() if loss == "bce" else None
    model = model_for(act, bias, dtype, outputs, last)
    x, y = data(loss, dtype, outputs)
    loss_fn = {"mse": nn.MSELoss(), "bce": nn.BCELoss(), "ce": nn.CrossEntropyLoss()}[loss]
    optimizer = None if opt is None else {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[opt[0]](
        model.parameters(), **opt[1])
    return model, x, y, loss_fn, optimizer


@pytest.mark.parametrize("act, loss, opt, bias, dtype", CASES)
def test_bpstep_runs_as_torch_trains_the_model(act, loss, opt, bias, dtype):
    model, x, y, loss_fn, optimizer = build(act, loss, opt, bias, dtype)
    before = copy.deepcopy(model.state_dict())
    session = bpstep.open(from_torch(model, x, y, loss_fn, optimizer, epochs=EPOCHS))
    for key, value in model.state_dict().items():  # from_torch changed nothing
        assert torch.equal(value, before[key])
    session.run(f"goto epoch {EPOCHS}")
    tol = TOLERANCES[str(dtype).removeprefix("torch.")]
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=1e-3)
    for epoch in range(EPOCHS):
        optimizer.zero_grad()
        value = loss_fn(model(x), y)
        value.backward()
        optimizer.step()
        mine = session.value("E", epoch)
        assert abs(mine - value.item()) <= 10 * tol.rtol * abs(value.item()) + tol.atol, epoch
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for l, lin in enumerate(linears, 1):
        W = lin.weight.detach().double().numpy()
        got = np.array([[session.value(f"W[{l},{j},{i}]", EPOCHS) for i in range(1, W.shape[1] + 1)]
                        for j in range(1, W.shape[0] + 1)])
        np.testing.assert_allclose(got, W, rtol=10 * tol.rtol, atol=10 * tol.rtol * np.abs(W).max())


@pytest.mark.parametrize("case, batch_size", [(CASES[2], 4), (CASES[5], 2)])
def test_mini_batches_run_as_a_dataloader_loop_without_shuffling(case, batch_size):
    model, x, y, loss_fn, optimizer = build(*case)
    session = bpstep.open(from_torch(model, x, y, loss_fn, optimizer, epochs=5, batch_size=batch_size))
    session.run("goto epoch 5")
    batches = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size, shuffle=False)
    for _ in range(5):
        for xb, yb in batches:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    tol = TOLERANCES[str(case[4]).removeprefix("torch.")]
    W = model[0].weight.detach().double().numpy()
    got = np.array([[session.value(f"W[1,{j},{i}]") for i in range(1, 4)] for j in range(1, 5)])
    np.testing.assert_allclose(got, W, rtol=10 * tol.rtol, atol=10 * tol.rtol * np.abs(W).max())


def test_parameters_left_out_of_the_optimizer_are_frozen():
    model = model_for("sigmoid")
    x, y = data("mse", torch.float32)
    sc = from_torch(model, x, y, nn.MSELoss(), torch.optim.SGD(model[2].parameters(), lr=0.5), epochs=3)
    assert "W[1,1,1]" in sc.freeze and "b[1,4]" in sc.freeze and "W[2,1,1]" not in sc.freeze
    session = bpstep.open(sc)
    session.run("goto epoch 3")
    assert session.value("W[1,2,3]", 3) == session.value("W[1,2,3]", 0)
    assert session.value("W[2,1,1]", 3) != session.value("W[2,1,1]", 0)


def stepped_sgd():
    model = model_for("sigmoid")
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    return model, opt


@pytest.mark.parametrize("make, expected", [
    (lambda: (nn.Sequential(nn.Linear(3, 4), nn.Dropout(), nn.Linear(4, 2)), nn.MSELoss(), None), "holds Dropout"),
    (lambda: (nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=0)), nn.MSELoss(), None), "Softmax(dim=0)"),
    (lambda: (model_for("tanh"), nn.L1Loss(), None), "the loss L1Loss"),
    (lambda: (model_for("tanh"), nn.MSELoss(reduction="sum"), None), "MSELoss(reduction='sum')"),
    (lambda: (model_for("tanh"), nn.MSELoss(), "rmsprop"), "the optimizer RMSprop"),
    (lambda: (model_for("tanh"), nn.MSELoss(), "maximize"), "SGD(maximize=True)"),
    (lambda: (model_for("tanh"), nn.MSELoss(), "amsgrad"), "Adam(amsgrad=True)"),
    (lambda: (*stepped_sgd()[:1], nn.MSELoss(), "stepped"), "has taken steps"),
    (lambda: (nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2, bias=False)), nn.MSELoss(), None), "some with a bias"),
    (lambda: (model_for("tanh").half(), nn.MSELoss(), None), "float16"),
    (lambda: (model_for("tanh", last=nn.Softmax(dim=-1)), nn.CrossEntropyLoss(), None), "CrossEntropyLoss after nn.Softmax"),
    (lambda: (model_for("tanh"), nn.CrossEntropyLoss(label_smoothing=0.1), None), "label_smoothing=0.1"),
])
def test_what_cannot_be_mirrored_is_one_clear_error(make, expected):
    model, loss_fn, opt = make()
    optimizer = {None: None, "rmsprop": lambda: torch.optim.RMSprop(model.parameters()),
                 "maximize": lambda: torch.optim.SGD(model.parameters(), lr=0.1, maximize=True),
                 "amsgrad": lambda: torch.optim.Adam(model.parameters(), amsgrad=True),
                 "stepped": lambda: stepped_sgd()[1]}[opt]
    x, y = data("ce" if isinstance(loss_fn, nn.CrossEntropyLoss) else "mse", torch.float32)
    with pytest.raises(Unsupported, match="bpstep supports nn.Linear") as e:
        from_torch(model, x, y, loss_fn, optimizer() if optimizer else None)
    assert expected in str(e.value)


def test_more_refusals_batch_size_epochs_and_a_forward_that_is_no_chain():
    model = model_for("tanh")
    x, y = data("mse", torch.float32)
    with pytest.raises(Unsupported, match="batch_size=0"):
        from_torch(model, x, y, nn.MSELoss(), batch_size=0)
    with pytest.raises(Unsupported, match="epochs=0"):
        from_torch(model, x, y, nn.MSELoss(), epochs=0)

    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 2)

        def forward(self, x):
            return self.b(self.a(x) + x)

    with pytest.raises(Unsupported, match="Skip's forward is not its children applied in order"):
        from_torch(Skip(), x, y, nn.MSELoss())


def test_a_module_whose_forward_is_its_children_in_order_is_taken():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(1)
            self.hidden, self.act, self.out = nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2)

        def forward(self, x):
            return self.out(self.act(self.hidden(x)))

    x, y = data("mse", torch.float32)
    sc = from_torch(Net(), x, y, nn.MSELoss(), name="net")
    assert (sc.sizes, sc.activations, sc.name) == ((3, 4, 2), ("sigmoid", "identity"), "net")


@pytest.mark.parametrize("samples", [6, 3000])
def test_save_writes_a_file_that_loads_back_to_the_same_numbers(tmp_path, samples):
    model, x, y, loss_fn, optimizer = build(*CASES[5])
    x = x.repeat(samples // 6, 1)
    y = y.repeat(samples // 6)
    sc = from_torch(model, x, y, loss_fn, optimizer, epochs=4, name="mine")
    path = sc.save(tmp_path / "mine.toml")
    assert (tmp_path / "mine.npy").exists() == (samples > 1000)
    back = bpstep.open(path).scenario
    for a, b in zip(sc.weights + sc.biases + (sc.inputs, sc.targets), back.weights + back.biases + (back.inputs, back.targets)):
        assert np.array_equal(a, b)
    assert (back.name, back.optimizer, back.hyper, back.loss, back.epochs) == ("mine", sc.optimizer, sc.hyper, sc.loss, 4)
    with pytest.raises(bpstep.ScenarioError, match="exists"):
        sc.save(path)
    sc.save(path, overwrite=True)


def test_debug_opens_the_app_on_the_model(monkeypatch):
    from bpstep.tui.app import BpstepApp

    seen = []
    monkeypatch.setattr(BpstepApp, "run", lambda self: seen.append(self.session.scenario))
    model = model_for("tanh")
    x, y = data("mse", torch.float32)
    bpstep.debug(model, x, y, nn.MSELoss(), epochs=5)
    assert seen[0].sizes == (3, 4, 2) and seen[0].epochs == 5


async def test_the_app_steps_through_a_torch_model(make_app):
    model = model_for("tanh")
    x, y = data("mse", torch.float32)
    app = make_app(from_torch(model, x, y, nn.MSELoss()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "n")
        assert app.session.position == (0, 2)
        assert "z¹₃" in app.query_one("#tape").plain()
