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

Made to be read: each sheet's header row is bold, frozen and filtered, and
each column as wide as its longest value (CJK characters count double, up to
``MAX_WIDTH``). The summary sheet names the session(s) and the log read. A
domain sheet gives ``sheet_row`` (``row_index + 2``, the row number a
spreadsheet or editor shows) next to ``row_index``. Text that is exactly a
decimal number (``"3107.90"``, ``"-12"``; not ``"0012"``, ``"1e5"``, ``"+5"``
or past 15 significant digits) is written as a number, so SUM counts it, in
a number format that shows it as the text read (``3107.90``); the sheet's
last column, ``raw_data``, keeps the row as logged, where it is still text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final
from zipfile import ZIP_DEFLATED, ZipFile

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from work_data_hub.analysis.summary import summarize
from work_data_hub.analysis.views import cell_text, visible_controls
from work_data_hub.errors import ExcelLimitError, OutputPathError
from work_data_hub.infrastructure.atomic_file import replacing
from work_data_hub.infrastructure.validation.raw_data import expand_raw_data

__all__ = ["MAX_WIDTH", "to_excel", "workbook_path"]

FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS: Final = 1_048_576
#: The most characters an Excel cell holds; longer text is cut with a visible mark.
EXCEL_MAX_CELL: Final = 32_767
_EXACT_INT: Final = 10**15  # Excel keeps 15 significant digits
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: The widest a column is made, in characters (a CJK character counts two).
MAX_WIDTH: Final = 60
_CONTEXT = ["source_file", "row_index", "sheet_row", "error_type", "timestamp"]
# A decimal number as a person writes one: no sign but minus, no leading zero
# (an id such as "0012" is text), no exponent, no thousands separator.
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.([0-9]+))?")
_EXACT_DIGITS: Final = 15
_BOLD: Final = Font(bold=True)


def _decimal(text: str) -> tuple[float | int, str] | None:
    """``text`` as a number and the number format that shows it as written, if
    ``text`` is exactly a decimal number that Excel holds without rounding.

    >>> _decimal("3107.90"), _decimal("-12"), _decimal("0012"), _decimal("1e5")
    ((3107.9, '0.00'), (-12, '0'), None, None)
    """
    match = _DECIMAL.fullmatch(text)
    if match is None:
        return None
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    if len(digits) > _EXACT_DIGITS or (text.startswith("-") and not digits):
        return None  # it would be rounded, or is a negative zero that would show as 0
    decimals = match.group(1)
    if decimals is None:
        return int(text), "0"
    return float(text), "0." + "0" * len(decimals)


def _cell(sheet: WriteOnlyWorksheet, value: Any, *, header: bool = False) -> WriteOnlyCell:
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    if (isinstance(value, int) and abs(value) < _EXACT_INT) or isinstance(value, float):
        return WriteOnlyCell(sheet, value=None if value != value else value)
    text = _fitting(cell_text(value))
    number = None if header else _decimal(text)
    if number is not None:
        cell = WriteOnlyCell(sheet, value=number[0])
        cell.number_format = number[1]
        return cell
    cell = WriteOnlyCell(sheet, value=text)
    if text.startswith(FORMULA_START):
        cell.data_type = "s"  # text, never a formula
    if header:
        cell.font = _BOLD
    return cell


def _display_width(text: str) -> int:
    """The columns ``text``'s longest line takes on screen (CJK characters take two).

    >>> _display_width("计划代码"), _display_width("ab\\nabcd")
    (8, 4)
    """
    if text.isascii():
        return max(map(len, text.split("\n")))
    return max(
        sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
        for line in text.split("\n")
    )


def _widths(frame: pd.DataFrame) -> list[int]:
    """Each column's width: its header's or longest value's, capped at ``MAX_WIDTH``."""
    widths = []
    for position, name in enumerate(frame.columns):
        values = frame.iloc[:, position].dropna()
        texts = {cell_text(name), *(cell_text(v) for v in pd.unique(values.astype(str)))}
        longest = max(_display_width(text) for text in texts)
        widths.append(min(longest + 2, MAX_WIDTH))  # +2: the filter button
    return widths


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


