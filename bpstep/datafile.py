"""Data files: ``[data] file = "x.csv" | "x.npy" | "x.npz"`` read into columns.

A file is read into a :class:`Table` of *keys*, the things ``[data] inputs`` and ``targets``
select: a CSV's header names, a ``.npz``'s array names (each array one column when 1-D, several
when 2-D), a ``.npy``'s column indices (a 2-D array, a row per sample, columns counted from 0 as
NumPy counts them). A table keeps the file's own dtype; :meth:`Table.numbers` converts a
selection to float64 and :meth:`Table.classes` a column of class labels to indices, each with
whole-array NumPy operations, so a file of 100,000 numbers costs milliseconds, and only when
that fails does a Python loop look for the first bad cell to name it.

Every problem is a :class:`DataFileError` with ``field`` (``"file"``, ``"inputs"`` or
``"targets"``: the scenario key it is reported against) and one line saying what was wrong
where (``iris.csv:7: expected 5 values, as in the header, got 4``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SUFFIXES = (".csv", ".npy", ".npz")
_SLICE = re.compile(r"^\s*(-?[0-9]{1,18})?\s*:\s*(-?[0-9]{1,18})?\s*$")  # ASCII digits, few enough for int
_NUMERIC = "fiu"  # float, signed and unsigned integer dtypes
_SHOWN_KEYS = 12  # an unknown column's message lists at most this many of the file's columns
_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK"}  # how each kind of file starts


class DataFileError(ValueError):
    """A data file or a selection of its columns that cannot be used; ``str()`` is the message."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class Table:
    """The columns of a data file, as read: by name (CSV, .npz) or by number (.npy)."""

    shown: str  # the file as the scenario names it
    kind: str  # "csv", "npy" or "npz"
    rows: int
    keys: list  # what a selection may name: column names, array names or column indices
    arrays: dict = field(repr=False)  # key → 2-D array (rows × columns) in the file's dtype
    lines: list | None = None  # a CSV's line number of each row, for messages

    def where(self, row: int) -> str:
        """Where a row is, for a message: ``iris.csv:7`` or ``x.npy: row 6 (sample 7)``."""
        return f"{self.shown}:{self.lines[row]}" if self.lines else f"{self.shown}: row {row} (sample {row + 1})"

    # -- selections -----------------------------------------------------------------------------

    def select(self, field: str, spec) -> list:
        """The keys ``spec`` (the value of ``[data] inputs`` or ``targets``) names, in order."""
        if self.kind == "npy":
            return self._indices(field, spec)
        names = [spec] if isinstance(spec, str) else spec
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            what = "column names from the header" if self.kind == "csv" else "array names"
            raise DataFileError(field, f"expected one of {self.shown}'s {what} or a list of them, got {describe(spec)}")
        for name in names:
            if name not in self.arrays:
                noun = "column" if self.kind == "csv" else "array"
                raise DataFileError(field, f"{self.shown} has no {noun} {name!r}; it has: {_listing(self.keys)}")
        _no_repeats(field, names)
        return names

    def _indices(self, field, spec):
        width = len(self.keys)
        if isinstance(spec, str) and _SLICE.match(spec):
            start, stop = (None if g is None else int(g) for g in _SLICE.match(spec).groups())
            chosen = list(range(width))[slice(start, stop)]
            if not chosen:
                raise DataFileError(field, f"columns {spec!r} of {self.shown} are none of its {width} (0…{width - 1})")
            return chosen
        items = [spec] if isinstance(spec, int) and not isinstance(spec, bool) else spec
        if (not isinstance(items, list) or not items
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in items)):
            raise DataFileError(field, f"expected a column index of {self.shown} (counted from 0), a list of them "
                                       f"or a range such as \"0:{width - 1}\", got {describe(spec)}")
        for i in items:
            if not -width <= i < width:
                raise DataFileError(field, f"column {i} is outside {self.shown}'s columns 0…{width - 1}")
        chosen = [i % width for i in items]
        _no_repeats(field, chosen)
        return chosen

    def block(self, keys: list) -> np.ndarray:
        """The columns of ``keys`` side by side, rows × columns, in the file's dtype."""
        if self.kind == "npy":
            whole = self.arrays[None]
            if keys == list(range(keys[0], keys[-1] + 1)):  # a range: a view, no gather
                return whole[:, keys[0]:keys[-1] + 1]
            return whole[:, keys]
        parts = [self.arrays[k] for k in keys]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def column_names(self, keys: list) -> list[str]:
        """A name for each column of :meth:`block`, for messages."""
        if self.kind == "npy":
            return [f"column {k}" for k in keys]
        out = []
        for k in keys:
            width = self.arrays[k].shape[1]
            out += [f"column {k!r}"] if width == 1 else [f"{k}[:, {c}]" for c in range(width)]
        return out

    # -- values ---------------------------------------------------------------------------------

    def numbers(self, keys: list) -> np.ndarray:
        """The selected columns as finite float64 numbers, rows × columns."""
        block = self.block(keys)
        kind = block.dtype.kind
        if kind not in _NUMERIC + "US":
            raise DataFileError("file", f"{self.shown}: {self.column_names(keys)[0]} holds {block.dtype} values; "
                                        "expected numbers")
        try:
            values = np.asarray(block, dtype=np.float64)
        except ValueError:
            values = None
        if values is None:  # text that is not a number somewhere: name the first such cell
            for r, c in np.ndindex(block.shape):
                try:
                    float(block[r, c])
                except ValueError:
                    raise DataFileError("file", f"{self.where(r)}: {self.column_names(keys)[c]}: expected a number, "
                                                f"got {str(block[r, c])!r}") from None
        bad = np.argwhere(~np.isfinite(values))
        if len(bad):
            r, c = bad[0]
            raise DataFileError("file", f"{self.where(r)}: {self.column_names(keys)[c]}: expected a finite number, "
                                        f"got {values[r, c]}")
        return values

    def classes(self, field: str, key, outputs: int) -> tuple[np.ndarray, tuple]:
        """A column of class labels → (one-hot targets rows × outputs, the class names by index).

        Whole numbers are class indices 0…outputs−1, as torch's ``CrossEntropyLoss`` takes them;
        any other text is a label, and labels get indices in the order they first appear."""
        block = self.block([key])
        name = self.column_names([key])[0]
        if block.shape[1] != 1:
            raise DataFileError(field, f"{name} of {self.shown} has {block.shape[1]} columns; a column of class "
                                       "labels is one")
        column = block[:, 0]
        if column.dtype.kind in _NUMERIC:
            index, names = self._class_indices(field, name, column, outputs)
        elif column.dtype.kind in "US":
            text = np.char.strip(column.astype(str))
            try:
                numbers = text.astype(np.float64)
            except ValueError:
                numbers = None
            if numbers is not None:
                index, names = self._class_indices(field, name, numbers, outputs)
            else:
                empty = np.flatnonzero(text == "")
                if len(empty):
                    raise DataFileError("file", f"{self.where(empty[0])}: {name}: expected a class label, got an "
                                                "empty cell")
                labels, first, index = np.unique(text, return_index=True, return_inverse=True)
                order = np.argsort(first)  # the label seen first is class 0
                rank = np.empty_like(order)
                rank[order] = np.arange(len(order))
                index, names = rank[index.ravel()], tuple(str(labels[i]) for i in order)
                if len(names) not in (1, outputs):
                    raise DataFileError(field, f"{name} of {self.shown} holds {len(names)} classes "
                                               f"({_listing(names)}) but the network has {outputs} outputs, one per class")
        else:
            raise DataFileError("file", f"{self.shown}: {name} holds {column.dtype} values; expected class labels")
        if len(np.unique(index)) == 1:
            raise DataFileError(field, f"{name} of {self.shown} holds one class only ({names[index[0]]!r}); "
                                       f"expected labels of {outputs} classes, one per output")
        return np.eye(outputs)[index], names

    def _class_indices(self, field, name, values, outputs):
        values = np.asarray(values, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values >= outputs))
        if len(bad):
            r = bad[0]
            raise DataFileError(field, f"{self.where(r)}: {name}: {values[r]:g} is not a class index 0…{outputs - 1} "
                                       f"(the network has {outputs} outputs); expected class indices or labels")
        return values.astype(np.intp), tuple(str(k) for k in range(outputs))


