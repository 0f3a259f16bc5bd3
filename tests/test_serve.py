"""``bpstep serve``: the TUI reaches a real browser (headless Chromium) and answers its keys.

The page draws the terminal on a canvas, so the test reads what the browser was sent over the
websocket back into a screen of text (pyte, a terminal emulator) at the size the browser asked for.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
# without these Chromium keeps trying to reach hosts this machine cannot
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _browser_or_skip():
    """.ci/run installs Chromium and Playwright and sets BPSTEP_BROWSER_TEST=required: there a
    missing browser fails the test instead of skipping it."""
    import importlib.util

    missing = [] if shutil.which(CHROMIUM) else ["chromium"]
    missing += [name for name in ("playwright", "pyte") if importlib.util.find_spec(name) is None]
    if missing:
        if os.environ.get("BPSTEP_BROWSER_TEST") == "required":
            pytest.fail(f"the browser test needs {', '.join(missing)}")
        pytest.skip(f"no {', '.join(missing)} here")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(request):
    """``bpstep serve worked-222 [ARGS]`` on a free port: (process, the URL it printed)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bpstep", "serve", "worked-222", "--port", str(port),
                             *getattr(request, "param", ())],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("bpstep: serving worked-222 at "), (line, proc.stderr.read() if proc.poll() else "")
        url = line.split(" at ")[1].split()[0]
        assert url == f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the server never listened"
                time.sleep(0.05)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class BrowserTerminal:
    """The screen the page was sent, as rows of text."""

    def __init__(self, page):
        import pyte

        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        page.on("websocket", self._watch)

    def _watch(self, ws):
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload):
        message = json.loads(payload)
        if message[0] == "resize":
            self.screen.resize(message[1]["height"], message[1]["width"])

    def _received(self, payload):
        if isinstance(payload, bytes):
            self.stream.feed(payload)

    def formula(self) -> str:
        """The first row of the formula panel: the row under its title."""
        rows = self.screen.display
        for k, row in enumerate(rows[:-1]):
            if "─ forward · " in row or "─ backward · " in row or "─ update · " in row:
                return rows[k + 1].strip("│ ")
        return ""


def test_serve_in_a_browser_steps_the_worked_example(served):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    proc, url = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            term = BrowserTerminal(page)
            page.goto(url)

            def shows(prefix: str) -> str:
                deadline = time.monotonic() + 30
                while not term.formula().startswith(prefix):
                    assert time.monotonic() < deadline, f"the page never showed {prefix!r}: {term.formula()!r}"
                    page.wait_for_timeout(50)
                return term.formula()

            first = shows("z1 =")
            assert first.replace(" ", "") == "z1=W1·x1+W2·x2"
            page.locator(".textual-terminal").click()
            for key, prefix in (("s", "z2 ="), ("s", "h1 ="), ("s", "h2 ="), ("S", "h1 =")):
                page.keyboard.press(key)
                shows(prefix)
            assert term.formula().replace(" ", "") == "h1=σ(z1)"
        finally:
            browser.close()
    assert proc.poll() is None, "the server stopped"


@pytest.mark.parametrize("served", [("--host", "0.0.0.0")], indirect=True)
def test_a_page_connects_back_to_the_address_its_visitor_typed(served):
    import urllib.request

    _, url = served
    for host in (url.removeprefix("http://"), "10.1.2.3:8000"):
        page = urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host}), timeout=20).read()
        assert f'data-session-websocket-url="ws://{host}/ws"'.encode() in page


def test_serve_refuses_a_port_in_use_in_one_line(run_cli):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, out, err = run_cli("serve", "xor", "--port", str(port))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"--port {port}: cannot listen there" in err


@pytest.mark.parametrize("args, expected", [
    (("nope",), "nope: no such file or built-in scenario"),
    (("--port", "0"), "expected a port number from 1 to 65535, got '0'"),
    (("--port", "８０"), "expected a port number from 1 to 65535"),
])
def test_serve_bad_input_is_one_line(run_cli, args, expected):
    code, out, err = run_cli("serve", *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and expected in err
