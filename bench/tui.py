"""How quick the TUI is, measured in one run (``python3 bench/tui.py``):

1. process start to the first frame of ``bpstep`` in a pseudo-terminal (goal ≤ 0.6 s), and
   whether torch was imported by then (it must not be); then ``q`` typed at the first frame to
   the process's end (goal ≤ 0.3 s), while the cross-check is still loading torch;
2. key to frame for ``s`` in XOR's backward pass, median of many (goal ≤ 20 ms), with the
   cross-check off and, where torch is installed, ready;
3. ``goto epoch 10000`` in a fresh XOR session to its frame (goal ≤ 1 s), next to the bare
   ``Session.execute`` of the same command, so the ratio shows what the TUI adds.

A frame is counted where Textual hands the screen's update to the terminal (``App._display``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAME_FILE = "BPSTEP_BENCH_FRAME_FILE"
STAY = "BPSTEP_BENCH_STAY"


def child(argv=()) -> None:
    """``bpstep ARGV`` itself, stopping at its first frame (going on, with ``BPSTEP_BENCH_STAY``,
    until it is quit) and saying when that was (and whether torch was imported by then), in a
    file written whole for a parent that polls for it."""
    sys.path.insert(0, str(ROOT))
    from bpstep import cli
    from bpstep.tui.app import BpstepApp

    display = BpstepApp._display

    def first_frame(self, screen, renderable):
        display(self, screen, renderable)
        if renderable is not None and not getattr(self, "_bench_done", False):
            self._bench_done = True
            stamp = Path(os.environ[FRAME_FILE])
            partial = stamp.with_suffix(".partial")
            partial.write_text(f"{time.time()} {'torch' in sys.modules}")
            partial.rename(stamp)
            if not os.environ.get(STAY):
                self.exit(0)

    BpstepApp._display = first_frame
    sys.exit(cli.program(list(argv)))


def first_frame(tmp: Path, quit_after: bool = False) -> tuple[float, bool, float | None]:
    """Process start to the first frame, whether torch was imported by then, and (``quit_after``)
    the time from ``q`` typed at the first frame to the process's end."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    out = tmp / "frame"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    # byte code cached as a user's installed copy has it (the first run writes it)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({FRAME_FILE: str(out), "TERM": "xterm-256color", **({STAY: "1"} if quit_after else {})})
    started = time.time()
    proc = subprocess.Popen([sys.executable, __file__, "--child"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    quit_at = None
    while proc.poll() is None:  # drain the terminal so the app never blocks on it
        if quit_after and quit_at is None and out.exists():
            time.sleep(0.2)  # the app settles after its first frame (the cross-check starts loading)
            quit_at = time.perf_counter()
            os.write(master, b"q")
        if select.select([master], [], [], 0.01)[0]:
            try:
                os.read(master, 65536)
            except OSError:
                break
    proc.wait()
    ended = time.perf_counter()
    os.close(master)
    stamp, torch = out.read_text().split()
    return float(stamp) - started, torch == "True", None if quit_at is None else ended - quit_at


def timed_app(scenario, crosscheck: bool):
    from bpstep.tui.app import BpstepApp

    class Timed(BpstepApp):
        frames = 0

        def _display(self, screen, renderable):
            super()._display(screen, renderable)
            if renderable is not None:
                self.frames += 1

    return Timed(scenario, crosscheck=crosscheck)


async def next_frame(app, seen: int, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while app.frames <= seen:
        if time.perf_counter() > deadline:
            raise TimeoutError("no frame")
        await asyncio.sleep(0)


async def key_to_frame(scenario, crosscheck: bool, keys: int = 60) -> list[float]:
    from textual import events

    app = timed_app(scenario, crosscheck)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()  # the cross-check ready, when asked for
        app.run_command("goto epoch 5000")
        await app.workers.wait_for_complete()
        app.run_command("goto epoch 5000 phase backward")
        await pilot.pause()
        times = []
        for _ in range(keys):
            seen = app.frames
            started = time.perf_counter()
            app.post_message(events.Key("s", "s"))
            await next_frame(app, seen)
            times.append(time.perf_counter() - started)
            await pilot.pause()
        assert app.session.current.phase == "backward"
        return times


async def goto_far(scenario) -> float:
    app = timed_app(scenario, False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        seen = app.frames
        started = time.perf_counter()
        app.run_command("goto epoch 10000")
        while app.busy:
            await asyncio.sleep(0.001)
        await next_frame(app, seen)
        elapsed = time.perf_counter() - started
        assert app.session.position == (10000, 0)
        return elapsed


def main() -> None:
    import tempfile

    sys.path.insert(0, str(ROOT))
    from bpstep import scenario
    from bpstep.session import Session

    with tempfile.TemporaryDirectory() as tmp:
        start, torch_then, _ = first_frame(Path(tmp))
    print(f"process start to first frame   {start * 1000:7.0f} ms   goal ≤ 600 ms   ({start / 0.6:.2f} of the goal); "
          f"torch imported by then: {'yes (WRONG)' if torch_then else 'no'}")
    with tempfile.TemporaryDirectory() as tmp:
        quitting = first_frame(Path(tmp), quit_after=True)[2]
    print(f"q to the process's end         {quitting * 1000:7.0f} ms   goal ≤ 300 ms   ({quitting / 0.3:.2f} of the goal)")

    xor = scenario.load("xor")
    for crosscheck in (False, True):
        if crosscheck:
            try:
                import bpstep.crosscheck  # noqa: F401  (only to know whether there is one)
                import torch  # noqa: F401
            except ImportError:
                print("key to frame, torch ready        skipped: no torch here")
                continue
        times = asyncio.run(key_to_frame(xor, crosscheck))
        median = statistics.median(times)
        label = "torch ready" if crosscheck else "torch off  "
        print(f"key to frame (s, XOR backward, {label}) median {median * 1000:6.1f} ms   goal ≤ 20 ms   "
              f"({median / 0.02:.2f} of the goal; max {max(times) * 1000:.1f} ms over {len(times)} keys)")

    bare_started = time.perf_counter()
    Session(xor).execute("goto epoch 10000")
    bare = time.perf_counter() - bare_started
    tui = asyncio.run(goto_far(xor))
    print(f"goto epoch 10000 (XOR) to frame {tui * 1000:6.0f} ms   goal ≤ 1000 ms   ({tui:.2f} of the goal); "
          f"the session alone {bare * 1000:.0f} ms, so the TUI adds ×{tui / bare:.2f}")


if __name__ == "__main__":
    child(sys.argv[2:]) if sys.argv[1:2] == ["--child"] else main()
