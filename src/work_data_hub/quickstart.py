"""Log the failed rows of the bundled sample file: ``python -m work_data_hub.quickstart``.

Validates the sample with pandera (``VALIDATION_FAILED``), drops the subtotal
row (``DROPPED_IN_PIPELINE``), appends both to one session log and prints a
link to it. ``wdh-etl`` replaces this with the real domain pipelines.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from rich.console import Console

from work_data_hub.analysis import FrameView
from work_data_hub.cli.console import print_log_link
from work_data_hub.infrastructure.validation import (
    FailureExporter,
    dropped_rows,
    generate_session_id,
    read_failures,
    to_failed_frame,
)

SAMPLE = "annuity_performance_2024-03.csv"
SCHEMA = pa.DataFrameSchema(
    {
        "月度": pa.Column(str, pa.Check.str_matches(r"^\d{4}(\d{2}|-\d{2}|年\d{1,2}月)$")),
        "计划代码": pa.Column(str, pa.Check.str_length(min_value=1)),
        "期初资产规模": pa.Column(float, pa.Check.ge(0), coerce=True),
        "期末资产规模": pa.Column(float, pa.Check.ge(0), coerce=True),
    }
)


def run(logs_dir: Path = Path("logs"), console: Console | None = None) -> Path:
    """Process the bundled sample and return the path of its failure log."""
    console = console or Console()
    session_id = generate_session_id()
    exporter = FailureExporter(session_id, logs_dir)
    with resources.as_file(resources.files("work_data_hub.samples") / SAMPLE) as path:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)

    kept = raw[~raw["计划代码"].str.contains("合计|小计|总计")]
    exporter.export(
        to_failed_frame(
            dropped_rows(raw, kept),
            error_type="DROPPED_IN_PIPELINE",
            session_id=session_id,
            domain="annuity_performance",
            source_file=SAMPLE,
        )
    )
    try:
        SCHEMA.validate(kept, lazy=True)
    except pa.errors.SchemaErrors as error:
        exporter.export(
            to_failed_frame(
                error,
                raw=raw,
                session_id=session_id,
                domain="annuity_performance",
                source_file=SAMPLE,
            )
        )

    failures = read_failures(exporter.output_file)
    shown = failures[["row_index", "error_type", "raw_data"]]
    console.print(FrameView(shown, title=f"Session {session_id}"))
    console.print(f"{len(raw)} rows read, {len(failures)} failed")
    print_log_link(console, "Saved failure log to ", exporter.output_file)
    return exporter.output_file


if __name__ == "__main__":
    run()
    sys.exit(0)
