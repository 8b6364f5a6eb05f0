"""``wdh-failures`` end to end: real logs in tmp_path, the command in a subprocess."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.helpers import (
    NEW,
    OLD,
    commit_loads,
    in_terminal,
    wdh_failures,
    write_log,
    write_two_sessions,
)
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


def test_a_log_whose_id_holds_no_real_date_is_listed_without_a_start_time(logs):
    """A log an older release let a run name etl_20261307_250000_...: no traceback."""
    unreal = "etl_20261307_250000_abcdef"
    old = logs / f"wdh_etl_failures_{OLD}.csv"
    text = old.read_text(encoding="utf-8").replace(OLD, unreal)
    (logs / f"wdh_etl_failures_{unreal}.csv").write_text(text, encoding="utf-8")
    old.unlink()
    for args in (["sessions"], ["summary"], ["show"]):
        result = wdh_failures(*args, cwd=logs.parent)
        assert (result.returncode, result.stderr) == (0, ""), args
    assert unreal in wdh_failures("sessions", cwd=logs.parent).stdout
    data = json.loads(wdh_failures("sessions", "--json", cwd=logs.parent).stdout)
    assert [(s["session_id"], s["started"] is None) for s in data] == [(NEW, False), (unreal, True)]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
@pytest.mark.parametrize("closed", [1, 2], ids=["stdout", "stderr"])
def test_a_command_started_with_its_output_closed_ends_with_its_status(logs, closed):
    """``wdh-failures ... --json >&-`` (or ``2>&-``): Python gives it no stream
    there; it writes nowhere and still ends with its usual status."""
    for args, status in [
        (["sessions", "--json"], 0),
        (["summary", "etl_nope", "--json"], 1),
        (["summary", "--nope"], 2),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "work_data_hub.cli.failures", *args],
            cwd=logs.parent,
            capture_output=True,
            text=True,
            preexec_fn=lambda: os.close(closed),
        )
        assert result.returncode == status, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr


def test_summary_of_the_newest_session_by_default(logs):
    result = wdh_failures("summary", cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    assert f"wdh_etl_failures_{NEW}.csv" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "annuity_performance" in line)
    assert row.split() == ["annuity_performance", "b.xlsx", "0", "0", "1", "0", "1"]
    data = json.loads(wdh_failures("summary", "etl_20240301", "--json", cwd=logs.parent).stdout)
    assert data["summary"][-1]["total"] == 2


def test_show_filters_and_prints_whole_lines(logs):
    result = wdh_failures("show", "--domain", "annuity_income", "--limit", "1", cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert not any(line.endswith(" ") for line in lines)
    assert "annuity_income · a.csv · row 1 (sheet row 3) · VALIDATION_FAILED" in result.stdout
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
            "sheet_row": 5,
            "error_type": "ENRICHMENT_FAILED",
            "raw_data": {"计划代码": "P4", "客户名称": "丁", "期末资产规模": 0.0},
        }
    ]
    assert "T" in data[0]["timestamp"]  # ISO 8601


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


def test_an_empty_logs_folder_has_no_sessions_and_that_is_no_error(tmp_path):
    (tmp_path / "logs").mkdir()
    result = wdh_failures("sessions", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "No failure logs in logs\n", "")
    result = wdh_failures("sessions", "--json", cwd=tmp_path)
    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, [], "")
    missing = wdh_failures("sessions", "--json", "--logs-dir", "nowhere", cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "wdh-failures: no logs folder at nowhere\n"


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


# -- options before the command ------------------------------------------------


def test_options_before_the_command_work_there_too(logs, tmp_path):
    data = json.loads(wdh_failures("--json", "sessions", cwd=logs.parent).stdout)
    assert [s["session_id"] for s in data] == [NEW, OLD]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = wdh_failures("--logs-dir", str(logs), "--json", "sessions", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert [s["session_id"] for s in json.loads(result.stdout)] == [NEW, OLD]
    # after the command, as before; the later of two wins
    after = wdh_failures(
        "sessions", "--logs-dir", "nowhere", "--logs-dir", str(logs), cwd=elsewhere
    )
    assert after.returncode == 0, after.stderr
    command = [sys.executable, "-m", "work_data_hub.cli.failures"]
    coloured = in_terminal([*command, "summary"], cwd=logs.parent)
    assert "\x1b[" in coloured  # a terminal gets colour...
    for plain in (["--plain", "summary"], ["summary", "--plain"]):
        shown = in_terminal([*command, *plain], cwd=logs.parent)
        assert "\x1b[" not in shown, plain  # ...unless --plain, wherever it is given
        assert "annuity_performance" in shown


# -- mistakes: one line, the right exit status --------------------------------


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("{tmp}", "-o {tmp} is a folder: name the workbook file"),
        ("{tmp}/missing/x.xlsx", "-o {tmp}/missing/x.xlsx: no folder {tmp}/missing (create it"),
        ("{tmp}/out.csv", "-o {tmp}/out.csv: the Excel view is an .xlsx workbook; name it *.xlsx"),
        (
            "{tmp}/" + "L" * 300 + ".xlsx",
            "-o {tmp}/" + "L" * 300 + ".xlsx: cannot be written there",
        ),
    ],
)
def test_an_excel_output_that_cannot_be_the_workbook_is_a_bad_argument(
    logs, tmp_path, output, message
):
    output, message = output.format(tmp=tmp_path), message.format(tmp=tmp_path)
    # --logs-dir nowhere: the argument is refused before any log is read
    for where in ([], ["--logs-dir", "nowhere"]):
        result = wdh_failures("excel", "-o", output, *where, cwd=logs.parent)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1, result.stderr  # no "Exception ignored" blocks
        assert result.stderr.startswith(f"wdh-failures excel: {message}")
        assert result.stdout == ""
    assert not (tmp_path / "missing").exists()
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("notaurl", "--db 'notaurl' is not a database URL"),
        (
            "sqlite:///w.db?timeout=soon",
            "--db sqlite:///w.db?timeout=soon: timeout='soon' is not the seconds",
        ),
    ],
)
def test_explain_refuses_a_bad_database_url_in_one_line(logs, db, message):
    result = wdh_failures("explain", "--db", db, cwd=logs.parent)
    assert result.returncode == 2
    assert result.stderr.startswith(f"wdh-failures explain: {message}")
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["show"], ["explain"], ["excel", "-o", "x.xlsx"]])
def test_a_domain_the_log_does_not_name_is_refused_naming_those_it_does(logs, command):
    result = wdh_failures(*command, "--domain", "annuity_perf", cwd=logs.parent)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"wdh-failures: no domain 'annuity_perf' in wdh_etl_failures_{NEW}.csv "
        "(did you mean annuity_performance?); its domains: annuity_income, annuity_performance\n"
    )
    assert not (logs.parent / "x.xlsx").exists()


def test_a_domain_that_ran_clean_just_has_no_failed_rows(logs):
    result = wdh_failures("show", "--domain", "annual_award", cwd=logs.parent)
    assert (result.returncode, result.stderr) == (0, "")
    assert "0 of 0 failed rows" in result.stdout


def test_explain_says_when_nothing_is_selected_and_never_ends_on_a_colon(logs, db_url):
    commit_loads(db_url, logs / f"wdh_etl_failures_{NEW}.csv")
    result = wdh_failures("explain", "--row", "99", "--db", db_url, cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"No failed rows selected in wdh_etl_failures_{NEW}.csv\n"
    data = wdh_failures("explain", "--row", "99", "--json", "--db", db_url, cwd=logs.parent)
    assert json.loads(data.stdout)["explained"] == []


def test_explain_gives_the_row_a_spreadsheet_shows(logs, db_url):
    commit_loads(db_url, logs / f"wdh_etl_failures_{NEW}.csv")
    result = wdh_failures("explain", "--source-file", "b.xlsx", "--db", db_url, cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "row_index" in line)
    assert header.split()[:3] == ["file", "row_index", "sheet_row"]
    row = next(line for line in result.stdout.splitlines() if line.startswith("b.xlsx"))
    assert row.split()[:3] == ["b.xlsx", "3", "5"]  # row_index 3 is the sheet's row 5


def test_diff_of_identical_sessions_says_nothing_changed_in_one_line(tmp_path):
    logs = tmp_path / "logs"
    for session in (OLD, NEW):
        write_log(logs, session, [("annuity_income", "a.csv", "VALIDATION_FAILED", RAW)])
    result = wdh_failures("diff", OLD, NEW, cwd=tmp_path, columns=40)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        f"wdh_etl_failures_{OLD}.csv -> wdh_etl_failures_{NEW}.csv: "
        "no new or resolved failed rows (4 persisting)\n"
    )


def test_the_excel_view_names_the_log_and_gives_sheet_rows(logs, tmp_path):
    out = tmp_path / "report.xlsx"
    result = wdh_failures("excel", NEW, "-o", str(out), cwd=logs.parent)
    assert result.returncode == 0, result.stderr
    book = load_workbook(out)
    about = {row[0]: row[1] for row in book["summary"].iter_rows(max_row=3, values_only=True)}
    log = (logs / f"wdh_etl_failures_{NEW}.csv").resolve()
    assert about == {"session": NEW, "failure log": str(log), "failed rows": 3}
    header, first = list(book["annuity_performance"].values)[:2]
    assert dict(zip(header, first, strict=True))["sheet_row"] == 5


@pytest.fixture
def many_sheets(tmp_path) -> Path:
    """A log of 24 domains of 100 rows: a workbook of many small sheets, whose save
    (zipping them) writes more than any one sheet's part and takes a while."""
    rng = random.Random(7)
    raw = pd.DataFrame({"code": [f"{rng.getrandbits(64):016x}" for _ in range(100)]})
    parts = [(f"domain_{i:02d}", "a.csv", "VALIDATION_FAILED", raw) for i in range(24)]
    return write_log(tmp_path / "logs", NEW, parts)


