"""9. Exactly once on real-world inputs: every source row loaded or logged once, as read.

Each test reproduces what a real spreadsheet, export or outage did to an
earlier version (the reliability issue's numbered items) through the real
commands: ``wdh-etl`` and ``wdh-failures`` in subprocesses, real files, a
real database: SQLite and PostgreSQL (``db_url``), except where a test is about
SQLite itself (its lock), as it says. Items 9-15 (processes and logs) are in
``test_jobs_and_logs``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy
from openpyxl import Workbook

from tests.helpers import SQLITE_ONLY, rewrite_workbook, stale_dimension, wdh_etl, wdh_failures
from tests.reliability.outages import faulty_etl
from tests.reliability.site import PERFORMANCE, Site, performance_row
from work_data_hub.infrastructure.validation import FailureExporter, read_failures
from work_data_hub.samples.generate import generate

SESSION = "etl_20240401_090000_c0ffee"
_row = performance_row


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Site:
    """A site whose database is ``db_url``: an SQLite file or a PostgreSQL database."""
    return Site(tmp_path, db_url)


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


# -- 1. stale workbook dimensions -------------------------------------------------


@pytest.mark.parametrize("ref", ["A1", "A1:G2", "A1:C101"])
def test_1_a_stale_dimension_tag_changes_nothing_a_run_loads_or_logs(tmp_path, ref):
    # about the readers: two runs into SQLite files compared
    clean, stale = Site(tmp_path / "clean"), Site(tmp_path / "stale")
    generate(clean.sources, rows=100, seed=3)
    shutil.copytree(clean.sources, stale.sources)
    for workbook in stale.sources.glob("*/*.xlsx"):
        stale_dimension(workbook, ref)
    for run in (clean, stale):
        result = run.etl("--all-domains")
        assert result.returncode == 0, result.stderr

    def counts(site: Site) -> dict:  # what each file read, loaded, logged; not the timings
        domains = site.summary()["domains"].items()
        return {name: {k: v for k, v in d.items() if k != "seconds"} for name, d in domains}

    assert counts(stale) == counts(clean)
    assert stale.loaded() == clean.loaded()
    key = ["domain", "source_file", "row_index", "error_type", "raw_data"]
    stale_log = read_failures(stale.log(stale.summary()["session_id"]))[key]
    clean_log = read_failures(clean.log(clean.summary()["session_id"]))[key]
    pd.testing.assert_frame_equal(stale_log, clean_log)


# -- 2. ragged CSV rows ----------------------------------------------------------------


def test_2_a_csv_with_an_extra_field_per_row_is_refused_naming_the_line(site):
    site.write_reference(["甲公司"])
    site.write_csv("annuity_performance", "2024-03.csv", [_row("甲公司")])
    ragged = site.sources / "annuity_performance" / "2024-04.csv"
    ragged.write_text(
        ",".join(PERFORMANCE)
        + "\n"
        + "\n".join(f"{n}," + ",".join(_row("甲公司")) for n in range(3)),
        encoding="utf-8",
    )
    result = site.etl("--domain", "annuity_performance")
    assert result.returncode == 1
    _no_traceback(result)
    assert "2024-04.csv line 2 has 8 fields, more than the header's 7" in result.stderr
    files = site.summary()["domains"]["annuity_performance"]["files"]
    assert files["2024-04.csv"]["status"] == "error"
    assert files["2024-03.csv"]["status"] == "loaded"
    assert site.loaded() == [("2024-03.csv", 0, "甲公司")]  # nothing of the ragged file
    assert not site.log(site.summary()["session_id"]).exists()


# -- 3. replaying a session whose load a later run superseded ------------------------


def test_3_replay_loads_only_rows_of_the_files_current_load(site):
    site.write_reference(["甲公司"])
    rows = [_row("甲公司"), _row("未登记一")]
    site.write_csv("annuity_performance", "2024-03.csv", rows)
    assert site.etl("--domain", "annuity_performance").returncode == 0
    first = site.summary()["session_id"]
    rows[1] = _row("未登记二")  # the file is corrected and run again
    site.write_csv("annuity_performance", "2024-03.csv", rows)
    assert site.etl("--domain", "annuity_performance").returncode == 0
    second = site.summary()["session_id"]
    site.write_reference(["甲公司", "未登记一", "未登记二"])  # both customers mapped now
    reference = ["--reference", str(site.sources / "reference")]

    old = site.replay(first, *reference)
    assert old.returncode == 1  # rows not run are reported
    _no_traceback(old)
    counts = site.replayed()["counts"][0]
    assert (counts["fixed"], counts["not_run"]) == (0, 1)
    assert f"was loaded again by session {second}" in old.stderr
    assert site.loaded() == [("2024-03.csv", 0, "甲公司")]  # not the row that left the file

    new = site.replay(second)
    assert new.returncode == 0, new.stderr
    assert site.loaded() == [("2024-03.csv", 0, "甲公司"), ("2024-03.csv", 1, "未登记二")]
    explained = wdh_failures(
        "explain",
        first,
        "--json",
        "--db",
        site.db_url,
        "--logs-dir",
        str(site.logs),
        cwd=site.root,
    )
    verdicts = [row["verdict"] for row in json.loads(explained.stdout)["explained"]]
    assert verdicts == ["superseded"]


# -- 4 and 6. a load that fails after its failures were logged; the resume ----------


def _copies_source(site: Site) -> None:
    """2024-02.csv: an unknown customer (row 0), its exact copy (row 1), a good row."""
    site.write_reference(["甲公司"])
    site.write_csv("annuity_performance", "2024-01.csv", [_row("甲公司")])
    site.write_csv(
        "annuity_performance",
        "2024-02.csv",
        [_row("未登记"), _row("未登记"), _row("甲公司", "P0013")],
    )


def _interrupted(site: Site, outage: str):
    """A run of the copies source whose load of 2024-02.csv fails after its failures
    were logged: SQLite's lock held by another connection (SQLite only), or a SIGKILL."""
    _copies_source(site)
    run = faulty_etl(
        f"{outage}:load_all:2024-02.csv",
        *site.options(),
        "--domain",
        "annuity_performance",
        "--session-id",
        SESSION,
        cwd=site.root,
    )
    if outage == "locked":
        assert run.returncode == 1
        _no_traceback(run)
        assert "2024-02.csv: database error: database is locked" in run.stderr
    else:
        assert run.returncode == -9
    logged = read_failures(site.log(SESSION))
    assert sorted(logged["row_index"]) == [0, 1]  # logged: the unknown customer, its copy
    assert site.loaded() == [("2024-01.csv", 0, "甲公司")]  # but 2024-02.csv never loaded
    return run


