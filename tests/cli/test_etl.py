"""``wdh-etl`` end to end: real source files, real subprocesses, a real database.

The tests of what a run loads run on SQLite and on PostgreSQL (``db_url``); the
tests of arguments, bad input and output run on an SQLite file: they are about
the command, not the database.
"""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from tests.helpers import ROOT, in_terminal, query, wdh_etl, write_log
from tests.reliability.faults import small_filesystem
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


def _run(sources, db_url, *extra, env=None):
    summary = sources.parent / "summary.json"
    result = wdh_etl(
        "--all-domains",
        "--source",
        str(sources),
        "--db",
        db_url,
        "--summary-json",
        str(summary),
        *extra,
        cwd=sources.parent,
        env=env,
    )
    return result, summary


def test_run_logs_every_rejected_row_once_and_loads_the_rest(sources, db_url):
    result, summary_path = _run(sources, db_url)
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

    rows = query(
        db_url,
        "SELECT source_file, row_index, session_id, company_id FROM annuity_performance "
        "ORDER BY source_file, row_index",
    )
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


def test_rerun_replaces_rows_and_jobs_share_one_log(sources, db_url):
    first, _ = _run(sources, db_url)
    assert first.returncode == 0, first.stderr
    second, summary_path = _run(sources, db_url, "--jobs", "2")
    assert second.returncode == 0, second.stderr
    [(count,)] = query(db_url, "SELECT COUNT(*) FROM annuity_performance")
    sessions = query(db_url, "SELECT DISTINCT session_id FROM annuity_performance")
    assert count == 4  # no duplicates after the re-run
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert sessions == [(summary["session_id"],)]
    log = Path(summary["failure_log"])
    assert log.read_text(encoding="utf-8").count(HEADER) == 1
    assert set(read_failures(log)["domain"]) == {"annuity_performance", "annuity_income"}


def test_a_resumed_session_skips_the_files_it_loaded_and_appends_the_rest(sources, db_url):
    session = "etl_20240301_090000_0a1b2c"
    first, summary_path = _run(sources, db_url, "--session-id", session)
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
    second, _ = _run(sources, db_url, "--session-id", session)
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
    assert query(db_url, "SELECT COUNT(*) FROM annuity_performance") == [(5,)]


@pytest.mark.parametrize("jobs", [(), ("--jobs", "2")], ids=["serial", "jobs"])
def test_a_resume_says_a_file_it_logged_but_never_loaded_is_gone(sources, db_url, jobs):
    """The session logged rows of gone.csv, then was killed before its load; the file
    left the folder since: the resumed session cannot be complete, and says why."""
    session = "etl_20240301_090000_0a1b2c"
    logged = pd.DataFrame({"月度": ["2024-03"], "计划代码": ["P9"]}, index=[4])
    write_log(
        sources.parent / "logs",
        session,
        [("annuity_performance", "gone.csv", "FK_CONSTRAINT_VIOLATION", logged)],
    )
    result, summary_path = _run(sources, db_url, "--session-id", session, *jobs)
    assert result.returncode == 1
    assert "this session logged 1 rows of gone.csv but never loaded it" in result.stderr
    files = json.loads(summary_path.read_text(encoding="utf-8"))["domains"]
    assert files["annuity_performance"]["files"]["gone.csv"]["status"] == "error"
    assert files["annuity_performance"]["files"]["2024-03.csv"]["status"] == "loaded"


