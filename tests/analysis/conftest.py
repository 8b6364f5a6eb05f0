"""Real failure logs in tmp_path for the analysis tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from work_data_hub.infrastructure.validation import FailureExporter, to_failed_frame


def write_log(logs: Path, session_id: str, parts: list[tuple[str, str, str, pd.DataFrame]]) -> Path:
    """Export (domain, source_file, error_type, rows) parts to one session log."""
    exporter = FailureExporter(session_id, logs)
    for domain, source_file, error_type, rows in parts:
        exporter.export(
            to_failed_frame(
                rows,
                session_id=session_id,
                domain=domain,
                source_file=source_file,
                error_type=error_type,
            )
        )
    return exporter.output_file


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.DataFrame(
        {"计划代码": ["P1", "P2", "P3", "P4", "P5"], "客户名称": ["甲", "乙", "丙", "丁", "戊"]}
    )
