"""Source files of a domain, read exactly as they are, for the pipelines and the log.

``read_source`` returns the first visible sheet of a workbook or the whole of
a CSV, header on the first row; ``read_tables`` returns a domain's tables of
one file: a workbook's named sheets (each labelled ``<file>[<sheet>]``, the
``source_file`` its rows are logged and loaded under), or the one table of a
CSV or of a workbook's first visible sheet (labelled by the file's name).

A table's index is each row's position below the header, the ``row_index``
the failure log records: index 0 is the row right under the header, which a
spreadsheet shows as row 2 (row ``N`` shows as ``N + 2``). Fully empty rows
(blank lines, rows of empty cells) are not data and are skipped, but the
rows after them keep their positions, so a logged row is always found at
sheet row ``row_index + 2``.

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

import hashlib
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd

from work_data_hub.domain.table import ReferenceTable
from work_data_hub.errors import SourceFileError
from work_data_hub.io._csv_reader import read_csv_text
from work_data_hub.io._xlsx_reader import read_sheets

__all__ = [
    "SOURCE_SUFFIXES",
    "SourceListing",
    "list_sources",
    "parse_size",
    "read_reference",
    "read_source",
    "read_tables",
    "source_digest",
    "source_name",
]

SOURCE_SUFFIXES: Final = (".csv", ".xlsx")


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


def parse_size(path: Path) -> int:
    r"""The bytes a reader parses in ``path``: a workbook's worksheets and shared strings
    uncompressed (read from the zip's directory: nothing is extracted), another file's
    size; 0 for a file that cannot be opened (its read says why). A workbook parses
    several times the bytes it takes on disk: a run hands out the largest work first.

    >>> import tempfile
    >>> csv = Path(tempfile.mkdtemp()) / "2024-03.csv"
    >>> _ = csv.write_text("month,plan\n2024-03,P1\n", encoding="utf-8")
    >>> parse_size(csv), parse_size(csv.with_name("gone.xlsx"))
    (22, 0)
    """
    if path.suffix.lower() == ".xlsx":
        try:
            with zipfile.ZipFile(path) as workbook:
                return sum(
                    member.file_size
                    for member in workbook.infolist()
                    if member.filename.startswith("xl/worksheets/")
                    or member.filename == "xl/sharedStrings.xml"
                )
        except Exception:  # any broken zip (BadZipFile, an unknown version, a bad name):
            pass  # an estimate only orders the work; the file's read says what is wrong
    try:
        return path.stat().st_size
    except OSError:
        return 0


def list_sources(source_dir: Path, domain: str) -> SourceListing:
    """The domain's source files, ``source_dir/<domain>/*.xlsx|*.csv``, sorted by name.

    Excel's lock files (``~$name.xlsx``, present while a workbook is open) and
    hidden files (``.name.csv``) are not sources: they are listed in
    ``skipped``. A symbolic link to nothing (a share not mounted) or a loop of
    links is listed: its read is that file's error.

    Raises:
        SourceFileError: there is no such folder.
    """
    folder = source_dir / domain
    if not folder.is_dir():
        raise SourceFileError(f"no source folder {folder} for domain {domain}")
    files, skipped = [], {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in SOURCE_SUFFIXES:
            continue
        if not path.is_file() and not (path.is_symlink() and not path.exists()):
            continue  # a folder; a link that leads nowhere is a file that cannot be read
        reason = _not_a_source(path)
        if reason is None:
            files.append(path)
        else:
            skipped[source_name(path)] = reason
    return SourceListing(files, skipped)


def read_tables(path: str | Path, sheets: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """A source file's tables by the ``source_file`` label their rows carry.

    ``sheets``: the workbook sheets to read, labelled ``<file>[<sheet>]``
    (Excel forbids ``[`` and ``]`` in sheet names, so labels parse back);
    ``None`` or a CSV: one table labelled by the file's name.

    Raises:
        SourceFileError: as ``read_source``, or a named sheet is missing.

    >>> import tempfile
    >>> source = Path(tempfile.mkdtemp()) / "2024-03.csv"
    >>> _ = source.write_text("a\\n1\\n", encoding="utf-8")
    >>> list(read_tables(source, sheets=("trustee", "investment")))
    ['2024-03.csv']
    """
    path = _checked(path)
    name = path.name
    if path.suffix.lower() == ".csv":
        return {name: _read_csv(path)}
    tables = read_sheets(path, sheets)
    return {name if sheet is None else f"{name}[{sheet}]": frame for sheet, frame in tables.items()}


def read_source(path: str | Path) -> pd.DataFrame:
    """Read one source file as it is, indexed by each row's position below the header.

    Raises:
        SourceFileError: the file is missing, empty, corrupt, of another type,
            has a name that is not UTF-8, duplicate column names, or a row that
            does not line up with the header.

    >>> import tempfile
    >>> source = Path(tempfile.mkdtemp()) / "2024-03.csv"
    >>> _ = source.write_text("plan,amount\\n0012,1.5\\n\\nP2,\\n", encoding="utf-8")
    >>> read_source(source).to_dict("index")
    {0: {'plan': '0012', 'amount': '1.5'}, 2: {'plan': 'P2', 'amount': ''}}
    """
    (frame,) = read_tables(path).values()
    return frame


def _checked(path: str | Path) -> Path:
    path = Path(path)
    name = source_name(path)
    if name != path.name:
        raise SourceFileError(
            f"{name}: the file name is not UTF-8 text, which the failure log and the "
            "database need: rename the file",
            path=name,
        )
    if not path.is_file():
        raise SourceFileError(_not_a_file(path), path=path)
    if path.suffix.lower() not in SOURCE_SUFFIXES:
        raise SourceFileError(
            f"{name}: only {', '.join(SOURCE_SUFFIXES)} sources are read", path=path
        )
    return path


def _not_a_file(path: Path) -> str:
    """Why ``path`` is not a file to read, naming where a symbolic link leads."""
    if path.is_symlink():
        try:
            path.stat()
        except OSError as error:
            return _cannot_read(path, error)
    return f"{path} does not exist or is not a file"


def _cannot_read(path: Path, error: OSError) -> str:
    link = f" (a link to {os.readlink(path)})" if path.is_symlink() else ""
    return f"{source_name(path)} cannot be read: {error.strerror or error}{link}"


def source_digest(path: Path) -> str:
    """The SHA-256 of ``path``'s bytes, in hex.

    Raises:
        SourceFileError: the file cannot be read (a link to nothing, no permission).
    """
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise SourceFileError(_cannot_read(path, error), path=path) from error
    return digest.hexdigest()


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceFileError(_cannot_read(path, error), path=path) from error
    return read_csv_text(data, path.name)


def read_reference(
    folder: str | Path, specs: Sequence[ReferenceTable]
) -> dict[ReferenceTable, pd.DataFrame]:
    """Read each reference table's file (``<name>.csv``) from a reference folder.

    Raises:
        SourceFileError: a file is missing or unreadable, or lacks a column.
    """
    folder = Path(folder)
    frames = {}
    for spec in specs:
        frame = read_source(folder / spec.file)
        missing = [column for column in spec.columns if column not in frame.columns]
        if missing:
            raise SourceFileError(f"{folder / spec.file} lacks the columns {missing}", path=folder)
        frames[spec] = frame
    return frames
