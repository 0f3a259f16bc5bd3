"""How bpstep scales, measured in one run (``python3 bench/scale.py [--repeat 3] [--timeout 300]``).

Networks: 2-2-2 (the built-in worked-222), XOR (the built-in, 2-10-10-10-1 × 4), and three
scenarios written to a temporary folder — 64-32-10 × 16, 784-128-10 × 64 and
784-256-128-10 × 128 samples: uniform init (seed 1), float32, sigmoid, mse, learning rate 0.5,
100 epochs, inputs and targets drawn from U(0, 1) with NumPy's generator (seed 2026), rounded to
three decimals and kept in a ``.npy`` beside the scenario (``[data] file``). Each measure is printed with its goal and PASS or FAIL:

1. process start to the first replay line, ``python -m bpstep replay FILE -c "where"``, per network
   (goal ≤ 0.5 s);
2. ``replay FILE -c "goto epoch 100"`` on 784-128-10 × 64 against a plain NumPy training loop of
   the same network (same init, data and float32 arithmetic, reading the same file), both whole
   processes, as a ratio bpstep / NumPy (goal ≤ 1.3×), each side run alternately at least
   ``GOTO_RUNS`` times; the two final losses are compared too;
3. peak memory (the child's ru_maxrss) of that goto, and of ``goto epoch 99; goto
   dE/dW[1,128,784]@64`` on 784-256-128-10 × 128 (goal ≤ 400 MB each; epoch 100 of a 100-epoch
   scenario is its evaluate phase, which has no gradients, hence 99);
4. ``step``, ``next`` and ``goto ID@n`` within epoch 1 of 784-256-128-10 × 128, in-process through
   ``bpstep.session.Session``, median time per command over 50 of each (goal ≤ 5 ms each);
5. ``continue`` to ``break dE/dW[1,5,300]@3 if value > 1e9`` (never hit) over 10 epochs of
   784-128-10 × 64 against the fast-forward ``goto epoch 10``, in-process, as a ratio (goal ≤ 3×);
6. the TUI on 784-256-128-10 × 128: process start to the first frame in a pseudo-terminal (goal
   ≤ 0.6 s), and key to frame for ``s``, ``n`` and ``N``, the median of 30 keys each (goal
   ≤ 16 ms), counted where Textual hands the screen's update to the terminal, as bench/tui.py does.

Every measure runs in child processes with a time limit (``--timeout``, default 300 s each), so a
measure that cannot finish prints "timed out" instead of hanging; one that fails prints its error.
Times are medians of ``--repeat`` runs after one untimed run (byte code, file caches). Exit status
0 only when every goal is met.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "bpstep-bench-pycache"))
PY = sys.executable

#: (label, built-in name or None, sizes, samples); the last two are the middle and the largest
NETWORKS = [
    ("2-2-2 (worked-222)", "worked-222", None, None),
    ("XOR 2-10-10-10-1 ×4", "xor", None, None),
    ("64-32-10 ×16", None, [64, 32, 10], 16),
    ("784-128-10 ×64", None, [784, 128, 10], 64),
    ("784-256-128-10 ×128", None, [784, 256, 128, 10], 128),
]
#: --small: the same measures on small networks, to check the bench itself where the big ones
#: cannot run (their verdicts say nothing about the goals)
SMALL_NETWORKS = NETWORKS[:2] + [
    ("8-6-4 ×4", None, [8, 6, 4], 4),
    ("16-8-4 ×8", None, [16, 8, 4], 8),
    ("16-12-8-4 ×8", None, [16, 12, 8, 4], 8),
]


def deep_gradient(sizes, samples):
    """``dE/dW[1,128,784]@64`` on 784-256-128-10 × 128: a weight gradient deep in the first layer."""
    return f"dE/dW[1,{max(1, sizes[1] // 2)},{sizes[0]}]@{max(1, samples // 2)}"


def never_hit(sizes, samples):
    """``break dE/dW[1,5,300]@3 if value > 1e9`` on 784-128-10 × 64 (never hit)."""
    return f"break dE/dW[1,{min(5, sizes[1])},{min(300, sizes[0])}]@{min(3, samples)} if value > 1e9"

EPOCHS, LR, INIT_SEED, DATA_SEED = 100, 0.5, 1, 2026

STARTUP_GOAL_S, GOTO_RATIO_GOAL, MEMORY_GOAL_MB = 0.5, 1.3, 400
COMMAND_GOAL_MS, CONTINUE_RATIO_GOAL, FIRST_FRAME_GOAL_S, KEY_GOAL_MS = 5.0, 3.0, 0.6, 16.0
COMMANDS, KEYS = 50, 30
#: runs of each side of the goto ratio at least: each is a fifth of a second, and one run of a
#: whole process on this shared machine varies by a quarter either way
GOTO_RUNS = 9

#: a plain NumPy training loop: what one would write without bpstep (reads the same file)
NUMPY_LOOP = r"""
import sys, tomllib
import numpy as np

