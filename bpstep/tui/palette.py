"""The command palette (ctrl+p): the built-in scenarios, the worked example, the views, goto
targets and the commands, then Textual's own (theme, keys, screenshot, quit) last; what is
typed and parses as a command can be run directly, and a path ending in .toml opened.

Textual lists the hits of several providers in the order they arrive, so its own entries come
from this provider too (the app's COMMANDS holds only this one): ours first."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from bpstep import scenario as scenarios
from bpstep.commands import COMMANDS, CommandError, parse, parse_ref


class BpstepCommands(Provider):
    def _entries(self):
        """``(text, callback, help)`` of everything offered."""
        app = self.app
        for name in scenarios.builtin_names():
            yield f"open {name}", partial(app.open_scenario, name), "open a built-in scenario"
        frame = app.frame
        yield ("export worked example (Markdown)", partial(app.prompt, f"export {app.export_name()}"),
               f"epoch {min(frame.epoch, frame.epochs - 1)} as a Markdown file, formulas and numbers")
        other = "scalar" if frame.layered else "layer"
        yield (f"view {other}", partial(app.run_command, f"view {other}"),
               "one step per scalar value" if frame.layered else "one step per matrix operation of a layer")
        for _, _, phase in frame.layout.phase_runs(frame.evaluate):
            text = f"goto epoch {frame.epoch} phase {phase}"
            yield text, partial(app.run_command, text), f"the first step of the {phase} phase"
        for text, why in ((f"goto epoch {frame.epochs}", "the evaluate phase: the final weights"),
                          ("goto epoch 0", "the first epoch"), ("restart", "epoch 0, step 0"),
                          ("breaks", "list the breakpoints"), ("where", "the current step"),
                          ("reset", "undo every what-if edit")):
            yield text, partial(app.run_command, text), why
        for name, (_, usage) in COMMANDS.items():
            yield f"{name} …", partial(app.prompt, f"{name} "), usage
        for command in app.get_system_commands(self.screen):
            yield command.title, command.callback, command.help

    async def discover(self) -> Hits:
        for text, callback, why in self._entries():
            yield DiscoveryHit(text, callback, help=why)

    def _quantity(self, query: str) -> list:
        """``goto`` and ``print`` of a quantity typed as an id or as a name shown on screen
        (W5, ∂E/∂W5, dE/dW5, z¹₁), saying which id the name is."""
        session = self.app.session
        try:
            ref = session.read_name(parse_ref(query))
            session.check_ref(ref)
        except CommandError:
            return []
        same = "" if str(ref) == query else f"{query} = {ref}: "
        return [(f"goto {query}", f"{same}go to its step"), (f"print {query}", f"{same}show its value")]

    async def search(self, query: str) -> Hits:
        query = query.strip()
        if query.endswith(".toml"):
            yield Hit(1.0, f"open {query}", partial(self.app.open_scenario, query), help="open a scenario file")
        else:
            try:
                parse(query)
            except CommandError:
                pass
            else:
                yield Hit(1.0, f"run: {query}", partial(self.app.run_command, query), help="run this command")
            for text, why in self._quantity(query):
                yield Hit(1.0, text, partial(self.app.run_command, text), help=why)
        matcher = self.matcher(query)
        for text, callback, why in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, text=text, help=why)
