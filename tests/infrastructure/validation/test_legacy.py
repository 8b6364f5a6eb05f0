import re
from datetime import datetime
from pathlib import Path

import pandas as pd

from work_data_hub.infrastructure.validation import export_error_csv


def test_writes_comment_header_then_frame_with_index(tmp_path):
    failed = pd.DataFrame({"计划代码": ["P1", "P2"], "金额": [1.5, None]}, index=[4, 9])
    before = datetime.now()
    path = export_error_csv(
        failed, filename_prefix="bronze", output_dir=tmp_path / "out", timestamp_format="%Y%m%d"
    )
    assert path == tmp_path / "out" / f"bronze_{before.strftime('%Y%m%d')}.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "# Validation Errors Export"
    assert re.fullmatch(r"# Date: \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}", lines[1])
    assert lines[2] == "# Total Failed Rows: 2"
    assert lines[3:] == [",计划代码,金额", "4,P1,1.5", "9,P2,", ""]


def test_defaults_to_logs_and_the_timestamped_prefix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = export_error_csv(pd.DataFrame({"a": [1]}))
    assert path.parent == Path("logs")
    assert path.exists()
    assert re.fullmatch(r"validation_errors_\d{8}_\d{6}\.csv", path.name)
