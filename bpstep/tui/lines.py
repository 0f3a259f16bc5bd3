"""The panels' common base: a panel is a list of Rich Texts, one a line, drawn with Textual's
line API. A step redraws every panel, so this path matters: it skips turning one big text into
Textual's content and back, and it keeps the strips of lines it has drawn before (a step moves
the tape and the values by a row and changes a few cells of the network), which together
halve the time from a key to its frame.

The app pushes what a panel shows down to it (attributes down): ``frame``, the
:class:`bpstep.tui.frame.Frame` taken after each command, whose watcher redraws the panel."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget


class LinesPanel(Widget):
    STRIPS_KEPT = 512  # strips of the lines drawn most recently; older ones are dropped
    # pushed again (and redrawn) when the same frame has news: the cross-check got ready
    frame = reactive(None, repaint=False, always_update=True)

    def __init__(self, frame=None, **kwargs):
        super().__init__(**kwargs)
        self.set_reactive(LinesPanel.frame, frame)  # the first screen's, drawn without a watcher
        self._drawn = None  # (content size, lines) as last drawn
        self._strips: LRUCache = LRUCache(self.STRIPS_KEPT)  # (base style, text, spans, style) → Strip

    def lines(self) -> list[Text]:
        """The panel's lines for its ``content_size``."""
        raise NotImplementedError

    def watch_frame(self) -> None:
        self.redraw()

    def redraw(self, layout: bool = False) -> None:
        """Draw the lines again and repaint those that changed (a step changes a row or two of
        the tape and the values, a few of the network), or, with ``layout``, the whole panel
        after the screen's layout: Textual composes every repainted row again, borders, colours
        and all, and that costs more than drawing our lines."""
        before, self._drawn = self._drawn, None
        if layout or before is None or not self.is_mounted or before[0] != self.content_size:
            self.refresh(layout=layout)
            return
        old, new = before[1], self.drawn()
        width = self.content_size.width
        changed = [Region(0, y, width, 1) for y in range(max(len(old), len(new)))
                   if y >= len(old) or y >= len(new) or _key(old[y]) != _key(new[y])]
        if changed:
            self.refresh(*changed)

    def drawn(self) -> list[Text]:
        size = self.content_size
        if self._drawn is None or self._drawn[0] != size:
            self._drawn = (size, self.lines())
        return self._drawn[1]

    def render_line(self, y: int) -> Strip:
        lines = self.drawn()
        base = self.visual_style.rich_style
        if y >= len(lines):
            return Strip.blank(self.content_size.width, base)
        return self.strip(lines[y], base)

    def strip(self, line: Text, base=None) -> Strip:
        """The strip of a line, kept by what it is made of (wherever the line is drawn)."""
        base = self.visual_style.rich_style if base is None else base
        key = (base, *_key(line))
        strip = self._strips.get(key)
        if strip is None:
            strip = Strip(Segment.apply_style(line.render(self.app.console), base))
            self._strips.set(key, strip)
        return strip

    def plain(self) -> str:
        """The panel's text (for tests)."""
        return "\n".join(line.plain for line in self.drawn())


def _key(line: Text) -> tuple:
    """What a line's strip is made from, besides the panel's base style."""
    return line.plain, tuple(line.spans), line.style


class CheckedPanel(LinesPanel):
    """A panel that shows torch's side too: the app pushes its cross-check down as well."""
    crosscheck = reactive(None, repaint=False)  # the app's CrossCheck, pushed before the frame

    def __init__(self, frame=None, crosscheck=None, **kwargs):
        super().__init__(frame=frame, **kwargs)
        self.set_reactive(CheckedPanel.crosscheck, crosscheck)
