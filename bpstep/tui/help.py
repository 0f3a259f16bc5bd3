"""The help screen (``?``): every key, every command of the command line, the ids and the
network's names, the mouse, one tab each."""

from __future__ import annotations

from itertools import islice

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static, TabbedContent, TabPane

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


def help_sections(bindings, session) -> list:
    """``(tab title, body)`` of the help's tabs."""
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
    ids = [("ids", "z[1,1]  a[2,1]@1  W[2,1,1]  dE/dW[2,1,1]  W+[2,1,1]  E  lr"),
           ("@n, @*", "sample n; every sample. Without @: the batch's value (E: the batch loss, dE/dW: "
                      "the mean), a parameter's, or every sample's where there is no batch value"),
           ("names", "the names on screen are ids too: W5  h1  ∂E/∂W5 (dE/dW5)  E_total  ∂E_o1/∂h1 "
                     "(dE_o1/dh1)  W5⁺ (W5+)  z¹₁ (z^1_1)  δ²₁  α"),
           ("COND", "numbers, ids, value, + - * /, abs(), < <= > >= == !=, and, or, not")]
    sc = session.scenario
    names = list(islice(session.layout.names.mapping(sc.bias), _NAMES + 1))
    cells = [f"{name} = {qid}" for name, qid in names[:_NAMES]] + (["…"] if len(names) > _NAMES else [])
    grid = Table.grid(padding=(0, 3))
    for row in range(0, len(cells), 3):
        grid.add_row(*cells[row:row + 3])
    network = Group(Text(f"Names of this {'-'.join(map(str, sc.sizes))} network", "bold underline"), grid)
    return [("Keys", _table("Keys", keys)), ("Commands", _table("Commands (type : first)", commands)),
            ("Ids", Group(_table("Ids", ids), network)),
            ("Mouse", Group(Text("Mouse", "bold underline"), Text(_MOUSE)))]


#: the names listed in the help (a big network's go on for a long time)
_NAMES = 40


class HelpScreen(ModalScreen):
    """Tabs (← → or Tab) of keys, commands, ids and names, the mouse; the keys scroll the
    shown tab at once: ↓ ↑ j k, PageDown PageUp Space, End Home."""

    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "close", show=False),
                Binding("down,j", "scroll('down')", show=False), Binding("up,k", "scroll('up')", show=False),
                Binding("pagedown,space", "scroll('page_down')", show=False),
                Binding("pageup,b", "scroll('page_up')", show=False),
                Binding("end,G", "scroll('end')", show=False), Binding("home,g", "scroll('home')", show=False),
                Binding("right,l,tab", "tab(1)", show=False), Binding("left,h,shift+tab", "tab(-1)", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical(id="help") as box:
            box.border_title = "help · ← → tabs · ↓ ↑ PgDn Space End scroll · Esc closes"
            with TabbedContent():
                for title, body in help_sections(self.app.BINDINGS, self.app.session):
                    with TabPane(title, id=f"help-{title.lower()}"):
                        scroll = VerticalScroll()
                        scroll.can_focus = False  # the screen's keys scroll it, from the first key on
                        with scroll:
                            yield Static(body)

    def shown(self) -> VerticalScroll:
        return self.query_one(TabbedContent).active_pane.query_one(VerticalScroll)

    def action_scroll(self, how: str) -> None:
        getattr(self.shown(), f"scroll_{how}")(animate=False)

    def action_tab(self, by: int) -> None:
        tabs = self.query_one(TabbedContent)
        panes = [pane.id for pane in tabs.query(TabPane)]
        tabs.active = panes[(panes.index(tabs.active) + by) % len(panes)]
