"""Cross-check benchmark (issues 3 and 8): prints, from one run,

1. the wall time of the whole process ``bpstep check xor`` (all 10,001 epochs teacher-forced
   against torch, every value compared, then both engines' free runs) against the lecture's own
   PyTorch XOR program run as a process, and their ratio (target: at most 3×);
2. the peak memory (maximum resident set size) and wall time of ``bpstep check`` on an
   MNIST-sized network: 784-128-10, sigmoid, mse, float32, uniform init, 64 random samples,
   3 epochs, written to a temporary folder (target: at most 400 MiB, torch's own import being
   about 220–290 MiB of it).

Each process of 1 is timed ``--repeat`` times, alternating, after one untimed run of each, and the
medians are compared (these machines are shared and noisy). The lecture's program and the timing
are those of ``bench/fastforward.py``. Exit status 0 when both targets are met, else 1.

    python3 bench/check.py [--repeat 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastforward import TORCH_LOOP, _runs, peak_rss_kib, timed

TARGET, MEMORY_TARGET_MIB = 3.0, 400


def mnist_sized(folder: Path) -> Path:
    """A 784-128-10 scenario with 64 random samples (a fixed seed), as a file in ``folder``."""
    rng = np.random.default_rng(0)
    rows = lambda a: "[" + ", ".join("[" + ", ".join(repr(float(v)) for v in r) + "]" for r in a) + "]"
    path = folder / "mnist-sized.toml"
    path.write_text(f"""name = "mnist-sized"
[network]
sizes = [784, 128, 10]
activation = "sigmoid"
bias = true
[init]
method = "uniform"
seed = 7
[data]
inputs = {rows(rng.random((64, 784)).round(3))}
targets = {rows(np.eye(10)[rng.integers(0, 10, 64)])}
[training]
loss = "mse"
learning_rate = 0.5
epochs = 3
dtype = "float32"
""", encoding="utf-8")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each process (default 3)")
    ap.add_argument("--device", default="cpu", help="the device of bpstep check (default cpu)")
    args = ap.parse_args()
    check = [sys.executable, "-m", "bpstep", "check", "xor", "--device", args.device]

    timed(check), timed(TORCH_LOOP)  # warm up: byte code, file caches
    check_times, torch_times = [], []
    for _ in range(args.repeat):
        t, out = timed(check)
        assert "✓ all 49,195,176 values agree within tolerance" in out, out[-500:]
        check_times.append(t)
        t, out = timed(TORCH_LOOP)
        assert out.split("\n")[100].startswith("10000 "), out[-200:]
        torch_times.append(t)
    c, t = statistics.median(check_times), statistics.median(torch_times)
    ratio = c / t
    print(f"xor, whole processes, median of {args.repeat}:")
    print(f"  {'bpstep check xor --device ' + args.device:<38}  {c:7.3f} s   (runs: {_runs(check_times)})")
    print(f"  {'lecture’s PyTorch loop, 10,001 epochs':<38}  {t:7.3f} s   (runs: {_runs(torch_times)})")
    print(f"  ratio {ratio:.2f}×  (target ≤ {TARGET:g}×): {'ok' if ratio <= TARGET else 'TOO SLOW'}")

    with tempfile.TemporaryDirectory() as folder:
        big = [sys.executable, "-m", "bpstep", "check", str(mnist_sized(Path(folder))), "--device", args.device]
        start = time.perf_counter()
        peak = peak_rss_kib(big) / 1024
        elapsed = time.perf_counter() - start
    fits = peak <= MEMORY_TARGET_MIB
    print("bpstep check of 784-128-10, 64 samples, 3 epochs, float32:")
    print(f"  peak memory {peak:7.1f} MiB  (target ≤ {MEMORY_TARGET_MIB} MiB): {'ok' if fits else 'TOO BIG'}"
          f"   wall {elapsed:.1f} s")
    return 0 if ratio <= TARGET and fits else 1


if __name__ == "__main__":
    sys.exit(main())
