"""``bpstep serve``: the TUI in a browser, through textual-serve — one ``bpstep open`` process
per visitor, its terminal drawn by xterm.js in the page."""

from __future__ import annotations

import shlex
import socket
import sys

from textual_serve.server import Server


class _Server(Server):
    """textual-serve writes its own address into the page for the browser to connect back to.
    Bound to every interface (a classroom), that address would be ``0.0.0.0``; instead each page
    points back at the address its visitor typed, unless ``--public-url`` says otherwise."""

    def __init__(self, *args, follow_request: bool, **kw):
        super().__init__(*args, **kw)
        self.follow_request = follow_request

    async def handle_index(self, request):
        if self.follow_request:
            self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def on_startup(self, app) -> None:
        """Quiet: ``serve`` has said where it listens (textual-serve's banner would name
        ``0.0.0.0`` and the command line of the app)."""


def serve(spec: str, title: str, host: str, port: int, device: str, public_url: str | None, out) -> None:
    """Serve ``bpstep open SPEC`` at ``host:port`` until Ctrl+C; ``OSError`` if it cannot listen."""
    # bind once here, so a port in use is one line before anything is said to be served
    with socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET):
        pass
    command = shlex.join([sys.executable, "-m", "bpstep", "open", spec, "--device", device])
    server = _Server(command, host=host, port=port, title=f"bpstep · {title}", public_url=public_url,
                     follow_request=public_url is None)
    every = host in ("0.0.0.0", "::")
    shown = public_url or f"http://{'127.0.0.1' if every else host}:{port}"
    out.write(f"bpstep: serving {title} at {shown}" + (" (and this machine's other addresses)" if every else "")
              + " — one app per browser tab; Ctrl+C stops\n")
    out.flush()
    server.serve()
