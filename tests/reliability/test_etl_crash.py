"""8. wdh-etl killed mid-run: the log reads cleanly, no file is half-loaded, and a
resume with the same --session-id then a replay load and log each row exactly once.
On SQLite and on PostgreSQL (``db_url``; each run of a test its own database)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from tests.helpers import ROOT, SESSION, query, table_names, wdh_etl
from tests.reliability.outages import faulty_etl
from tests.workflows.runs import Run, fixed_reference
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.errors import FailureLogWarning
from work_data_hub.infrastructure.validation import read_failures
from work_data_hub.io.database import Database
from work_data_hub.samples.generate import generate

KILLS = 6


def _loaded_per_file(db_url, busy_timeout=5.0):
    """Rows per ``domain/file`` in the domain tables there are (killed before one existed:
    none of it); a locked or damaged database is an error, not "no rows"."""
    counts = {}
    existing = table_names(db_url)
    for domain in DOMAINS:
        if domain in existing:
            rows = query(
                db_url,
                f"SELECT source_file, COUNT(*) FROM {domain} GROUP BY source_file",
                busy_timeout=busy_timeout,
            )
            counts.update({f"{domain}/{name}": count for name, count in rows})
    return counts


def _files_loaded_so_far(db_url):
    """How many files a running wdh-etl has loaded (0 while the database is busy)."""
    try:
        return len(_loaded_per_file(db_url, busy_timeout=0))
    except sqlalchemy.exc.OperationalError:  # not there yet, or locked by the writer
        return 0


def _wait_for_a_first_load(run, db_url, rng):
    """Until the run has loaded at least one file (or ended), then a moment more."""
    deadline = time.monotonic() + 60
    while run.poll() is None and time.monotonic() < deadline:
        if _files_loaded_so_far(db_url):
            break
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.3))


@pytest.mark.slow
def test_killed_runs_leave_a_readable_log_and_whole_files(tmp_path, make_db_url):
    manifest = generate(tmp_path / "samples", rows=3000, seed=5)
    expected = {
        key: entry["rows"] - sum(entry["failed"].values())
        for key, entry in manifest["files"].items()
    }
    log = tmp_path / "logs" / f"wdh_etl_failures_{SESSION}.csv"
    rng = random.Random(8)

    def command(db):
        return [
            sys.executable,
            "-m",
            "work_data_hub.cli.etl",
            "--all-domains",
            "--jobs",
            "2",
            "--source",
            str(tmp_path / "samples"),
            "--db",
            db,
            "--logs-dir",
            str(tmp_path / "logs"),
            "--session-id",
            SESSION,
        ]

    killed = 0
    cut_short = 0  # kills that left some files loaded and some not
    for attempt in range(KILLS):
        db = make_db_url(f"wdh-{attempt}")  # empty each time, so progress shows
        run = subprocess.Popen(
            command(db),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if attempt % 2:
            time.sleep(rng.uniform(0.8, 2.8))  # anywhere in a run (about 3 s here)
        else:
            _wait_for_a_first_load(run, db, rng)  # between files' loads, or in one
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)  # the command and its domain processes
            killed += 1
        run.wait()
        if log.exists():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FailureLogWarning)
                read_failures(log)  # parses: only finished exports count
        if table_names(db):
            loaded = _loaded_per_file(db)
            for key, count in loaded.items():
                assert count == expected[key], f"{key}: {count} rows, a file is half-loaded"
            cut_short += 0 < len(loaded) < len(expected)
    assert killed, "no run was killed: the test proved nothing"
    assert cut_short, "no kill landed between two files' loads: the test proved little"
    # and a run that finishes, resuming the same session, leaves everything whole
    final = subprocess.run(command(db), cwd=ROOT, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert _loaded_per_file(db) == expected
    # each failed row counts once however often the session was cut short and resumed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FailureLogWarning)
        logged = read_failures(log).groupby(["domain", "source_file"]).size()
    assert {f"{d}/{f}": n for (d, f), n in logged.items()} == {
        key: sum(entry["failed"].values()) for key, entry in manifest["files"].items()
    }


ROW_KEY = ["domain", "source_file", "row_index", "error_type", "raw_data"]
TABLE_KEY = ["source_file", "row_index"]


def _tables(db_url):
    """Every domain's table, without the columns that differ between runs by design."""
    database = Database(db_url)
    tables = {}
    for name, spec in DOMAINS.items():
        database.add_domain(spec.table, create=False)
        rows = database.rows(name).drop(columns=["id", "session_id", "replayed_from"])
        tables[name] = rows.sort_values(TABLE_KEY, ignore_index=True)
    return tables


