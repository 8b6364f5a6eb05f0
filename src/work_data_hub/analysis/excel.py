"""``to_excel``: a failure log as a workbook an operator can open in Excel.

A ``summary`` sheet, then one sheet per domain with ``raw_data`` expanded into
its original columns, so Chinese text and numbers open correctly. Text that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) is stored as plain text, never as a formula; integers
past Excel's 15 significant digits are stored as text so none is rounded.
The CSV log itself stays UTF-8 without BOM.
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
from work_data_hub.analysis.views import cell_text
from work_data_hub.infrastructure.validation import expand_raw_data

__all__ = ["to_excel"]

FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS: Final = 1_048_576
_EXACT_INT: Final = 10**15  # Excel keeps 15 significant digits
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_CONTEXT = ["source_file", "row_index", "error_type", "timestamp"]


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    if (isinstance(value, int) and abs(value) < _EXACT_INT) or isinstance(value, float):
        return WriteOnlyCell(sheet, value=None if value != value else value)
    text = cell_text(value)
    cell = WriteOnlyCell(sheet, value=text)
    if text.startswith(FORMULA_START):
        cell.data_type = "s"  # text, never a formula
    return cell


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
        base = _SHEET_FORBIDDEN.sub("_", domain)[:28].strip("'") or "domain"
        name, n = base, 2
        while name.lower() in used:
            name, n = f"{base[:25]}~{n}", n + 1
        used.add(name.lower())
        names[domain] = name
    return names


def to_excel(failures: pd.DataFrame, path: str | Path) -> Path:
    """Write ``failures`` (as ``read_failures`` returns them) to an .xlsx workbook.

    >>> import tempfile
    >>> failures = pd.DataFrame({"session_id": ["s"], "timestamp": ["t"], "domain": ["d"],
    ...     "source_file": ["=cmd|x"], "row_index": [3], "error_type": ["VALIDATION_FAILED"],
    ...     "raw_data": ['{"计划代码":"P1","规模":1.5}']})
    >>> to_excel(failures, Path(tempfile.mkdtemp()) / "f.xlsx").suffix
    '.xlsx'
    """
    path = Path(path)
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet("summary")
    _write(summary, summarize(failures).reset_index())
    names = _sheet_names(sorted(failures["domain"].astype(str).unique()))
    for domain, name in names.items():
        rows = failures[failures["domain"].astype(str) == domain]
        expanded = expand_raw_data(rows)
        sheet_frame = pd.concat([rows[_CONTEXT].astype({"timestamp": str}), expanded], axis=1)
        if len(sheet_frame) >= EXCEL_MAX_ROWS:
            raise ValueError(
                f"domain {domain!r} has {len(sheet_frame):,} failed rows, more than an Excel "
                f"sheet holds ({EXCEL_MAX_ROWS - 1:,}); filter the failures first"
            )
        _write(workbook.create_sheet(name), sheet_frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
