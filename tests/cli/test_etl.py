"""``wdh-etl`` end to end: real source files, a real SQLite file, real subprocesses."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from tests.helpers import wdh_etl
from work_data_hub.domain import annuity_income, annuity_performance
from work_data_hub.infrastructure.validation import FIELDNAMES, read_failures

HEADER = ",".join(FIELDNAMES) + "\n"
PERFORMANCE_COLUMNS = list(annuity_performance.COLUMNS)
GOOD = ["202403", "P0012", "上海浦江制造有限公司", "100", "110", "10", "0.1"]
PERFORMANCE_ROWS = [
    GOOD,
    ["2024年3月", "P0013", "北京长城科技(集团)有限公司", "5", "6", "1", "0.2"],
    ["bad", "P0012", "上海浦江制造有限公司", "1", "1", "0", "0"],  # VALIDATION_FAILED
    ["202403", "合计", "", "105", "116", "11", ""],  # DROPPED_IN_PIPELINE
    ["202403", "P0012", "未知公司", "1", "1", "0", "0"],  # ENRICHMENT_FAILED
    ["202403", "P0099", "上海浦江制造有限公司", "1", "1", "0", "0"],  # FK_CONSTRAINT_VIOLATION
    GOOD,  # exact duplicate of row 0: DROPPED_IN_PIPELINE
]
INCOME_COLUMNS = list(annuity_income.COLUMNS)
INCOME_ROWS = [
    ["2024-03", "P0012", "上海浦江制造有限公司", "企年受托", "1", "2", "0", "0.1"],
    ["2024-03", "P0013", "上海浦江制造有限公司", "其他", "1", "2", "0", "0.1"],  # invalid type
]


@pytest.fixture
def sources(tmp_path):
    root = tmp_path / "data"
    (root / "reference").mkdir(parents=True)
    pd.DataFrame({"计划代码": ["P0012", "P0013"], "计划名称": ["一", "二"]}).to_csv(
        root / "reference" / "plans.csv", index=False
    )
    pd.DataFrame(
        {
            "客户名称": ["上海浦江制造有限公司", "北京长城科技（集团）有限公司"],
            "company_id": ["C1", "C2"],
        }
    ).to_csv(root / "reference" / "company_mapping.csv", index=False)
    performance = root / "annuity_performance"
    performance.mkdir()
    pd.DataFrame(PERFORMANCE_ROWS, columns=PERFORMANCE_COLUMNS).to_csv(
        performance / "2024-03.csv", index=False
    )
    book = Workbook()
    book.active.append(PERFORMANCE_COLUMNS)
    for row in PERFORMANCE_ROWS[:3]:
        book.active.append(row)
    book.save(performance / "2024-04.xlsx")
    income = root / "annuity_income"
    income.mkdir()
    pd.DataFrame(INCOME_ROWS, columns=INCOME_COLUMNS).to_csv(income / "2024-03.csv", index=False)
    (root / "annual_award").mkdir()  # no awards this month
    pd.DataFrame({"机构名称": ["北京分行"], "机构代码": ["G01"]}).to_csv(
        root / "reference" / "branches.csv", index=False
    )
    return root


def _run(sources, *extra, env=None):
    db = sources.parent / "wdh.db"
    summary = sources.parent / "summary.json"
    result = wdh_etl(
        "--all-domains",
        "--source",
        str(sources),
        "--db",
        f"sqlite:///{db}",
        "--summary-json",
        str(summary),
        *extra,
        cwd=sources.parent,
        env=env,
    )
    return result, db, summary


def test_run_logs_every_rejected_row_once_and_loads_the_rest(sources):
    result, db, summary_path = _run(sources)
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    files = summary["domains"]["annuity_performance"]["files"]
    assert files["2024-03.csv"] == {
        "status": "loaded",
        "read": 7,
        "loaded": 2,
        "error": None,
        "failed": {
            "VALIDATION_FAILED": 1,
            "DROPPED_IN_PIPELINE": 2,
            "ENRICHMENT_FAILED": 1,
            "FK_CONSTRAINT_VIOLATION": 1,
        },
    }
    assert files["2024-04.xlsx"]["read"] == 3
    assert files["2024-04.xlsx"]["loaded"] == 2
    income = summary["domains"]["annuity_income"]["files"]["2024-03.csv"]
    assert (income["read"], income["loaded"], income["failed"]["VALIDATION_FAILED"]) == (2, 1, 1)

    log = Path(summary["failure_log"])
    assert log.read_text(encoding="utf-8").count(HEADER) == 1
    failures = read_failures(log)
    assert set(failures["domain"]) == {"annuity_performance", "annuity_income"}
    assert set(failures["error_type"].astype(str)) == {
        "VALIDATION_FAILED",
        "DROPPED_IN_PIPELINE",
        "ENRICHMENT_FAILED",
        "FK_CONSTRAINT_VIOLATION",
    }
    assert f"Saved failure log to {log}" in result.stdout.replace("\n", "")

    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT source_file, row_index, session_id, company_id FROM annuity_performance "
            "ORDER BY source_file, row_index"
        ).fetchall()
    session = summary["session_id"]
    assert rows == [
        ("2024-03.csv", 0, session, "C1"),
        ("2024-03.csv", 1, session, "C2"),
        ("2024-04.xlsx", 0, session, "C1"),
        ("2024-04.xlsx", 1, session, "C2"),
    ]
    # conservation: per file, logged rows and loaded rows are disjoint and complete
    logged = failures[failures["source_file"] == "2024-03.csv"]
    logged = logged[logged["domain"] == "annuity_performance"]["row_index"].tolist()
    assert sorted([*logged, 0, 1]) == list(range(7))


def test_rerun_replaces_rows_and_jobs_share_one_log(sources):
    first, db, _ = _run(sources)
    assert first.returncode == 0, first.stderr
    second, _, summary_path = _run(sources, "--jobs", "2")
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(db) as connection:
        count = connection.execute("SELECT COUNT(*) FROM annuity_performance").fetchone()[0]
        sessions = connection.execute(
            "SELECT DISTINCT session_id FROM annuity_performance"
        ).fetchall()
    assert count == 4  # no duplicates after the re-run
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert sessions == [(summary["session_id"],)]
    log = Path(summary["failure_log"])
    assert log.read_text(encoding="utf-8").count(HEADER) == 1
    assert set(read_failures(log)["domain"]) == {"annuity_performance", "annuity_income"}


def test_a_resumed_session_skips_the_files_it_loaded_and_appends_the_rest(sources):
    session = "etl_20240301_090000_0a1b2c"
    first, db, summary_path = _run(sources, "--session-id", session)
    assert first.returncode == 0, first.stderr
    first_summary = json.loads(summary_path.read_text(encoding="utf-8"))
    log = Path(first_summary["failure_log"])
    before = read_failures(log, every_entry=True)
    # one file changes, one is new: those two run; the others were loaded in this session
    changed = sources / "annuity_income" / "2024-03.csv"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "2024-03,P0012,未知公司,企年受托,1,2,0,0\n",
        encoding="utf-8",
    )
    pd.DataFrame([GOOD], columns=PERFORMANCE_COLUMNS).to_csv(
        sources / "annuity_performance" / "2024-05.csv", index=False
    )
    second, _, _ = _run(sources, "--session-id", session)
    assert second.returncode == 0, second.stderr
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    performance = summary["domains"]["annuity_performance"]["files"]
    income = summary["domains"]["annuity_income"]["files"]
    assert {name: f["status"] for name, f in performance.items()} == {
        "2024-03.csv": "resumed",
        "2024-04.xlsx": "resumed",
        "2024-05.csv": "loaded",
    }
    assert income["2024-03.csv"]["status"] == "loaded"
    # a resumed file reports what its earlier load did, from the ledger and the log
    for name in ("2024-03.csv", "2024-04.xlsx"):
        earlier = first_summary["domains"]["annuity_performance"]["files"][name]
        assert {k: performance[name][k] for k in ("read", "loaded", "failed")} == {
            k: earlier[k] for k in ("read", "loaded", "failed")
        }
    # nothing of the resumed files was logged again; the changed file's rows were
    after = read_failures(log, every_entry=True)
    appended = after.iloc[len(before) :]
    assert set(appended["source_file"]) == {"2024-03.csv"}
    assert set(appended["domain"]) == {"annuity_income"}
    assert len(read_failures(log)) == len(before) + 1  # the new unknown customer, once
    assert log.read_text(encoding="utf-8").count(HEADER) == 1
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM annuity_performance").fetchone() == (5,)


def test_rich_output_links_the_log(sources):
    result, _, summary_path = _run(sources, env={"FORCE_COLOR": "1", "COLUMNS": "120"})
    assert result.returncode == 0, result.stderr
    log = Path(json.loads(summary_path.read_text(encoding="utf-8"))["failure_log"])
    assert "\x1b]8;id=" in result.stdout
    assert log.as_uri() in result.stdout


@pytest.mark.parametrize(
    ("setup", "args", "status", "message"),
    [
        (None, ["--domain", "nope", "--domain", "annuity_income"], 2, "unknown domain 'nope'"),
        (None, ["--session-id", "../x"], 2, "session_id '../x' does not match"),
        ("corrupt", [], 1, "2024-04.xlsx is not a readable .xlsx workbook"),
        ("empty", [], 1, "2024-05.csv is empty"),
        ("no_folder", [], 1, "no source folder"),
    ],
)
def test_bad_input_gets_one_line_and_the_rest_still_runs(sources, setup, args, status, message):
    if setup == "corrupt":
        (sources / "annuity_performance" / "2024-04.xlsx").write_bytes(b"PK\x03\x04 broken")
    if setup == "empty":
        (sources / "annuity_performance" / "2024-05.csv").write_bytes(b"")
    if setup == "no_folder":
        for path in (sources / "annuity_income").iterdir():
            path.unlink()
        (sources / "annuity_income").rmdir()
    db = sources.parent / "wdh.db"
    base = ["--source", str(sources), "--db", f"sqlite:///{db}"]
    if not any(a.startswith("--domain") for a in args):
        base.append("--all-domains")
    result = wdh_etl(*base, *args, cwd=sources.parent)
    assert result.returncode == status, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if message in line]
    assert len(lines) == 1
    if setup in ("corrupt", "empty"):  # the other files of the domain still ran
        assert "2024-03.csv" in result.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "wdh-etl"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "--all-domains" in result.stdout
    assert "--summary-json" in result.stdout
