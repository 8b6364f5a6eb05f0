"""What the commands share: the console, stderr lines, JSON records, log warnings."""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.text import Text

from work_data_hub.errors import FailureLogWarning

__all__ = ["json_records", "log_warnings", "make_console", "print_log_link", "say"]


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


def say(message: str) -> None:
    """Write ``message`` to stderr as one line: scripts and people grep for it."""
    sys.stderr.write(" ".join(message.split()) + "\n")


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as JSON-ready dicts (ISO dates, non-ASCII kept).

    >>> json_records(pd.DataFrame({"a": [1], "b": ["中"]}))
    [{'a': 1, 'b': '中'}]
    """
    records: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", force_ascii=False)
    )
    return records


@contextmanager
def log_warnings() -> Iterator[list[str]]:
    """Collect the ``FailureLogWarning`` messages (torn tails) raised inside the block."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FailureLogWarning)
        try:
            yield messages
        finally:
            messages += [
                str(w.message) for w in caught if issubclass(w.category, FailureLogWarning)
            ]


def print_log_link(out: Console, label: str, log: Path) -> None:
    """Print ``label`` and the log's absolute path, a clickable link on a terminal."""
    path = log.resolve()
    out.print(Text.assemble(label, (str(path), f"link {path.as_uri()}")))