OUTAGES = pytest.mark.parametrize(  # SQLite's lock on SQLite; a kill on either
    ("outage", "db_url"),
    [("locked", "sqlite"), ("kill", "sqlite"), ("kill", "postgresql")],
    indirect=["db_url"],
)


@OUTAGES
def test_4_failures_of_a_load_that_never_committed_are_never_replayed(site, outage):
    _interrupted(site, outage)
    site.write_reference(["甲公司", "未登记"])
    replay = site.replay(SESSION, "--reference", str(site.sources / "reference"))
    assert replay.returncode == 1
    _no_traceback(replay)
    counts = {c["error_type"]: c for c in site.replayed()["counts"]}
    assert counts["ENRICHMENT_FAILED"]["not_run"] == 1
    assert counts["DROPPED_IN_PIPELINE"]["not_run"] == 1  # the copy is not loaded
    assert f"session {SESSION} never committed a load of 2024-02.csv" in replay.stderr
    assert f"--session-id {SESSION}" in replay.stderr
    assert site.loaded() == [("2024-01.csv", 0, "甲公司")]
    assert not FailureExporter(site.replayed()["session_id"], site.logs).output_file.exists()


@OUTAGES
def test_6_a_resumed_session_logs_and_loads_each_row_once(site, outage):
    _interrupted(site, outage)
    resumed = site.etl("--domain", "annuity_performance", "--session-id", SESSION)
    assert resumed.returncode == 0, resumed.stderr
    files = site.summary()["domains"]["annuity_performance"]["files"]
    assert files["2024-01.csv"]["status"] == "resumed"  # committed before: not run again
    assert files["2024-02.csv"]["status"] == "loaded"
    assert files["2024-02.csv"]["failed"]["DROPPED_IN_PIPELINE"] == 1
    assert files["2024-02.csv"]["failed"]["ENRICHMENT_FAILED"] == 1
    assert site.loaded() == [("2024-01.csv", 0, "甲公司"), ("2024-02.csv", 2, "甲公司")]
    # the failures logged before the outage stand: not one line was appended again
    assert len(read_failures(site.log(SESSION), every_entry=True)) == 2
    options = ["--logs-dir", str(site.logs), "--json"]
    sessions = json.loads(wdh_failures("sessions", *options, cwd=site.root).stdout)
    assert [(s["session_id"], s["rows"]) for s in sessions] == [(SESSION, 2)]
    summary = json.loads(wdh_failures("summary", SESSION, *options, cwd=site.root).stdout)
    assert summary["summary"][-1]["total"] == 2
    # now the mapping is fixed: the replay loads the customer, its copy stays dropped
    site.write_reference(["甲公司", "未登记"])
    replay = site.replay(SESSION, "--reference", str(site.sources / "reference"))
    assert replay.returncode == 0, replay.stderr
    counts = {c["error_type"]: c for c in site.replayed()["counts"]}
    assert counts["ENRICHMENT_FAILED"]["fixed"] == 1
    assert counts["DROPPED_IN_PIPELINE"]["still_failing"] == 1
    assert site.loaded() == [
        ("2024-01.csv", 0, "甲公司"),
        ("2024-02.csv", 0, "未登记"),
        ("2024-02.csv", 2, "甲公司"),
    ]
    again = site.replay(SESSION)
    assert again.returncode == 0, again.stderr
    assert sum(c["fixed"] for c in site.replayed()["counts"]) == 0