def test_excel_on_a_full_disk_is_one_line_and_keeps_the_earlier_workbook(many_sheets, tmp_path):
    out = tmp_path / "report.xlsx"
    assert wdh_failures("excel", "-o", str(out), cwd=tmp_path).returncode == 0
    before = out.read_bytes()
    result = wdh_failures("excel", "-o", str(out), cwd=tmp_path, max_file_size=len(before) // 2)
    assert result.returncode == 1
    assert result.stderr == (
        f"wdh-failures: cannot write {out}: File too large; the file there is as it was\n"
    )
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "report.xlsx"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_while_the_workbook_is_saved_keeps_a_whole_workbook(many_sheets, tmp_path):
    """SIGINT as soon as the save begins (its temporary file appears, or the output
    changes): the output is the earlier workbook or the whole new one, never a part."""
    out = tmp_path / "report.xlsx"
    assert wdh_failures("excel", "-o", str(out), cwd=tmp_path).returncode == 0
    before = out.stat()
    command = [sys.executable, "-m", "work_data_hub.cli.failures", "excel", "-o", str(out)]
    run = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while run.poll() is None:
        now = out.stat()
        saving = any(p.name.startswith(".report.xlsx.") for p in tmp_path.iterdir())
        if saving or (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            run.send_signal(signal.SIGINT)
            break
        time.sleep(0.001)
    _, err = run.communicate(timeout=60)
    assert (run.returncode, err) == (130, b"wdh-failures: interrupted\n")
    assert load_workbook(out).sheetnames[0] == "summary"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "report.xlsx"]


# -- start-up -----------------------------------------------------------------

_IMPORTED = """
import sys
sys.argv = ["wdh-failures", *sys.argv[1:]]
try:
    from work_data_hub.cli.failures import main
    main()  # (the program would end the process here: cli._exit)
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pandas", "pandera"})
sys.stderr.write("imported: " + " ".join(heavy) + "\\n")
"""


@pytest.mark.parametrize(
    ("args", "not_imported"),
    [
        (["--help"], {"pandas", "pandera"}),
        (["show", "--help"], {"pandas", "pandera"}),
        (["show", "--limit", "0"], {"pandera"}),
        (["show", "--error-type", "NOPE"], {"pandera"}),
        (["frobnicate"], {"pandas", "pandera"}),
        (["excel", "-o", "out.csv"], {"pandera"}),
        (["sessions"], {"pandera"}),
        (["--json", "sessions"], {"pandera"}),
    ],
)
def test_help_mistakes_and_sessions_start_without_the_heavy_modules(logs, args, not_imported):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTED, *args], cwd=logs.parent, capture_output=True, text=True
    )
    imported = result.stderr.splitlines()[-1]
    assert imported.startswith("imported:"), result.stderr
    assert not set(imported.split()[1:]) & not_imported, (args, imported)


def test_the_db_help_names_the_default_the_command_uses():
    from work_data_hub.cli.failures import DB_HELP
    from work_data_hub.io.database import DEFAULT_DB

    assert f"default: wdh-etl's, {DEFAULT_DB})" in DB_HELP
