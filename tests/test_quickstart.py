"""The README quickstart and its sample job (`python -m work_data_hub.quickstart`) work."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT
from work_data_hub.infrastructure.validation import expand_raw_data, read_failures


def test_readme_quickstart_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", readme, re.S).group(1)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "P0013" in result.stdout
    assert "P0014" in result.stdout
    logs = list((tmp_path / "logs").glob("wdh_etl_failures_etl_*.csv"))
    assert len(logs) == 1
    assert read_failures(logs[0])["row_index"].tolist() == [1, 2]


def test_sample_job_logs_both_kinds_and_prints_the_path(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "work_data_hub.quickstart"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    (log,) = (tmp_path / "logs").glob("wdh_etl_failures_etl_*.csv")
    assert str(log.resolve()) in result.stdout.replace("\n", "")
    failures = read_failures(log)
    assert failures["error_type"].value_counts().to_dict() == {
        "VALIDATION_FAILED": 3,
        "DROPPED_IN_PIPELINE": 1,
        "ENRICHMENT_FAILED": 0,
        "FK_CONSTRAINT_VIOLATION": 0,
    }
    raw = expand_raw_data(failures)
    # the quoted name with embedded quotes and the '-12.5' row come back as read
    assert '广州珠江"贸易"有限公司' in raw["客户名称"].tolist()
    assert "7 rows read, 4 failed" in result.stdout


def test_readme_worked_example_reproduces_exactly(tmp_path):
    """The explain-then-replay example, run as written after `make run` on the samples:
    the same output but for the session ids (new each run)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\n```\n(\$ wdh-failures explain .*?)```", readme, re.S).group(1)
    shutil.copytree(ROOT / "data" / "samples", tmp_path / "data" / "samples")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("COLUMNS", None)
    run = subprocess.run(
        ["wdh-etl", "--all-domains"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    commands = re.split(r"^\$ (.*)$", block, flags=re.M)[1:]
    for command, expected in zip(commands[::2], commands[1::2], strict=True):
        result = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, (command, result.stderr)
        session = re.compile(r"etl_\d{8}_\d{6}_[0-9a-f]{6}")
        assert (
            session.sub("SESSION", result.stdout).strip()
            == session.sub("SESSION", expected).strip()
        ), command