def read(path: Path, shown: str) -> Table:
    """Read a data file; :class:`DataFileError` (field ``"file"``) when it cannot be used."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFileError("file", f"{shown}: unknown kind of data file; expected a name ending in "
                                    f"{', '.join(SUFFIXES)}")
    if path.is_dir():
        raise DataFileError("file", f"{path} is a directory; expected a {suffix} file")
    try:
        if suffix == ".csv":
            return _csv(path, shown)
        if suffix == ".npy":
            return _npy(path, shown)
        return _npz(path, shown)
    except OSError as e:
        raise DataFileError("file", f"cannot read {path} ({e.strerror or e})") from None


def _csv(path, shown):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError("file", f"{shown}: is not UTF-8 text; expected a CSV file") from None
    if "\x00" in text:
        raise DataFileError("file", f"{shown}: is a binary file; expected a CSV file")
    reader = csv.reader(text.splitlines())
    header, header_line, rows, lines = None, 0, [], []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines, a trailing newline
            if header is None and row[0].lstrip().startswith("#"):
                continue  # a comment above the header: where the data comes from
            if header is None:
                header, header_line = [cell.strip() for cell in row], reader.line_num
                continue
            if len(row) != len(header):
                raise DataFileError("file", f"{shown}:{reader.line_num}: expected {len(header)} values, as in the "
                                            f"header, got {len(row)}")
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as e:
        raise DataFileError("file", f"{shown}:{reader.line_num}: not CSV ({e})") from None
    if header is None:
        raise DataFileError("file", f"{shown}: is empty; expected a header row of column names, then a row per sample")
    if not rows:
        raise DataFileError("file", f"{shown}: has a header but no rows; expected a row per sample")
    if "" in header:
        raise DataFileError("file", f"{shown}:{header_line}: column {header.index('') + 1} of the "
                                    "header has no name; expected a name for every column")
    repeated = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if repeated is not None:
        raise DataFileError("file", f"{shown}: the header names column {repeated!r} twice; expected unique names")
    cells = np.array(rows, dtype=str)
    return Table(shown, "csv", len(rows), header, {h: cells[:, [c]] for c, h in enumerate(header)}, lines)


def _npy(path, shown):
    array = _np_load(path, shown, "a NumPy .npy file", mmap_mode="r")
    if array.ndim != 2 or not array.shape[0] or not array.shape[1]:
        raise DataFileError("file", f"{shown}: holds an array of shape {array.shape}; expected a 2-D array, "
                                    "a row per sample and a column per input or target")
    return Table(shown, "npy", array.shape[0], list(range(array.shape[1])), {None: array})


def _npz(path, shown):
    archive = _np_load(path, shown, "a NumPy .npz archive")
    arrays = {}
    with archive:
        try:
            for name in archive.files:
                arrays[name] = archive[name]
        except (ValueError, OSError, EOFError, _bad_zip()) as e:
            raise DataFileError("file", f"{shown}: cannot read array {name!r} ({e})") from None
    if not arrays:
        raise DataFileError("file", f"{shown}: holds no arrays")
    rows = None
    for name, a in arrays.items():
        if a.ndim not in (1, 2) or not a.shape[0]:
            raise DataFileError("file", f"{shown}: array {name!r} has shape {a.shape}; expected 1-D (one column) or "
                                        "2-D (a row per sample)")
        arrays[name] = a.reshape(len(a), -1)
        if rows is not None and len(a) != rows:
            raise DataFileError("file", f"{shown}: array {name!r} has {len(a)} rows and {next(iter(arrays))!r} "
                                        f"{rows}; expected a row per sample in every array")
        rows = len(a)
    return Table(shown, "npz", rows, list(arrays), arrays)


def _bad_zip():
    """zipfile.BadZipFile, imported only when an exception is being matched against it (the
    ``except`` tuple is evaluated then): zipfile takes longer to import than a small epoch."""
    import zipfile

    return zipfile.BadZipFile


def _np_load(path, shown, expected, **options):
    magic = _MAGIC[path.suffix.lower()]
    with open(path, "rb") as f:
        if f.read(len(magic)) != magic:
            raise DataFileError("file", f"{shown}: is not {expected}")
    try:
        return np.load(path, allow_pickle=False, **options)
    except (ValueError, EOFError, _bad_zip()) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataFileError("file", f"{shown}: is not {expected} of numbers or text ({reason})") from None


def _no_repeats(field, keys):
    repeated = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
    if repeated is not None:
        raise DataFileError(field, f"names {repeated!r} twice; expected each column once")


def _listing(items) -> str:
    items = [str(i) for i in items]
    shown = ", ".join(items[:_SHOWN_KEYS])
    return shown if len(items) <= _SHOWN_KEYS else f"{shown}, … ({len(items)} in all)"


def describe(value) -> str:
    """A TOML value's kind, for a message: ``a string ('x')``, ``a list of 3``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
