"""Entry points of the first design, kept for its callers.

``export_error_csv`` writes one timestamped CSV per call with a comment
header; ``export_failed_records`` exports records and returns the log's path
as text. Both keep their original signatures and output. New code logs
failures with ``to_failed_frame`` and ``FailureExporter``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from work_data_hub.infrastructure.validation.exporter import FailureExporter
from work_data_hub.infrastructure.validation.failed_record import FailedRecord

__all__ = ["export_error_csv", "export_failed_records"]


def export_error_csv(
    failed_rows: pd.DataFrame,
    filename_prefix: str = "validation_errors",
    output_dir: Path | None = None,
    timestamp_format: str = "%Y%m%d_%H%M%S",
) -> Path:
    """Write ``failed_rows`` to ``{output_dir or logs}/{prefix}_{timestamp}.csv``.

    The file starts with three ``# `` lines (title, ISO date, number of failed
    rows), then the frame as CSV with its index.

    >>> import tempfile
    >>> path = export_error_csv(pd.DataFrame({"a": [1]}), output_dir=Path(tempfile.mkdtemp()))
    >>> path.read_text(encoding="utf-8").splitlines()[2:]
    ['# Total Failed Rows: 1', ',a', '0,1']
    """
    directory = Path("logs") if output_dir is None else Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now()
    path = directory / f"{filename_prefix}_{now.strftime(timestamp_format)}.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        file.write("# Validation Errors Export\n")
        file.write(f"# Date: {now.isoformat()}\n")
        file.write(f"# Total Failed Rows: {len(failed_rows)}\n")
        failed_rows.to_csv(file, index=True, lineterminator="\n")
    return path


def export_failed_records(
    records: Sequence[FailedRecord] | pd.DataFrame,
    session_id: str,
    output_dir: str | Path = "logs",
) -> str:
    """Export ``records`` to the session's failure log; return its absolute path.

    >>> import tempfile
    >>> export_failed_records([], "etl_20240101_120000_abcdef", tempfile.mkdtemp()).endswith(
    ...     "wdh_etl_failures_etl_20240101_120000_abcdef.csv")
    True
    """
    path = FailureExporter(session_id, Path(output_dir)).export(records)
    return str(path.resolve())
