"""``to_excel``: a failure log as a workbook an operator can open in Excel.

A ``summary`` sheet, then one sheet per domain with ``raw_data`` expanded into
its original columns, so Chinese text and numbers open correctly. Text that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) is stored as plain text, never as a formula; integers
past Excel's 15 significant digits are stored as text so none is rounded;
control characters, which a workbook cannot hold, are shown as ``\\xNN``;
text past a cell's 32,767 characters is cut with a mark saying how much.
A domain with more failed rows than a sheet holds is refused before any
work. The CSV log itself stays UTF-8 without BOM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from work_data_hub.analysis.summary import summarize
from work_data_hub.analysis.views import cell_text, visible_controls
from work_data_hub.errors import ExcelLimitError, OutputPathError
from work_data_hub.infrastructure.validation import expand_raw_data

__all__ = ["to_excel"]

FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS: Final = 1_048_576
#: The most characters an Excel cell holds; longer text is cut with a visible mark.
EXCEL_MAX_CELL: Final = 32_767
_EXACT_INT: Final = 10**15  # Excel keeps 15 significant digits
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_CONTEXT = ["source_file", "row_index", "error_type", "timestamp"]


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    if (isinstance(value, int) and abs(value) < _EXACT_INT) or isinstance(value, float):
        return WriteOnlyCell(sheet, value=None if value != value else value)
    text = _fitting(cell_text(value))
    cell = WriteOnlyCell(sheet, value=text)
    if text.startswith(FORMULA_START):
        cell.data_type = "s"  # text, never a formula
    return cell


def _fitting(text: str) -> str:
    """``text``, or as much of it as a cell holds and a mark saying how much is cut."""
    if len(text) <= EXCEL_MAX_CELL:
        return text
    kept = EXCEL_MAX_CELL - 80
    return f"{text[:kept]}… [cut: {len(text) - kept:,} more characters; the CSV log has all]"


def _python(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def _write(sheet: WriteOnlyWorksheet, frame: pd.DataFrame) -> None:
    sheet.append([_cell(sheet, str(name)) for name in frame.columns])
    for row in frame.itertuples(index=False):
        sheet.append([_cell(sheet, _python(value)) for value in row])


def _sheet_names(domains: Iterable[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    used = {"summary"}
    for domain in domains:
        base = _SHEET_FORBIDDEN.sub("_", visible_controls(domain))[:28].strip("'") or "domain"
        name, n = base, 2
        while name.lower() in used:
            name, n = f"{base[:25]}~{n}", n + 1
        used.add(name.lower())
        names[domain] = name
    return names


def _output_path(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder: name the workbook file", path=path)
    if path.suffix.lower() != ".xlsx":
        raise OutputPathError(
            f"{path}: the Excel view is an .xlsx workbook; name it *.xlsx", path=path
        )
    if not path.parent.is_dir():
        raise OutputPathError(f"{path}: no folder {path.parent} (create it first)", path=path)
    return path


def _domain_frames(failures: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each domain's sheet, by sheet name: context columns, then ``raw_data`` expanded."""
    sizes = failures["domain"].astype(str).value_counts()
    too_big = sizes[sizes >= EXCEL_MAX_ROWS]
    if len(too_big):
        raise ExcelLimitError(
            f"domain {too_big.index[0]!r} has {int(too_big.iloc[0]):,} failed rows, more than "
            f"an Excel sheet holds ({EXCEL_MAX_ROWS - 1:,}): select fewer rows (--domain, "
            "--error-type, --source-file)",
            domain=str(too_big.index[0]),
            rows=int(too_big.iloc[0]),
        )
    frames = {}
    for domain, name in _sheet_names(sorted(sizes.index)).items():
        rows = failures[failures["domain"].astype(str) == domain]
        expanded = expand_raw_data(rows)
        frames[name] = pd.concat([rows[_CONTEXT].astype({"timestamp": str}), expanded], axis=1)
    return frames


def to_excel(failures: pd.DataFrame, path: str | Path) -> Path:
    """Write ``failures`` (as ``read_failures`` returns them) to an .xlsx workbook.

    Everything that can be refused is checked before the workbook is begun:
    the path (an ``.xlsx`` file in an existing folder), the sheet row limit
    and the ``raw_data`` of every row.

    >>> import tempfile
    >>> failures = pd.DataFrame({"session_id": ["s"], "timestamp": ["t"], "domain": ["d"],
    ...     "source_file": ["=cmd|x"], "row_index": [3], "error_type": ["VALIDATION_FAILED"],
    ...     "raw_data": ['{"计划代码":"P1","规模":1.5}']})
    >>> to_excel(failures, Path(tempfile.mkdtemp()) / "f.xlsx").suffix
    '.xlsx'
    """
    path = _output_path(path)
    sheets = _domain_frames(failures)
    workbook = Workbook(write_only=True)
    _write(workbook.create_sheet("summary"), summarize(failures).reset_index())
    for name, frame in sheets.items():
        _write(workbook.create_sheet(name), frame)
    workbook.save(path)
    return path