with open(sys.argv[1], "rb") as f:
    doc = tomllib.load(f)
sizes, seed = doc["network"]["sizes"], doc["init"]["seed"]
lr, epochs = np.float32(doc["training"]["learning_rate"]), doc["training"]["epochs"]
data = np.load(sys.argv[1].removesuffix(".toml") + ".npy")  # inputs, then the targets
X = data[:, :sizes[0]].astype(np.float32)
T = data[:, sizes[0]:].astype(np.float32)
n, k = np.float32(X.shape[0]), np.float32(T.shape[1])

rng = np.random.default_rng(seed)  # U(-1/sqrt(fan_in), 1/sqrt(fan_in)): weights, then biases, per layer
W, b = [], []
for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
    s = 1 / np.sqrt(fan_in)
    W.append(rng.uniform(-s, s, (fan_out, fan_in)).astype(np.float32))
    b.append(rng.uniform(-s, s, fan_out).astype(np.float32))


def forward(X):
    acts = [X]
    for Wl, bl in zip(W, b):
        acts.append(1 / (1 + np.exp(-(acts[-1] @ Wl.T + bl))))
    return acts


for epoch in range(epochs):
    acts = forward(X)
    g = 2 * (acts[-1] - T) / k                  # dE/do of torch's MSELoss, per sample
    for l in reversed(range(len(W))):
        delta = g * acts[l + 1] * (1 - acts[l + 1])
        gW, gb = delta.T @ acts[l] / n, delta.sum(0) / n
        if l:
            g = delta @ W[l]
        W[l] -= lr * gW
        b[l] -= lr * gb
o = forward(X)[-1]
print(f"{float(np.mean(np.sum((o - T) ** 2 / k, axis=1))):.8g}")
"""


# --- the scenarios ---------------------------------------------------------------------------------


def write_scenario(folder: Path, sizes, samples) -> Path:
    """The scenario, its samples in a ``.npy`` beside it (inputs, then the target columns), as an
    MNIST-sized network's data would be: 100,000 numbers written in the TOML take a fifth of a
    second to parse."""
    import numpy as np

    rng = np.random.default_rng(DATA_SEED)
    inputs = np.round(rng.uniform(0, 1, (samples, sizes[0])), 3)
    targets = np.round(rng.uniform(0, 1, (samples, sizes[-1])), 3)
    name = "-".join(map(str, sizes)) + f"x{samples}"
    np.save(folder / f"{name}.npy", np.hstack([inputs, targets]))
    path = folder / f"{name}.toml"
    path.write_text(f"""name = "{name}"
title = "{'-'.join(map(str, sizes))} × {samples} samples (bench/scale.py)"

[network]
sizes = {sizes}
activation = "sigmoid"
bias = true

[init]
method = "uniform"
seed = {INIT_SEED}

[data]
file = "{name}.npy"
targets = "{sizes[0]}:"

