"""Where a motion lands when no breakpoint stops it: plain functions over a *grid*, the steps of
every epoch seen either one scalar step at a time (:class:`bpstep.tape.Tape`) or one matrix
operation at a time (:class:`bpstep.layers.LayerTape`).

A grid answers ``epochs``, ``last``, ``length(epoch)``, ``phase_runs(epoch)`` (``(first, last,
phase)`` of each phase's stretch), ``quantity_count(epoch)``, ``rank(epoch, index)`` (how many
quantity steps come before ``index``) and ``select(epoch, k)`` (the index of quantity step k).
A position is ``(epoch, index)``; nothing here walks the steps one by one.
"""

from __future__ import annotations


def target(grid, start: tuple, kind: str, count: int, forward: bool) -> tuple:
    """The landing of ``step``, ``next``, ``finish`` or ``continue`` (``kind``) from ``start``."""
    if kind == "step":
        return advance(grid, start, count if forward else -count)
    if kind == "next":
        return next_quantity(grid, start, count, forward)
    if kind == "finish":
        return phase_edge(grid, start, forward)
    return grid.last if forward else (0, 0)


def advance(grid, pos: tuple, n: int) -> tuple:
    """``n`` steps on (back when negative), stopping at either end of the tape."""
    e, i = pos
    while n > 0:
        room = grid.length(e) - 1 - i
        if n <= room:
            return (e, i + n)
        if e == grid.epochs:
            return (e, i + room)
        n -= room + 1
        e, i = e + 1, 0
    while n < 0:
        if -n <= i:
            return (e, i + n)
        if e == 0:
            return (0, 0)
        n += i + 1
        e = e - 1
        i = grid.length(e) - 1
    return (e, i)


def next_quantity(grid, pos: tuple, count: int, forward: bool) -> tuple:
    """``count`` quantity steps on (back), over the factor steps between."""
    e, i = pos
    while True:
        total = grid.quantity_count(e)
        if forward:
            k = grid.rank(e, i + 1)  # quantities at or before i
            if count <= total - k:
                return (e, grid.select(e, k + count - 1))
            count -= total - k
            if e == grid.epochs:
                return grid.last
            e, i = e + 1, -1
        else:
            k = grid.rank(e, i)  # quantities before i
            if count <= k:
                return (e, grid.select(e, k - count))
            count -= k
            if e == 0:
                return (0, 0)
            e, i = e - 1, grid.length(e - 1)


def phase_edge(grid, pos: tuple, forward: bool) -> tuple:
    """finish: the last step of this phase (of the next one when already there); rfinish: the
    first step of this phase (of the previous one when already there)."""
    e, i = pos
    runs = grid.phase_runs(e)
    k = next(n for n, r in enumerate(runs) if r[0] <= i <= r[1])
    if forward:
        if i < runs[k][1]:
            return (e, runs[k][1])
        if k + 1 < len(runs):
            return (e, runs[k + 1][1])
        if e == grid.epochs:
            return pos
        return (e + 1, grid.phase_runs(e + 1)[0][1])
    if i > runs[k][0]:
        return (e, runs[k][0])
    if k > 0:
        return (e, runs[k - 1][0])
    if e == 0:
        return pos
    return (e - 1, grid.phase_runs(e - 1)[-1][0])


def between(grid, start: tuple, land: tuple, forward: bool):
    """The positions strictly between ``start`` and ``land``, in the order they are passed
    (for ``--trace``, which prints them all)."""
    step = 1 if forward else -1
    pos = advance(grid, start, step)
    while pos != land and pos != start:
        yield pos
        nxt = advance(grid, pos, step)
        if nxt == pos:
            return
        pos = nxt
