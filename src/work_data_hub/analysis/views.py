"""Thin views over analysis frames: Rich in the terminal, HTML in Jupyter.

The views hold the DataFrame they show and nothing else, so the terminal,
the notebook and ``--json`` all present the same data.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd
from rich import box
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

from work_data_hub.infrastructure.validation import expand_raw_data

__all__ = ["SHORT_HEADERS", "FailureCards", "FrameView", "cell_text", "visible_controls"]

#: Short terminal headers for the error-type count columns (80-column screens).
SHORT_HEADERS = {
    "VALIDATION_FAILED": "invalid",
    "DROPPED_IN_PIPELINE": "dropped",
    "ENRICHMENT_FAILED": "enrich",
    "FK_CONSTRAINT_VIOLATION": "fk",
}


# C0 controls but tab and line feed, DEL, C1 controls: ESC and CSI start terminal
# sequences (a value could set a live link or rewrite the screen), CR overwrites
# the line, and Excel refuses most of them in a cell.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible_controls(text: str) -> str:
    r"""``text`` with control characters shown as ``\xNN`` escapes, inert anywhere.

    >>> visible_controls("a\x1b]8;;http://x\x07b\tc")
    'a\\x1b]8;;http://x\\x07b\tc'
    """
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def cell_text(value: object) -> str:
    """Text of one cell: missing values are empty, everything else ``str``, control
    characters shown (``visible_controls``)."""
    if value is None or (not isinstance(value, list | dict) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return ""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)
    return visible_controls(text)


@dataclass(frozen=True)
class FrameView:
    """A DataFrame as a table: Rich for the terminal, HTML for Jupyter."""

    frame: pd.DataFrame
    title: str = ""

    def _flat(self) -> pd.DataFrame:
        named = any(name is not None for name in self.frame.index.names)
        return self.frame.reset_index() if named else self.frame

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Table]:
        flat = self._flat()
        headers = {name: SHORT_HEADERS.get(str(name), cell_text(name)) for name in flat.columns}
        title = Text(visible_controls(self.title)) if self.title else None
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        for position, name in enumerate(flat.columns):
            numeric = pd.api.types.is_numeric_dtype(flat[name])
            table.add_column(
                Text(headers[name]),
                justify="right" if numeric else "left",
                overflow="fold",
                # the first column names the row (a session id, a domain): keep it whole
                no_wrap=position == 0,
            )
        for row in flat.itertuples(index=False):
            table.add_row(*(Text(cell_text(value)) for value in row))
        yield table

    def _repr_html_(self) -> str:
        heading = f"<h4>{html.escape(self.title)}</h4>" if self.title else ""
        return heading + self._flat().to_html(index=False, na_rep="", escape=True)


@dataclass(frozen=True)
class FailureCards:
    """Failed rows one card each: where it failed, then the source row as read.

    Readable at 80 columns however wide the source row was. A ``status``
    column (from ``diff_sessions``) leads each card's title.
    """

    failures: pd.DataFrame
    expanded: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "expanded", expand_raw_data(self.failures))

    def _title(self, row: pd.Series) -> str:
        status = f"{row['status']} · " if "status" in row.index else ""
        return visible_controls(
            f"{status}{row['domain']} · {row['source_file']} · "
            f"row {cell_text(row['row_index'])} · {row['error_type']}"
        )

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        if self.failures.empty:
            yield Text("no failed rows")
            return
        for position, (_, row) in enumerate(self.failures.iterrows()):
            card = Table(show_header=False, box=box.SIMPLE, pad_edge=False)
            card.add_column("column", style="cyan", overflow="fold")
            card.add_column("value", overflow="fold")
            for name, value in self.expanded.iloc[position].items():
                card.add_row(Text(cell_text(name)), Text(cell_text(value)))
            yield Text(self._title(row), style="bold")
            yield card

    def _repr_html_(self) -> str:
        parts = []
        for position, (_, row) in enumerate(self.failures.iterrows()):
            cells = "".join(
                f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(cell_text(value))}</td></tr>"
                for name, value in self.expanded.iloc[position].items()
            )
            parts.append(f"<h4>{html.escape(self._title(row))}</h4><table>{cells}</table>")
        return "".join(parts) or "<p>no failed rows</p>"