def _write(
    sheet: WriteOnlyWorksheet,
    frame: pd.DataFrame,
    *,
    above: Sequence[tuple[str, object]] = (),
) -> None:
    """``frame`` as a table with a bold, frozen, filtered header, after ``above``'s
    label-value lines (and a blank line)."""
    # a write-only sheet takes its layout before its first row
    for position, width in enumerate(_widths(frame), start=1):
        sheet.column_dimensions[get_column_letter(position)].width = width
    first = len(above) + 2 if above else 1
    last_column = get_column_letter(max(len(frame.columns), 1))
    sheet.freeze_panes = f"A{first + 1}"
    sheet.auto_filter.ref = f"A{first}:{last_column}{first + len(frame)}"
    for label, value in above:
        sheet.append([_cell(sheet, label, header=True), _cell(sheet, value, header=True)])
    if above:
        sheet.append([])
    sheet.append([_cell(sheet, str(name), header=True) for name in frame.columns])
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


def workbook_path(path: str | Path) -> Path:
    """``path`` if the Excel view can be written there: an ``.xlsx`` file name in an
    existing folder. Nothing is created.

    >>> workbook_path("out.csv")
    Traceback (most recent call last):
    ...
    work_data_hub.errors.OutputPathError: out.csv: the Excel view is an .xlsx workbook; ...
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise OutputPathError(f"{path} is a folder: name the workbook file", path=path)
        if path.suffix.lower() != ".xlsx":
            raise OutputPathError(
                f"{path}: the Excel view is an .xlsx workbook; name it *.xlsx", path=path
            )
        if not path.parent.is_dir():
            raise OutputPathError(f"{path}: no folder {path.parent} (create it first)", path=path)
    except OSError as error:  # a name too long for the file system, a loop of links
        raise OutputPathError(
            f"{path}: cannot be written there ({error.strerror})", path=path
        ) from None
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
        context = rows.assign(sheet_row=rows["row_index"] + 2)[_CONTEXT]
        expanded = expand_raw_data(rows)
        frames[name] = pd.concat(
            [context.astype({"timestamp": str}), expanded, rows[["raw_data"]]], axis=1
        )
    return frames


def _about(failures: pd.DataFrame, log: str | Path | None) -> list[tuple[str, object]]:
    """The summary sheet's opening lines: which session(s), which log, how many rows."""
    sessions = sorted(failures["session_id"].astype(str).unique())
    lines: list[tuple[str, object]] = [
        ("session" if len(sessions) == 1 else "sessions", ", ".join(sessions)),
    ]
    if log is not None:
        lines.append(("failure log", str(Path(log).resolve())))
    lines.append(("failed rows", len(failures)))
    return lines


def to_excel(failures: pd.DataFrame, path: str | Path, *, log: str | Path | None = None) -> Path:
    """Write ``failures`` (as ``read_failures`` returns them) to an .xlsx workbook;
    ``log``, the file they were read from, is named on the summary sheet.

    Everything that can be refused is checked before the workbook is begun:
    the path (``workbook_path``), the sheet row limit and the ``raw_data`` of
    every row. The workbook replaces ``path`` whole once saved (``replacing``):
    a save that fails or is interrupted leaves the file there as it was.

    >>> import tempfile
    >>> failures = pd.DataFrame({"session_id": ["s"], "timestamp": ["t"], "domain": ["d"],
    ...     "source_file": ["=cmd|x"], "row_index": [3], "error_type": ["VALIDATION_FAILED"],
    ...     "raw_data": ['{"计划代码":"P1","规模":1.5}']})
    >>> to_excel(failures, Path(tempfile.mkdtemp()) / "f.xlsx").suffix
    '.xlsx'

    Raises:
        OutputWriteError: the workbook could not be written (a full disk).
    """
    path = workbook_path(path)
    sheets = _domain_frames(failures)
    workbook = Workbook(write_only=True)
    summary = summarize(failures).reset_index()
    _write(workbook.create_sheet("summary"), summary, above=_about(failures, log))
    for name, frame in sheets.items():
        _write(workbook.create_sheet(name), frame)
    with replacing(path) as file:
        _save(workbook, file)
    return path


def _save(workbook: Workbook, file: BinaryIO) -> None:
    """``workbook.save``, but a save that fails closes its zip here: left to
    ``ZipFile.__del__``, whose writes fail again, it would print a traceback."""
    archive = ZipFile(file, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        workbook.properties.modified = datetime.now(UTC).replace(tzinfo=None)
        ExcelWriter(workbook, archive).save()
    finally:
        with suppress(Exception):
            archive.close()  # (done already when the save succeeded)
