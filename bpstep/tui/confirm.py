"""A yes-or-no question in a box (``y`` or Enter: yes; ``n`` or Esc: no), asked before a file
is replaced; its answer goes to the callback ``push_screen`` is given."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("y,enter", "answer(True)", "yes", show=False),
                Binding("n,escape", "answer(False)", "no", show=False)]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        box = Static(f"{self.question}\n\ny / Enter: yes · n / Esc: no", id="confirm", markup=False)
        box.border_title = "confirm"
        yield box

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
