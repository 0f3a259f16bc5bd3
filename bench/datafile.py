"""Data-file benchmark (issue 9): an MNIST-sized scenario, 784-16-10 over 128 samples, whose
128 × 794 numbers (784 inputs and 10 one-hot targets a row) are written once inline in the TOML
and once as a ``.npy`` beside it (``[data] file = "m.npy"``, ``targets = "784:"``). Prints, from
one run, the median time of ``bpstep.scenario.load`` of each, the time of reading the ``.npy``
alone (``bpstep.datafile``) and the ratio inline / ``.npy``. Goals: the ``.npy`` scenario loads
at least 5× faster than the inline one, and reading the file takes under 20 ms. Exit 0 when both
are met, else 1.

    python3 bench/datafile.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bpstep import datafile, scenario  # noqa: E402

RATIO_GOAL, READ_GOAL_MS = 5.0, 20.0
HEAD = """[network]
sizes = [784, 16, 10]
[init]
method = "uniform"
seed = 1
[training]
learning_rate = 0.1
[data]
"""


def write(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    whole = np.hstack([rng.random((128, 784)), np.eye(10)[rng.integers(0, 10, 128)]])
    np.save(folder / "m.npy", whole)
    rows = lambda a: "[" + ", ".join("[" + ", ".join(repr(float(v)) for v in r) + "]" for r in a) + "]"
    inline, from_file = folder / "inline.toml", folder / "npy.toml"
    inline.write_text(HEAD + f"inputs = {rows(whole[:, :784])}\ntargets = {rows(whole[:, 784:])}\n")
    from_file.write_text(HEAD + 'file = "m.npy"\ntargets = "784:"\n')
    return inline, from_file


def median_ms(fn, repeat: int) -> float:
    fn()  # warm: imports, the page cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        inline, from_file = write(Path(tmp))
        a = scenario.load(str(inline))
        b = scenario.load(str(from_file))
        assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.targets, b.targets)
        inline_ms = median_ms(lambda: scenario.load(str(inline)), args.repeat)
        npy_ms = median_ms(lambda: scenario.load(str(from_file)), args.repeat)
        read_ms = median_ms(lambda: datafile.read(Path(tmp) / "m.npy", "m.npy").numbers(list(range(794))),
                            args.repeat)
    ratio = inline_ms / npy_ms
    ok_ratio, ok_read = ratio >= RATIO_GOAL, read_ms <= READ_GOAL_MS
    print(f"load, data inline in the TOML   {inline_ms:8.1f} ms")
    print(f"load, data from m.npy           {npy_ms:8.1f} ms")
    print(f"ratio inline / npy              {ratio:8.1f}×   goal ≥ {RATIO_GOAL:g}×  {'PASS' if ok_ratio else 'FAIL'}")
    print(f"read and convert m.npy alone    {read_ms:8.2f} ms  goal ≤ {READ_GOAL_MS:g} ms  "
          f"{'PASS' if ok_read else 'FAIL'}")
    return 0 if ok_ratio and ok_read else 1


if __name__ == "__main__":
    sys.exit(main())
