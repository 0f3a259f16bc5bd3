"""The command line (``:``, and ``g`` with ``goto`` filled in): one §6 command, or
``open SCENARIO``; ↑ and ↓ walk through what was entered before."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class CommandLine(Input):
    BINDINGS = [Binding("up", "older", show=False), Binding("down", "newer", show=False),
                Binding("escape", "close", show=False)]

    def __init__(self, **kwargs):
        super().__init__(placeholder="a command: step 3, goto epoch 5, break E if value < 0.01, open xor …",
                         select_on_focus=False, **kwargs)
        self.entered: list[str] = []
        self._back = 0

    def on_mount(self) -> None:
        self.cursor_blink = not self.app.is_headless  # still screens in tests and snapshots

    def open(self, text: str = "") -> None:
        self.value = text
        self.cursor_position = len(text)
        self._back = 0
        self.display = True
        self.focus()

    def action_close(self) -> None:
        self.value = ""
        self.display = False
        self.app.set_focus(None)

    def action_older(self) -> None:
        if self._back < len(self.entered):
            self._back += 1
            self.value = self.entered[-self._back]
            self.cursor_position = len(self.value)

    def action_newer(self) -> None:
        if self._back > 0:
            self._back -= 1
            self.value = self.entered[-self._back] if self._back else ""
            self.cursor_position = len(self.value)

    async def action_submit(self) -> None:
        text = self.value.strip()
        self.action_close()
        if text:
            self.entered.append(text)
            self.app.run_command(text)
