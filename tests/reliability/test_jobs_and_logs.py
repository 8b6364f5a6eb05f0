"""9-15 of the reliability issue: ``--jobs`` and its workers, outputs checked before any
work, readers and views on hostile logs (see ``test_exactly_once``).

About processes and failure logs, not the database: an SQLite file where a
run needs one, no database at all for the logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.helpers import in_terminal, wdh_etl, wdh_failures
from tests.reliability.site import Site
from work_data_hub.cli.etl import workers_for
from work_data_hub.infrastructure.validation import FailureExporter, to_failed_frame
from work_data_hub.infrastructure.validation._file_lock import lock_path_for
from work_data_hub.samples.generate import generate

SESSION = "etl_20240401_090000_c0ffee"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A site whose database is the SQLite file ``data/wdh.db``."""
    return Site(tmp_path)


@pytest.fixture
def log_site(tmp_path: Path) -> Site:
    """A site for the tests of failure logs alone: no database is touched."""
    return Site(tmp_path)


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


# -- 9. --jobs is bounded; workers die with the run -----------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _most_workers(site: Site, *args: str) -> int:
    """Run ``wdh-etl`` over ``site`` to its end (it must succeed): the most worker
    processes it had at once."""
    with tempfile.TemporaryFile(mode="w+") as err:  # a pipe could fill and stall it
        run = subprocess.Popen(
            [sys.executable, "-m", "work_data_hub.cli.etl", *site.options(), *args],
            cwd=site.root,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
        most = 0
        while run.poll() is None:
            most = max(most, len(_children(run.pid)))
            time.sleep(0.01)
        err.seek(0)
        assert run.returncode == 0, err.read()
    return most


def test_9_jobs_is_capped_at_the_work_there_is(site):
    files = len(generate(site.sources, rows=3000, seed=4)["files"])  # tables; fewer files
    most = _most_workers(site, "--all-domains", "--jobs", "100000")
    units = len(list(site.sources.glob("annu*/*.*")))  # a work unit per source file
    assert units < files
    assert 1 <= most <= min(units, 4 * (os.cpu_count() or 1))  # not 100,000
    assert workers_for(100_000, 2) == 2
    assert workers_for(100_000, 10_000) == 4 * (os.cpu_count() or 1)


def test_9_jobs_share_one_domains_files_and_load_what_a_serial_run_loads(site, tmp_path):
    """Work units are files: ``--jobs 2`` on a one-domain run starts two workers, and
    the run loads and logs what a serial run does."""
    generate(site.sources, rows=3000, seed=6)
    summaries = {}
    for jobs in ("1", "2"):
        most = _most_workers(
            site,
            *("--db", f"sqlite:///{tmp_path / jobs}.db", "--domain", "annual_award"),
            *("--jobs", jobs, "--summary-json", str(tmp_path / f"{jobs}.json")),
        )
        assert most == (0 if jobs == "1" else 2)
        summary = json.loads((tmp_path / f"{jobs}.json").read_text())
        summaries[jobs] = summary["domains"]["annual_award"]["files"]
    assert summaries["2"] == summaries["1"]
    assert len(summaries["1"]) == 5


def test_9_workers_die_with_a_killed_run(site):
    generate(site.sources, rows=3000, seed=4)  # every worker starts with the first file
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "work_data_hub.cli.etl",
            *site.options(),
            "--all-domains",
            "--jobs",
            "2",
        ],
        cwd=site.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < 2 and run.poll() is None and time.monotonic() < deadline:
        workers |= _children(run.pid)
        time.sleep(0.01)
    assert len(workers) == 2, "the run ended before both workers started: give it more rows"
    run.kill()  # the parent alone
    run.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in workers):
        assert time.monotonic() < deadline, "workers outlived their run"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


# -- 10. outputs are checked before any work ------------------------------------------


@pytest.mark.parametrize("target", ["folder", "no_parent"])
def test_10_an_unwritable_summary_json_is_refused_before_any_work(site, target):
    generate(site.sources, rows=10, seed=1)
    path = site.root / "a_folder" if target == "folder" else site.root / "missing" / "s.json"
    if target == "folder":
        path.mkdir()
    result = wdh_etl(
        *site.options()[:-2], "--summary-json", str(path), "--all-domains", cwd=site.root
    )
    assert result.returncode == 2
    _no_traceback(result)
    assert len(result.stderr.splitlines()) == 1
    assert "--summary-json" in result.stderr
    assert not site.db.exists()  # nothing was loaded
    assert not list(site.logs.glob("wdh_etl_failures_*.csv"))


