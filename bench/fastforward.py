"""Fast-forward benchmark (issue 2): prints, from one run,

1. the wall time of the whole process ``bpstep replay xor -c "goto epoch 10000"`` against the
   lecture's own PyTorch XOR program (10,001 epochs, a print every 100) run as a process, and
   their ratio (target: bpstep at least 10× faster);
2. the peak memory (maximum resident set size) of ``bpstep replay xor --epochs N --trace`` to
   /dev/null for N = 20 and N = 200 (target: the second at most 20% above the first).

Each process is timed ``--repeat`` times (default 9), alternating, after one untimed run of
each, and the medians are compared (these machines are shared and noisy: one run of the
sub-second bpstep process varies by a third either way, so five runs left the median to chance). Byte code is cached in a temporary
folder, as an installed package has it, even where PYTHONDONTWRITEBYTECODE is set. Exit status 0
when both targets are met, else 1.

    python3 bench/fastforward.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "bpstep-bench-pycache"))

#: the lecture's program, as it is written there (device: CPU)
TORCH_XOR = """
import torch
import torch.nn as nn

device = 'cuda' if torch.cuda.is_available() else 'cpu'
torch.manual_seed(777)
if device == 'cuda':
    torch.cuda.manual_seed_all(777)

X = torch.FloatTensor([[0, 0], [0, 1], [1, 0], [1, 1]]).to(device)
Y = torch.FloatTensor([[0], [1], [1], [0]]).to(device)

model = nn.Sequential(
          nn.Linear(2, 10, bias=True),
          nn.Sigmoid(),
          nn.Linear(10, 10, bias=True),
          nn.Sigmoid(),
          nn.Linear(10, 10, bias=True),
          nn.Sigmoid(),
          nn.Linear(10, 1, bias=True),
          nn.Sigmoid()
          ).to(device)

criterion = torch.nn.BCELoss().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=1)

for epoch in range(10001):
    optimizer.zero_grad()
    hypothesis = model(X)
    cost = criterion(hypothesis, Y)
    cost.backward()
    optimizer.step()
    if epoch % 100 == 0:
        print(epoch, cost.item())
"""

BPSTEP_JUMP = [sys.executable, "-m", "bpstep", "replay", "xor", "-c", "goto epoch 10000"]
TORCH_LOOP = [sys.executable, "-c", TORCH_XOR]
SPEED_TARGET, MEMORY_TARGET = 10.0, 1.2


def timed(cmd) -> tuple[float, str]:
    """Wall time of one process and its stdout (the process must succeed)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:6])} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc.stdout


def peak_rss_kib(cmd) -> int:
    """Peak resident memory of one process (its own, not its siblings'), output to /dev/null."""
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:6])} failed ({proc.returncode}): {proc.stderr.read().decode()}")
    return usage.ru_maxrss  # KiB on Linux


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=9, help="runs of each process (default 9)")
    args = ap.parse_args()

    timed(BPSTEP_JUMP), timed(TORCH_LOOP)  # warm up: byte code, file caches
    bpstep_times, torch_times = [], []
    for _ in range(args.repeat):
        t, out = timed(BPSTEP_JUMP)
        assert out.startswith("e10000 forward #0 "), out[:200]
        bpstep_times.append(t)
        t, out = timed(TORCH_LOOP)
        torch_loss = out.split("\n")[100]  # "10000 <loss>"
        assert torch_loss.startswith("10000 "), out[-200:]
        torch_times.append(t)
    b, t = statistics.median(bpstep_times), statistics.median(torch_times)
    ratio = t / b
    print(f"goto epoch 10000 of xor, whole processes, median of {args.repeat}:")
    print(f"  bpstep replay xor -c 'goto epoch 10000'  {b:7.3f} s   (runs: {_runs(bpstep_times)})")
    print(f"  lecture's PyTorch loop, 10,001 epochs    {t:7.3f} s   (runs: {_runs(torch_times)})"
          f"   loss at 10000: {torch_loss.split()[1]}")
    verdict = "ok" if ratio >= SPEED_TARGET else "TOO SLOW"
    print(f"  ratio {ratio:.1f}×  (target ≥ {SPEED_TARGET:g}×): {verdict}")

    small = peak_rss_kib([*BPSTEP_JUMP[:5], "--epochs", "20", "--trace"])
    large = peak_rss_kib([*BPSTEP_JUMP[:5], "--epochs", "200", "--trace"])
    growth = large / small
    print("peak memory of replay xor --trace > /dev/null:")
    print(f"  --epochs 20   {small / 1024:7.1f} MiB")
    print(f"  --epochs 200  {large / 1024:7.1f} MiB")
    mem_verdict = "ok" if growth <= MEMORY_TARGET else "GROWS"
    print(f"  ratio {growth:.3f}  (target ≤ {MEMORY_TARGET:g}): {mem_verdict}")
    return 0 if ratio >= SPEED_TARGET and growth <= MEMORY_TARGET else 1


def _runs(times):
    return ", ".join(f"{x:.2f}" for x in times)


if __name__ == "__main__":
    sys.exit(main())
