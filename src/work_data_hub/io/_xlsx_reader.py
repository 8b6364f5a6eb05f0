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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from work_data_hub.errors import SourceFileError
from work_data_hub.io._headers import header_names
from work_data_hub.io._xlsx_fast import fast_sheets

__all__ = ["read_sheets"]


def _is_empty(cell: object) -> bool:
    return cell is None or cell == ""


def _rows(
    cells: Iterable[Sequence[Any]], names: list[str], label: str
) -> tuple[list[int], list[Sequence[Any]]]:
    width = len(names)
    labels: list[int] = []
    rows: list[Sequence[Any]] = []
    for position, row in enumerate(cells):
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


def _open(path: Path) -> Any:
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zip, XML and openpyxl errors alike: the file is unreadable
        raise SourceFileError(
            f"{path.name} is not a readable .xlsx workbook ({type(error).__name__}: {error})",
            path=path,
        ) from error


def _read(worksheet: Any, label: str) -> pd.DataFrame:
    worksheet.reset_dimensions()  # the <dimension> tag may be stale: read every row
    cells = worksheet.iter_rows(values_only=True)
    header = next(cells, ())
    if all(_is_empty(cell) for cell in header):
        raise SourceFileError(f"{label} is empty: its first row holds no header", path=label)
    names = header_names(header, label)
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
