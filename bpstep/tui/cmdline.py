"""The command line (``:``, ``g`` with ``goto`` filled in, ``e`` with ``set ID VALUE``): one
§6 command, ``open SCENARIO`` or ``export [FILE]``; ↑ and ↓ walk through what was entered
before. When it is opened with choices (``e`` on a quantity computed from several given ones),
Tab and Shift+Tab go through them, and the line above says which there are."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Input, Label


class CommandLine(Input):
    BINDINGS = [Binding("up", "older", show=False), Binding("down", "newer", show=False),
                Binding("escape", "close", show=False),
                Binding("tab", "choose(1)", show=False), Binding("shift+tab", "choose(-1)", show=False)]

    def __init__(self, hint: str = "", **kwargs):
        super().__init__(placeholder="a command: step 3, goto epoch 5, break E if value < 0.01, open xor …",
                         select_on_focus=False, **kwargs)
        self.entered: list[str] = []
        self._back = 0
        self._hint_id = hint  # the Label above that lists the choices
        self.choices: list[tuple[str, str]] = []  # (text to put in, label in the hint)
        self._chosen = 0
        self._lead = ""
        self._keys = ""

    def on_mount(self) -> None:
        self.cursor_blink = not self.app.is_headless  # still screens in tests and snapshots

    def open(self, text: str = "", choices=(), lead: str = "", keys: str = "Enter: recompute · Esc: cancel") -> None:
        """Open with ``text`` in it; ``choices``: ``(text, label)`` pairs for Tab, the first
        being ``text``, listed after ``lead`` in the hint line (shown with a lead or choices),
        then what ``keys`` do."""
        self.choices, self._chosen, self._lead, self._keys = list(choices), 0, lead, keys
        self._put(text)
        self._back = 0
        self.display = True
        self._show_hint()
        # focus now, not after a refresh (Widget.focus defers): keys typed right after ':' go here
        self.screen.set_focus(self)

    def _put(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def _show_hint(self) -> None:
        if not self._hint_id:
            return
        hint = self.screen.query_one(f"#{self._hint_id}", Label)
        hint.display = bool(self.choices or self._lead)
        if not hint.display:
            return
        line = Text(self._lead)
        for k, (_, label) in enumerate(self.choices):
            line.append(" · " if k else " ")
            line.append(label, "bold reverse" if k == self._chosen else "bold")
        line.append(("   Tab: another ·" if len(self.choices) > 1 else "  ") + " " + self._keys, "italic")
        hint.update(line)

    def action_choose(self, step: int) -> None:
        if self.choices:
            self._chosen = (self._chosen + step) % len(self.choices)
            self._put(self.choices[self._chosen][0])
            self._show_hint()

    def action_close(self) -> None:
        self.value = ""
        self.display = False
        self.choices, self._lead = [], ""
        self._show_hint()
        self.app.set_focus(None)

    def action_older(self) -> None:
        if self._back < len(self.entered):
            self._back += 1
            self._put(self.entered[-self._back])

    def action_newer(self) -> None:
        if self._back > 0:
            self._back -= 1
            self._put(self.entered[-self._back] if self._back else "")

    async def action_submit(self) -> None:
        text = self.value.strip()
        self.action_close()
        if text:
            self.entered.append(text)
            self.post_message(self.Submitted(self, text))  # the app runs it
