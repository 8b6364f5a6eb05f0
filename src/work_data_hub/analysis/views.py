"""Thin views over analysis frames: Rich in a terminal, plain text elsewhere, HTML in Jupyter.

The views hold the DataFrame they show and nothing else, so the terminal,
the notebook and ``--json`` all present the same data.

Plain text (a console that is not a terminal: a pipe, a file, ``--plain``;
and ``repr()`` in a Python REPL) is for grep, awk and copy-paste: one table
row (or card field) per line, every value whole and never wrapped, columns
aligned and separated by two spaces, numbers right-aligned, nothing after
the last value of a line; a line break or tab inside a value shows as
``\\x0a`` / ``\\x09``. In a terminal, tables fit the width: headers stay whole,
long texts wrap inside their column, and a table that cannot fit that way
shows each row as a card of ``header  value`` lines instead. Nothing is
ever cut.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Final

import pandas as pd
from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from work_data_hub.infrastructure.validation.raw_data import raw_objects

__all__ = ["SHORT_HEADERS", "FailureCards", "FrameView", "cell_text", "visible_controls"]

#: Short headers for the error-type count columns (80-column screens).
SHORT_HEADERS = {
    "VALIDATION_FAILED": "invalid",
    "DROPPED_IN_PIPELINE": "dropped",
    "ENRICHMENT_FAILED": "enrich",
    "FK_CONSTRAINT_VIOLATION": "fk",
}

#: How a card shows a field that is an empty text (``""``, as a CSV cell is
#: read) and one that is a missing value (``null``, as an empty workbook cell is).
EMPTY_TEXT: Final = '""'
MISSING_VALUE: Final = "(empty cell)"

# A terminal table's text column may be narrowed to this width (or its header's,
# or its longest word's) before the table gives way to cards.
_NARROWEST_TEXT: Final = 12
_SEPARATOR: Final = "  "

# C0 controls but tab and line feed, DEL, C1 controls: ESC and CSI start terminal
# sequences (a value could set a live link or rewrite the screen), CR overwrites
# the line, and Excel refuses most of them in a cell.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_CONTROLS = re.compile("[\t\n]")


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


def _one_line(text: str) -> str:
    # a plain line holds one row: its own line breaks and tabs become visible too
    return _LINE_CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _aligned(rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    """Plain lines: cells padded to their column's width (in terminal cells), joined by
    two spaces, nothing after a line's last value."""
    widths = [max((cell_len(row[i]) for row in rows), default=0) for i in range(len(right))]
    lines = []
    for row in rows:
        cells = []
        for cell, width, flush_right in zip(row, widths, right, strict=True):
            pad = " " * (width - cell_len(cell))
            cells.append(pad + cell if flush_right else cell + pad)
        lines.append(_SEPARATOR.join(cells).rstrip(" "))
    return lines


def _plain_segments(lines: list[str]) -> Iterator[Segment]:
    # segments, not Text: never wrapped (and not cropped by make_console's plain console)
    for line in lines:
        yield Segment(line)
        yield Segment.line()


def _card_table(fields: list[tuple[str, Text]]) -> Table:
    """One card in a terminal: names whole on the left, values wrapping on the right."""
    card = Table(show_header=False, box=box.SIMPLE, pad_edge=False)
    card.add_column("field", style="cyan", no_wrap=True)
    card.add_column("value", overflow="fold")
    for name, value in fields:
        card.add_row(Text(name), value)
    return card


@dataclass(frozen=True, repr=False)
class FrameView:
    """A DataFrame as a table: Rich in a terminal, plain text in a pipe or a REPL,
    HTML in Jupyter. A named index becomes the leading columns.

    >>> FrameView(pd.DataFrame({"file": ["2024-03.xlsx", "b.csv"], "rows": [7, 12]}), "demo")
    demo
    file          rows
    2024-03.xlsx     7
    b.csv           12
    """

    frame: pd.DataFrame
    title: str = ""

    def _flat(self) -> pd.DataFrame:
        named = any(name is not None for name in self.frame.index.names)
        return self.frame.reset_index() if named else self.frame

    def _columns(self) -> tuple[list[str], list[bool], list[list[str]]]:
        """Headers, which columns are numeric (right-aligned), and the cells' text."""
        flat = self._flat()
        headers = [SHORT_HEADERS.get(str(name), cell_text(name)) for name in flat.columns]
        numeric = [bool(pd.api.types.is_numeric_dtype(flat[name])) for name in flat.columns]
        rows = [[cell_text(value) for value in row] for row in flat.itertuples(index=False)]
        return headers, numeric, rows

    def plain_lines(self) -> list[str]:
        """The plain-text rendering, one line per title, header and row."""
        headers, numeric, rows = self._columns()
        table = [[_one_line(cell) for cell in row] for row in [headers, *rows]]
        title = [_one_line(visible_controls(self.title))] if self.title else []
        return title + (_aligned(table, numeric) if headers else [])

    def __repr__(self) -> str:
        return "\n".join(self.plain_lines())

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType | Segment]:
        if not console.is_terminal:
            yield from _plain_segments(self.plain_lines())
            return
        headers, numeric, rows = self._columns()
        widths = _fitted_widths(headers, numeric, rows, options.max_width)
        title = Text(visible_controls(self.title), style="bold") if self.title else None
        if widths is None:  # too narrow for a table with whole headers: a card per row
            if title is not None:
                yield title
            for row in rows:
                yield _card_table([(h, Text(v)) for h, v in zip(headers, row, strict=True)])
            return
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        for header, flush_right, width in zip(headers, numeric, widths, strict=True):
            table.add_column(
                Text(header),
                justify="right" if flush_right else "left",
                overflow="fold",
                width=width,
            )
        for row in rows:
            table.add_row(*(Text(value) for value in row))
        yield table

    def _repr_html_(self) -> str:
        heading = f"<h4>{html.escape(self.title)}</h4>" if self.title else ""
        return heading + self._flat().to_html(index=False, na_rep="", escape=True)


