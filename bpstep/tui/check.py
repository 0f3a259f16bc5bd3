"""The torch cross-check as the TUI sees it: off, loading, ready or unavailable.

:class:`bpstep.crosscheck.StepChecker` imports torch, which takes seconds, so the app builds it
in a thread worker after the first screen is up (:func:`make_checker`); until then, and when it
cannot be built, the panels show what state it is in instead of a value. Torch computes an
epoch at a time (a few hundred ms for XOR), so the first step of each epoch is compared in a
worker too (``warm``), the torch column showing … until then; the steps after it are instant.
"""

from __future__ import annotations

from bpstep import layers
from bpstep.notation import fmt


class Unavailable(Exception):
    """The cross-check cannot run here; ``str()`` is the one-line reason."""


def make_checker(tape, device):
    """Build the cross-checker for ``tape`` on ``device`` (slow: imports torch)."""
    try:
        from bpstep.crosscheck import CheckUnavailable, StepChecker
    except ImportError as e:
        raise Unavailable(f"no cross-check ({e})") from None
    try:
        return StepChecker(tape, device)
    except CheckUnavailable as e:
        raise Unavailable(str(e)) from None


class CrossCheck:
    """The cross-check of one tape, and the verdicts it has given (asked once per step)."""

    EPOCHS_KEPT = 4  # as many as the checker keeps; an epoch it dropped is computed again

    def __init__(self, tape, device: str, state: str = "loading", warm=None):
        self.tape, self.device = tape, device
        self.state = state  # off | loading | ready | unavailable
        self.reason = ""
        self.checker = None
        self._warm = warm  # warm(crosscheck, step): compare the step off the screen's thread
        self._verdicts: dict = {}
        self._epochs: dict = {}  # (generation, epoch) → True once torch has computed it, None while asked

    def ready(self, checker) -> None:
        self.state, self.checker = "ready", checker

    def unavailable(self, reason: str) -> None:
        self.state, self.reason, self.checker = "unavailable", reason, None

    def status(self) -> str:
        """The cross-check's part of the status line."""
        if self.state == "ready":
            return f"torch ready: {self.checker.device} {self.checker.dtype}"
        if self.state == "loading":
            return f"torch loading… ({self.device})"
        if self.state == "off":
            return "torch off"
        return f"torch unavailable: {self.reason}"

    def _epoch(self, step) -> tuple:
        return getattr(self.tape, "generation", 0), step.epoch  # what-if edits change the values

    def compare(self, step):
        """The checker's verdict, or None when it fails (a broken cross-check must not take the
        debugger down: it says why and is off from then on). Safe in a worker."""
        try:
            return self.checker.compare(step)
        except Exception as e:
            self.unavailable(f"compare failed: {type(e).__name__}: {e}")
            return None

    def warmed(self, step) -> None:
        """Torch has computed ``step``'s epoch (called once the warming worker is done)."""
        self._epochs[self._epoch(step)] = True
        while len(self._epochs) > self.EPOCHS_KEPT:
            self._epochs.pop(next(iter(self._epochs)))

    def verdict(self, step):
        """``(torch value, abs error, ok)`` of ``step``, or None while there is none."""
        if self.checker is None:
            return None
        epoch = self._epoch(step)
        if self._warm is not None and not self._epochs.get(epoch):
            if epoch not in self._epochs:
                self._epochs[epoch] = None
                self._warm(self, step)
            return None
        key = (epoch, step.index)
        if key not in self._verdicts:
            found = self.compare(step)
            if found is None:
                return None
            self._verdicts[key] = found
        return self._verdicts[key]

    def cells(self, step) -> tuple[str, str, str]:
        """``(torch, Δ, style)`` for the values table."""
        found = self.verdict(step)
        if found is None:
            return ("…" if self.state == "loading" or self.checker is not None else "—"), "", "dim"
        torch_value, err, ok = found
        if torch_value is None:
            return "—", "", "dim"
        return fmt(torch_value), _err(err), ("green" if ok else "bold red")

    def verdict_line(self, step) -> tuple[str, str]:
        """``(text, style)`` for the formula panel."""
        found = self.verdict(step)
        if found is None:
            return (f"torch computing epoch {step.epoch}…" if self.checker is not None else self.status()), "dim"
        torch_value, err, ok = found
        if torch_value is None:
            return "torch: not computed by torch", "dim"
        mark = "✓" if ok else "✗ MISMATCH"
        return f"torch {fmt(torch_value)}  |Δ| {_err(err)} {mark}", ("green" if ok else "bold red")

    def layer_verdict_line(self, ls) -> tuple[str, str]:
        """``(text, style)`` for a layer step: ok when every value in it is (compared on whole
        arrays once torch has computed the epoch)."""
        if self.verdict(ls.first_step()) is None:
            return (f"torch computing epoch {ls.epoch}…" if self.checker is not None else self.status()), "dim"
        try:
            _, err, ok = layers.compare(ls, self.checker)
        except Exception as e:
            self.unavailable(f"compare failed: {type(e).__name__}: {e}")
            return self.status(), "dim"
        size = "" if err is None else f"  max |Δ| {_err(err)}"
        mark = "✓" if ok else "✗ MISMATCH"
        return f"torch {mark} over {ls.spec.size} steps{size}", ("green" if ok else "bold red")


def _err(err: float) -> str:
    return "0" if err == 0 else f"{err:.1e}"