@pytest.mark.parametrize("later", ["this session", "another session"])
def test_a_resume_never_calls_resumed_a_file_whose_load_was_replaced_since(sources, db_url, later):
    """The session loaded version A of a file; version B was loaded since, by a resume
    of this session or by another session; the file is A again. A resume must not call
    the file resumed while its table holds B: it loads A, or, where this session's log
    holds B's failures (a row that is gone), refuses the file in one line."""
    session = "etl_20240301_090000_0a1b2c"
    path = sources / "annuity_income" / "2024-03.csv"
    version_a = path.read_bytes()
    assert _run(sources, db_url, "--session-id", session)[0].returncode == 0
    path.write_bytes(version_a + "2024-03,P0012,新客户,企年受托,1,2,0,0\n".encode())
    again = ("--session-id", session) if later == "this session" else ()
    assert _run(sources, db_url, *again)[0].returncode == 0
    path.write_bytes(version_a)
    resumed, summary_path = _run(sources, db_url, "--session-id", session)
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    status = summary["domains"]["annuity_income"]["files"]["2024-03.csv"]["status"]
    if later == "this session":
        assert (resumed.returncode, status) == (1, "error")
        assert "run the file in a new session" in resumed.stderr
        return
    assert (resumed.returncode, status) == (0, "loaded"), resumed.stderr
    rows = query(
        db_url,
        "SELECT DISTINCT session_id FROM annuity_income WHERE source_file = '2024-03.csv'",
    )
    assert rows == [(session,)]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_resumed_logs_unfinished_tail_is_said_in_warning_lines(sources, tmp_path, jobs):
    """A killed export leaves a line after the last commit record: the resumed run sets
    it aside and says so as ``wdh-etl: warning: ...``, never as a raw Python warning."""
    db_url = f"sqlite:///{tmp_path / 'wdh.db'}"  # about the log, not the database
    session = "etl_20240301_090000_0a1b2c"
    first, summary_path = _run(sources, db_url, "--session-id", session)
    assert first.returncode == 0, first.stderr
    log = Path(json.loads(summary_path.read_text(encoding="utf-8"))["failure_log"])
    with log.open("a", encoding="utf-8") as tail:
        tail.write(log.read_text(encoding="utf-8").splitlines(keepends=True)[-1])
    pd.DataFrame([GOOD], columns=PERFORMANCE_COLUMNS).to_csv(
        sources / "annuity_performance" / "2024-05.csv", index=False
    )
    second, _ = _run(sources, db_url, "--session-id", session, "--jobs", jobs)
    assert second.returncode == 0, second.stderr
    lines = second.stderr.splitlines()
    assert any("an interrupted export" in line for line in lines), second.stderr
    assert all(line.startswith("wdh-etl: warning: ") for line in lines), second.stderr


def test_rich_output_links_the_log(sources, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'wdh.db'}"  # about the terminal, not the database
    result, summary_path = _run(sources, db_url, env={"FORCE_COLOR": "1", "COLUMNS": "120"})
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


# -- arguments: one line, exit 2, before any work, without pandera ----------------------


def _modules_after(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``wdh-etl args`` through its entry point; which of pandas and pandera it imported."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('IMPORTED ' + ' '.join(sorted(\n"
        "    m for m in ('pandas', 'pandera') if m in sys.modules)) + '\\n'))\n"
        "from work_data_hub.cli.etl import main\n"
        "sys.exit(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True
    )
    marker = next(line for line in result.stderr.splitlines() if line.startswith("IMPORTED"))
    result.stderr = result.stderr.replace(marker + "\n", "")
    return result, set(marker.split()[1:])


