"""What the commands share: the console, stderr lines, JSON records, log warnings."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO, cast

from rich.console import Console
from rich.text import Text

from work_data_hub.errors import FailureLogWarning

if TYPE_CHECKING:  # pandas is for the commands that read logs, not for --help
    import pandas as pd

__all__ = ["PLAIN_WIDTH", "json_records", "log_warnings", "make_console", "print_log_link", "say"]


#: The width of a plain console: no line of text or table is ever wrapped at it.
PLAIN_WIDTH: Final = 1_000_000


class _TrimmedLines(io.TextIOBase):
    """A text stream that passes text on without the spaces that end its lines
    (padding, for a reader of plain text, is noise that breaks grep and diff)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._held = ""  # spaces at the end of the last write: padding if a line break follows

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        joined = self._held + text
        body = joined.rstrip(" ")
        self._held = joined[len(body) :]
        self._stream.write(_LINE_END_SPACES.sub("", body))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


_LINE_END_SPACES = re.compile(r" +(?=\n)")


def make_console(*, plain: bool = False, stderr: bool = False) -> Console:
    """Return a console for stdout (or stderr).

    On a terminal: Rich, as wide as the terminal. With ``plain`` or output that
    is not a terminal (a pipe, a file): the same text without colour, links or
    animation, never wrapped or cut whatever ``$COLUMNS`` says, and no line
    ending in spaces; the views print one row per line (``analysis.views``).

    >>> console = make_console(plain=True)
    >>> console.is_terminal, console.width
    (False, 1000000)
    """
    stream = (sys.stderr if stderr else sys.stdout) or io.StringIO()  # (None: started closed)
    # FORCE_COLOR, the common convention, asks for terminal output in a pipe.
    if plain or not (stream.isatty() or os.environ.get("FORCE_COLOR")):
        return Console(
            file=cast(TextIO, _TrimmedLines(stream)),
            force_terminal=False,
            color_system=None,
            width=PLAIN_WIDTH,
            soft_wrap=True,
            highlight=False,
            emoji=False,
        )
    return Console(file=stream, highlight=False, force_terminal=True)


def say(message: str) -> None:
    """Write ``message`` to stderr as one line: scripts and people grep for it."""
    if sys.stderr is not None:  # (None: started with stderr closed)
        sys.stderr.write(" ".join(message.split()) + "\n")


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as JSON-ready dicts (ISO dates, non-ASCII kept).

    >>> import pandas as pd
    >>> json_records(pd.DataFrame({"a": [1], "b": ["中"]}))
    [{'a': 1, 'b': '中'}]
    """
    records: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", force_ascii=False)
    )
    return records


@contextmanager
def log_warnings(command: str) -> Iterator[list[str]]:
    """Collect the ``FailureLogWarning`` messages (torn tails) raised inside the block,
    for ``command`` to say in its own lines. A worker process forked inside the block
    says its own at once, one line each (``<command>: warning: ...``); other warnings
    are shown as usual.
    """
    messages: list[str] = []
    parent = os.getpid()
    with warnings.catch_warnings():
        warnings.simplefilter("always", FailureLogWarning)
        shown = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if not issubclass(category, FailureLogWarning):
                shown(message, category, filename, lineno, file, line)
            elif os.getpid() == parent:
                messages.append(str(message))
            else:
                say(f"{command}: warning: {message}")

        warnings.showwarning = show
        yield messages


def print_log_link(out: Console, label: str, log: Path) -> None:
    """Print ``label`` and the log's absolute path, a clickable link on a terminal."""
    path = log.resolve()
    out.print(Text.assemble(label, (str(path), f"link {path.as_uri()}")))
