"""Cross-check benchmark (issue 3): prints, from one run, the wall time of the whole process
``bpstep check xor`` (all 10,001 epochs teacher-forced against torch, every value compared, then
both engines' free runs) against the lecture's own PyTorch XOR program run as a process, and
their ratio (target: at most 3×).

Each process is timed ``--repeat`` times, alternating, after one untimed run of each, and the
medians are compared (these machines are shared and noisy). The lecture's program and the timing
are those of ``bench/fastforward.py``. Exit status 0 when the target is met, else 1.

    python3 bench/check.py [--repeat 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from fastforward import TORCH_LOOP, _runs, timed

TARGET = 3.0


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
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
