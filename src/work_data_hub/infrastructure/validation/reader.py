"""``read_failures``: a failure log back as a typed frame, each failed row once.

A row can be logged more than once in a session: a session resumed with the
same id runs again the files whose load did not commit, and logs their rows
again. One rule holds for every reader: a row (same session, domain, source
file and row index) counts once, by its latest entry (by ``timestamp``; log
order breaks ties). ``read_failures`` applies it unless asked for every
entry; ``latest_entries`` applies it to any frame.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from work_data_hub.errors import FailureLogFormatError, FailureLogWarning
from work_data_hub.infrastructure.validation._commit_record import committed_length, read_record
from work_data_hub.infrastructure.validation._csv_format import check_header
from work_data_hub.infrastructure.validation._file_lock import locked_shared
from work_data_hub.infrastructure.validation._raw_decode import pandas_dtype_for
from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.schema import (
    ERROR_TYPE_DTYPE,
    FAILURE_LOG_DTYPES,
    FIELDNAMES,
)

__all__ = ["holds_entries", "latest_entries", "read_failures"]

_TEXT: Final = pa.large_string()
_DEFAULT_BLOCK: Final = pa_csv.ReadOptions().block_size
_MAX_BLOCK: Final = 2**31 - 1
_CONVERT_OPTIONS: Final = pa_csv.ConvertOptions(
    column_types={
        **{name: _TEXT for name in FIELDNAMES},
        "timestamp": pa.timestamp("us", tz="UTC"),
        "row_index": pa.int64(),
    },
    null_values=[""],
    strings_can_be_null=False,
    quoted_strings_can_be_null=False,
)


def _committed_bytes(path: Path) -> pa.Buffer:
    """The log's bytes that belong to finished exports (memory-mapped, no copy)."""
    with locked_shared(path) as lock_fd, path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        record = read_record(lock_fd) if lock_fd is not None else None
        # without a record, it was not written by an exporter here (is it a log at all?),
        # unless it is the empty start of a first export that never finished
        if record is None and (lock_fd is None or size > 0):
            check_header(file.read(4096), path)
        committed = committed_length(file.fileno(), size, record, path)
    if size > committed:
        warnings.warn(
            FailureLogWarning(
                f"{path}: ignoring {size - committed} bytes after the last finished export "
                "(an interrupted export); the next export moves them to a sidecar file"
            ),
            stacklevel=3,
        )
    if committed == 0:
        return pa.py_buffer(b"")
    return pa.memory_map(str(path)).read_buffer(committed)


def _longest_line(data: pa.Buffer) -> int:
    """The length of the longest line of ``data``, scanned a block at a time."""
    view = memoryview(data)
    longest, line_start, block = 0, 0, 1 << 26
    for offset in range(0, len(view), block):
        chunk = np.frombuffer(view[offset : offset + block], dtype=np.uint8)
        ends = np.flatnonzero(chunk == 0x0A) + offset
        if len(ends):
            starts = np.concatenate(([line_start], ends[:-1] + 1))
            longest = max(longest, int((ends - starts).max()))
            line_start = int(ends[-1]) + 1
    return max(longest, len(view) - line_start)


