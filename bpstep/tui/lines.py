"""The panels' common base: a panel is a list of Rich Texts, one a line, drawn with Textual's
line API. A step redraws every panel, so this path matters: it skips turning one big text into
Textual's content and back, which cost most of a frame."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget


class LinesPanel(Widget):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._drawn = None  # (content size, lines) as last drawn

    def lines(self) -> list[Text]:
        """The panel's lines for its ``content_size``."""
        raise NotImplementedError

    def redraw(self, layout: bool = False) -> None:
        self._drawn = None
        self.refresh(layout=layout)

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
        return Strip(Segment.apply_style(lines[y].render(self.app.console), base))

    def plain(self) -> str:
        """The panel's text (for tests)."""
        return "\n".join(line.plain for line in self.drawn())