# -- 11-15. readers and views on hostile logs -----------------------------------------


def _log(site: Site, raw: pd.DataFrame, domain="annuity_income", source_file="a.csv") -> Path:
    exporter = FailureExporter(SESSION, site.logs)
    return exporter.export(
        to_failed_frame(
            raw,
            session_id=SESSION,
            domain=domain,
            source_file=source_file,
            error_type="VALIDATION_FAILED",
        )
    )


def test_11_excel_shows_control_characters_and_keeps_the_rest(log_site):
    _log(log_site, pd.DataFrame({"客户名称": ["a\x00b", "\x01\x1b[2J", "正常"]}))
    out = log_site.root / "f.xlsx"
    result = wdh_failures(
        "excel", "-o", str(out), "--logs-dir", str(log_site.logs), cwd=log_site.root
    )
    assert result.returncode == 0, result.stderr
    rows = list(load_workbook(out)["annuity_income"].values)
    assert [row[5] for row in rows[1:]] == ["a\\x00b", "\\x01\\x1b[2J", "正常"]


def test_12_a_terminal_never_receives_control_sequences_from_the_data(log_site):
    evil = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\x9b31m"
    _log(log_site, pd.DataFrame({"客户名称": [evil]}), source_file="\x1b[31mred.csv")
    screen = in_terminal(
        [
            sys.executable,
            "-m",
            "work_data_hub.cli.failures",
            "show",
            "--logs-dir",
            str(log_site.logs),
        ],
        cwd=log_site.root,
    )
    assert "http://evil.example" in screen  # shown, as text
    assert "\x1b]8;;http://evil" not in screen  # never as a live link
    for sequence in ("\x1b[2J", "\x9b", "\x1b[31mred"):
        assert sequence not in screen
    assert "\\x1b]8;;http://evil.example/" in screen


@pytest.mark.parametrize("depth", [1_000, 20_000])
def test_13_a_log_nested_too_deep_is_refused_never_a_crash(log_site, depth):
    path = _log(log_site, pd.DataFrame({"x": [1]}))
    data = path.read_bytes()
    deep = '"{""x"":' + "[" * depth + "]" * depth + '}"'
    tampered = data.replace(b'"{""x"":1}"', deep.encode())
    path.write_bytes(tampered)
    lock_path_for(path).unlink()  # a log edited by hand: no commit record
    for command in (["show"], ["show", "--json"], ["excel", "-o", str(log_site.root / "f.xlsx")]):
        result = wdh_failures(*command, "--logs-dir", str(log_site.logs), cwd=log_site.root)
        assert result.returncode == 1, (command, result.returncode, result.stderr[-300:])
        _no_traceback(result)
        assert f"nests {depth + 1} levels deep" in result.stderr


def test_14_a_file_that_is_not_a_log_leaves_the_others_listed(log_site):
    _log(log_site, pd.DataFrame({"x": [1]}))
    (log_site.logs / "wdh_etl_failures_etl_20240101_000000_abcdef.csv").write_text("not,a,log\n")
    result = wdh_failures("sessions", "--logs-dir", str(log_site.logs), cwd=log_site.root)
    assert result.returncode == 1
    assert SESSION in result.stdout
    assert "left out wdh_etl_failures_etl_20240101_000000_abcdef.csv" in result.stderr
    _no_traceback(result)


@pytest.mark.slow
def test_15_excel_over_the_sheet_limit_fails_first_in_one_line(log_site):
    _log(log_site, pd.DataFrame({"x": range(1_048_576)}))
    out = log_site.root / "f.xlsx"
    result = wdh_failures(
        "excel", "-o", str(out), "--logs-dir", str(log_site.logs), cwd=log_site.root
    )
    assert result.returncode == 1
    _no_traceback(result)
    assert result.stderr.count("\n") == 1
    assert "1,048,576 failed rows, more than an Excel sheet holds" in result.stderr
    assert not out.exists()
