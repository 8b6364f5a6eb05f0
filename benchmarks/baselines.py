"""What the failure log is measured against: the original per-row design and the floor."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv


@dataclass(frozen=True)
class PerRowRecord:
    """The original design's record: one Python object per failed row."""

    session_id: str
    timestamp: str
    domain: str
    source_file: str
    row_index: int
    error_type: str
    raw_data: str


def per_row_export(frame: pd.DataFrame, session_id: str, path: Path) -> None:
    """The original design: iterrows, a frozen dataclass and ``json.dumps`` per
    row (``ensure_ascii=False, default=str``), then ``csv.DictWriter``."""
    records = [
        PerRowRecord(
            session_id=session_id,
            timestamp=datetime.now(UTC).isoformat(),
            domain="annuity_performance",
            source_file="2024-03.xlsx",
            row_index=int(label),
            error_type="DROPPED_IN_PIPELINE",
            raw_data=json.dumps(row.to_dict(), ensure_ascii=False, default=str),
        )
        for label, row in frame.iterrows()
    ]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(PerRowRecord.__dataclass_fields__))
        writer.writeheader()
        for record in records:
            writer.writerow(asdict(record))


def pyarrow_floor(table: pa.Table, path: Path) -> None:
    """The floor: pyarrow's CSV writer on the already-built seven-column table."""
    pa_csv.write_csv(table, str(path))