[training]
loss = "mse"
learning_rate = {LR}
epochs = {EPOCHS}
dtype = "float32"
""", encoding="utf-8")
    return path


# --- child processes with a time limit ------------------------------------------------------------


@dataclass
class Outcome:
    seconds: float
    code: int | None  # None: timed out
    out: str
    err: str
    maxrss_kib: int

    @property
    def timed_out(self) -> bool:
        return self.code is None

    def problem(self) -> str | None:
        if self.timed_out:
            return "timed out"
        if self.code != 0:
            last = (self.err.strip().splitlines() or ["(no stderr)"])[-1]
            return f"failed (exit {self.code}): {last[:160]}"
        return None


def run(cmd, timeout: float) -> Outcome:
    """One child process: wall time, exit code, output and its own peak memory (wait4), killed
    with its process group after ``timeout`` seconds."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        done = {}

        def reap():
            _, status, usage = os.wait4(proc.pid, 0)
            done.update(ended=time.perf_counter(), status=status, maxrss=usage.ru_maxrss)

        reaper = threading.Thread(target=reap, daemon=True)
        reaper.start()
        reaper.join(timeout)
        timed_out = reaper.is_alive()
        if timed_out:
            _kill(proc.pid)
            reaper.join()
        proc.returncode = os.waitstatus_to_exitcode(done["status"])  # reaped here, not by Popen
        out.seek(0), err.seek(0)
        return Outcome(done["ended"] - started, None if timed_out else proc.returncode, out.read(), err.read(),
                       done["maxrss"])


