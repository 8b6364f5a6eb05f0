"""Workbook sheets read by calamine (compiled; about 5x openpyxl), cell for cell as the
exact reader reads them.

calamine reads the cells that hold values (never the ``<dimension>`` tag) into
one dense range, and gives some values another type than openpyxl does; both
are mended here so that every cell, and so every ``raw_data``, is what the
exact reader (``_xlsx_reader``, openpyxl) gives:

- a number cell holds a double: an integral one below 1e16 is an ``int``
  (openpyxl reads ``<v>202401</v>`` as an int; writers print such numbers
  without a fraction), others stay ``float``;
- a date cell at midnight comes as a ``date``: it becomes a ``datetime``;
- an empty cell comes as ``""``: it becomes ``None``.

Some workbooks calamine cannot read that way, and the exact reader takes
them whole: error cells (``#DIV/0!``, which calamine reads as empty), text
that is an empty string or starts or ends with white space without
``xml:space="preserve"`` (calamine reads it empty or trimmed; tags with a
namespace prefix and white space as a character reference too), and sheets
whose values lie so far apart that a dense range would be many times the
cells (a stray value at column XFD). A scan of the sheets' XML decides,
before calamine allocates anything.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from openpyxl.utils import column_index_from_string, get_column_letter
from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from work_data_hub.errors import SourceFileError
from work_data_hub.io._headers import header_names
from work_data_hub.io._re2 import matches

__all__ = ["fast_sheets"]

#: A text element's tags, with or without a namespace prefix (``<t>``; ``<x:t>``, as
#: the .NET Open XML SDK writes them).
_T: Final = r"<(?:\w+:)?t"
_END_T: Final = r"</(?:\w+:)?t>"
#: The white space calamine trims from an element's text (XML's: space, tab, line
#: feed, carriage return; also \v and \f), literal or as a character reference
#: (``&#32;``, ``&#x20;``, ``&#10;``, ...).
_BLANK: Final = r"(?:[ \t\n\r\x0b\x0c]|&#(?:0*(?:9|10|13|32)|x0*(?:9|[aAdD]|20));)"
#: Text calamine reads otherwise than openpyxl: an empty text element (openpyxl: "",
#: calamine: empty), and text that starts or ends with white space in an element
#: without ``xml:space="preserve"`` (calamine trims it, openpyxl keeps it). A text
#: element holds no ``<``, so ``[^<]*`` stays inside one.
_MISREAD_TEXT: Final = rf"{_T}\s*/>|{_T}>{_END_T}|{_T}>{_BLANK}|{_T}>[^<]*{_BLANK}{_END_T}"
_WIDE: Final = re.compile(rb'<(?:\w+:)?c r="[A-Z]{2}')
_COLUMN: Final = re.compile(rb'<(?:\w+:)?c r="([A-Z]+)')
_LAST_ROW: Final = re.compile(rb'row r="(\d+)"')
#: A stored cell takes at least this many bytes of sheet XML (``<c r="A1"><v>1</v></c>``
#: is 22), so a dense range over N bytes of XML holds about N / 22 cells or more; one
#: much larger than that is mostly empty.
_BYTES_PER_CELL: Final = 5
_SLACK: Final = 100_000
_INTEGRAL_BELOW: Final = 1e16
#: What the checks below look for, in one compiled (RE2) pass, several times faster than
#: their own scans, which then run only on XML it matched: misread text, an error
#: cell, a column past Z.
_SUSPECT: Final = rf'{_MISREAD_TEXT}| t="e"|<(?:\w+:)?c r="[A-Z]{{2}}'


def _text_calamine_misreads(data: bytes) -> bool:
    """Text calamine reads otherwise than openpyxl (see ``_MISREAD_TEXT``).

    >>> _text_calamine_misreads(b"<t> a</t>"), _text_calamine_misreads(b"<x:t>a&#10;</x:t>")
    (True, True)
    >>> _text_calamine_misreads('<t xml:space="preserve"> a</t><t>\\u3000a</t>'.encode())
    False
    """
    return matches(data, _MISREAD_TEXT)


def _suspect(data: bytes) -> bool:
    """Whether ``data`` may hold anything the exact checks look for (see ``_SUSPECT``)."""
    return matches(data, _SUSPECT)


def _mostly_empty(data: bytes, *, wide: bool = True) -> bool:
    """Whether calamine's dense range of this sheet would be far larger than its cells
    (``wide=False``: no column is past Z, known already)."""
    last = data.rfind(b'row r="')  # <row r="9"> or, prefixed, <x:row r="9">
    found = _LAST_ROW.match(data, last) if last >= 0 else None
    rows = int(found.group(1)) if found is not None else 0
    if wide and _WIDE.search(data):  # some column past Z: find the rightmost
        letters = set(_COLUMN.findall(data))
        columns = max(int(column_index_from_string(c.decode())) for c in letters)
    else:
        columns = 26
    return rows * columns > len(data) // _BYTES_PER_CELL + _SLACK


def _calamine_can_read(path: Path) -> bool:
    """Whether every sheet and the shared strings hold only what calamine reads exactly."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name == "xl/sharedStrings.xml":
                data = archive.read(name)
                if _suspect(data) and _text_calamine_misreads(data):
                    return False
            elif name.startswith("xl/worksheets/") and name.endswith(".xml"):
                data = archive.read(name)
                if not _suspect(data):  # no error cell, no misread text, no column past Z
                    if _mostly_empty(data, wide=False):
                        return False
                elif b' t="e"' in data or _text_calamine_misreads(data) or _mostly_empty(data):
                    return False  # an error cell, misread text, or a dense range of gigabytes
    return True