def _parse(data: pa.Buffer, path: Path) -> pa.Table:
    # Values with a line break (possible in domain or source_file, never in
    # raw_data) need Arrow's slower quote-aware splitting. Such a line can
    # only ever parse short of the seven columns, so the fast parse fails
    # loudly on it and the careful one runs instead. A line longer than
    # Arrow's block (a cell of megabytes) needs blocks at least that long.
    def parse(newlines_in_values: bool, block_size: int | None = None) -> pa.Table:
        read_options = pa_csv.ReadOptions(skip_rows=1, column_names=list(FIELDNAMES))
        if block_size is not None:
            read_options.block_size = block_size
        return pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=read_options,
            parse_options=pa_csv.ParseOptions(newlines_in_values=newlines_in_values),
            convert_options=_CONVERT_OPTIONS,
        )

    error: Exception | None = None
    for newlines_in_values in (False, True):
        try:
            return parse(newlines_in_values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as parse_error:
            error = parse_error
    longest = _longest_line(data)
    if longest >= _DEFAULT_BLOCK // 2:
        # a record (a line, or a few with line breaks in values) holds a huge cell:
        # blocks big enough for it, else one block for the whole log
        for block in sorted({min(_MAX_BLOCK, 4 * longest + 4), min(_MAX_BLOCK, data.size + 1)}):
            try:
                return parse(newlines_in_values=True, block_size=block)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as parse_error:
                error = parse_error
    raise FailureLogFormatError(f"{path} has a malformed row: {error}", path=path) from error


def _error_type_categorical(values: pa.Array, path: Path) -> pd.Categorical:
    """The error_type column as a Categorical of the four values, refusing others."""
    encoded = pc.dictionary_encode(values)
    seen = encoded.dictionary.to_pylist()
    unknown = sorted(set(seen) - set(ERROR_TYPE_DTYPE.categories))
    if unknown:
        raise FailureLogFormatError(
            f"{path} has an unknown error_type {unknown[0]!r}; expected one of "
            f"{[e.value for e in ErrorType]}",
            path=path,
        )
    positions = np.array([ERROR_TYPE_DTYPE.categories.get_loc(v) for v in seen], dtype=np.int8)
    codes = positions[encoded.indices.to_numpy(zero_copy_only=False)] if seen else []
    return pd.Categorical.from_codes(codes, dtype=ERROR_TYPE_DTYPE)


_ENTRY_KEY: Final = ("session_id", "domain", "source_file", "row_index")


def latest_entries(failures: pd.DataFrame) -> pd.DataFrame:
    """One entry per failed row (domain, source file, row index; and session when
    there is a ``session_id`` column): the latest. Rows without a row index
    are never merged. Labels are kept.

    >>> log = pd.DataFrame({"domain": ["d", "d"], "source_file": ["a.csv"] * 2,
    ...                     "row_index": [4, 4], "error_type": ["X", "Y"]})
    >>> latest_entries(log)["error_type"].tolist()
    ['Y']
    """
    key = [column for column in _ENTRY_KEY if column in failures.columns]
    missing = sorted({"domain", "source_file", "row_index"} - set(key))
    if missing:
        raise FailureLogFormatError(f"a failure log frame needs the columns {missing}")
    ordered = failures
    if "timestamp" in failures.columns and not failures["timestamp"].is_monotonic_increasing:
        ordered = failures.sort_values("timestamp", kind="stable")
    latest = ~ordered.duplicated(subset=key, keep="last") | ordered["row_index"].isna()
    if latest.all():
        return failures
    return ordered[latest].sort_index()


def holds_entries(path: str | Path) -> bool:
    """Whether ``path`` holds at least one finished export (False: no such file).

    Raises:
        FailureLogFormatError: as ``read_failures``.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FailureLogWarning)  # (its reader warns)
            return bool(_committed_bytes(path).size > 0)
    except FileNotFoundError:
        return False


def read_failures(path: str | Path, *, every_entry: bool = False) -> pd.DataFrame:
    """Read a failure log into a frame with the canonical dtypes, each failed row once.

    ``timestamp`` is tz-aware UTC, ``row_index`` nullable Int64, ``error_type``
    a category of the four ``ErrorType`` values, the rest text. A row logged
    more than once counts by its latest entry (``latest_entries``), unless
    ``every_entry`` asks for every committed line in log order.

    Raises:
        FailureLogFormatError: the header is not the seven columns, a row is
            malformed, or an ``error_type`` is unknown.

    >>> import tempfile
    >>> from work_data_hub.infrastructure.validation import FailedRecord, FailureExporter
    >>> exporter = FailureExporter("etl_20240101_120000_abcdef", Path(tempfile.mkdtemp()))
    >>> path = exporter.export([FailedRecord.from_validation_error(
    ...     exporter.session_id, "annuity_income", "a.csv", 0, "VALIDATION_FAILED", {"x": 1})])
    >>> read_failures(path)[["row_index", "error_type", "raw_data"]].to_dict("records")
    [{'row_index': 0, 'error_type': 'VALIDATION_FAILED', 'raw_data': '{"x":1}'}]
    """
    path = Path(path)
    data = _committed_bytes(path)
    if not data.size:
        return pd.DataFrame(
            {name: pd.Series(dtype=dtype) for name, dtype in FAILURE_LOG_DTYPES.items()}
        )
    check_header(data[:4096].to_pybytes(), path)
    table = _parse(data, path)
    error_types = _error_type_categorical(table["error_type"].combine_chunks(), path)
    frame = table.drop_columns(["error_type"]).to_pandas(types_mapper=pandas_dtype_for)
    frame.insert(FIELDNAMES.index("error_type"), "error_type", error_types)
    typed: pd.DataFrame = frame.astype(FAILURE_LOG_DTYPES)
    if every_entry:
        return typed
    return latest_entries(typed).reset_index(drop=True)
