"""A CSV source as a table of text: every record in its place, none shifted or merged.

Arrow parses the file when every record has the header's field count (the
usual case; fast). Otherwise the standard library's ``csv`` module reads it
record by record, which knows where each record starts, so the error can
name the line. Both give the same frame (a property test holds them equal).

The rules, the same for both paths:

- The header is the first record. Trailing empty header fields are not
  columns (some writers end every line with a comma).
- A record with more fields than the header is accepted only when every
  extra field is empty (the trailing comma again); any other field count
  refuses the file: no record is shifted under another column or merged.
- A fully empty record (a blank line, or only commas) is not data: it is
  skipped, and the records after it keep their places, so the frame's index
  is each record's position below the header (record 0 is the first one).
- A file that ends inside a quoted value (a quote opened and never closed)
  is refused: every line after the quote would be read as that one value,
  and the records on them lost without a trace.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from work_data_hub.errors import SourceFileError
from work_data_hub.io._headers import header_names
from work_data_hub.io._re2 import matches

__all__ = ["decode_csv", "read_csv_text"]

_ENCODINGS: Final = ("utf-8-sig", "gb18030")
_BOM: Final = b"\xef\xbb\xbf"
#: A field as the ``csv`` module (``strict=False``) reads one, never open at its end:
#: quoted (``""`` a quote inside), then perhaps text up to the separator; or unquoted.
_FIELD: Final = r'(?:"(?:[^"]|"")*"(?:[^",\r\n][^,\r\n]*)?|[^",\r\n][^,\r\n]*)?'
#: A whole file of such fields and separators: no quoted value is open at its end.
_CLOSED: Final = rf"\A{_FIELD}(?:(?:,|\r\n|\r|\n){_FIELD})*\z"


def decode_csv(data: bytes, name: str) -> tuple[str, bytes]:
    """Return the file's text and its UTF-8 bytes (no BOM): UTF-8, else GB18030.

    >>> decode_csv("café\\n".encode("gb18030"), "a.csv")[1].decode()
    'café\\n'
    """
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        utf8 = data.removeprefix(_BOM) if encoding == "utf-8-sig" else text.encode()
        return text, utf8
    raise SourceFileError(f"{name} is neither UTF-8 nor GB18030 text")


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each record; a blank line is ``[]``."""
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # huge cells are data
    lines = io.StringIO(text, newline="")  # keeps \r, \n and \r\n inside quoted values
    reader = csv.reader(lines, strict=False)
    start = 1
    for fields in reader:
        yield start, fields
        start = reader.line_num + 1


def _ends_in_quote(utf8: bytes) -> bool:
    """Whether a quoted value is still open at the end of the file (one compiled, linear
    RE2 pass; none can be without a quote).

    >>> _ends_in_quote(b'a,b\\n1,"x\\n2,y\\n'), _ends_in_quote(b'a,b\\n1,"x\\n2",y\\n')
    (True, False)
    """
    return b'"' in utf8 and not matches(utf8, _CLOSED)


def _unclosed(text: str, name: str) -> SourceFileError:
    """The error for a file that ends inside a quoted value, naming its record's line."""
    *_, (line, _) = _records(text)  # the last record holds the open quote
    last = sum(1 for _ in io.StringIO(text, newline=""))  # lines as the csv module counts
    return SourceFileError(
        f"{name} line {line}: a quoted value in this record is never closed, so lines "
        f"{line}-{last} (to the end of the file) would be read as one value: close the "
        'quote (a quote inside a quoted value is written "") and run the file again',
        path=name,
        line=line,
    )


def _ragged(name: str, line: int, fields: int, width: int) -> SourceFileError:
    what = "more" if fields > width else "fewer"
    return SourceFileError(
        f"{name} line {line} has {fields} fields, {what} than the header's {width}: "
        "fix that line (an unquoted comma, a missing or extra field) and run the file again",
        path=name,
        line=line,
    )