def test_6_a_resume_that_would_load_rows_its_log_says_failed_is_refused(site):
    _interrupted(site, "locked" if site.is_sqlite else "kill")
    site.write_reference(["甲公司", "未登记"])  # the mapping changed after the outage
    run = wdh_etl(
        *site.options(),
        "--domain",
        "annuity_performance",
        "--reference",
        str(site.sources / "reference"),
        "--session-id",
        SESSION,
        cwd=site.root,
    )
    assert run.returncode == 1
    _no_traceback(run)
    assert "2024-02.csv: this session logged rows [0] of it as failed" in run.stderr
    assert "run the file in a new session (without --session-id)" in run.stderr
    assert len(read_failures(site.log(SESSION), every_entry=True)) == 2  # nothing appended
    fresh = site.etl("--domain", "annuity_performance")
    assert fresh.returncode == 0, fresh.stderr
    assert site.loaded() == [
        ("2024-01.csv", 0, "甲公司"),
        ("2024-02.csv", 0, "未登记"),
        ("2024-02.csv", 2, "甲公司"),
    ]


# -- 5. cells of megabytes ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(  # 64 MB through the readers once; 3 MB into either database
    ("megabytes", "db_url"),
    [(3, "sqlite"), (64, "sqlite"), (3, "postgresql")],
    indirect=["db_url"],
)
def test_5_a_huge_cell_leaves_every_reader_working(site, megabytes):
    site.write_reference(["甲公司"])
    huge = "长" * (megabytes * 1_000_000 // 3)
    site.write_csv("annuity_performance", "2024-03.csv", [_row("甲公司"), _row(huge)])
    result = site.etl("--domain", "annuity_performance", "--session-id", SESSION)
    assert result.returncode == 0, result.stderr
    options = ["--logs-dir", str(site.logs)]
    for command in (["sessions"], ["summary"], ["show", "--json"]):
        read = wdh_failures(*command, *options, cwd=site.root)
        assert read.returncode == 0, read.stderr
        _no_traceback(read)
    shown = json.loads(wdh_failures("show", "--json", *options, cwd=site.root).stdout)
    assert shown[0]["raw_data"]["客户名称"] == huge
    explained = wdh_failures("explain", "--json", "--db", site.db_url, *options, cwd=site.root)
    assert explained.returncode == 0, explained.stderr
    assert json.loads(explained.stdout)["explained"][0]["step"] == "enrich_company"
    site.write_reference(["甲公司", huge])
    replay = site.replay("--reference", str(site.sources / "reference"))
    if site.db_url.startswith("postgresql"):  # a key PostgreSQL cannot index: one line
        assert replay.returncode == 1
        assert replay.stderr.count("\n") == 1, replay.stderr[:2000]
        assert "is 3,000,000 bytes, longer than the 2,704 bytes PostgreSQL" in replay.stderr
        return
    assert replay.returncode == 0, replay.stderr
    assert site.loaded()[1] == ("2024-03.csv", 1, huge)


# -- 7. infinite amounts --------------------------------------------------------------


def test_7_amounts_must_be_finite(site):
    site.write_reference(["甲公司"])
    rows = [_row("甲公司")]
    for bad in ("inf", "Infinity", "1e309", "-inf"):
        row = _row("甲公司")
        row[4] = bad
        rows.append(row)
    site.write_csv("annuity_performance", "2024-03.csv", rows)
    result = site.etl("--domain", "annuity_performance")
    assert result.returncode == 0, result.stderr
    file = site.summary()["domains"]["annuity_performance"]["files"]["2024-03.csv"]
    assert (file["loaded"], file["failed"]["VALIDATION_FAILED"]) == (1, 4)


# -- 8. bad input is a file's or a domain's error, never the run's --------------------


def _broken_sources(site: Site) -> None:
    """Good files in both domains, and one of each kind of bad input beside them."""
    site.write_reference(["甲公司"])
    site.write_csv("annuity_performance", "2024-01.csv", [_row("甲公司")])
    cr_only = site.sources / "annuity_performance" / "2024-02.csv"
    cr_only.write_bytes(
        ("\r".join([",".join(PERFORMANCE), ",".join(_row("甲公司"))]) + "\r").encode()
    )
    book = Workbook()
    book.active.append(PERFORMANCE)
    book.active.append([202403, "P0012", "甲公司", 100.5, 110, 10, 0.1])
    book.save(site.sources / "annuity_performance" / "good.xlsx")
    corrupt = site.sources / "annuity_performance" / "corrupt.xlsx"
    shutil.copy(site.sources / "annuity_performance" / "good.xlsx", corrupt)
    rewrite_workbook(
        corrupt,
        lambda n, d: d.replace(b"</sheetData>", b"</sheetDat>") if "worksheets/" in n else d,
    )
    text_number = site.sources / "annuity_performance" / "text_number.xlsx"
    shutil.copy(site.sources / "annuity_performance" / "good.xlsx", text_number)
    rewrite_workbook(
        text_number,
        lambda n, d: d.replace(b"<v>100.5</v>", b"<v>abc</v>") if "worksheets/" in n else d,
    )
    bad_name = site.sources / "annuity_performance" / os.fsdecode(b"2024-\xb0\xb3.csv")
    shutil.copy(site.sources / "annuity_performance" / "2024-01.csv", bad_name)
    site.write_csv(
        "annuity_income",
        "2024-01.csv",
        [["2024-01", "P0012", "甲公司", "企年受托", "1", "2", "0", "0.1"]],
        columns=["月度", "计划代码", "客户名称", "业务类型", "固费", "浮费", "回补", "税"],
    )


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_8_every_bad_file_is_its_own_error_and_the_rest_runs(site, jobs):
    _broken_sources(site)
    result = site.etl("--all-domains", "--jobs", jobs)
    assert result.returncode == 1
    _no_traceback(result)
    files = site.summary()["domains"]["annuity_performance"]["files"]
    assert {name: f["status"] for name, f in files.items()} == {
        "2024-01.csv": "loaded",
        "2024-02.csv": "loaded",  # CR-only line ends read as any others
        "2024-\\xb0\\xb3.csv": "error",
        "corrupt.xlsx": "error",
        "good.xlsx": "loaded",
        "text_number.xlsx": "error",
    }
    assert "2024-\\xb0\\xb3.csv: the file name is not UTF-8 text" in result.stderr
    assert "corrupt.xlsx: corrupt.xlsx is not a readable .xlsx workbook" in result.stderr
    assert "text_number.xlsx: text_number.xlsx is not a readable .xlsx workbook" in result.stderr
    assert site.summary()["domains"]["annuity_income"]["files"]["2024-01.csv"]["loaded"] == 1
    assert len(site.loaded()) == 3


@SQLITE_ONLY  # SQLite's lock
def test_8_an_old_table_or_a_locked_database_is_that_domains_error(site):
    _broken_sources(site)
    engine = sqlalchemy.create_engine(site.db_url)
    with engine.begin() as connection:  # a table some older tool made
        connection.exec_driver_sql(
            'CREATE TABLE annuity_performance (id INTEGER PRIMARY KEY, "月度" TEXT)'
        )
    engine.dispose()
    locked = faulty_etl(
        "locked:add_domain:annuity_income", *site.options(), "--all-domains", cwd=site.root
    )
    assert locked.returncode == 1
    _no_traceback(locked)
    domains = site.summary()["domains"]
    assert "lacks the required column" in domains["annuity_performance"]["error"]
    assert "database is locked" in domains["annuity_income"]["error"]
    assert "wdh-etl: annuity_income: database error: database is locked" in locked.stderr
    # the same run with the lock gone: the income domain loads
    again = site.etl("--domain", "annuity_income")
    assert again.returncode == 0, again.stderr


def test_8_an_unexpected_error_keeps_its_traceback_out_of_sight(site):
    site.write_reference(["甲公司"])
    site.write_csv("annuity_performance", "2024-01.csv", [_row("甲公司")])
    broken = faulty_etl(
        "crash:load_all:2024-01.csv", *site.options(), "--all-domains", cwd=site.root
    )
    _no_traceback(broken)
    assert broken.returncode == 1
    assert "2024-01.csv: RuntimeError: outage" in broken.stderr
    debug = site.logs / f"wdh_etl_debug_{site.summary()['session_id']}.log"
    assert f"details of unexpected errors: {debug}" in broken.stderr
    assert "Traceback (most recent call last)" in debug.read_text(encoding="utf-8")
    shown = faulty_etl(
        "crash:load_all:2024-01.csv", *site.options(), "--all-domains", "--debug", cwd=site.root
    )
    assert "Traceback (most recent call last)" in shown.stderr


# -- 16, 18. source folders and rows as spreadsheets leave them ----------------------


def test_16_lock_and_hidden_files_are_skipped_and_said(site):
    site.write_reference(["甲公司"])
    site.write_csv("annuity_performance", "2024-01.csv", [_row("甲公司")])
    (site.sources / "annuity_performance" / "~$2024-01.xlsx").write_bytes(b"\x00owner")
    (site.sources / "annuity_performance" / ".2024-02.csv").write_text("junk")
    result = site.etl("--domain", "annuity_performance")
    assert result.returncode == 0, result.stderr
    assert "annuity_performance: skipped ~$2024-01.xlsx: an Excel lock file" in result.stdout
    assert "annuity_performance: skipped .2024-02.csv: a hidden file" in result.stdout
    assert list(site.summary()["domains"]["annuity_performance"]["files"]) == ["2024-01.csv"]


def test_18_blank_rows_keep_every_row_at_its_place_in_csv_and_excel(site):
    site.write_reference(["甲公司"])
    lines = [",".join(PERFORMANCE), ",".join(_row("甲公司")), "", ",,,,,,", ",".join(_row("无名"))]
    (site.sources / "annuity_performance").mkdir(parents=True)
    (site.sources / "annuity_performance" / "a.csv").write_text("\n".join(lines) + "\n\n")
    book = Workbook()
    for line in lines:
        book.active.append(line.split(",") if line.strip(",") else [])
    book.active.cell(row=1_048_576, column=1).number_format = "0"  # a formatted, empty cell
    book.save(site.sources / "annuity_performance" / "b.xlsx")
    result = site.etl("--domain", "annuity_performance")
    assert result.returncode == 0, result.stderr
    files = site.summary()["domains"]["annuity_performance"]["files"]
    assert files["a.csv"]["read"] == files["b.xlsx"]["read"] == 2
    logged = read_failures(site.log(site.summary()["session_id"]))
    # row_index 3 is sheet (and CSV) line 5, where the unknown customer is
    assert sorted(zip(logged["source_file"], logged["row_index"], strict=True)) == [
        ("a.csv", 3),
        ("b.xlsx", 3),
    ]
