"""The torch cross-check in the TUI: it never holds up the screen or the keys, says why it is
unavailable, computes each epoch in a worker and never shows values from before an edit."""

import sys
import threading
import time


from bpstep.notation import fmt
from bpstep.tui import check
from bpstep.tui.formula import FormulaPanel
from bpstep.tui.values import ValuesPanel

from tuikit import SIZE, FakeChecker, enter, text


async def test_a_slow_torch_never_holds_up_the_first_screen_or_the_keys(make_app, monkeypatch):
    gate = threading.Event()

    def slow_factory(tape, device):
        gate.wait(10)  # torch "loading" until the test has stepped around
        return FakeChecker()

    monkeypatch.setattr(check, "make_checker", slow_factory)
    started = time.perf_counter()
    app = make_app(crosscheck=True)
    async with app.run_test(size=SIZE) as pilot:
        assert time.perf_counter() - started < 5
        assert "torch loading… (cpu)" in app.query_one("#status").plain()
        await pilot.press("s", "s", "s")
        assert app.session.position == (0, 3)
        assert "…" in text(app, ValuesPanel).splitlines()[1]
        gate.set()
        for _ in range(2):  # the checker, then the worker that has it compute the epoch
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert "torch ready: cpu float64" in app.query_one("#status").plain()
        row = text(app, ValuesPanel).splitlines()[1]
        assert row.split()[1:4] == ["0.08000000", "0.08000000", "1.0e-18"]
        assert "torch 0.52747230  |Δ| 1.0e-18 ✓" in text(app, FormulaPanel)


async def test_no_cross_check_module_means_unavailable(make_app, monkeypatch):
    monkeypatch.setitem(sys.modules, "bpstep.crosscheck", None)  # import fails
    app = make_app(crosscheck=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.crosscheck.state == "unavailable"
        assert "torch unavailable: no cross-check" in app.query_one("#status").plain()
        await pilot.press("s")
        assert app.session.position == (0, 1)


async def test_a_device_that_is_missing_is_unavailable_with_its_reason(make_app):
    def factory(tape, device):
        raise check.Unavailable("device 'cuda' is not available")

    app = make_app(device="cuda", checker_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "torch unavailable: device 'cuda' is not available" in app.query_one("#status").plain()
        assert "—" in text(app, ValuesPanel).splitlines()[1]


def test_the_tui_package_is_the_only_one_that_imports_textual():
    import subprocess

    code = "import sys, bpstep.session, bpstep.replay, bpstep.cli; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_torch_computes_each_new_epoch_in_a_worker(make_app, monkeypatch):
    gate = threading.Event()

    class SlowEpochs(FakeChecker):
        def compare(self, step):
            gate.wait(10)  # the first compare of the epoch: torch computing it
            return super().compare(step)

    app = make_app(checker_factory=lambda tape, device: SlowEpochs())
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "torch computing epoch 0…" in text(app, FormulaPanel)
        await pilot.press("s", "s")  # the keys do not wait for it
        assert app.session.position == (0, 2)
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "torch 0.51998934  |Δ| 1.0e-18 ✓" in text(app, FormulaPanel)


class EpochCache(FakeChecker):
    """Keeps the values of each epoch once computed, until a what-if edit (a new tape
    generation), as StepChecker does."""

    def __init__(self, tape):
        self.tape, self.kept, self.computed = tape, {}, 0

    def compare(self, step):
        key = (self.tape.generation, step.epoch, step.index)
        if key not in self.kept:
            self.computed += 1
            self.kept[key] = step.value
        value = self.kept[key]
        return value, abs(value - step.value), value == step.value


async def test_the_torch_column_never_shows_values_from_before_an_edit(make_app):
    checkers = []

    def factory(tape, device):
        checkers.append(EpochCache(tape))
        return checkers[-1]

    app = make_app(checker_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        app.run_command("goto z[2,1]")
        for _ in range(2):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert "torch 0.44498412  |Δ| 0 ✓" in text(app, FormulaPanel)
        asked = checkers[0].computed
        await enter(pilot, "set W[2,1,1] 0.5")
        for _ in range(2):
            await app.workers.wait_for_complete()
            await pilot.pause()
        value = fmt(app.session.current.value)
        assert value != "0.44498412" and checkers[0].computed > asked  # asked again, not from a cache
        assert f"torch {value}  |Δ| 0 ✓" in text(app, FormulaPanel)
        assert "0.44498412" not in text(app, ValuesPanel)
