"""Source files of a domain, read exactly as they are, for the pipelines and the log.

``read_source`` returns the first visible sheet of a workbook or the whole of
a CSV, header on the first row. Its index is each row's position below the
header, the ``row_index`` the failure log records: index 0 is the row right
under the header, which a spreadsheet shows as row 2 (row ``N`` shows as
``N + 2``). Fully empty rows (blank lines, rows of empty cells) are not data
and are skipped, but the rows after them keep their positions, so a logged
row is always found at sheet row ``row_index + 2``.

CSV cells are text as written (``"0012"`` stays ``"0012"``; an empty cell is
``""``), read as UTF-8 (with or without BOM), else GB18030 for files saved by
Chinese-locale Excel; any line ends. Workbook cells keep the type Excel
stored (numbers, dates, text; an empty cell is missing). A row whose values
do not line up with the header (more or fewer CSV fields, a workbook value
right of the last named column) refuses the file, naming the row: nothing
is ever shifted under another column. See ``_csv_reader`` and
``_xlsx_reader`` for the details.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd

from work_data_hub.errors import SourceFileError
from work_data_hub.io._csv_reader import read_csv_text
from work_data_hub.io._xlsx_reader import read_sheet

__all__ = [
    "REFERENCE_FILES",
    "SOURCE_SUFFIXES",
    "SourceListing",
    "list_sources",
    "read_reference",
    "read_source",
    "source_name",
]

SOURCE_SUFFIXES: Final = (".csv", ".xlsx")
#: The reference files of a reference folder and the columns each must have.
REFERENCE_FILES: Final = {
    "plans.csv": ("计划代码", "计划名称"),
    "company_mapping.csv": ("客户名称", "company_id"),
}


def source_name(path: Path) -> str:
    r"""The file's name as text: bytes that are not UTF-8 shown as ``\xNN``.

    >>> source_name(Path(os.fsdecode(b"2024-\xb0\xb3.csv")))
    '2024-\\xb0\\xb3.csv'
    """
    return os.fsencode(path.name).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class SourceListing:
    """A domain's source files, and the files in its folder that are not sources."""

    files: list[Path]
    #: file name -> why it is not read
    skipped: dict[str, str] = field(default_factory=dict)


def _not_a_source(path: Path) -> str | None:
    if path.name.startswith("~$"):
        return "an Excel lock file (the workbook is open somewhere)"
    if path.name.startswith("."):
        return "a hidden file"
    return None


def list_sources(source_dir: Path, domain: str) -> SourceListing:
    """The domain's source files, ``source_dir/<domain>/*.xlsx|*.csv``, sorted by name.

    Excel's lock files (``~$name.xlsx``, present while a workbook is open) and
    hidden files (``.name.csv``) are not sources: they are listed in
    ``skipped``.

    Raises:
        SourceFileError: there is no such folder.
    """
    folder = source_dir / domain
    if not folder.is_dir():
        raise SourceFileError(f"no source folder {folder} for domain {domain}")
    files, skipped = [], {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in SOURCE_SUFFIXES or not path.is_file():
            continue
        reason = _not_a_source(path)
        if reason is None:
            files.append(path)
        else:
            skipped[source_name(path)] = reason
    return SourceListing(files, skipped)


def read_source(path: str | Path) -> pd.DataFrame:
    """Read one source file as it is, indexed by each row's position below the header.

    Raises:
        SourceFileError: the file is missing, empty, corrupt, of another type,
            has a name that is not UTF-8, duplicate column names, or a row that
            does not line up with the header.

    >>> import tempfile
    >>> source = Path(tempfile.mkdtemp()) / "2024-03.csv"
    >>> _ = source.write_text("计划代码,期末资产规模\\n0012,1.5\\n\\nP2,\\n", encoding="utf-8")
    >>> read_source(source).to_dict("index")
    {0: {'计划代码': '0012', '期末资产规模': '1.5'}, 2: {'计划代码': 'P2', '期末资产规模': ''}}
    """
    path = Path(path)
    name = source_name(path)
    if name != path.name:
        raise SourceFileError(
            f"{name}: the file name is not UTF-8 text, which the failure log and the "
            "database need: rename the file"
        )
    if not path.is_file():
        raise SourceFileError(f"{path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            data = path.read_bytes()
        except OSError as error:
            raise SourceFileError(f"{name} cannot be read: {error.strerror}") from error
        return read_csv_text(data, name)
    if suffix == ".xlsx":
        return read_sheet(path)
    raise SourceFileError(f"{name}: only {', '.join(SOURCE_SUFFIXES)} sources are read")


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
