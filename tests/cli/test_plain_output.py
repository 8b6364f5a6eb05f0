"""Output for grep, awk and copy-paste when piped; whole headers and texts in a terminal.

Real sources with long names, a real ``wdh-etl`` run, then the commands in
subprocesses: piped at ``COLUMNS=80`` and ``COLUMNS=40``, and under a pty.
"""

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook
from rich.cells import cell_len

from tests.helpers import in_terminal, wdh_etl, wdh_failures
from work_data_hub.domain import annuity_income, annuity_performance

# long enough to be cut at 40 or 80 columns, with no space to break at
INCOME_FILE = "income_2024_03_from_the_shanghai_regional_office_final.csv"
PERFORMANCE_FILE = "performance_2024_03_quarterly_report_second_revision.xlsx"
LOGS = "failure_logs_of_the_monthly_close_kept_for_the_auditors"
GOOD = ["202403", "P0012", "上海浦江制造有限公司", "100", "110", "10", "0.1"]
PERFORMANCE_ROWS = [
    GOOD,
    ["bad", "P0012", "上海浦江制造有限公司", "1", "1", "0", "0"],  # VALIDATION_FAILED
    ["202403", "P0012", "未知公司", "1", "1", "0", "0"],  # ENRICHMENT_FAILED
]
INCOME_ROWS = [
    ["2024-03", "P0012", "上海浦江制造有限公司", "企年受托", "1", "2", "0", "0.1"],
    ["2024-03", "P0013", "", "其他", "1", "2", "0", "0.1"],  # invalid type, empty name
]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b\x07]*(?:\x1b\\|\x07)")


@dataclass(frozen=True)
class Ran:
    root: Path
    stdout: dict[int, str]  # wdh-etl's output at each width
    logs: dict[int, Path]  # the session log of the run at each width

    def failures(self, *args: str, columns: int) -> str:
        result = wdh_failures(*args, "--logs-dir", LOGS, cwd=self.root, columns=columns)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Ran:
    root = tmp_path_factory.mktemp("a_working_folder_with_a_long_name_of_its_own")
    data = root / "data"
    (data / "reference").mkdir(parents=True)
    pd.DataFrame({"计划代码": ["P0012", "P0013"], "计划名称": ["一", "二"]}).to_csv(
        data / "reference" / "plans.csv", index=False
    )
    pd.DataFrame({"客户名称": ["上海浦江制造有限公司"], "company_id": ["C1"]}).to_csv(
        data / "reference" / "company_mapping.csv", index=False
    )
    book = Workbook()
    book.active.append(list(annuity_performance.COLUMNS))
    for row in PERFORMANCE_ROWS:
        book.active.append(row)
    (data / "annuity_performance").mkdir()
    book.save(data / "annuity_performance" / PERFORMANCE_FILE)
    (data / "annuity_income").mkdir()
    pd.DataFrame(INCOME_ROWS, columns=list(annuity_income.COLUMNS)).to_csv(
        data / "annuity_income" / INCOME_FILE, index=False
    )
    stdout, logs = {}, {}
    for columns in (80, 40):  # two runs, two sessions
        result = wdh_etl(
            *("--domain", "annuity_performance", "--domain", "annuity_income"),
            *("--source", str(data), "--db", f"sqlite:///{root / 'wdh.db'}"),
            *("--logs-dir", LOGS),
            cwd=root,
            columns=columns,
        )
        assert result.returncode == 0, result.stderr
        stdout[columns] = result.stdout
        (logs[columns],) = set((root / LOGS).glob("wdh_etl_failures_*.csv")) - set(logs.values())
    return Ran(root, stdout, logs)


def _plain(text: str) -> list[str]:
    lines = text.splitlines()
    assert lines
    assert [line for line in lines if line.endswith(" ")] == []
    return lines


def _fields(lines: list[str], first: str) -> list[str]:
    """The fields of the one line that starts with ``first`` (two spaces apart)."""
    (line,) = [line for line in lines if line.startswith(first)]
    return re.split(r"  +", line)


@pytest.mark.parametrize("columns", [80, 40])
def test_wdh_etl_piped_keeps_every_value_whole_on_one_line(ran, columns):
    lines = _plain(ran.stdout[columns])
    log = ran.logs[columns].resolve()
    assert len(str(log)) > 80
    assert f"Saved failure log to {log}" in lines
    assert _fields(lines, INCOME_FILE)[:4] == [INCOME_FILE, "loaded", "2", "1"]
    assert _fields(lines, PERFORMANCE_FILE)[:4] == [PERFORMANCE_FILE, "loaded", "3", "1"]


@pytest.mark.parametrize("columns", [80, 40])
def test_sessions_summary_and_show_piped_keep_every_value_whole(ran, columns):
    sessions = _plain(ran.failures("sessions", columns=columns))
    for log in ran.logs.values():
        session = log.stem.removeprefix("wdh_etl_failures_")
        assert _fields(sessions, session) == [
            *(session, "3", "2", "0", "1", "0"),
            "annuity_income, annuity_performance",
        ]
    summary = _plain(ran.failures("summary", columns=columns))
    assert ran.logs[40].name in summary  # the newest session's log, as the title
    assert _fields(summary, "annuity_income")[:2] == ["annuity_income", INCOME_FILE]
    assert _fields(summary, "annuity_performance")[:2] == ["annuity_performance", PERFORMANCE_FILE]
    show = _plain(ran.failures("show", columns=columns))
    assert f"annuity_income · {INCOME_FILE} · row 1 (sheet row 3) · VALIDATION_FAILED" in show
    assert "  客户名称  " + '""' in show  # the empty CSV cell, as read
    assert "3 of 3 failed rows" in show