def _kill(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def unexpected(runs, start: str, contains: str = "") -> str | None:
    """What is wrong with the output of a successful run, if anything."""
    for r in runs:
        if not r.out.startswith(start) or contains not in r.out:
            return f"unexpected output: {r.out.strip()[:120]!r}"
    return None


def bpstep(*args):
    return [PY, "-m", "bpstep", *args]


def child(mode, *args):
    return [PY, str(Path(__file__).resolve()), "--child", mode, *map(str, args)]


def repeated(cmd, repeat: int, timeout: float) -> tuple[list[Outcome], str | None]:
    """One untimed run, then ``repeat`` timed ones; stops at the first that times out or fails."""
    runs = []
    for i in range(repeat + 1):
        outcome = run(cmd, timeout)
        if outcome.problem():
            return runs, outcome.problem()
        if i:
            runs.append(outcome)
    return runs, None


# --- the report -----------------------------------------------------------------------------------


class Report:
    def __init__(self):
        self.rows = []

    def add(self, measure: str, value: str, goal: str, ok: bool | None, note: str = ""):
        """``ok`` None: no verdict possible (timed out, failed), which counts as FAIL."""
        verdict = "PASS" if ok else "FAIL"
        self.rows.append(ok is True)
        print(f"  {measure:<46} {value:>18}   goal {goal:<10} {verdict}{'   ' + note if note else ''}", flush=True)

    def failed(self, measure: str, goal: str, problem: str):
        self.add(measure, problem if len(problem) <= 18 else "-", goal, None, "" if len(problem) <= 18 else problem)

    @property
    def all_passed(self) -> bool:
        return all(self.rows)


def _runs(values, unit="s", scale=1.0, digits=3):
    return "runs: " + ", ".join(f"{v * scale:.{digits}f}" for v in values) + f" {unit}"


# --- the measures ---------------------------------------------------------------------------------


def measure_startup(report, files, repeat, timeout):
    print("1. process start to the first replay line: replay FILE -c 'where'", flush=True)
    for label, path in files.items():
        runs, problem = repeated(bpstep("replay", str(path), "-c", "where"), repeat, timeout)
        name = f"start-up {label}"
        if problem:
            report.failed(name, f"≤ {STARTUP_GOAL_S} s", problem)
            continue
        problem = unexpected(runs, "# epoch 0 · forward · sample 1 · step 0 ")
        if problem:
            report.failed(name, f"≤ {STARTUP_GOAL_S} s", problem)
            continue
        times = [r.seconds for r in runs]
        median = statistics.median(times)
        report.add(name, f"{median:.3f} s", f"≤ {STARTUP_GOAL_S} s", median <= STARTUP_GOAL_S, _runs(times))


def measure_goto(report, mid, repeat, timeout):
    label, path = mid[0], mid[1]
    print(f"2. goto epoch 100 on {label}, whole processes, against a plain NumPy loop", flush=True)
    jump, loop = bpstep("replay", str(path), "-c", "goto epoch 100"), [PY, "-c", NUMPY_LOOP, str(path)]
    name = "goto epoch 100 / NumPy loop"
    goal = f"≤ {GOTO_RATIO_GOAL}×"
    memory = []
    warm = [run(jump, timeout), run(loop, timeout)]
    problem = warm[0].problem() or (warm[1].problem() and f"NumPy loop {warm[1].problem()}")
    if problem:
        report.failed(name, goal, problem)
        return None
    ours, theirs = [], []
    for _ in range(max(repeat, GOTO_RUNS)):
        a, b = run(jump, timeout), run(loop, timeout)
        problem = a.problem() or (b.problem() and f"NumPy loop {b.problem()}")
        if problem:
            report.failed(name, goal, problem)
            return memory
        problem = unexpected([a], "e100 evaluate #0 ")
        if problem:
            report.failed(name, goal, problem)
            return memory
        ours.append(a.seconds), theirs.append(b.seconds), memory.append(a.maxrss_kib)
    ratio = statistics.median(ours) / statistics.median(theirs)
    report.add(name, f"{ratio:.2f}×", goal, ratio <= GOTO_RATIO_GOAL,
               f"bpstep {statistics.median(ours):.3f} s ({_runs(ours)}), NumPy {statistics.median(theirs):.3f} s")
    # the same numbers? (not a goal: a check that the loop is the same training)
    check = run(bpstep("replay", str(path), "-c", "goto epoch 100; print E"), timeout)
    try:
        ours_e = float(check.out.strip().split("= ")[-1])
        theirs_e = float(warm[1].out.strip())
    except ValueError:
        print(f"     loss at epoch 100: not compared ({check.problem() or 'unexpected output'})", flush=True)
    else:
        print(f"     loss at epoch 100: bpstep {ours_e:.8g}, NumPy loop {theirs_e:.8g} "
              f"(relative difference {abs(ours_e - theirs_e) / abs(theirs_e):.1e})", flush=True)
    return memory


def measure_memory(report, mid, mid_runs_kib, largest, repeat, timeout):
    print("3. peak memory (ru_maxrss of the child)", flush=True)
    goal = f"≤ {MEMORY_GOAL_MB} MB"
    name = f"goto epoch 100, {mid[0]}"
    if not mid_runs_kib:
        report.failed(name, goal, "no run (see 2.)")
    else:
        mb = statistics.median(mid_runs_kib) * 1024 / 1e6
        report.add(name, f"{mb:.0f} MB", goal, mb <= MEMORY_GOAL_MB)
    label, path, sizes, samples = largest
    target = deep_gradient(sizes, samples)
    name = f"goto epoch 99; goto {target}"
    runs, problem = repeated(bpstep("replay", str(path), "-c", f"goto epoch 99; goto {target}"), repeat, timeout)
    if problem:
        report.failed(name, goal, problem)
        return
    problem = unexpected(runs, "e99 forward #0 ", "e99 backward #")
    if problem:
        report.failed(name, goal, problem)
        return
    mb = statistics.median(r.maxrss_kib for r in runs) * 1024 / 1e6
    report.add(name, f"{mb:.0f} MB", goal, mb <= MEMORY_GOAL_MB,
               f"{label}; {_runs([r.seconds for r in runs])}")


def child_results(mode, args, repeat, timeout):
    """``repeat`` runs of an in-process measuring child (after none untimed: each child measures
    after its own warm-up); each prints one JSON object."""
    results = []
    for _ in range(repeat):
        outcome = run(child(mode, *args), timeout)
        if outcome.problem():
            return results, outcome.problem()
        results.append(json.loads(outcome.out.strip().splitlines()[-1]))
    return results, None


def measure_commands(report, largest, repeat, timeout):
    print(f"4. commands within epoch 1 of {largest[0]}, in-process (Session.execute)", flush=True)
    results, problem = child_results("session", [largest[1]], repeat, timeout)
    goal = f"≤ {COMMAND_GOAL_MS:g} ms"
    if problem:
        for command in ("step", "next", "goto ID@n"):
            report.failed(f"{command} (median of {COMMANDS})", goal, problem)
        return
    print(f"     load + Session + goto epoch 1: {statistics.median(r['setup'] for r in results):.2f} s", flush=True)
    for command in ("step", "next", "goto ID@n"):
        ms = statistics.median(r[command] for r in results) * 1000
        worst = max(r[command + " max"] for r in results) * 1000
        report.add(f"{command} (median of {COMMANDS})", f"{ms:.2f} ms", goal, ms <= COMMAND_GOAL_MS,
                   f"slowest {worst:.1f} ms")


def measure_continue(report, mid, repeat, timeout):
    label, path, sizes, samples = mid
    command = never_hit(sizes, samples)
    print(f"5. continue to '{command}' over 10 epochs of {label}, in-process", flush=True)
    results, problem = child_results("continue", [path, command], repeat, timeout)
    name, goal = "continue / goto epoch 10", f"≤ {CONTINUE_RATIO_GOAL:g}×"
    if problem:
        report.failed(name, goal, problem)
        return
    cont = statistics.median(r["continue"] for r in results)
    ff = statistics.median(r["goto"] for r in results)
    ratio = cont / ff
    report.add(name, f"{ratio:.2f}×", goal, ratio <= CONTINUE_RATIO_GOAL,
               f"continue {cont:.3f} s, goto epoch 10 {ff:.3f} s")


def measure_tui(report, largest, repeat, timeout):
    largest_label, largest = largest[0], largest[1]
    print(f"6. the TUI on {largest_label}", flush=True)
    name, goal = "TUI: process start to first frame", f"≤ {FIRST_FRAME_GOAL_S} s"
    times, problem = [], None
    for i in range(repeat + 1):
        seconds, problem = first_frame(largest, timeout)
        if problem:
            break
        if i:
            times.append(seconds)
    if problem:
        report.failed(name, goal, problem)
    else:
        median = statistics.median(times)
        report.add(name, f"{median:.3f} s", goal, median <= FIRST_FRAME_GOAL_S, _runs(times))
    results, problem = child_results("tui-keys", [largest], repeat, timeout)
    goal = f"≤ {KEY_GOAL_MS:g} ms"
    for key in ("s", "n", "N"):
        name = f"TUI: key {key} to frame (median of {KEYS})"
        if problem:
            report.failed(name, goal, problem)
            continue
        ms = statistics.median(r[key] for r in results) * 1000
        worst = max(r[key + " max"] for r in results) * 1000
        report.add(name, f"{ms:.1f} ms", goal, ms <= KEY_GOAL_MS, f"slowest {worst:.1f} ms")


def first_frame(path, timeout) -> tuple[float, str | None]:
    """``bpstep open FILE`` in a pseudo-terminal (120×40) until its first frame."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    with tempfile.TemporaryDirectory() as tmp:
        stamp = Path(tmp) / "frame"
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = dict(ENV, BPSTEP_BENCH_FRAME_FILE=str(stamp), TERM="xterm-256color")
        started = time.time()
        proc = subprocess.Popen(child("tui-first", path), stdin=slave, stdout=slave, stderr=slave, env=env,
                                cwd=ROOT, close_fds=True, start_new_session=True)
        os.close(slave)
        deadline = time.monotonic() + timeout
        tail = b""
        # drain the terminal (the app must never block on it) until the frame is stamped; then the
        # app is stopped, whatever it is still doing (a cross-check loading in the background)
        while proc.poll() is None and not stamp.exists() and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.01)
            if ready:
                try:
                    tail = (tail + os.read(master, 65536))[-2000:]
                except OSError:
                    break
        framed = stamp.exists() and stamp.read_text().strip()
        if proc.poll() is None:
            _kill(proc.pid)
        proc.wait()
        os.close(master)
        if framed:
            return float(framed.split()[0]) - started, None
        if time.monotonic() >= deadline:
            return 0.0, "timed out"
        if proc.returncode != 0 or not stamp.exists():
            text = tail.decode("utf-8", "replace").strip().splitlines()
            return 0.0, f"failed (exit {proc.returncode}): {(text or ['no output'])[-1][:160]}"
        return float(stamp.read_text().split()[0]) - started, None


# --- the children: in-process measures -------------------------------------------------------------


def child_session(path):
    from bpstep import scenario
    from bpstep.session import Session

    started = time.perf_counter()
    s = Session(scenario.load(path))
    s.execute("goto epoch 1")
    setup = time.perf_counter() - started
    result = {"setup": setup}

    def timed(commands):
        times = []
        for command in commands:
            t = time.perf_counter()
            s.execute(command)
            times.append(time.perf_counter() - t)
        return statistics.median(times), max(times)

    result["step"], result["step max"] = timed(["step"] * COMMANDS)
    result["next"], result["next max"] = timed(["next"] * COMMANDS)
    sizes = s.scenario.sizes
    n = s.scenario.samples
    targets = []
    for k in range(COMMANDS):  # ids of every kind, all over the epoch, each in a later layer and sample
        l = 1 + k % (len(sizes) - 1)
        j, i, sample = 1 + (37 * k) % sizes[l], 1 + (101 * k) % sizes[l - 1], 1 + (13 * k) % n
        targets.append(["z[{l},{j}]@{n}", "a[{l},{j}]@{n}", "dE/dz[{l},{j}]@{n}", "dE/dW[{l},{j},{i}]@{n}",
                        "dE/dW[{l},{j},{i}]", "W+[{l},{j},{i}]"][k % 6].format(l=l, j=j, i=i, n=sample))
    result["goto ID@n"], result["goto ID@n max"] = timed([f"goto {t}" for t in targets])
    print(json.dumps(result))


def child_continue(path, command):
    from bpstep import scenario
    from bpstep.session import Session

    sc = scenario.load(path).with_epochs(10)
    warm = Session(sc.with_epochs(2))  # first-time costs (imports, caches) on neither side
    warm.execute("goto epoch 2"), warm.execute("restart"), warm.execute(command), warm.execute("continue")
    ff = Session(sc)
    t = time.perf_counter()
    ff.execute("goto epoch 10")
    goto = time.perf_counter() - t
    s = Session(sc)
    s.execute(command)
    t = time.perf_counter()
    s.execute("continue")
    cont = time.perf_counter() - t
    assert s.position[0] == 10, s.position  # never hit: the end of the run
    print(json.dumps({"goto": goto, "continue": cont}))


def child_tui_first(path):
    import tui

    tui.child(["open", path])


def child_tui_keys(path):
    import asyncio

    import tui
    from textual import events

    from bpstep import scenario

    async def measure():
        app = tui.timed_app(scenario.load(path), crosscheck=False)
        result = {}
        async with app.run_test(size=(120, 40)) as pilot:
            app.run_command("goto epoch 1")
            await app.workers.wait_for_complete()
            await pilot.pause()
            for key in ("s", "n", "N"):
                times = []
                for _ in range(KEYS):
                    seen = app.frames
                    started = time.perf_counter()
                    app.post_message(events.Key(key, key))
                    await tui.next_frame(app, seen, timeout=60.0)
                    times.append(time.perf_counter() - started)
                    await pilot.pause()
                result[key], result[key + " max"] = statistics.median(times), max(times)
        return result

    print(json.dumps(asyncio.run(measure())))


CHILDREN = {"session": child_session, "continue": child_continue, "tui-first": child_tui_first,
            "tui-keys": child_tui_keys}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each measure (default 3)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed to each child process (default 300)")
    ap.add_argument("--small", action="store_true",
                    help="the same measures on small networks, to check the bench itself (not the goals)")
    args = ap.parse_args()
    if args.repeat < 1 or args.timeout <= 0:
        ap.error("--repeat and --timeout must be positive")

    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bpstep-scale-") as tmp:
        nets = []
        for label, builtin, sizes, samples in SMALL_NETWORKS if args.small else NETWORKS:
            nets.append((label, builtin or write_scenario(Path(tmp), sizes, samples), sizes, samples))
        mid, largest = nets[-2], nets[-1]
        print(f"bench/scale.py: median of {args.repeat} runs, at most {args.timeout:g} s per child process "
              f"(scenarios in {tmp})", flush=True)
        if args.small:
            print("--small: small networks, to check the bench itself; the verdicts say nothing about the goals")
        measure_startup(report, {net[0]: net[1] for net in nets}, args.repeat, args.timeout)
        mid_memory = measure_goto(report, mid, args.repeat, args.timeout)
        measure_memory(report, mid, mid_memory, largest, args.repeat, args.timeout)
        measure_commands(report, largest, args.repeat, args.timeout)
        measure_continue(report, mid, args.repeat, args.timeout)
        measure_tui(report, largest, args.repeat, args.timeout)
    passed = sum(report.rows)
    print(f"{passed} of {len(report.rows)} goals met ({time.perf_counter() - started:.0f} s): "
          f"{'PASS' if report.all_passed else 'FAIL'}", flush=True)
    return 0 if report.all_passed else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.path.insert(0, str(ROOT))
        CHILDREN[sys.argv[2]](*sys.argv[3:])
    else:
        sys.exit(main())
