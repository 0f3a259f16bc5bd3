"""The loss panel: a line plot over the epochs, with axes and the cursor's epoch marked, of
either the loss E of every epoch computed so far (the evaluate phase last) or each layer's
gradient norm ‖∂E/∂W, ∂E/∂b‖ (``plot gradients``), zoomed to a range of epochs (``plot epochs
A..B``, the keys z and Z) or the whole run. While what-if edits are in force the scenario's own
run is drawn beside the edited one; near the run's steepest change a line says why two free
runs (bpstep's and torch's, or the lecture's) part there. Below the plot, the numbers of the
cursor's epoch."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from .lines import LinesPanel
from .plot import plot

from bpstep import drift
from bpstep.notation import fmt, sup

LOSS_STYLE = "steel_blue1"
ORIGINAL_STYLE = "magenta"  # the scenario's own run beside a what-if
LAYER_STYLES = ("dark_orange", "medium_purple1", "spring_green3", "hot_pink", "gold1", "deep_sky_blue1")


class LossPanel(LinesPanel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mode = "loss"  # or "gradients"
        self.epochs: tuple[int, int] | None = None  # the range shown; None: the whole run
        self.norms: np.ndarray | None = None  # layers × epochs, for "gradients"
        self._plotted = None  # what the plot was last drawn from

    def watch_frame(self) -> None:
        """Redraw only when the plot would change: a step within an epoch leaves it as it is."""
        frame = self.frame
        plotted = (id(frame.losses), frame.generation, frame.epoch, int(np.isfinite(frame.losses).sum()),
                   self.mode, self.epochs, id(self.norms))
        if plotted != self._plotted:
            self._plotted = plotted
            self.redraw()

    def shown(self, epochs: int) -> tuple[int, int]:
        first, last = self.epochs or (0, epochs)
        return max(0, first), min(epochs, last)

    def title(self, epochs: int) -> str:
        what = "loss E per epoch" if self.mode == "loss" else "gradient norm per layer"
        first, last = self.shown(epochs)
        return what if self.epochs is None else f"{what} · epochs {first}…{last}"

    def lines(self) -> list[Text]:
        frame = self.frame
        width, height = self.content_size
        if width < 4 or height < 1:
            return []
        info = self._info(frame)
        if height < 4 or width < 20:
            return [info]
        first, last = self.shown(frame.epochs)
        notes = []
        if self.mode == "loss":
            series = [(frame.losses, LOSS_STYLE)]
            if frame.original_losses is not None:  # while what-if edits are in force: the scenario's own run
                series.insert(0, (frame.original_losses, ORIGINAL_STYLE))
            why = drift.note(frame.losses, frame.epoch, frame.scenario.dtype)  # why free runs part here
            if why:
                notes.append(Text(why, ORIGINAL_STYLE, no_wrap=True, overflow="ellipsis"))
        else:
            norms = self.norms if self.norms is not None else np.full((frame.scenario.layers, frame.epochs + 1), np.nan)
            series = [(row, LAYER_STYLES[k % len(LAYER_STYLES)]) for k, row in enumerate(norms)]
        return plot(series, first, last, frame.epoch, width, height - 2 - len(notes)) + [info] + notes

    def _info(self, frame) -> Text:
        """The cursor's epoch in numbers (loss), or the legend (gradients)."""
        if self.mode == "gradients":
            legend = Text(no_wrap=True, overflow="ellipsis")
            for k in range(frame.scenario.layers):
                legend.append("━ ", LAYER_STYLES[k % len(LAYER_STYLES)])
                legend.append(f"‖∂E/∂W{sup(k + 1)}‖  ")
            known = 0 if self.norms is None else int(np.isfinite(self.norms[0]).sum())
            legend.append(f"({known} epochs)", "grey70")
            return legend
        now, first, last = frame.losses[frame.epoch], frame.losses[0], frame.losses[-1]

        def shown(v):
            return fmt(v) if math.isfinite(v) else "…"

        line = Text(f"E {shown(now)} at epoch {frame.epoch}", no_wrap=True, overflow="ellipsis")
        if frame.original_losses is not None:
            line.append(f" · original run {shown(frame.original_losses[frame.epoch])}", ORIGINAL_STYLE)
        line.append(f" · e0 {shown(first)} · evaluate {shown(last)}")
        return line
