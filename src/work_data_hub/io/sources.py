"""Reading a source file exactly as it is, for the pipelines and the failure log.

``read_source`` returns the first sheet of a workbook or the whole of a CSV,
header on the first row, with the reader's ``RangeIndex``: row 0 is the first
row under the header, the ``row_index`` the failure log records. CSV cells are
text as written (``"0012"`` stays ``"0012"``; an empty cell is ``""``);
workbook cells keep the type Excel stored (numbers, dates, text; an empty
cell is missing). CSV files are read as UTF-8 (with or without BOM), falling
back to GB18030 for files saved by Chinese-locale Excel.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pandas as pd
from openpyxl import load_workbook

from work_data_hub.errors import SourceFileError

__all__ = ["REFERENCE_FILES", "SOURCE_SUFFIXES", "read_reference", "read_source"]

SOURCE_SUFFIXES: Final = (".csv", ".xlsx")
_ENCODINGS: Final = ("utf-8-sig", "gb18030")
#: The reference files of a reference folder and the columns each must have.
REFERENCE_FILES: Final = {
    "plans.csv": ("计划代码", "计划名称"),
    "company_mapping.csv": ("客户名称", "company_id"),
}


def _refuse_duplicate_names(names: Sequence[object], path: Path) -> None:
    counts = Counter(str(name) for name in names)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise SourceFileError(
            f"{path.name} has duplicate column names {duplicates}: rename them in the source"
        )


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise SourceFileError(f"{path.name} is empty: no header row")
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SourceFileError(f"{path.name} is neither UTF-8 nor GB18030 text")
    header = next(csv.reader(io.StringIO(text)))
    _refuse_duplicate_names(header, path)
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise SourceFileError(f"{path.name} is not a well-formed CSV: {error}") from error


def _read_xlsx(path: Path) -> pd.DataFrame:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise SourceFileError(f"{path.name} is not a readable .xlsx workbook ({error})") from error
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        rows = sheet.iter_rows(values_only=True) if sheet is not None else iter(())
        header = next(rows, None)
        if header is None or all(cell is None for cell in header):
            raise SourceFileError(f"{path.name} is empty: its first sheet has no header row")
        names = list(header)
        while names and names[-1] is None:  # trailing empty header cells
            names.pop()
        _refuse_duplicate_names(names, path)
        records = [list(row[: len(names)]) for row in rows]
    finally:
        book.close()
    while records and all(cell is None for cell in records[-1]):
        records.pop()  # Excel's formatted-but-empty trailing rows
    frame = pd.DataFrame(records, columns=[str(n) for n in names], dtype=object)
    return frame


def read_source(path: str | Path) -> pd.DataFrame:
    """Read one source file as it is; index 0 is the first row under the header.

    Raises:
        SourceFileError: the file is missing, empty, corrupt, of another type,
            or has duplicate column names.

    >>> import tempfile
    >>> source = Path(tempfile.mkdtemp()) / "2024-03.csv"
    >>> _ = source.write_text("计划代码,期末资产规模\\n0012,1.5\\n", encoding="utf-8")
    >>> read_source(source).to_dict("records")
    [{'计划代码': '0012', '期末资产规模': '1.5'}]
    """
    path = Path(path)
    if not path.is_file():
        raise SourceFileError(f"{path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = _read_csv(path)
    elif suffix == ".xlsx":
        frame = _read_xlsx(path)
    else:
        raise SourceFileError(f"{path.name}: only {', '.join(SOURCE_SUFFIXES)} sources are read")
    frame.index = pd.RangeIndex(len(frame))
    return frame


def read_reference(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read ``plans.csv`` and ``company_mapping.csv`` from a reference folder.

    Raises:
        SourceFileError: a file is missing or unreadable, or lacks a column.
    """
    folder = Path(folder)
    frames = []
    for name, needed in REFERENCE_FILES.items():
        frame = read_source(folder / name)
        missing = [column for column in needed if column not in frame.columns]
        if missing:
            raise SourceFileError(f"{folder / name} lacks the columns {missing}")
        frames.append(frame)
    plans, companies = frames
    return plans, companies
