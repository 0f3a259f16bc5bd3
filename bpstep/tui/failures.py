"""When a command fails with something other than the project's own errors (a bug): the
traceback goes to a log file, never to the screen, and the app says where it is and goes on.

The log is ``$XDG_STATE_HOME/bpstep/errors.log`` (``~/.local/state/bpstep/errors.log``), or
``bpstep-errors.log`` in the temporary folder where that cannot be written; each failure is
appended with its time and what was being done."""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import datetime
from pathlib import Path


def log_folders() -> list[Path]:
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return [Path(state) / "bpstep", Path(tempfile.gettempdir())]


def log(error: BaseException, doing: str) -> Path | None:
    """Append ``error``'s traceback to the log; the log's path, or None when none could be written."""
    when = datetime.now().isoformat(timespec="seconds")
    text = f"--- {when} while {doing}\n{''.join(traceback.format_exception(error))}\n"
    for folder, name in zip(log_folders(), ("errors.log", "bpstep-errors.log")):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / name, "a", encoding="utf-8") as f:
                f.write(text)
            return folder / name
        except OSError:
            continue
    return None


def message(error: BaseException, doing: str, path: Path | None) -> str:
    """The notification: what failed, and where the traceback is (for a bug report)."""
    what = f"{type(error).__name__}: {error}"
    if len(what) > 200:
        what = what[:200] + "…"
    where = f"the traceback is in {path}" if path else "no log file could be written"
    return f"{doing} failed ({what}); this is a bug in bpstep, {where}. The session goes on."
