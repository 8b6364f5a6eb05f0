"""Concurrent ``wdh-etl`` runs into one server database: no deadlock, no lost row,
every file conserved.

Two runs over different domains started at once, and one run with
``--jobs 2``, write into one PostgreSQL database (each also upserts the
shared reference tables and writes the shared ledger). Both must end with
exit 0 (waited for generously, never timed); per file, the ledger's
``rows_read`` is the source's rows and equals ``rows_loaded + rows_logged``,
with ``rows_loaded`` the rows in the domain table and ``rows_logged`` the
file's entries in the session's log; and the domain tables hold exactly the
rows a serial run loads into another database.

PostgreSQL only: an SQLite file has one writer at a time, so concurrent runs
there wait on its lock instead of running together.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import query, query_frame
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.infrastructure.validation import FailureExporter, read_failures
from work_data_hub.samples.generate import generate

PG_ONLY = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
#: Columns that differ between two runs of the same sources by design.
PER_RUN = ["id", "session_id", "replayed_from"]
ROWS = 400  # per source file: enough work for the runs to overlap


def _start(sources: Path, db_url: str, logs: Path, summary: Path, *args: str) -> subprocess.Popen:
    options = ["--source", str(sources), "--db", db_url, "--logs-dir", str(logs), "--plain"]
    options += ["--summary-json", str(summary)]
    return subprocess.Popen(
        [sys.executable, "-m", "work_data_hub.cli.etl", *args, *options],
        cwd=sources.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(run: subprocess.Popen) -> None:
    """Wait for ``run`` (a deadlock would hang it: 15 minutes is generous) and want exit 0."""
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, f"exit {run.returncode}\n{out}\n{err}"
    assert "Traceback" not in err


def _tables(db_url: str) -> dict[str, pd.DataFrame]:
    """Every domain's rows, without what differs between runs, in (file, row) order."""
    return {
        domain: query_frame(db_url, f"SELECT * FROM {domain}")
        .drop(columns=PER_RUN)
        .sort_values(["source_file", "row_index"], ignore_index=True)
        for domain in DOMAINS
    }


def _conserved(db_url: str, logs: Path, summaries: list[Path], manifest: dict) -> None:
    """Per file of each run: read = loaded + logged, from the ledger, the table and the log."""
    sessions = {json.loads(path.read_text(encoding="utf-8"))["session_id"] for path in summaries}
    ledger = query(
        db_url,
        "SELECT session_id, domain, source_file, rows_read, rows_loaded, rows_logged "
        "FROM wdh_file_loads WHERE kind = 'load'",
    )
    assert {row[0] for row in ledger} == sessions
    assert len(ledger) == len(manifest["files"])  # every file committed once
    logged = pd.concat(
        [read_failures(FailureExporter(session, logs).output_file) for session in sessions]
    )
    per_file = logged.groupby(["session_id", "domain", "source_file"], observed=True).size()
    for session, domain, source_file, read, loaded, failed in ledger:
        expected = manifest["files"][f"{domain}/{source_file}"]
        assert read == expected["rows"] == loaded + failed, (domain, source_file)
        assert failed == sum(expected["failed"].values()), (domain, source_file)
        assert failed == per_file.get((session, domain, source_file), 0), (domain, source_file)
        [(rows,)] = query(
            db_url,
            f"SELECT COUNT(*) FROM {domain} WHERE source_file = :file AND session_id = :session",
            {"file": source_file, "session": session},
        )
        assert rows == loaded, (domain, source_file)


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, dict]:
    return tmp_path / "sources", generate(tmp_path / "sources", rows=ROWS, seed=21)


@pytest.fixture
def serial(sources: tuple[Path, dict], make_db_url, tmp_path: Path) -> dict[str, pd.DataFrame]:
    """The tables a serial run of every domain loads, into a database of its own."""
    url = make_db_url("serial")
    folder, _ = sources
    run = _start(folder, url, tmp_path / "serial_logs", tmp_path / "serial.json", "--all-domains")
    _finish(run)
    return _tables(url)


@PG_ONLY
@pytest.mark.slow
def test_two_runs_over_different_domains_at_once_lose_nothing(db_url, sources, serial, tmp_path):
    folder, manifest = sources
    logs, summaries = tmp_path / "logs", [tmp_path / "a.json", tmp_path / "b.json"]
    others = ["--domain", "annuity_income", "--domain", "annual_award"]
    runs = [
        _start(folder, db_url, logs, summaries[0], "--domain", "annuity_performance"),
        _start(folder, db_url, logs, summaries[1], *others),
    ]
    for run in runs:
        _finish(run)
    _conserved(db_url, logs, summaries, manifest)
    for domain, table in _tables(db_url).items():
        assert len(table) > 0, domain
        pd.testing.assert_frame_equal(table, serial[domain], obj=domain)


@PG_ONLY
@pytest.mark.slow
def test_a_run_with_two_jobs_loses_nothing(db_url, sources, serial, tmp_path):
    folder, manifest = sources
    logs, summary = tmp_path / "logs", tmp_path / "jobs.json"
    _finish(_start(folder, db_url, logs, summary, "--all-domains", "--jobs", "2"))
    _conserved(db_url, logs, [summary], manifest)
    for domain, table in _tables(db_url).items():
        assert len(table) > 0, domain
        pd.testing.assert_frame_equal(table, serial[domain], obj=domain)