def test_plain_flag_on_a_terminal_is_plain_too(ran):
    shown = ANSI.sub("", in_terminal(_command("summary", "--plain"), cwd=ran.root, columns=40))
    lines = shown.replace("\r\n", "\n").splitlines()
    assert _fields(lines, "annuity_income")[:2] == ["annuity_income", INCOME_FILE]
    assert [line for line in lines if line.endswith(" ")] == []


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "work_data_hub.cli.failures", *args, "--logs-dir", LOGS]


@pytest.mark.parametrize(
    ("columns", "command"),
    [(60, "summary"), (100, "summary"), (60, "sessions"), (100, "sessions"), (40, "show")],
)
def test_terminal_keeps_headers_and_texts_whole(ran, columns, command):
    shown = ANSI.sub("", in_terminal(_command(command), cwd=ran.root, columns=columns))
    lines = shown.replace("\r\n", "\n").splitlines()
    assert all(cell_len(line) <= columns for line in lines), shown
    words = shown.split()
    headers = {
        "summary": ["domain", "source_file", "invalid", "dropped", "enrich", "fk", "total"],
        "sessions": ["session_id", "rows", "invalid", "dropped", "enrich", "fk", "domains"],
        "show": ["计划代码", "客户名称"],
    }[command]
    assert set(headers) <= set(words), shown
    texts = {
        "summary": ["annuity_income", "annuity_performance"],
        "sessions": [log.stem.removeprefix("wdh_etl_failures_") for log in ran.logs.values()]
        + ["annuity_income,", "annuity_performance"],
        "show": ["上海浦江制造有限公司", "VALIDATION_FAILED", "(sheet"],
    }[command]
    assert set(texts) <= set(words), shown
    if command == "summary":  # long file names fold in their column, never cut
        rejoined = _column(lines, "source_file", cards=columns < 100)
        assert rejoined[:2] == [INCOME_FILE, PERFORMANCE_FILE], shown


def _column(lines: list[str], header: str, *, cards: bool) -> list[str]:
    """The values of a terminal table's column, or of each card's field, lines rejoined."""
    values: list[str] = []
    header_line = next(line for line in lines if header in line.split())
    start = header_line.index(header)
    current = None  # the field (cards) or row (table) the next folded line continues
    for line in lines[lines.index(header_line) + (0 if cards else 1) :]:
        if not line.strip() or "─" in line:
            continue
        if cards:
            name, _, rest = line.strip().partition(" ")
            if line[start : start + len(name)] == name and line[:start].strip() == "":
                current = name
                if name == header:
                    values.append(rest.strip())
            elif current == header:
                values[-1] += line.strip()
            continue
        piece = re.split(r"\s{2,}", line[start:].strip())[0]
        if line[:start].strip():  # a new row starts where the first column has text
            values.append(piece)
        else:
            values[-1] += piece
    return values


def test_the_plain_console_never_wraps_and_drops_only_line_end_spaces(capsys, monkeypatch):
    from rich.table import Table

    from work_data_hub.cli.console import make_console, print_log_link

    monkeypatch.setenv("COLUMNS", "40")
    out = make_console(plain=True)
    log = Path("/a/folder/with/a/long/name") / ("wdh_etl_failures_" + "x" * 60 + ".csv")
    print_log_link(out, "Saved failure log to ", log)
    table = Table("name", "value")  # any renderable, not only the views: padded cells
    table.add_row("a", "")
    out.print(table)
    out.print("two  spaces   inside stay  ")
    out.file.write("held  ")
    out.file.write("then text\n")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Saved failure log to {log}"
    assert [line for line in lines if line.endswith(" ")] == []
    assert lines[-2:] == ["two  spaces   inside stay", "held  then text"]


def test_output_its_encoding_cannot_hold_is_escaped_not_a_traceback(ran, tmp_path):
    """An ASCII (or Latin-1) locale, ``PYTHONIOENCODING`` here: every line is written,
    the Chinese escaped, with the usual exit status."""
    data = tmp_path / "data"
    shutil.copytree(ran.root / "data", data)
    (data / "annuity_income" / INCOME_FILE).rename(data / "annuity_income" / "上海_2024-03.csv")
    env = {"PYTHONIOENCODING": "ascii"}
    run = wdh_etl(
        *("--domain", "annuity_performance", "--domain", "annuity_income"),
        *("--source", str(data), "--db", f"sqlite:///{tmp_path / 'wdh.db'}"),
        *("--summary-json", "run.json"),
        cwd=tmp_path,
        env=env,
    )
    assert (run.returncode, run.stderr) == (0, "")
    assert "\\u4e0a\\u6d77_2024-03.csv  loaded" in run.stdout
    assert "Saved failure log to " in run.stdout.splitlines()[-1]
    assert (tmp_path / "run.json").is_file()
    for command in (["summary"], ["show"], ["show", "--json"]):
        shown = wdh_failures(*command, cwd=tmp_path, env=env)
        assert (shown.returncode, shown.stderr) == (0, ""), command
        assert "\\u4e0a\\u6d77" in shown.stdout, command