def _entries(log, **options):
    return read_failures(log, **options)[ROW_KEY].sort_values(ROW_KEY, ignore_index=True)


@pytest.mark.slow
def test_kills_between_logging_and_loading_then_resume_then_replay_match_a_clean_run(
    tmp_path, db_url, make_db_url
):
    """SIGKILL as each source file's load begins (its failures just logged), one file
    after another, each time resuming the same session; then fix the reference and
    replay. The database and the log equal a clean run's, and its replay's."""
    generate(tmp_path / "samples", rows=300, seed=9)
    sources = tmp_path / "samples"
    files = sorted(str(p.relative_to(sources)) for p in sources.glob("annuity_*/*.*"))

    def options(db, logs):
        return [
            "--all-domains",
            "--source",
            str(sources),
            "--db",
            db,
            "--logs-dir",
            str(logs),
            "--plain",
        ]

    crashed, clean_db, logs = db_url, make_db_url("clean"), tmp_path / "logs"
    for file in files:  # killed between export and load of each file in turn
        run = faulty_etl(
            f"kill:load_all:{Path(file).name}",
            *options(crashed, logs),
            "--session-id",
            SESSION,
            cwd=tmp_path,
        )
        assert run.returncode == -9, run.stderr
    resumed = wdh_etl(*options(crashed, logs), "--session-id", SESSION, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    clean_logs = tmp_path / "clean_logs"
    clean = wdh_etl(
        *options(clean_db, clean_logs),
        "--summary-json",
        str(tmp_path / "clean.json"),
        cwd=tmp_path,
    )
    assert clean.returncode == 0, clean.stderr
    clean_session = json.loads((tmp_path / "clean.json").read_text())["session_id"]

    crashed_log = logs / f"wdh_etl_failures_{SESSION}.csv"
    clean_log = clean_logs / f"wdh_etl_failures_{clean_session}.csv"
    # every row logged once: not even a repeated line, however often the run was killed
    pd.testing.assert_frame_equal(_entries(crashed_log, every_entry=True), _entries(clean_log))
    for name, table in _tables(clean_db).items():
        pd.testing.assert_frame_equal(_tables(crashed)[name], table)

    # the fix, then replays of both sessions: still the same rows, once
    fixed = fixed_reference(Run(tmp_path, sources, crashed, logs, SESSION, {}), tmp_path / "fixed")
    for db, log in ((crashed, crashed_log), (clean_db, clean_log)):
        replay = wdh_etl(
            "replay",
            str(log),
            "--db",
            db,
            "--reference",
            str(fixed),
            "--logs-dir",
            str(tmp_path / "replay_logs"),
            "--plain",
            cwd=tmp_path,
        )
        assert replay.returncode == 0, replay.stderr
        again = wdh_etl(
            "replay",
            str(log),
            "--db",
            db,
            "--logs-dir",
            str(tmp_path / "replay_logs"),
            "--plain",
            "--summary-json",
            str(tmp_path / "again.json"),
            cwd=tmp_path,
        )
        assert again.returncode == 0, again.stderr
        counts = json.loads((tmp_path / "again.json").read_text())["counts"]
        assert sum(c["fixed"] for c in counts) == 0  # a second replay loads nothing
    after = _tables(crashed)
    for name, table in _tables(clean_db).items():
        assert len(table) > 0
        pd.testing.assert_frame_equal(after[name], table)