def _fitted_widths(
    headers: list[str], numeric: list[bool], rows: list[list[str]], max_width: int
) -> list[int] | None:
    """Column widths for a terminal table of ``max_width`` cells, or None if it cannot fit.

    Headers, numbers and the first column (it names the row) stay whole; text
    columns share what is left, the widest giving way first, down to their
    header, their longest word or ``_NARROWEST_TEXT`` cells, whichever is widest.

    >>> _fitted_widths(["id", "note"], [False, False], [["a1", "one two three four"]], 17)
    [2, 10]
    >>> _fitted_widths(["id", "note"], [False, False], [["a1", "one two three four"]], 11) is None
    True
    """
    count = len(headers)
    # SIMPLE_HEAD, no edge padding: an edge cell each side, a rule and two pads between columns
    room = max_width - (3 * count - 1)
    natural, floor = [], []
    for position, header in enumerate(headers):
        cells = [row[position] for row in rows]
        lines = [line for cell in cells for line in cell.split("\n")]
        longest = max((cell_len(line) for line in lines), default=0)
        natural.append(max(cell_len(header), longest, 1))
        if numeric[position] or position == 0:
            floor.append(natural[-1])
        else:
            word = max((cell_len(w) for line in lines for w in line.split()), default=0)
            floor.append(max(cell_len(header), min(word, _NARROWEST_TEXT, natural[-1])))
    if sum(floor) > room:
        return None

    def capped(cap: int) -> list[int]:
        return [min(n, max(f, cap)) for n, f in zip(natural, floor, strict=True)]

    low, high = 0, max(natural)  # the widest cap at which the table still fits
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if sum(capped(middle)) <= room else (low, middle - 1)
    return capped(low)


def _field_text(value: Any) -> str:
    if value is None:
        return MISSING_VALUE
    if value == "":
        return EMPTY_TEXT
    return cell_text(value)


@dataclass(frozen=True, repr=False)
class FailureCards:
    """Failed rows one card each: where it failed, then the source row as read.

    A card's title names the domain, the source file, the row as logged and
    as a spreadsheet shows it (``row 7 (sheet row 9)``: ``row_index`` + 2)
    and the error type, after the ``status`` when the frame has one (from
    ``diff_sessions``). Its fields are that row's own: the keys of its
    ``raw_data``, in source order, never another row's or domain's columns.
    A field that held empty text (an empty CSV cell) shows as ``""``, one
    that held no value (an empty workbook cell, JSON ``null``) as
    ``(empty cell)``; a column the row did not have is not shown. Readable
    at 80 columns in a terminal however wide the row; one field per line,
    whole, in plain text.

    >>> failures = pd.DataFrame({"domain": ["d"], "source_file": ["a.csv"],
    ...     "row_index": [7], "error_type": ["VALIDATION_FAILED"],
    ...     "raw_data": ['{"plan":"P1","name":"","assets":null}']})
    >>> FailureCards(failures)
    d · a.csv · row 7 (sheet row 9) · VALIDATION_FAILED
      plan    P1
      name    ""
      assets  (empty cell)
    """

    failures: pd.DataFrame
    #: Each card's fields: name, text, and whether the text marks an empty value.
    fields: list[list[tuple[str, str, bool]]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        rows = raw_objects(self.failures) if not self.failures.empty else []
        fields = [
            [(cell_text(k), _field_text(v), v is None or v == "") for k, v in row.items()]
            for row in rows
        ]
        object.__setattr__(self, "fields", fields)

    def _titles(self) -> list[str]:
        return [self._title(row) for _, row in self.failures.iterrows()]

    @staticmethod
    def _title(row: pd.Series) -> str:
        status = f"{row['status']} · " if "status" in row.index else ""
        value = row["row_index"]
        number = cell_text(value)
        if isinstance(value, Integral) and not isinstance(value, bool):
            number += f" (sheet row {int(value) + 2})"
        return visible_controls(
            f"{status}{row['domain']} · {row['source_file']} · row {number} · {row['error_type']}"
        )

    def plain_lines(self) -> list[str]:
        """The plain-text rendering: each card's title, then its fields indented."""
        if self.failures.empty:
            return ["no failed rows"]
        lines: list[str] = []
        for title, fields in zip(self._titles(), self.fields, strict=True):
            cells = [[_one_line(name), _one_line(value)] for name, value, _ in fields]
            lines += [*([""] if lines else []), _one_line(title)]
            lines += [f"  {line}" for line in _aligned(cells, [False, False])]
        return lines

    def __repr__(self) -> str:
        return "\n".join(self.plain_lines())

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType | Segment]:
        if not console.is_terminal:
            yield from _plain_segments(self.plain_lines())
            return
        if self.failures.empty:
            yield Text("no failed rows")
            return
        for title, fields in zip(self._titles(), self.fields, strict=True):
            yield Text(title, style="bold")
            yield _card_table(
                [(n, Text(v, style="dim" if empty else "")) for n, v, empty in fields]
            )

    def _repr_html_(self) -> str:
        parts = []
        for title, fields in zip(self._titles(), self.fields, strict=True):
            cells = "".join(
                f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
                for name, value, _ in fields
            )
            parts.append(f"<h4>{html.escape(title)}</h4><table>{cells}</table>")
        return "".join(parts) or "<p>no failed rows</p>"
