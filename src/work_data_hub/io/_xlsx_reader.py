"""A workbook sheet as a table of typed cells, read from its cells, not its tags.

calamine reads a workbook when it can read it exactly (``_xlsx_fast``, about
5x faster); otherwise openpyxl does, cell by cell, and its types are the
reference the fast path keeps to. openpyxl's read-only mode stops at the
sheet's ``<dimension ref>`` tag, and real writers leave it stale
(``ref="A1"``: read as no rows at all), so the dimensions are reset and every
stored row is read. The rules match the CSV reader's:

- The header is the sheet's first row; trailing empty header cells are not
  columns.
- A value right of the header's last column refuses the file (its column
  has no name; dropping it would lose data silently).
- A fully empty row (no cell, or only empty cells) is not data: it is
  skipped, and the rows after it keep their places. The frame's index is
  each row's position below the header: index 0 is sheet row 2.
- Text is what Excel shows: a character XML cannot hold as such is stored
  escaped, ``_x000D_`` for a carriage return (``_xHHHH_``: U+HHHH; a literal
  ``_x`` is escaped as ``_x005F_x``), and is read decoded, as calamine reads it.
  openpyxl does not decode escapes, and drops every ``x005F_`` from shared
  strings, so the exact reader takes shared strings as stored and decodes
  every text cell itself.
- A number under a date format that is no date (past 9999-12-31, as an
  amount formatted as a date by mistake: Excel shows ``#####``) is that
  number, as calamine reads it; openpyxl makes it ``"#VALUE!"`` and warns.
  openpyxl's other remarks (on styles, validation, extensions it does not
  read) are not the run's to print.
- Cells stored out of order (row 3 before row 2, or C2 before A2: no
  spreadsheet program writes that, some generators may) refuse the sheet:
  openpyxl would skip the later-stored earlier rows, and drop a row's cells
  left of its last-stored one, without a word.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from work_data_hub.errors import SourceFileError
from work_data_hub.io._headers import header_names
from work_data_hub.io._xlsx_fast import fast_sheets

__all__ = ["read_sheets"]


_ESCAPE: Final = re.compile(r"_x([0-9A-Fa-f]{4})_")
#: A cell's reference attribute (``<c r="B7"``, prefixed or not; a row's ``r`` has no
#: letters, and no other sheet element has an ``r`` attribute).
_CELL_REFERENCE: Final = re.compile(rb' r="([A-Z]{1,3})(\d+)"')
#: openpyxl's warning for a date-formatted number it cannot make a date (it gives
#: "#VALUE!" instead); the number as openpyxl parsed it, ``int`` or ``float`` text.
_NO_DATE: Final = re.compile(
    r"Cell (?P<cell>\S+) is marked as a date but the serial value (?P<number>\S+) is outside"
)
_STRING_ITEM: Final = f"{{{SHEET_MAIN_NS}}}si"
_OPENPYXL: Final = str(Path(openpyxl.__file__).parent)


def _character(escape: re.Match[str]) -> str:
    code = int(escape.group(1), 16)
    return escape.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)  # no lone surrogate


def decoded(text: str) -> str:
    """``text`` with its ``_xHHHH_`` escapes decoded, left to right, as Excel and
    calamine read them (a surrogate's escape stays as written).

    >>> decoded("line1_x000D_\\nline2"), decoded("_x005F_x000D_"), decoded("_xD800_")
    ('line1\\r\\nline2', '_x000D_', '_xD800_')
    """
    return _ESCAPE.sub(_character, text) if "_x" in text else text


def _decoded_row(row: Sequence[Any]) -> Sequence[Any]:
    if any(type(cell) is str and "_x" in cell for cell in row):
        return tuple(decoded(cell) if type(cell) is str else cell for cell in row)
    return row


def _string_table(source: IO[bytes]) -> list[str]:
    """The shared strings as stored (openpyxl's own parse of each, escapes kept)."""
    strings = []
    for _, node in iterparse(source):
        if node.tag == _STRING_ITEM:
            strings.append(Text.from_tree(node).content)
            node.clear()
    return strings


class _StoredStrings(ExcelReader):  # type: ignore[misc]  # (openpyxl is untyped)
    """openpyxl's reader, but for its shared strings: as stored, not with every
    ``x005F_`` dropped (which left ``_x005F_x000D_`` and ``_x000D_`` alike)."""

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = _string_table(source)


def _is_empty(cell: object) -> bool:
    return cell is None or cell == ""


def _rows(
    cells: Iterable[Sequence[Any]], names: list[str], label: str
) -> tuple[list[int], list[Sequence[Any]]]:
    width = len(names)
    labels: list[int] = []
    rows: list[Sequence[Any]] = []
    for position, stored in enumerate(cells):
        row = _decoded_row(stored)
        if all(_is_empty(cell) for cell in row):
            continue  # no cell at all (a gap between stored rows), or only empty ones
        if len(row) > width:
            beyond = [c for c in range(width, len(row)) if not _is_empty(row[c])]
            if beyond:
                column = get_column_letter(beyond[0] + 1)
                raise SourceFileError(
                    f"{label} row {position + 2} has a value in column {column}, right of the "
                    f"header's last column ({get_column_letter(width)} {names[-1]!r}): give "
                    "that column a header or clear the cell, and run the file again",
                    path=label,
                    line=position + 2,
                )
            row = row[:width]
        elif len(row) < width:
            row = (*row, *([None] * (width - len(row))))
        labels.append(position)
        rows.append(row)
    return labels, rows


@contextmanager
def _openpyxl_remarks() -> Iterator[list[warnings.WarningMessage]]:
    """Collect the warnings raised inside; at the end, openpyxl's are dropped (its
    remarks on what it does not read) and any other is raised again."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    for remark in caught:
        if not remark.filename.startswith(_OPENPYXL):
            warnings.warn_explicit(remark.message, remark.category, remark.filename, remark.lineno)


def _numbers_kept(
    cells: Iterator[Sequence[Any]], caught: list[warnings.WarningMessage], label: str
) -> Iterator[Sequence[Any]]:
    """``cells``, each date-formatted number openpyxl made ``"#VALUE!"`` (see
    ``_NO_DATE``) back to its number: openpyxl warns as it parses a row's cells,
    before it gives the row."""
    seen = 0
    for row in cells:
        if len(caught) > seen:
            numbers = [_NO_DATE.match(str(remark.message)) for remark in caught[seen:]]
            seen = len(caught)
            fixed = list(row)
            for found in filter(None, numbers):
                if found["cell"] == "None":  # a cell written without its reference
                    raise SourceFileError(
                        f"{label} has a number under a date format that is no date "
                        f"({found['number']}) in a cell without a reference: clear its date "
                        "format, and run the file again",
                        path=label,
                    )
                _, column = coordinate_to_tuple(found["cell"])
                number = found["number"]
                fixed[column - 1] = (
                    float(number) if any(c in number for c in ".eEn") else int(number)
                )
            row = tuple(fixed)
        yield row


def _open(path: Path) -> Any:
    try:
        reader = _StoredStrings(path, read_only=True, data_only=True)
        with _openpyxl_remarks():
            reader.read()
        return reader.wb
    except Exception as error:  # zip, XML and openpyxl errors alike: the file is unreadable
        raise SourceFileError(
            f"{path.name} is not a readable .xlsx workbook ({type(error).__name__}: {error})",
            path=path,
        ) from error


def _check_cell_order(worksheet: Any, label: str) -> None:
    """Raise if the sheet stores a cell after a later one: a row after a later row, or
    a cell after one right of it in its row (openpyxl would drop the earlier-placed)."""
    with worksheet._get_source() as source:  # the sheet's XML, as openpyxl reads it
        cells = _CELL_REFERENCE.findall(source.read())
    if not cells:
        return
    references = np.array(cells)  # (cells, 2): letters, row number
    distinct, codes = np.unique(references[:, 0], return_inverse=True)
    columns = np.array([column_index_from_string(c.decode()) for c in distinct])[codes]
    places = references[:, 1].astype(np.int64) * 20_000 + columns  # (16,384 columns at most)
    back = np.flatnonzero(np.diff(places) <= 0)
    if not back.size:
        return
    before, after = (f"{cells[n][0].decode()}{cells[n][1].decode()}" for n in back[0] + [0, 1])
    raise SourceFileError(
        f"{label} stores cell {after} after cell {before}: a program wrote its cells out of "
        "order; open and save it in Excel (or write them in order), and run the file again",
        path=label,
        line=int(cells[back[0] + 1][1]),
    )


def _read(worksheet: Any, label: str) -> pd.DataFrame:
    _check_cell_order(worksheet, label)
    worksheet.reset_dimensions()  # the <dimension> tag may be stale: read every row
    with _openpyxl_remarks() as caught:
        cells = _numbers_kept(worksheet.iter_rows(values_only=True), caught, label)
        header = next(cells, ())
        if all(_is_empty(cell) for cell in header):
            raise SourceFileError(f"{label} is empty: its first row holds no header", path=label)
        names = header_names(_decoded_row(header), label)
        labels, rows = _rows(cells, names, label)
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    frame.index = pd.Index(np.asarray(labels, dtype=np.int64))
    return frame


def read_sheets(path: Path, sheets: Sequence[str] | None = None) -> dict[str | None, pd.DataFrame]:
    """Read the named worksheets of the workbook at ``path`` (``None``: its first
    visible one, keyed ``None``).

    Cells keep the type Excel stored (numbers, dates, text); an empty cell is
    None. Raises ``SourceFileError`` for an unreadable workbook, no visible
    sheet or a missing named one, a missing header, duplicate column names or a
    value outside the header.
    """
    try:
        fast = fast_sheets(path, sheets)
    except SourceFileError:
        raise
    except Exception as error:  # a corrupt zip or sheet: say so as the exact reader would
        raise SourceFileError(
            f"{path.name} is not a readable .xlsx workbook ({type(error).__name__}: {error})",
            path=path,
        ) from error
    return fast if fast is not None else exact_sheets(path, sheets)


def exact_sheets(path: Path, sheets: Sequence[str] | None = None) -> dict[str | None, pd.DataFrame]:
    """``read_sheets`` by openpyxl, cell by cell: the reference for every cell's type."""
    book = _open(path)
    try:
        if sheets is None:
            # a hidden sheet is a workbook's machinery (lookups, old data), not its table
            visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
            if not visible:
                raise SourceFileError(f"{path.name} has no visible worksheet", path=path)
            return {None: _read(visible[0], path.name)}
        by_title = {ws.title: ws for ws in book.worksheets}
        missing = [sheet for sheet in sheets if sheet not in by_title]
        if missing:
            raise SourceFileError(
                f"{path.name} has no sheet {missing[0]!r} (it has {sorted(by_title)})", path=path
            )
        return {sheet: _read(by_title[sheet], f"{path.name}[{sheet}]") for sheet in sheets}
    except SourceFileError:
        raise
    except Exception as error:  # corrupt sheet XML, a text value in a number cell, ...
        raise SourceFileError(
            f"{path.name} is not a readable .xlsx workbook ({type(error).__name__}: {error})",
            path=path,
        ) from error
    finally:
        book.close()
