"""The ``health`` screen: the session's per-layer table, in a box that Esc closes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HealthScreen(ModalScreen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "close", show=False)]

    def __init__(self, lines: list[str]):
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="health") as box:
            box.border_title = "health · Esc closes"
            head, table, *rows = self.lines
            text = Text(head + "\n\n")
            text.append(table + "\n", "bold")
            text.append("\n".join(rows))
            yield Static(text)
