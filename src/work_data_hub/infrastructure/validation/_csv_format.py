"""The failure log on disk: UTF-8 CSV, one plain header, every text field quoted.

The header is written unquoted exactly as :data:`HEADER_LINE`. Data rows are
written by pyarrow's CSV writer with ``quoting_style="needed"``, which quotes
every string value: a lone ``\\r``, newlines, quotes, commas, tabs and U+2028
therefore read back unchanged with ``pd.read_csv`` and ``csv.DictReader``.
Lines end in ``\\n``. ``row_index`` is an unquoted integer, empty when unknown.
"""

from __future__ import annotations

import csv
import io
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from work_data_hub.errors import FailureLogFormatError
from work_data_hub.infrastructure.validation.schema import FIELDNAMES, HEADER_LINE

__all__ = [
    "HEADER_BYTES",
    "check_header",
    "first_line",
    "to_arrow_table",
    "write_fully",
    "write_rows",
]

HEADER_BYTES: Final = HEADER_LINE.encode()
#: Rows handed to the CSV writer at a time: bounds the text held in memory.
WRITE_BATCH_ROWS: Final = 16_384
_MAX_HEADER_BYTES: Final = 4096

_WRITE_OPTIONS: Final = pa_csv.WriteOptions(
    include_header=False, quoting_style="needed", batch_size=WRITE_BATCH_ROWS
)
_TEXT: Final = pa.large_string()


def first_line(data: bytes) -> bytes:
    """Return the first line of ``data`` (without its line break)."""
    return data.split(b"\n", 1)[0].rstrip(b"\r")


def check_header(head: bytes, path: Path) -> None:
    """Raise unless ``head`` (a file's first bytes) starts with the seven names.

    >>> check_header(HEADER_BYTES, Path("x.csv"))
    >>> check_header(b"a,b\\n", Path("x.csv"))
    Traceback (most recent call last):
    ...
    work_data_hub.errors.FailureLogFormatError: x.csv is not a failure log: ...
    """
    if not head:
        raise FailureLogFormatError(
            f"{path} is not a failure log: it is empty (no header)", path=path
        )
    line = first_line(head[:_MAX_HEADER_BYTES])
    try:
        names = next(csv.reader(io.StringIO(line.decode("utf-8"))), [])
    except UnicodeDecodeError:
        names = [line[:80].decode("utf-8", "replace")]
    if tuple(names) != FIELDNAMES:
        raise FailureLogFormatError(
            f"{path} is not a failure log: its header is {names}, expected {','.join(FIELDNAMES)}",
            path=path,
        )


def _timestamp_text(timestamps: pd.Series) -> pa.Array:
    # A frame usually carries one timestamp per export: format distinct values once.
    codes, uniques = pd.factorize(timestamps.dt.tz_convert("UTC").dt.tz_localize(None))
    text = np.char.add(np.datetime_as_string(uniques.to_numpy(), unit="us"), "+00:00")
    return pa.array(text, type=_TEXT).take(pa.array(codes))


def _category_text(values: pd.Series) -> pa.Array:
    codes = values.cat.codes.to_numpy()
    categories = pa.array(values.cat.categories.astype(str), type=_TEXT)
    return categories.take(pa.array(codes, mask=codes < 0))


def to_arrow_table(frame: pd.DataFrame) -> pa.Table:
    """Return a validated seven-column frame as the text table that is written."""
    columns = {
        "session_id": pa.array(frame["session_id"], type=_TEXT),
        "timestamp": _timestamp_text(frame["timestamp"]),
        "domain": pa.array(frame["domain"], type=_TEXT),
        "source_file": pa.array(frame["source_file"], type=_TEXT),
        "row_index": pa.array(frame["row_index"], type=pa.int64(), from_pandas=True),
        "error_type": _category_text(frame["error_type"]),
        "raw_data": pa.array(frame["raw_data"], type=_TEXT),
    }
    return pa.table(columns)


def write_fully(fd: int, data: bytes | memoryview | pa.Buffer) -> None:
    """Write all of ``data`` to ``fd``, retrying short writes; raise on an error."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _render(batch: pa.RecordBatch) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(batch, sink, write_options=_WRITE_OPTIONS)
    return sink.getvalue()


def write_rows(fd: int, table: pa.Table) -> None:
    """Write ``table``'s rows (no header) to ``fd`` as CSV, in order, batch by batch.

    Batches are rendered by Arrow's writer on a thread pool (it releases the
    GIL) and written with plain ``os.write`` calls as they come, in order. At
    most one batch per worker plus one is held as text: the export streams.
    """
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[pa.Buffer]] = deque()
        for batch in table.to_batches(max_chunksize=WRITE_BATCH_ROWS):
            pending.append(pool.submit(_render, batch))
            if len(pending) > workers:
                write_fully(fd, pending.popleft().result())
        while pending:
            write_fully(fd, pending.popleft().result())