def _as_exact(cells: Sequence[Any]) -> np.ndarray:
    """One column of calamine cells as openpyxl gives them."""
    column = np.fromiter(cells, dtype=object, count=len(cells))
    kinds = set(map(type, cells))
    if kinds == {str}:  # the usual column: text (an empty cell is "" too)
        column[column == ""] = None
        return column
    if kinds == {float}:  # the other usual one: numbers and no empty cell
        values = np.fromiter(cells, dtype=np.float64, count=len(cells))
        integral = (np.floor(values) == values) & (np.abs(values) < _INTEGRAL_BELOW)
        column[integral] = values[integral].astype(np.int64).tolist()
        return column
    return _mixed_as_exact(column)


def _mixed_as_exact(column: np.ndarray) -> np.ndarray:
    """``_as_exact`` of a column of cells of several types (in place)."""
    kinds = np.fromiter(map(type, column), dtype=object, count=len(column))
    codes, distinct = pd.factorize(kinds)  # (comparing classes elementwise misleads numpy)
    for code, kind in enumerate(distinct):
        where = np.flatnonzero(codes == code)
        if kind is str:
            column[where[column[where] == ""]] = None
        elif kind is float:
            values = column[where].astype(np.float64)
            integral = (np.floor(values) == values) & (np.abs(values) < _INTEGRAL_BELOW)
            column[where[integral]] = values[integral].astype(np.int64).tolist()
        elif kind is dt.date:
            column[where] = [dt.datetime(d.year, d.month, d.day) for d in column[where]]
    return column


def _frame(cells: list[list[Any]], label: str) -> pd.DataFrame:
    if not cells or all(value == "" for value in cells[0]):
        raise SourceFileError(f"{label} is empty: its first row holds no header", path=label)
    names = header_names(list(_as_exact(cells[0])), label)  # a header typed 2024 is "2024"
    body = np.empty((len(cells) - 1, len(cells[0])), dtype=object)
    for position, column in enumerate(zip(*cells[1:], strict=True)):  # (calamine: a rectangle)
        body[:, position] = _as_exact(column)
    width = len(names)
    present = body != None  # noqa: E711  (elementwise on objects)
    if body.shape[1] > width:
        beyond = present[:, width:]
        if beyond.any():
            row, column = np.argwhere(beyond)[0]
            raise SourceFileError(
                f"{label} row {row + 2} has a value in column "
                f"{get_column_letter(width + column + 1)}, right of the header's last column "
                f"({get_column_letter(width)} {names[-1]!r}): give that column a header or "
                "clear the cell, and run the file again",
                path=label,
                line=int(row) + 2,
            )
        body, present = body[:, :width], present[:, :width]
    elif body.shape[1] < width:
        body = np.hstack([body, np.full((len(body), width - body.shape[1]), None, dtype=object)])
    kept = np.flatnonzero(present.any(axis=1))  # a fully empty row is not data
    frame = pd.DataFrame(body[kept], columns=names, dtype=object)
    frame.index = pd.Index(kept.astype(np.int64))
    return frame


def fast_sheets(path: Path, sheets: Sequence[str] | None) -> dict[str | None, pd.DataFrame] | None:
    """The named sheets (``None``: the first visible one, keyed ``None``) as the exact
    reader gives them, or None when this workbook needs the exact reader.

    Raises:
        SourceFileError: no visible sheet, a missing named one, no header,
            duplicate column names or a value outside the header.
    """
    if not _calamine_can_read(path):
        return None
    book = CalamineWorkbook.from_path(str(path))
    try:
        if sheets is None:
            visible = [
                sheet.name
                for sheet in book.sheets_metadata
                if sheet.visible == SheetVisibleEnum.Visible
                and sheet.typ == SheetTypeEnum.WorkSheet
            ]
            if not visible:
                raise SourceFileError(f"{path.name} has no visible worksheet", path=path)
            chosen: dict[str | None, str] = {None: visible[0]}
            labels: dict[str | None, str] = {None: path.name}
        else:
            missing = [sheet for sheet in sheets if sheet not in book.sheet_names]
            if missing:
                raise SourceFileError(
                    f"{path.name} has no sheet {missing[0]!r} (it has {sorted(book.sheet_names)})",
                    path=path,
                )
            chosen = {sheet: sheet for sheet in sheets}
            labels = {sheet: f"{path.name}[{sheet}]" for sheet in sheets}
        return {
            key: _frame(book.get_sheet_by_name(name).to_python(skip_empty_area=False), labels[key])
            for key, name in chosen.items()
        }
    finally:
        book.close()
