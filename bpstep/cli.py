"""The command line. Bad input is one line on stderr and exit code 2.

Importing this module loads only the standard library: the console script imports it before
:func:`main` runs, and a Ctrl-C while NumPy and the rest load must land in :func:`main`, which
exits 130 without a traceback. So bpstep's own modules are imported where they are used."""

from __future__ import annotations

import argparse
import gc
import io
import math
import sys
from pathlib import Path


EXIT_OK, EXIT_FAIL, EXIT_BAD = 0, 1, 2


class BadInput(Exception):
    """Anything the user gave that cannot be used; ``str()`` is the line to print."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(f"{self.prog}: {message} (see '{self.prog} --help')")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bpstep", description="A step-through debugger for backpropagation.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    o = sub.add_parser("open", help="open the TUI on a scenario")
    o.add_argument("scenario", help="built-in name or path to a .toml file")
    o.add_argument("--device", default="cpu", help="the cross-check's device: cpu, cuda, cuda:N, mps or auto")
    o.add_argument("--compare", metavar="VALUES", help="mark each step ✓/✗ against your values (see compare); "
                   "continue stops at the first ✗")

    r = sub.add_parser("replay", help="run the debugger headless")
    r.add_argument("scenario")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--script", metavar="FILE", help="commands, one or more per line (';' separates)")
    src.add_argument("-c", dest="commands", metavar="CMDS", help='commands separated by ";"')
    r.add_argument("--format", choices=("text", "jsonl", "markdown"), default="text")
    r.add_argument("--epochs", type=_positive, metavar="N", help="train N epochs instead of the scenario's")
    r.add_argument("--trace", action="store_true", help="also print every step a motion passes")
    r.add_argument("--check", action="store_true", help="fill in the torch values")
    r.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (with --check)")
    r.add_argument("--worksheet", action="store_true",
                   help="with --format markdown: a blank for each value and the answer key after")
    r.add_argument("--quiz", metavar="ANSWERS",
                   help="grade a file of answers to the worksheet's blanks (one a line: VALUE or ID VALUE)")

    c = sub.add_parser("check", help="cross-check every value against PyTorch autograd")
    c.add_argument("scenario")
    c.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto")
    c.add_argument("--dtype", choices=("float32", "float64"), help="override the scenario's dtype")
    c.add_argument("--epochs", type=_positive, metavar="N", help="train N epochs instead of the scenario's")
    c.add_argument("--fd", action="store_true", help="add central finite differences as a third witness")
    c.add_argument("--free-run", metavar="A:B[:STEP]",
                   help="also compare the free runs' losses at epochs A…B (about 20 of them, or every STEP)")

    m = sub.add_parser("compare", help="compare the values of your own backprop with bpstep's")
    m.add_argument("scenario")
    m.add_argument("values", help="a CSV (id,value[,epoch]) or JSONL file of your values, named by bpstep's ids")
    m.add_argument("--tol", type=_tolerance, metavar="T", help="agree when |yours − bpstep| ≤ T "
                   "(default: the cross-check's tolerance, or half a unit in your last digit)")
    m.add_argument("--epochs", type=_positive, metavar="N", help="train N epochs instead of the scenario's")

    w = sub.add_parser("serve", help="serve the TUI to web browsers (one app per visitor)")
    w.add_argument("scenario", nargs="?", default="worked-222", help="built-in name or path to a .toml file")
    w.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0: every interface)")
    w.add_argument("--port", type=_port, default=8000, help="the port to listen on (default 8000)")
    w.add_argument("--public-url", metavar="URL", help="the address browsers reach the server by, behind a proxy")
    w.add_argument("--device", default="cpu", help="the cross-check's device: cpu, cuda, cuda:N, mps or auto")

    sub.add_parser("list", help="list the built-in scenarios")
    return p


def _positive(text):
    from . import scenario as scenarios
    from .commands import whole_number

    number = whole_number(text)
    if number is None or not 1 <= number <= scenarios.MAX_EPOCHS:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {scenarios.MAX_EPOCHS}, got {text!r}")
    return number


def _tolerance(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number ≥ 0, got {text!r}")
    return value


def _port(text):
    from .commands import whole_number

    number = whole_number(text)
    if number is None or not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return number


def load_scenario(spec: str, epochs: int | None = None, dtype: str | None = None):
    """The scenario, refused (one line) when it is invalid or one epoch of it would not fit in
    the memory budget, also after ``dtype`` overrides its own."""
    from . import loading
    from . import scenario as scenarios

    try:
        sc = loading.load(spec)
        if epochs is not None:
            sc = sc.with_epochs(epochs)
        if dtype is not None:
            sc = sc.with_dtype(dtype)
            scenarios.check_budget(sc)
            scenarios.check_dtype(sc)
    except scenarios.ScenarioError as e:
        raise BadInput(str(e)) from None
    return sc


def read_script(path: str, noun: str = "script", expected: str = "a script of bpstep commands",
                kind: str = "a script file") -> str:
    from . import scenario as scenarios

    p = Path(path)
    if p.is_dir():
        raise BadInput(f"{path}: is a directory; expected {kind}")
    try:
        return scenarios.read_text(p, path, noun, expected, scenarios.MAX_SCRIPT_BYTES)
    except scenarios.UnreadableFile as e:
        raise BadInput(str(e)) from None


def cmd_list(args, out) -> int:
    from . import loading
    from . import scenario as scenarios

    for name in scenarios.builtin_names():
        sc = loading.load(name)
        out.write(f"{name:<14} {'-'.join(map(str, sc.sizes)):<14} {sc.title}\n")
    return EXIT_OK


def cmd_replay(args, out) -> int:
    from . import replay
    from .session import Session

    if args.worksheet and (args.format != "markdown" or args.check):
        raise BadInput("--worksheet: expected --format markdown, without --check (torch's values would fill "
                       "in the blanks)")
    if args.quiz is not None and (args.format != "text" or args.check or args.trace):
        raise BadInput("--quiz: prints its report as text; expected no --format, --check or --trace with it")
    sc = load_scenario(args.scenario, args.epochs)
    session = Session(sc)
    check = None
    if args.check:
        from .crosscheck import StepChecker, CheckUnavailable
        try:
            check = StepChecker(session.tape, args.device)
        except CheckUnavailable as e:
            raise BadInput(str(e)) from None
    script, source = None, "-c"
    if args.script is not None:
        text, source = read_script(args.script), args.script
    elif args.commands is not None:
        text = args.commands
    if args.script is not None or args.commands is not None:
        try:
            script = replay.parse_script(text, source, session)
        except replay.ScriptError as e:
            raise BadInput(str(e)) from None
        if not script:
            raise BadInput(f"{source}: no commands; expected commands such as 'step', 'goto epoch 1'")
    try:
        if args.quiz is not None:
            return grade(session, script, source, args.quiz, out)
        if args.format != "markdown":
            return replay.run(session, script, args.format, args.trace, out=out, check=check, source=source)
        # the script only places the cursor (and makes edits): the export is of its epoch
        code = replay.run(session, script, out=io.StringIO(), err=io.StringIO(), source=source) if script else EXIT_OK
        from .export import TooBig, markdown, worksheet
        try:
            out.write(worksheet(session) if args.worksheet else markdown(session, check=check))
        except TooBig as e:
            raise BadInput(str(e)) from None
        return code
    except replay.ScriptError as e:
        out.flush()
        raise BadInput(str(e)) from None


def grade(session, script, source: str, path: str, out) -> int:
    """``replay --quiz ANSWERS``: the script places the cursor (and may say ``quiz on FAMILY…``),
    then the answers are graded against the blanks of that epoch's worksheet; exit 0 when every
    blank is answered right."""
    from . import replay
    from .export import TooBig, blanks
    from .quiz import AnswersError, read_answers

    code = replay.run(session, script, out=io.StringIO(), err=io.StringIO(), source=source) if script else EXIT_OK
    text = read_script(path, "answers", "a file of answers, one a line: VALUE or ID VALUE", "a file of answers")
    try:
        asked = blanks(session)
        answers = read_answers(text, path, asked)
    except (TooBig, AnswersError) as e:
        raise BadInput(str(e)) from None
    for step, typed in answers:
        session.quiz.grade(step, typed)
    out.write("\n".join(session.quiz.report()) + "\n")
    missing = len(asked) - len(answers)
    if missing:
        out.write(f"{missing} of the {len(asked)} blanks not answered\n")
    right, _ = session.quiz.score()
    return EXIT_OK if right == len(asked) and code == EXIT_OK else EXIT_FAIL


def cmd_check(args, out) -> int:
    from . import drift
    from .crosscheck import CheckUnavailable, run_check

    sc = load_scenario(args.scenario, args.epochs, args.dtype)
    free_run = None
    if args.free_run is not None:
        free_run = drift.in_range(args.free_run, sc.epochs)
        if free_run is None:
            raise BadInput(f"--free-run: expected A:B or A:B:STEP with A ≤ B and A ≤ {sc.epochs}, got {args.free_run!r}")
    try:
        return run_check(sc, args.device, fd=args.fd, out=out, free_run=free_run)
    except CheckUnavailable as e:
        raise BadInput(str(e)) from None


def cmd_compare(args, out) -> int:
    from .compare import CompareError, compare, lines
    from .session import Session

    session = Session(load_scenario(args.scenario, args.epochs))
    try:
        report = compare(session, args.values, args.tol)
    except CompareError as e:
        raise BadInput(str(e)) from None
    for line in lines(report, session.scenario.name, args.values, session):
        print(line, file=out)
    return EXIT_FAIL if report.first is not None else EXIT_OK


def cmd_open(args, out) -> int:
    from .tui.app import run_app

    sc = load_scenario(args.scenario) if args.scenario else None
    session = None
    if getattr(args, "compare", None):
        from .compare import CompareError
        from .session import Session

        session = Session(sc)
        try:
            session.load_comparison(args.compare)
        except CompareError as e:
            raise BadInput(str(e)) from None
    return run_app(sc, device=getattr(args, "device", "cpu"), session=session)


def cmd_serve(args, out) -> int:
    from . import scenario as scenarios
    from .tui.serve import serve

    sc = load_scenario(args.scenario)
    # each visitor's process starts elsewhere than this one's folder may be: a file by its full path
    path = scenarios.resolve(args.scenario)
    spec = args.scenario if path.parent == scenarios.builtin_dir() else str(path.resolve())
    try:
        serve(spec, sc.name, args.host, args.port, args.device, args.public_url, out)
    except OSError as e:
        raise BadInput(f"--host {args.host} --port {args.port}: cannot listen there ({e.strerror or e}); "
                       "expected a free port on an address of this machine") from None
    return EXIT_OK


def main(argv=None) -> int:
    out = sys.stdout
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            args.command, args.scenario = "open", "worked-222"
        handler = {"list": cmd_list, "replay": cmd_replay, "check": cmd_check, "open": cmd_open,
                   "serve": cmd_serve, "compare": cmd_compare}[args.command]
        code = handler(args, out)
    except BadInput as e:
        out.flush()
        print(f"bpstep: {e}" if not str(e).startswith("bpstep") else str(e), file=sys.stderr)
        return EXIT_BAD
    except MemoryError:
        out.flush()
        print(f"bpstep: {getattr(args, 'scenario', None) or 'the scenario'}: too large to hold in memory; expected "
              "fewer units, samples or epochs", file=sys.stderr)
        return EXIT_BAD
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    out.flush()
    return code


def program(argv=None) -> int:
    """bpstep as a process (the console script, ``python -m bpstep``): :func:`main`, then an exit
    that leaves the objects to the operating system."""
    code = main(argv)
    # The interpreter's shutdown runs the cyclic collector over every object still alive: on a
    # big network's replay that was a sixth of the process. The memory goes with the process
    # anyway; frozen objects are left out of those collections.
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(program())
