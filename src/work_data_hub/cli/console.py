"""The console a command prints to: Rich on a terminal, plain text otherwise."""

from __future__ import annotations

import os
import shutil
import sys

from rich.console import Console

__all__ = ["make_console"]


def make_console(*, plain: bool = False, stderr: bool = False) -> Console:
    """Return a console; ``plain`` (or output that is not a terminal) drops colour,
    links and animation but keeps the same text.

    >>> make_console(plain=True).is_terminal
    False
    """
    stream = sys.stderr if stderr else sys.stdout
    # FORCE_COLOR, the common convention, asks for terminal output in a pipe.
    if plain or not (stream.isatty() or os.environ.get("FORCE_COLOR")):
        return Console(
            file=stream,
            force_terminal=False,
            color_system=None,
            width=shutil.get_terminal_size((80, 24)).columns,  # $COLUMNS, else 80
            highlight=False,
            emoji=False,
        )
    return Console(file=stream, highlight=False, force_terminal=True)