def _exact_frame(text: str, name: str) -> pd.DataFrame:
    """Record by record (the standard library's reader)."""
    records = _records(text)
    _, header = next(records, (1, []))
    names = header_names(header, name)
    width = len(names)
    labels: list[int] = []
    kept: list[list[str]] = []
    for position, (line, fields) in enumerate(records):
        if not any(fields):
            continue  # a blank line or only separators: not a data row
        if len(fields) != width:
            if len(fields) < width or any(fields[width:]):
                raise _ragged(name, line, len(fields), width)
            fields = fields[:width]
        labels.append(position)
        kept.append(fields)
    columns = list(zip(*kept, strict=True)) if kept else [()] * width
    frame = pd.DataFrame(
        {str(n): pd.array(list(c), dtype="str") for n, c in zip(names, columns, strict=True)}
    )
    frame.index = pd.Index(np.asarray(labels, dtype=np.int64))
    return frame


def _fast_frame(utf8: bytes, header: list[str], names: list[str]) -> pd.DataFrame | None:
    """Arrow's parse, or None when a record is irregular (the exact path decides)."""
    irregular = False

    def on_invalid_row(_row: object) -> str:
        nonlocal irregular
        irregular = True
        return "skip"

    # The header is parsed as a record too (Arrow's skip_rows does not honour quotes).
    fields = [f"f{i}" for i in range(len(header))]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(utf8),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid_row,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(fields, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # e.g. a record longer than Arrow's block: the exact path reads it
    if irregular or table.column_names != fields or table.num_rows == 0:
        return None
    if [column[0].as_py() for column in table.columns] != header:
        return None  # Arrow saw another header than the csv module: trust neither here
    table = table.slice(1)
    width = len(names)
    if len(header) > width and _any_text(table.select(fields[width:])):
        return None  # a value under an unnamed trailing column: the exact path names it
    named = table.select(fields[:width]).rename_columns(names)
    present = _row_has_text(named)
    if not present.all():
        named = named.filter(pa.array(present))
    frame: pd.DataFrame = named.to_pandas(types_mapper=_text_dtype)
    frame.index = pd.Index(np.flatnonzero(present).astype(np.int64))
    return frame


def _text_dtype(arrow_type: pa.DataType) -> object:
    """pandas' ``str`` dtype (Arrow-backed, NaN for missing) for Arrow text."""
    return (
        pd.StringDtype("pyarrow", na_value=np.nan) if pa.types.is_large_string(arrow_type) else None
    )


def _row_has_text(table: pa.Table) -> np.ndarray:
    """Per row: does any of its fields hold a character?"""
    if table.num_columns == 0:
        return np.zeros(table.num_rows, dtype=bool)
    lengths = [pc.binary_length(column) for column in table.columns]
    total = lengths[0]
    for length in lengths[1:]:
        total = pc.add(total, length)
    present: np.ndarray = pc.greater(total, 0).to_numpy(zero_copy_only=False)
    return present


def _any_text(table: pa.Table) -> bool:
    return bool(_row_has_text(table).any())


def read_csv_text(data: bytes, name: str) -> pd.DataFrame:
    """A CSV file's records as text columns, indexed by position below the header.

    >>> read_csv_text(b"a,b\\n1,2\\n\\n3,\\n", "x.csv").to_dict("index")
    {0: {'a': '1', 'b': '2'}, 2: {'a': '3', 'b': ''}}
    >>> read_csv_text(b"a,b\\n1,2,3\\n", "x.csv")
    Traceback (most recent call last):
    ...
    work_data_hub.errors.SourceFileError: x.csv line 2 has 3 fields, more than the header's 2: ...
    """
    text, utf8 = decode_csv(data, name)
    if _ends_in_quote(utf8):
        raise _unclosed(text, name)
    _, header = next(_records(text), (1, []))
    names = header_names(header, name)
    frame = _fast_frame(utf8, header, names)
    return frame if frame is not None else _exact_frame(text, name)
