"""The bpstep app: the panels around one :class:`bpstep.session.Session`.

Every key is a §6 command run through ``Session.execute`` (so the TUI and ``replay`` cannot
disagree); a bad command is a notification, never an exception. Commands that may take long
(a far goto, continue across many epochs) run in a thread worker with a progress bar and
stop on Esc, the cursor staying where it was. The torch cross-check is built in another thread
worker once the first screen is up, so nothing ever waits for torch. A what-if edit (``e``,
``set``, ``reset``) changes the numbers: the checker and the verdicts kept here follow the
tape's ``generation``, so no torch value from before an edit is shown.

Besides the §6 commands the command line takes ``open SCENARIO``, ``export [FILE]`` (the
worked example of the cursor's epoch as Markdown, :func:`bpstep.export.markdown`) and ``plot``
(what the loss panel shows: ``plot loss``, ``plot gradients``, ``plot epochs A..B``, ``plot all``).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import re
import sys
import threading
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, ProgressBar

from bpstep import files, ids, loading, motions
from bpstep.diagnostics import GradientNorms
from bpstep import scenario as scenarios
from bpstep.commands import CommandError, Ref, parse, parse_ref
from bpstep.session import Session
from bpstep.tape import Cancelled

from . import check, failures
from .check import CrossCheck, Unavailable
from .cmdline import CommandLine
from .confirm import ConfirmScreen
from .edit import set_lines
from .formula import FormulaPanel
from .frame import Frame
from .lines import CheckedPanel
from .loss import LossPanel
from .network import NetworkPanel
from .palette import BpstepCommands
from .status import KeyBar, StatusLine
from .tapeview import TapePanel
from .values import ValuesPanel

#: a goto further than this many epochs, or a continue across epochs, runs in a worker
LONG_EPOCHS = 200


#: how long a notification of what a command did stays
INFO_SECONDS = 2.5


def survives(doing: str):
    """A method of the app that must not end it: any exception it lets out (a bug; the
    project's own errors are caught where they are raised) is logged and becomes a notification."""
    def wrap(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except Exception as e:
                self.failed(e, doing.format(*args))
        return guarded
    return wrap


def when_idle(method):
    """A method of the app that starts something new: while a worker is still busy with the
    last command it only says so (the session must not move under the worker)."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if self.busy:
            self.notify("still working on the last command: wait, or Esc to cancel it", severity="warning")
            return None
        return method(self, *args, **kwargs)
    return guarded


class BpstepApp(App):
    CSS_PATH = Path(__file__).with_name("bpstep.tcss")  # absolute, so subclasses elsewhere find it
    TITLE = "bpstep"
    AUTO_FOCUS = None  # the keys belong to the debugger until ':' opens the command line
    COMMANDS = {BpstepCommands}  # Textual's own entries come last, from it too
    # the key bar and the help are built from this list, in this order; a capital that
    # reverses the key before it shares its place in the key bar ("s/S step")
    BINDINGS = [
        Binding("s,right", "command('step')", "step", key_display="s →",
                tooltip="step: the next step, into the factors of a chain-rule product"),
        Binding("S,left", "command('rstep')", "rstep", key_display="S ←", tooltip="rstep: one step back"),
        Binding("n", "command('next')", "next", tooltip="next: the next quantity, over its factors"),
        Binding("N", "command('rnext')", "rnext", tooltip="rnext: the previous quantity"),
        Binding("f", "command('finish')", "finish", tooltip="finish: to the end of the phase"),
        Binding("F", "command('rfinish')", "rfinish", tooltip="rfinish: to the start of the phase"),
        Binding("c", "command('continue')", "continue", tooltip="continue: to the next breakpoint, or the end"),
        Binding("C", "command('rcontinue')", "rcontinue",
                tooltip="rcontinue: back to the previous breakpoint, or the start"),
        Binding("g", "prompt('goto ')", "goto", tooltip="goto: epoch E [phase P], step K or an id",
                priority=True),
        Binding("b", "toggle_break", "break", tooltip="a breakpoint on the current quantity, on or off"),
        Binding("w", "toggle_watch", "watch", tooltip="watch the current quantity, or stop watching it"),
        Binding("question_mark", "help", "help", key_display="?", tooltip="this help"),
        Binding("colon", "prompt('')", "cmd", key_display=":",
                tooltip="the command line: any command below, open SCENARIO or export [FILE]", priority=True),
        Binding("v", "toggle_view", "view",
                tooltip="view: layer steps (one matrix operation of a layer) or scalar steps, keeping the place"),
        Binding("e", "edit", "edit",
                tooltip="edit: set a parameter, input, target or lr behind the current step (Tab: another)",
                priority=True),
        Binding("r", "command('restart')", "restart", tooltip="restart: epoch 0, step 0"),
        Binding("p", "toggle_plot", "plot", tooltip="plot: the loss, or each layer's gradient norm, per epoch"),
        Binding("z", "zoom(4)", "zoom", tooltip="zoom: the plot's epochs around the cursor, 4× closer"),
        Binding("Z", "zoom(0.25)", "unzoom", tooltip="unzoom: the plot's epochs 4× wider, up to the whole run"),
        Binding("Q", "toggle_quiz", "quiz", show=False,
                tooltip="quiz: each step you land on hides its value until you predict it, on or off"),
        Binding("a", "answer", "answer", show=False, tooltip="answer: the prompt for the value the quiz asks"),
        Binding("q", "quit", "quit", tooltip="quit"),
        Binding("escape", "escape", "cancel", show=False),
    ]

    # The keys that open the command line are priority bindings: they run as the app reads them,
    # so the keys typed right after them (":goto 5" at full speed, or pasted) reach the command
    # line instead of racing it. check_action hands them to any text input that has the focus.
    _OPENERS = {"prompt", "edit", "answer"}

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in self._OPENERS and (isinstance(self.focused, Input) or len(self.screen_stack) > 1):
            return False
        return True

    def __init__(self, scenario=None, device: str = "cpu", crosscheck: bool = True, checker_factory=None):
        super().__init__()
        self.theme = "textual-dark"
        self.session = Session(scenario or scenarios.load("worked-222"))
        self.device = device
        self.busy = False
        self._opening = None  # the open being loaded by the loader thread, until it is done or given up
        self.loader: threading.Thread | None = None
        self._cancel = threading.Event()
        self._progress = None  # (done, total) of the long command running
        self._checking = crosscheck
        self._factory = checker_factory or check.make_checker
        self.crosscheck = self._crosscheck()
        self.frame = Frame(self.session)
        self._norms = GradientNorms(self.session.tape)

    # -- screen ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        frame, crosscheck = self.frame, self.crosscheck
        yield StatusLine(frame=frame, crosscheck=crosscheck, id="status")
        with Horizontal(id="top"):
            yield NetworkPanel(frame=frame, id="network")
            yield TapePanel(frame=frame, id="tape")
        yield FormulaPanel(frame=frame, crosscheck=crosscheck, id="formula")
        with Horizontal(id="bottom"):
            yield ValuesPanel(frame=frame, crosscheck=crosscheck, id="values")
            yield LossPanel(frame=frame, id="loss")
        with Horizontal(id="progress"):
            yield Label(id="progress-label")
            yield ProgressBar(id="progress-bar", show_eta=False)
        yield Label(id="cmdhint")
        yield CommandLine(hint="cmdhint", id="cmdline")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self._panels = [self.query_one(f"#{name}") for name in
                        ("status", "network", "tape", "formula", "values", "loss")]
        self._checked = [panel for panel in self._panels if isinstance(panel, CheckedPanel)]
        self._plot = self.query_one(LossPanel)
        self._formula = self.query_one(FormulaPanel)
        self.query_one("#progress").display = False
        self.query_one("#cmdhint").display = False
        self.query_one(CommandLine).display = False
        self._titles()
        if self._checking:
            self.call_after_refresh(self._start_check)
        # what start-up made (Textual, NumPy, the panels) lives as long as the app: the cyclic
        # collector's full passes over it stalled one key in thirty by 80–100 ms on a big
        # network; frozen once the first frame is up, a full pass sees only what came after
        self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        gc.unfreeze()  # an app run inside a longer process (the tests, bpstep.debug) lets it go

    def on_resize(self, event) -> None:
        self.screen.set_class(event.size.height < 30, "-short")

    def _titles(self) -> None:
        frame = self.frame
        here = frame.layer if frame.layered else frame.step
        titles = {"network": f"network {'-'.join(map(str, frame.scenario.sizes))}",
                  "tape": f"{'layer steps' if frame.layered else 'tape'} · epoch {frame.epoch}",
                  "formula": f"{here.phase} · {here.id if frame.layered else here.qid}",
                  "values": f"values of epoch {frame.epoch} so far",
                  "loss": self._plot.title(frame.epochs)}
        for panel in self._panels:
            if panel.id in titles and panel.border_title != titles[panel.id]:
                panel.border_title = titles[panel.id]

    def show(self) -> None:
        """Take a new frame from the session (not while a worker moves it) and push it, with
        the cross-check, to the panels: each redraws what changed."""
        if not self.busy:
            self.frame = Frame(self.session)
            self._titles()
            if self._plot.mode == "gradients":
                self._update_norms(self._plot)
        for panel in self._checked:
            panel.crosscheck = self.crosscheck
        for panel in self._panels:
            panel.frame = self.frame
        if not self.busy and not self.frame.layered:
            self.call_after_refresh(self._prepare_next)

    def _prepare_next(self) -> None:
        """Once the frame is on screen: the formulas the next ``s`` and ``n`` show made ready in
        the formula panel, while the learner reads this one."""
        frame = self.frame
        if self.busy or frame is not self._formula.frame or frame.layered:
            return
        here = (frame.epoch, frame.index)
        for kind in ("step", "next"):
            epoch, index = motions.target(self.session.tape, here, kind, 1, True)
            if epoch == frame.epoch and index != frame.index:
                self._formula.prepare(index)

    def notify(self, message: str, *, markup: bool = False, **kwargs) -> None:
        # messages are ids and formulas (W[2,1,1]), not markup; what a command did is read at a
        # glance and goes (errors and breakpoints stay longer); the toasts stand at the top right
        # (bpstep.tcss), over the tape's first rows, not over the loss or the e prompt
        if kwargs.get("severity", "information") == "information":
            kwargs.setdefault("timeout", INFO_SECONDS)
        super().notify(message, markup=markup, **kwargs)

    # -- commands --------------------------------------------------------------------------------

    def failed(self, error: BaseException, doing: str) -> None:
        """A bug met while ``doing``: the traceback to the log, a notification that names it."""
        self.notify(failures.message(error, doing, failures.log(error, doing)), title="internal error",
                    severity="error", timeout=30)

    @survives("the command {!r}")
    @when_idle
    def run_command(self, text: str) -> None:
        """Run one command line: a §6 command or ``open SCENARIO``; errors are notifications."""
        text = text.strip()
        if not text:
            return
        if text.split()[0] == "open":
            self.open_scenario(text[4:].strip())
            return
        if text.split()[0] == "export":
            self.export(text[6:].strip())
            return
        if text.split()[0] == "plot":
            self.plot(text[4:].strip())
            return
        try:
            cmd = parse(text)
            self.session.validate(cmd)
        except CommandError as e:
            self.notify(str(e), title="bad command", severity="error")
            return
        if self._long(cmd):
            self._start_long(cmd)
            return
        if cmd.name == "save" and not cmd.force and files.exists(cmd.arg):
            self._confirm_replace(cmd.arg, lambda: self.run_command(f"save! {cmd.arg}"))
            return
        if cmd.name == "health":
            from .health import HealthScreen

            self.push_screen(HealthScreen(self.session.execute(cmd).messages))
            return
        try:
            result = self.session.execute(cmd)
        except CommandError as e:
            self.notify(str(e), title="bad command", severity="error")
            return
        self._done(result)

    def _long(self, cmd) -> bool:
        tape, epoch = self.session.tape, self.session.position[0]
        if cmd.name == "goto" and cmd.epoch is not None:
            return abs(cmd.epoch - epoch) > LONG_EPOCHS
        if cmd.name == "continue":
            return tape.epochs - epoch > 1
        if cmd.name == "rcontinue":
            return epoch > 1
        if cmd.name in ("step", "next", "rstep", "rnext"):
            return cmd.count > self.session.layer_tape.length(epoch) if self.session.view == "layer" \
                else cmd.count > tape.length(epoch)
        if cmd.name == "reset":  # recomputes from the earliest edit to the cursor
            return any(abs(e - epoch) > LONG_EPOCHS for e, _, _ in tape.edits.items)
        return False

    def _done(self, result) -> None:
        self.show()
        if result.messages:
            hit = result.hit is not None
            self.notify("\n".join(result.messages), title="breakpoint" if hit else "",
                        severity="warning" if hit or result.failed else "information")
        if self.session.quiz.asking is not None and len(self.screen_stack) == 1:  # not under the help
            self._ask()

    def _ask(self) -> None:
        """The prompt for the value the quiz asks, ``answer`` put in."""
        step = self.session.quiz.asking
        self.query_one(CommandLine).open("answer ", lead=f"predict {step.name} ({step.qid}):",
                                         keys="Enter: grade · Esc: later, a: this prompt again")

    def _start_long(self, cmd) -> None:
        self._working(cmd.text)
        self._long_worker(cmd)

    def _working(self, what: str) -> None:
        """Busy with ``what`` in a worker: the progress bar (moving, until the worker says how
        far it is) and Esc to cancel."""
        self.busy = True
        self._cancel.clear()
        self._progress = None
        self.query_one("#progress-label", Label).update(f"{what} — Esc cancels ")
        self.query_one("#progress-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#progress").display = True
        self.query_one(StatusLine).busy = True
        self._progress_timer = self.set_interval(0.1, self._show_progress)

    def _idle(self) -> None:
        self.busy = False
        self.query_one(StatusLine).busy = False
        self._progress_timer.stop()
        self.query_one("#progress").display = False

    @work(thread=True, exclusive=True, group="long")
    def _long_worker(self, cmd) -> None:
        def progress(done, total):
            self._progress = (done, total)  # read by a timer: the worker never waits on the screen

        try:
            result = self.session.execute(cmd, progress=progress, cancelled=self._cancel.is_set)
        except Cancelled:
            self.call_from_thread(self._long_done, None, "")
        except CommandError as e:
            self.call_from_thread(self._long_done, None, str(e))
        except Exception as e:
            self.call_from_thread(self._long_done, None, "", (e, f"the command {cmd.text!r}"))
        else:
            self.call_from_thread(self._long_done, result, "")

    def _show_progress(self) -> None:
        if self._progress is not None:
            done, total = self._progress
            self.query_one("#progress-bar", ProgressBar).update(total=total, progress=done)

    def _long_done(self, result, error: str, failure=None) -> None:
        self._idle()
        if result is not None:
            self._done(result)
            return
        self.show()
        if failure is not None:
            self.failed(*failure)
        elif error:
            self.notify(error, title="bad command", severity="error")
        else:
            epoch, index = self.session.position
            self.notify(f"cancelled; the cursor stays at epoch {epoch}, step {index}", severity="warning")

    # -- keys --------------------------------------------------------------------------------------

    def action_command(self, text: str) -> None:
        self.run_command(text)

    @on(CommandLine.Submitted, "#cmdline")
    def _entered(self, message: CommandLine.Submitted) -> None:
        self.run_command(message.value)

    def prompt(self, text: str = "") -> None:
        self.query_one(CommandLine).open(text)

    def action_prompt(self, text: str) -> None:
        self.prompt(text)

    def _here(self) -> Ref:
        step = self.frame.step
        return Ref(step.id, step.sample)

    @survives("a breakpoint on the current step")
    @when_idle
    def action_toggle_break(self) -> None:
        self._done(self.session.toggle_break(self._here()))

    def action_toggle_watch(self) -> None:
        ref = self._here()
        self.run_command(f"{'unwatch' if ref in self.session.watches else 'watch'} {ref}")

    @survives("switching views")
    @when_idle
    def action_toggle_view(self) -> None:
        """``v``: the other view, at the same place (the status line says which; no message)."""
        self.session.set_view("scalar" if self.session.view == "layer" else "layer")
        self.show()

    @survives("proposing an edit")
    @when_idle
    def action_edit(self) -> None:
        """``e``: the command line with ``set ID VALUE`` for the given quantity nearest the
        current step (Tab: the others), its value as it is in this epoch."""
        choices = set_lines(self.session, self.frame)
        name = self.frame.layer.spec.label if self.frame.layered else self.frame.step.name
        if not choices:
            self.notify(f"{name} depends on no parameter, input, target or learning rate that could be set",
                        severity="warning")
            return
        self.query_one(CommandLine).open(choices[0][0], choices, lead=f"set what {name} depends on:")

    def action_toggle_quiz(self) -> None:
        self.run_command("quiz off" if self.session.quiz.on else "quiz on")

    def action_answer(self) -> None:
        if self.session.quiz.asking is None:
            self.notify("no question is open: Q turns the quiz on, then each step you land on is asked",
                        severity="warning")
            return
        self._ask()

    def action_help(self) -> None:
        from .help import HelpScreen  # imported when first asked for: the first frame does not wait on it

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_escape(self) -> None:
        if self._opening is not None:  # the reading cannot be stopped half-way: its result is dropped
            self._opening = None
            self._idle()
            self.notify("cancelled opening; the session stays as it was", severity="warning")
        elif self.busy:
            self._cancel.set()

    async def action_quit(self) -> None:
        self._cancel.set()
        self.exit(0)

    # -- mouse -------------------------------------------------------------------------------------

    def goto_index(self, index: int) -> None:
        self.run_command(f"goto step {index}")

    @on(TapePanel.StepClicked)
    def _step_clicked(self, message: TapePanel.StepClicked) -> None:
        self.goto_index(message.index)

    def action_goto_index(self, index: int) -> None:
        self.goto_index(index)

    @survives("going to {!r}")
    def action_goto_reader(self, qid: str, epoch: int) -> None:
        """A W⁺'s "used for": the first step of ``epoch`` that reads the parameter it made."""
        self.run_command(f"goto epoch {epoch}")
        readers = self.session.layout.users(self.session.tape.is_evaluate(epoch), qid, None)
        if len(readers) and self.session.position[0] == epoch:
            self.run_command(f"goto step {int(readers[0])}")

    @survives("going to {!r}")
    def action_goto_ref(self, qid: str) -> None:
        """A quantity clicked in a formula: go to the step that computed it. A weight or bias
        was computed by the previous epoch's update; inputs, targets and the learning rate are
        given."""
        ref = parse_ref(qid)
        head = ids.head(ref.id)
        epoch = self.session.position[0]
        if ids.is_given(ref.id):
            if head in ("W", "b") and epoch > 0:
                self.run_command(f"goto epoch {epoch - 1} phase update")
                self.run_command(f"goto {head}+[{ref.id.split('[', 1)[1]}")
            else:
                self.notify(f"{ref.id} is given (an input, target, initial parameter or the learning rate); "
                            "no step computes it")
            return
        self.run_command(f"goto {ref.id}@{ref.sample}" if ref.sample else f"goto {ref.id}")

    # -- the plot ----------------------------------------------------------------------------------

    def plot(self, what: str) -> None:
        """``plot loss | gradients | all | epochs A..B``: what the loss panel shows."""
        panel = self._plot
        span = re.fullmatch(r"epochs\s+([0-9]{1,18})\s*(?:\.\.|…)\s*([0-9]{1,18})", what)
        if what in ("loss", "gradients"):
            panel.mode = what
        elif what == "all":
            panel.epochs = None
        elif span and int(span[1]) < int(span[2]) <= self.session.tape.epochs:
            panel.epochs = (int(span[1]), int(span[2]))
        else:
            self.notify(f"plot: expected loss, gradients, all or epochs A..B with 0 ≤ A < B ≤ "
                        f"{self.session.tape.epochs}, not {what!r}", title="bad command", severity="error")
            return
        self.show()

    @survives("switching plots")
    def action_toggle_plot(self) -> None:
        self.plot("gradients" if self._plot.mode == "loss" else "loss")

    @survives("zooming the plot")
    def action_zoom(self, factor: float) -> None:
        """The plot's epochs around the cursor, ``factor`` times closer (0.25: wider)."""
        panel, epochs = self._plot, self.session.tape.epochs
        first, last = panel.shown(epochs)
        half = max(2, round((last - first) / factor / 2))
        if 2 * half >= epochs:
            panel.epochs = None
        else:
            centre = min(max(self.frame.epoch, half), epochs - half)
            panel.epochs = (centre - half, centre + half)
        self.show()

    def _update_norms(self, panel) -> None:
        """Start computing the gradient norms the plot lacks (a worker: a full epoch each)."""
        if self._norms.tape is not self.session.tape:
            self._norms = GradientNorms(self.session.tape)
        first, last = panel.shown(self.session.tape.epochs)
        jobs = self._norms.wanted(first, last, max(8, 2 * panel.content_size.width))
        if jobs:
            self._norms_worker(self._norms, self._norms.generation, jobs)
        elif panel.norms is None or panel.norms.shape[1] != self.session.tape.epochs + 1:
            panel.norms = self._norms.series()

    @work(thread=True, exclusive=True, group="norms")
    def _norms_worker(self, norms: GradientNorms, generation: int, jobs) -> None:
        try:
            found = norms.compute(jobs)
        except Exception as e:  # a bug: logged, and the plot goes without these norms
            self.call_from_thread(self.failed, e, "computing the gradient norms")
            return
        self.call_from_thread(self._norms_done, norms, generation, found)

    def _norms_done(self, norms: GradientNorms, generation: int, found: dict) -> None:
        norms.add(generation, found)
        if norms is self._norms:
            self._plot.norms = norms.series()
            self.show()

    # -- scenarios and the cross-check ------------------------------------------------------------

    @survives("opening {!r}")
    @when_idle
    def open_scenario(self, spec: str) -> None:
        """Open another scenario; a bad one is a notification and the session stays."""
        if not spec:
            self.notify(f"open: expected a built-in scenario ({', '.join(scenarios.builtin_names())}) "
                        "or a .toml file", title="bad command", severity="error")
            return
        path = scenarios.resolve(spec)
        if not path.is_file():  # said at once, as loading it would
            try:
                loading.load(spec)
            except scenarios.ScenarioError as e:
                self.notify(str(e), title="bad scenario", severity="error")
                return
        # A big file takes seconds to read and check, and the reading cannot be stopped half-way:
        # a daemon thread does it (not a worker, which quitting would wait for) and Esc drops it.
        self._opening = ticket = object()
        self._working(f"opening {spec}")
        self.loader = threading.Thread(target=self._load, args=(spec, ticket), name="bpstep-open", daemon=True)
        self.loader.start()

    def _load(self, spec: str, ticket) -> None:
        """In the loader thread: read the scenario and hand what came of it to the app."""
        failure = None
        try:
            found = Session(loading.load(spec)), ""
        except scenarios.ScenarioError as e:
            found = None, str(e)
        except Exception as e:  # a bug (or memory running out): logged by the app
            found, failure = (None, ""), (e, f"opening {spec!r}")
        try:
            self.call_from_thread(self._opened, ticket, *found, failure)
        except RuntimeError:  # the app has ended meanwhile
            pass

    def _opened(self, ticket, session, error: str, failure=None) -> None:
        """What the worker found, unless Esc gave up on it (or another open followed it)."""
        if ticket is not self._opening:
            return
        self._opening = None
        self._idle()
        if failure is not None:
            self.failed(*failure)
            return
        if session is None:
            self.notify(error, title="bad scenario", severity="error")
            return
        self.use_session(session)
        self.show()
        self.notify(f"opened {session.scenario.name}: {session.scenario.title}")
        if self._checking:
            self._start_check()

    def use_session(self, session: Session) -> None:
        """Debug this session (a scenario with ``compare`` values loaded, say) instead."""
        self.session = session
        self.crosscheck = self._crosscheck()
        self.frame = Frame(session)

    def _crosscheck(self) -> CrossCheck:
        return CrossCheck(self.session.tape, self.device, "loading" if self._checking else "off", self._warm)

    # -- the worked example ----------------------------------------------------------------------

    def export_name(self) -> str:
        """``worked-222-epoch0.md``: the scenario and the epoch that ``export`` writes."""
        epoch = min(self.session.position[0], self.session.tape.epochs - 1)
        return f"{re.sub(r'[^A-Za-z0-9._-]+', '-', self.session.scenario.name)}-epoch{epoch}.md"

    def _confirm_replace(self, path, replace) -> None:
        """Ask before a file is replaced; ``replace()`` runs on yes."""
        def answered(yes: bool | None) -> None:
            if yes:
                replace()
            else:
                self.notify(f"kept {path} as it is; nothing written", severity="warning")

        self.push_screen(ConfirmScreen(f"{path} exists. Replace it?"), answered)

    @survives("exporting the worked example")
    @when_idle
    def export(self, path: str = "", force: bool = False) -> None:
        """Write the worked example of the cursor's epoch as Markdown (with the torch values
        when the cross-check is ready), atomically, asking before a file is replaced; where it
        went, or why not, is a notification."""
        target = Path(path or self.export_name()).expanduser()
        if not force and files.exists(target):
            self._confirm_replace(target, lambda: self.export(path, force=True))
            return
        from bpstep.export import TooBig, markdown

        checker = self.crosscheck.checker if self.crosscheck.state == "ready" else None
        try:
            files.write_atomically(target, markdown(self.session, check=checker))
        except TooBig as e:
            self.notify(str(e), title="bad command", severity="error")
            return
        except files.WriteError as e:
            self.notify(f"export: {e}", title="bad command", severity="error")
            return
        epoch = min(self.session.position[0], self.session.tape.epochs - 1)
        self.notify(f"wrote the worked example of epoch {epoch}{' with the torch values' if checker else ''} "
                    f"to {target.resolve()}")

    def _start_check(self) -> None:
        self._check_worker(self.crosscheck)

    @work(thread=True, group="check")
    def _check_worker(self, crosscheck: CrossCheck) -> None:
        try:
            checker = self._factory(crosscheck.tape, crosscheck.device)
        except Unavailable as e:
            self.call_from_thread(self._check_done, crosscheck, None, str(e))
        except Exception as e:  # torch itself failing (a broken install, a device error)
            self.call_from_thread(self._check_done, crosscheck, None, f"{type(e).__name__}: {e}")
        else:
            self.call_from_thread(self._check_done, crosscheck, checker, "")

    def _warm(self, crosscheck: CrossCheck, step) -> None:
        self._warm_worker(crosscheck, step)

    @work(thread=True, group="warm")
    def _warm_worker(self, crosscheck: CrossCheck, step) -> None:
        crosscheck.compare(step)  # torch computes the step's whole epoch, and keeps it
        self.call_from_thread(self._warm_done, crosscheck, step)

    def _warm_done(self, crosscheck: CrossCheck, step) -> None:
        crosscheck.warmed(step)
        if crosscheck is self.crosscheck:
            self.show()

    def _check_done(self, crosscheck: CrossCheck, checker, reason: str) -> None:
        if checker is None:
            crosscheck.unavailable(reason)
        else:
            crosscheck.ready(checker)
        if crosscheck is self.crosscheck:
            self.show()


def run_app(scenario=None, device: str = "cpu", session=None) -> int:
    """``bpstep`` and ``bpstep open SCENARIO`` (``session``: one made already, with ``--compare``).
    Quitting ends the process at once: ``asyncio.run`` would wait for a worker still importing
    torch or computing an epoch, and Python's exit would tear torch's modules down (a second or
    more), for nothing anyone sees."""
    app = BpstepApp(scenario, device=device)
    if session is not None:
        app.use_session(session)
    # the modules and the scenario are made and stay: a full pass of the collector over them
    # during the app's start-up cost the first frame 30 ms (on_mount freezes the rest)
    gc.freeze()
    app.run(loop=asyncio.new_event_loop())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