def test_help_imports_neither_pandas_nor_pandera(tmp_path):
    result, imported = _modules_after("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--all-domains" in result.stdout
    assert imported == set()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--domain", "annuity_perf"], "unknown domain 'annuity_perf'; known: annual_award, "),
        (["--all-domains", "--db", "notaurl"], "--db 'notaurl' is not a database URL"),
        (["--all-domains", "--db", "mysql://wdh:secret@db/wdh"], "not mysql"),
        (["--all-domains", "--db", "sqlite:///data/w.db?timeout=soon"], "timeout='soon' is not"),
        (["--all-domains", "--db", "sqlite:///w.db?timeout=1&timeout=2"], "given 2 times"),
        (["--source", "data"], "one of the arguments --domain --all-domains is required"),
        (["--all-domains", "--db", "sqlite://"], "--db sqlite://: an in-memory SQLite database"),
        (["--all-domains", "--db", "sqlite:///:memory:"], "sqlite:///:memory:: an in-memory"),
        (["replay", "--db", "sqlite://"], "wdh-etl replay: --db sqlite://: an in-memory"),
        (["--all-domains", "--session-id", "../x"], "session_id '../x' does not match"),
        (["--all-domains", "--summary-json", "L" * 300 + ".json"], "cannot be written there"),
        (["--all-domains", "--session-id", "etl_20261307_250000_abcdef"], "no real date and time"),
        (["replay", "--db", "notaurl"], "wdh-etl replay: --db 'notaurl' is not a database URL"),
        (["replay", "--error-type", "NOPE"], "invalid choice: 'NOPE'"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2_before_any_work(tmp_path, args, message):
    result, imported = _modules_after(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert imported == set()  # neither pandas nor pandera: said at once
    said = [line for line in result.stderr.splitlines() if line.startswith("wdh-etl")]
    assert len(said) == 1
    assert "reference data" not in result.stderr
    assert result.stdout == ""  # no "Session ..." nor "No failed rows ..."
    assert not (tmp_path / "data").exists()  # no database made, nothing read
    assert not list(tmp_path.glob("logs/*"))


def test_an_unknown_domain_is_refused_before_a_missing_source_is_noticed(tmp_path):
    result = wdh_etl("--domain", "annuity_perf", "--domain", "annuity_income", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "wdh-etl: unknown domain 'annuity_perf'; known: annual_award, annuity_income, "
        "annuity_performance"
    ]
    assert result.stdout == ""


def _without(module: str, folder: Path) -> dict[str, str]:
    """An environment in which ``module`` cannot be imported, as if it were not installed
    (a package of that name earlier on the path fails as Python fails a missing one)."""
    package = folder / "hidden" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f'raise ModuleNotFoundError("No module named {module!r}", name={module!r})\n'
    )
    return {"PYTHONPATH": str(folder / "hidden")}


@pytest.mark.parametrize(
    ("url", "module", "install"),
    [
        ("postgresql://wdh:secret@db.example/wdh", "psycopg", 'pip install -e ".[postgres]"'),
        ("postgresql+psycopg://wdh:secret@db/wdh", "psycopg", 'pip install -e ".[postgres]"'),
        ("postgresql+psycopg2://wdh:secret@db/wdh", "psycopg2", "pip install psycopg2-binary"),
    ],
)
@pytest.mark.parametrize("command", [[], ["replay"]])
def test_a_database_driver_that_is_not_installed_is_named_with_what_to_install(
    tmp_path, url, module, install, command
):
    run = [] if command else ["--all-domains"]
    env = _without(module, tmp_path)
    result = wdh_etl(*command, *run, "--db", url, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"driver {module} is not installed: {install}" in result.stderr
    assert "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_postgres_extra_is_declared():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert extras["postgres"] == ["psycopg[binary]>=3.1"]


# -- replay is a subcommand --------------------------------------------------------------


def test_replay_is_a_subcommand_with_its_own_help(tmp_path):
    top = wdh_etl("--help", cwd=tmp_path)
    assert "replay" in top.stdout.split("commands:")[1]
    own = wdh_etl("replay", "--help", cwd=tmp_path)
    assert own.returncode == 0
    assert own.stdout.startswith("usage: wdh-etl replay")
    assert "--error-type" in own.stdout
    assert "--all-domains" not in own.stdout


def test_options_before_the_subcommand_are_refused_not_dropped(tmp_path):
    result = wdh_etl("--plain", "replay", cwd=tmp_path)
    assert result.returncode == 2
    assert "options go after the command: wdh-etl replay" in result.stderr


# -- the closing line tells the truth ---------------------------------------------------


def test_a_file_that_fails_is_never_closed_with_no_failed_rows(sources):
    performance = sources / "annuity_performance"
    for path in performance.iterdir():
        path.unlink()
    pd.DataFrame([GOOD], columns=PERFORMANCE_COLUMNS).to_csv(performance / "a.csv", index=False)
    (performance / "b.csv").write_text("x,y\n1,2,3\n", encoding="utf-8")  # ragged
    db = sources.parent / "wdh.db"
    result = wdh_etl(
        "--domain", "annuity_performance", "--source", str(sources), "--db", f"sqlite:///{db}",
        "--plain", cwd=sources.parent,
    )  # fmt: skip
    assert result.returncode == 1
    assert "No failed rows" not in result.stdout
    last = result.stdout.splitlines()[-1]
    assert last.startswith("1 file loaded, 1 could not be processed, no failed rows logged in ")


def test_a_run_with_no_source_files_says_nothing_ran(sources):
    db = sources.parent / "wdh.db"
    result = wdh_etl(
        "--domain", "annual_award", "--source", str(sources), "--db", f"sqlite:///{db}",
        "--plain", cwd=sources.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "No failed rows" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Nothing ran in session etl_")
    assert f"no source files for annual_award in {sources}." in result.stdout


def test_errors_go_below_the_tables_whole_in_a_narrow_terminal(sources):
    (sources / "annuity_income" / "2024-09.csv").write_text("x,y\n1,2,3\n", encoding="utf-8")
    db = sources.parent / "wdh.db"
    command = [
        sys.executable, "-m", "work_data_hub.cli.etl", "--all-domains", "--source", str(sources),
        "--db", f"sqlite:///{db}",
    ]  # fmt: skip
    shown = in_terminal(command, cwd=sources.parent, columns=40)
    error = (
        "wdh-etl: annuity_income: 2024-09.csv: 2024-09.csv line 2 has 3 fields, more than the "
        "header's 2: fix that line (an unquoted comma, a missing or extra field) and run the "
        "file again"
    )
    assert shown.count(error) == 1  # one line, not cut, not wrapped into a table cell
    assert shown.index(error) > shown.index("annual_award")  # after the last table


_THREADS_AT_FORK = """
import os, sys, threading
SEEN = sys.argv[1]
def seen():
    with open(SEEN, "a") as out:
        out.write(" ".join(sorted(t.name for t in threading.enumerate())) + "\\n")
os.register_at_fork(before=seen)
sys.argv[1:] = sys.argv[2:]
from work_data_hub.cli.etl import program
program()
"""


def test_the_jobs_workers_are_forked_beside_no_other_thread_in_a_terminal(sources):
    """A child forked from a process with threads can inherit a lock one of them held
    (a stream's, a module's import lock) and hang on it; the progress display in a
    terminal is drawn by the run's own thread, so the workers fork beside none."""
    seen = sources.parent / "threads.txt"
    db = sources.parent / "wdh.db"
    command = [
        sys.executable, "-c", _THREADS_AT_FORK, str(seen), "--all-domains",
        "--source", str(sources), "--db", f"sqlite:///{db}", "--jobs", "2",
    ]  # fmt: skip
    shown = in_terminal(command, cwd=sources.parent)
    assert "Saved failure log" in shown
    forks = seen.read_text().splitlines()
    assert len(forks) == 2, forks  # the two workers
    assert set(forks) == {"MainThread"}, forks


# -- the session's sidecar --------------------------------------------------------------


def test_a_run_leaves_its_settings_next_to_its_log(sources, db_url):
    result, summary_path = _run(sources, db_url, "--plain")
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    logs = Path(summary["failure_log"]).parent
    record = json.loads(
        (logs / f"wdh_etl_session_{summary['session_id']}.json").read_text(encoding="utf-8")
    )
    assert record["kind"] == "run"
    assert record["db_url"] == db_url  # no password in these URLs to leave out
    assert record["source_dir"] == str(sources)
    assert record["reference_dir"] == str(sources / "reference")
    assert record["domains"] == ["annuity_performance", "annuity_income", "annual_award"]
    assert record["versions"]["pandas"] == pd.__version__
    assert not list(logs.glob("*.tmp"))  # the record was written whole, then moved in place


def test_only_the_program_freezes_its_imports(sources, tmp_path):
    """``wdh-etl`` run as the program keeps its imports out of the collector's walks;
    ``main()`` called from Python (a notebook, a test) leaves the collector as it was."""
    import gc

    from work_data_hub.cli import etl

    arguments = ["--all-domains", "--source", str(sources), "--plain"]
    before = gc.get_freeze_count()
    called = etl.main(
        [*arguments, "--db", f"sqlite:///{tmp_path / 'a.db'}", "--logs-dir", str(tmp_path / "a")]
    )
    assert called == 0
    assert gc.get_freeze_count() == before
    program = subprocess.run(
        [
            sys.executable, "-c",
            "import gc, sys\n"
            "from work_data_hub.cli import etl\n"
            "status = etl.main()\n"
            "print(gc.get_freeze_count(), file=sys.stderr)\n"
            "sys.exit(status)",
            *arguments, "--db", f"sqlite:///{tmp_path / 'b.db'}", "--logs-dir", str(tmp_path / "b"),
        ],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert program.returncode == 0, program.stderr
    assert int(program.stderr.split()[-1]) > 10_000  # the imports' objects


def test_output_whose_reader_went_away_still_writes_the_summary_json(sources, tmp_path):
    """``wdh-etl ... | head -1``: the run loads every file and writes its JSON summary,
    whatever the printing of the summary does once nobody reads it."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    summary = tmp_path / "summary.json"
    db_url = f"sqlite:///{tmp_path / 'w.db'}"
    try:
        run = subprocess.run(
            [
                sys.executable, "-m", "work_data_hub.cli.etl", "--all-domains",
                "--source", str(sources), "--db", db_url, "--plain",
                "--logs-dir", str(tmp_path / "logs"), "--summary-json", str(summary),
            ],
            cwd=tmp_path, stdout=write, stderr=subprocess.PIPE, text=True, timeout=300,
        )  # fmt: skip
    finally:
        os.close(write)
    assert run.returncode == 1  # (Rich's own exit when its reader goes away)
    record = json.loads(summary.read_text(encoding="utf-8"))
    files = record["domains"]["annuity_performance"]["files"]
    assert files["2024-03.csv"]["loaded"] == 2


@pytest.mark.parametrize("closed", [1, 2], ids=["stdout", "stderr"])
def test_a_run_started_with_its_output_closed_loads_and_records_all(sources, tmp_path, closed):
    """``wdh-etl ... >&-`` (or ``2>&-``): Python gives the run no stream there; it runs,
    says nothing there, and writes its log and JSON summary."""
    summary = tmp_path / "summary.json"
    run = subprocess.run(
        [
            sys.executable, "-m", "work_data_hub.cli.etl", "--all-domains",
            "--source", str(sources), "--db", f"sqlite:///{tmp_path / 'w.db'}",
            "--logs-dir", str(tmp_path / "logs"), "--summary-json", str(summary),
        ],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
        preexec_fn=lambda: os.close(closed),
    )  # fmt: skip
    assert run.returncode == 0
    files = json.loads(summary.read_text(encoding="utf-8"))["domains"]["annuity_income"]["files"]
    assert files["2024-03.csv"]["loaded"] == 1
    assert len(list((tmp_path / "logs").glob("wdh_etl_failures_*.csv"))) == 1


def _fill(disk: Path) -> None:
    """Fill ``disk`` to its last byte."""
    with (disk / "filler").open("wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 4096)
        except OSError:
            pass
        try:
            while True:
                file.write(b"\0")
        except OSError:
            pass


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_summary_json_that_cannot_be_written_is_one_line_after_the_whole_run(sources):
    """``--summary-json /dev/full`` (every write: no space left): the files load, the
    summary is printed, one line says the JSON is not written, and the run ends 1."""
    result = wdh_etl(
        "--all-domains", "--source", str(sources), "--db", f"sqlite:///{sources.parent / 'w.db'}",
        "--plain", "--summary-json", "/dev/full", cwd=sources.parent,
    )  # fmt: skip
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("wdh-etl: --summary-json not written: cannot write /dev/full: No space")
    assert line.endswith(f"(the loads are done; failure log: {_log_of(result)})")
    assert "2024-03.csv" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Saved failure log to ")


def _log_of(result: subprocess.CompletedProcess[str]) -> str:
    session = result.stdout.split()[1]  # "Session <id>" opens the output
    return str(Path("logs") / f"wdh_etl_failures_{session}.csv")


def test_a_summary_json_on_a_full_disk_leaves_the_earlier_one_whole(sources):
    """(root: a small tmpfs) The JSON replaces the earlier one whole or not at all."""
    with small_filesystem(sources.parent / "disk", "64k") as disk:
        summary = disk / "summary.json"
        summary.write_text('{"earlier": true}\n', encoding="utf-8")
        _fill(disk)
        result = wdh_etl(
            "--all-domains", "--source", str(sources),
            "--db", f"sqlite:///{sources.parent / 'w.db'}", "--plain",
            "--summary-json", str(summary), cwd=sources.parent,
        )  # fmt: skip
        assert result.returncode == 1
        [line] = result.stderr.splitlines()
        assert f"cannot write {summary}: No space left on device; the file there is" in line
        assert summary.read_text(encoding="utf-8") == '{"earlier": true}\n'
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "summary.json"]
        assert result.stdout.splitlines()[-1].startswith("Saved failure log to ")


def test_a_session_whose_first_export_left_an_empty_log_resumes(sources):
    """An empty log (beside its lock file) that a first export left, killed or on a full
    disk, is a log not yet begun: the session resumes and logs its rows in it."""
    session = "etl_20240301_090000_0a1b2c"
    log = sources.parent / "logs" / f"wdh_etl_failures_{session}.csv"
    log.parent.mkdir()
    log.touch()
    (log.parent / f".{log.name}.lock").touch()
    result, _ = _run(sources, f"sqlite:///{sources.parent / 'w.db'}", "--session-id", session)
    assert result.returncode == 0, result.stderr
    assert len(read_failures(log)) == 7  # 5 + 1 of the performance files, 1 of income


def test_a_full_logs_disk_never_says_a_log_was_saved(sources):
    """(root: a small tmpfs) Nothing can be logged, so no file loads: the last line says
    so, and no empty file is left that a resume would take for a broken log."""
    with small_filesystem(sources.parent / "disk", "64k") as disk:
        (disk / "logs").mkdir()
        _fill(disk)
        result = wdh_etl(
            "--all-domains", "--source", str(sources),
            "--db", f"sqlite:///{sources.parent / 'w.db'}", "--plain",
            "--logs-dir", str(disk / "logs"), cwd=sources.parent,
        )  # fmt: skip
        assert result.returncode == 1
        last = result.stdout.splitlines()[-1]
        assert last.startswith("0 files loaded, 3 could not be processed, no failed rows logged")
        assert not list((disk / "logs").glob("wdh_etl_failures_*.csv"))


def test_a_source_that_is_a_link_to_nothing_is_that_file_s_error(sources):
    income = sources / "annuity_income"
    (income / "2024-02.csv").symlink_to(sources.parent / "share" / "2024-02.csv")
    (income / "loop.csv").symlink_to("loop.csv")
    result = wdh_etl(
        "--domain", "annuity_income", "--source", str(sources),
        "--db", f"sqlite:///{sources.parent / 'w.db'}", "--plain", cwd=sources.parent,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "wdh-etl: annuity_income: 2024-02.csv: 2024-02.csv cannot be read: No such file or "
        f"directory (a link to {sources.parent / 'share' / '2024-02.csv'})",
        "wdh-etl: annuity_income: loop.csv: loop.csv cannot be read: Too many levels of "
        "symbolic links (a link to loop.csv)",
    ]
