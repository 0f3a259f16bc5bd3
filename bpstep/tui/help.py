"""The help screen (``?``): every key, every command of the command line, the mouse."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from bpstep.commands import COMMANDS

from .status import key_items

_MEANING = {
    "step": "the next step, into the factors of a chain-rule product",
    "next": "the next quantity, over its factors",
    "finish": "to the end of the current phase",
    "continue": "to the next breakpoint, or the end",
    "rstep": "back one step (N steps)",
    "rnext": "back one quantity",
    "rfinish": "to the start of the phase",
    "rcontinue": "back to the previous breakpoint, or the start",
    "goto": "jump; step K and ID within the current epoch",
    "break": "a breakpoint; COND may use value, ids, + - * /, abs(), comparisons, and, or, not; dead: a relu unit "
             "with z ≤ 0 for every sample; saturated: σ′ or tanh′ < EPS (1e-3); vanishing / exploding: a layer's "
             "gradient norm < EPS (1e-6) / > X (1e3)",
    "delete": "delete breakpoint K, or all",
    "breaks": "list the breakpoints",
    "watch": "keep a value in view (pinned on top of the values)",
    "unwatch": "stop watching it",
    "print": "show a value",
    "where": "show the current step",
    "health": "per layer: dead and saturated units, gradient norm, in this epoch",
    "expect": "check a value (for scripts)",
    "restart": "back to epoch 0, step 0",
    "view": "layer steps (a matrix operation of a layer) or scalar steps, keeping the place",
    "set": "what if: a parameter, input, target or lr from this epoch on; all is recomputed",
    "reset": "undo the what-if edits (all, or of one id): the scenario's numbers again",
    "save": "write the scenario with the edits as a TOML file; save! (or --force) replaces one",
    "quiz": "predict, then reveal: each step the cursor lands on (of the families named: z a E dE/dz dE/dW W+ …) "
            "hides its value until answered; tol: the tolerance (else the digits typed); report: every answer",
    "answer": "your value for the step the quiz asks: graded ✓ or ✗, then shown",
}
_MOUSE = ("Click a row of the tape to go to that step; click a quantity in the formula to go to the step "
          "that computed it; click a step after “used by” or “factor of” to go there.")


def _table(title: str, rows) -> Group:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold yellow", no_wrap=True)
    grid.add_column()
    for left, right in rows:
        grid.add_row(Text(left), Text(right))
    return Group(Text(title, "bold underline"), grid, Text(""))


def help_text(bindings) -> Group:
    keys = key_items(bindings) + [("ctrl+p", "the palette: scenarios, export, views, goto, commands"),
                                  ("Tab", "on the command line after e: the next quantity to set"),
                                  ("Esc", "cancel a long command (a far goto, continue); close the command line")]
    commands = []
    for name, (aliases, usage) in COMMANDS.items():
        for k, form in enumerate(usage.split(" | ")):
            meaning = _MEANING.get(name, "") + (f" ({', '.join(aliases)})" if aliases else "")
            commands.append((form, "" if k else meaning))
    commands.append(("open SCENARIO", "open a built-in scenario or a .toml file; a bad one leaves the session"))
    commands.append(("export [FILE]", "the worked example of this epoch as Markdown (default SCENARIO-epochE.md)"))
    commands.append(("plot loss | gradients", "the loss panel: E per epoch, or each layer's gradient norm (key p)"))
    commands.append(("plot epochs A..B | all", "the plot's epochs: a range, or the whole run (keys z, Z)"))
    ids = [("ids", "z[1,1]  a[2,1]@1  W[2,1,1]  dE/dW[2,1,1]  W+[2,1,1]  E  …  @n: one sample"),
           ("COND", "numbers, ids, value, + - * /, abs(), < <= > >= == !=, and, or, not")]
    return Group(_table("Keys", keys), _table("Commands (type : first)", commands), _table("Ids", ids),
                 Text("Mouse", "bold underline"), Text(_MOUSE))


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "close", show=False)]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as box:
            box.border_title = "help · Esc closes"
            yield Static(help_text(self.app.BINDINGS))
