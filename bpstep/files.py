"""Writing the files the user asks for (``save``, ``export``) so that none is ever half written.

The text goes to a new temporary file in the target's own folder (the same filesystem), which
is flushed to disk and then renamed over the target with :func:`os.replace`, an atomic step:
the target is the old file or the whole new one, never a truncated mix, even when the disk
fills up or the process is killed in between. Renaming replaces a symbolic link itself, never
the file it points to.
"""

from __future__ import annotations

import os
from pathlib import Path


class WriteError(Exception):
    """A file that could not be written; the target is as it was. ``str()``: ``cannot write
    FILE: why``."""


def exists(path: str | os.PathLike) -> bool:
    """Whether writing ``path`` would replace something (a dangling symbolic link counts)."""
    return os.path.lexists(path)


def write_atomically(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp")
    data = text.encode("utf-8")
    try:
        # 0o666 less the umask, as a file made by open() gets; an existing target keeps its mode
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise WriteError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            if target.exists():
                os.chmod(fd, target.stat().st_mode & 0o7777)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except OSError as e:
        temporary.unlink(missing_ok=True)
        raise WriteError(f"cannot write {path}: {e.strerror or e}") from None
