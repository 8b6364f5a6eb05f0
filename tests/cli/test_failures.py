"""``wdh-failures`` end to end: real logs in tmp_path, the command in a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.helpers import NEW, OLD, wdh_failures, write_two_sessions
from work_data_hub.infrastructure.validation._file_lock import lock_path_for

RAW = pd.DataFrame(
    {
        "计划代码": ["P1", "P2", "P3", "P4"],
        "客户名称": ["上海浦江制造有限公司", "[bold]乙[/]", "丙", "丁"],
        "期末资产规模": [1.5, -3.0, 7.25, 0.0],
    }
)


@pytest.fixture
def logs(tmp_path):
    return write_two_sessions(tmp_path / "logs", RAW)


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).parent / "wdh-failures"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "sessions" in result.stdout


def test_sessions(logs):
    result = wdh_failures("sessions", cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.index(NEW) < result.stdout.index(OLD)
    data = json.loads(wdh_failures("sessions", "--json", cwd=logs.parent).stdout)
    assert [s["session_id"] for s in data] == [NEW, OLD]
    assert data[0]["ENRICHMENT_FAILED"] == 1


def test_summary_of_the_newest_session_by_default(logs):
    result = wdh_failures("summary", cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    assert f"wdh_etl_failures_{NEW}.csv" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "annuity_performance" in line)
    assert row.split() == ["annuity_performance", "b.xlsx", "0", "0", "1", "0", "1"]
    data = json.loads(wdh_failures("summary", "etl_20240301", "--json", cwd=logs.parent).stdout)
    assert data["summary"][-1]["total"] == 2


def test_show_filters_and_reads_at_80_columns(logs):
    result = wdh_failures("show", "--domain", "annuity_income", "--limit", "1", cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "annuity_income · a.csv · row 1 · VALIDATION_FAILED" in result.stdout
    assert "[bold]乙[/]" in result.stdout  # shown as text, never as markup
    assert "1 of 2 failed rows (--limit 1)" in result.stdout
    data = json.loads(
        wdh_failures(
            "show", NEW, "--error-type", "ENRICHMENT_FAILED", "--json", cwd=logs.parent
        ).stdout
    )
    assert data == [
        {
            "session_id": NEW,
            "timestamp": data[0]["timestamp"],
            "domain": "annuity_performance",
            "source_file": "b.xlsx",
            "row_index": 3,
            "error_type": "ENRICHMENT_FAILED",
            "raw": {"计划代码": "P4", "客户名称": "丁", "期末资产规模": 0.0},
        }
    ]


def test_diff(logs):
    result = wdh_failures("diff", OLD, NEW, cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    assert "2 new, 1 resolved, 1 persisting" in " ".join(result.stdout.split())
    assert "P3" in result.stdout  # new failures are listed
    data = json.loads(wdh_failures("diff", OLD, NEW, "--json", cwd=logs.parent).stdout)
    assert data["counts"] == {"new": 2, "resolved": 1, "persisting": 1}


def test_excel(logs, tmp_path):
    out = tmp_path / "report.xlsx"
    result = wdh_failures("excel", "-o", str(out), cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout.replace("\n", "")
    assert load_workbook(out).sheetnames == ["summary", "annuity_income", "annuity_performance"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sessions", "--logs-dir", "nowhere"], "no logs folder at nowhere"),
        (["summary", "etl_2023"], "no session in logs starts with 'etl_2023'"),
        (["summary", "etl_2024"], "'etl_2024' matches 2 sessions"),
        (["show", "missing.csv"], "no failure log at missing.csv"),
        (["summary", "notes.csv"], "notes.csv is not a failure log"),
    ],
)
def test_bad_input_gets_one_clear_line(logs, args, message):
    (logs.parent / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    result = wdh_failures(*args, cwd=logs.parent)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("wdh-failures: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_logs_folder(tmp_path):
    (tmp_path / "logs").mkdir()
    result = wdh_failures("sessions", cwd=tmp_path)
    assert result.returncode == 1
    assert "no failure logs in logs" in result.stderr


def test_bad_arguments_exit_2(logs):
    assert wdh_failures("show", "--limit", "0", cwd=logs.parent).returncode == 2
    assert wdh_failures("show", "--error-type", "NOPE", cwd=logs.parent).returncode == 2
    assert wdh_failures("frobnicate", cwd=logs.parent).returncode == 2


@pytest.mark.parametrize("command", [["summary", NEW], ["sessions"]])
def test_torn_tail_is_reported_not_dropped_silently(logs, command):
    path = logs / f"wdh_etl_failures_{NEW}.csv"
    assert lock_path_for(path).exists()
    with path.open("ab") as file:
        file.write(b"etl_20240302_090000_bbbbbb,2024-03-02T0")
    result = wdh_failures(*command, cwd=logs.parent)
    assert result.returncode == 1
    assert result.stderr.startswith("wdh-failures: warning: ")
    assert "ignoring 39 bytes after the last finished export" in result.stderr
    assert "Warning" not in result.stderr  # said once, not as a Python warning too
    assert NEW in result.stdout  # the committed rows are still shown
