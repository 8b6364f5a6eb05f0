"""8. wdh-etl killed mid-run: the log reads cleanly and no file is half-loaded."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import warnings

import pytest

from tests.helpers import ROOT, SESSION
from work_data_hub.errors import FailureLogWarning
from work_data_hub.infrastructure.validation import read_failures
from work_data_hub.samples.generate import generate

KILLS = 6


def _loaded_per_file(db):
    counts = {}
    with sqlite3.connect(db) as connection:
        for domain in ("annuity_performance", "annuity_income"):
            try:
                rows = connection.execute(
                    f"SELECT source_file, COUNT(*) FROM {domain} GROUP BY source_file"
                ).fetchall()
            except sqlite3.OperationalError as error:  # killed before the table existed
                if "no such table" not in str(error):
                    raise  # a locked or damaged database is a failure, not "no rows"
                rows = []
            counts.update({f"{domain}/{name}": count for name, count in rows})
    return counts


def _files_loaded_so_far(db):
    """How many files a running wdh-etl has loaded (0 while the database is busy)."""
    try:
        return len(_loaded_per_file(db))
    except sqlite3.OperationalError:  # locked by the writer: ask again
        return 0


def _wait_for_a_first_load(run, db, rng):
    """Until the run has loaded at least one file (or ended), then a moment more."""
    deadline = time.monotonic() + 60
    while run.poll() is None and time.monotonic() < deadline:
        if db.exists() and _files_loaded_so_far(db):
            break
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.3))


@pytest.mark.slow
def test_killed_runs_leave_a_readable_log_and_whole_files(tmp_path):
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
            f"sqlite:///{db}",
            "--logs-dir",
            str(tmp_path / "logs"),
            "--session-id",
            SESSION,
        ]

    killed = 0
    cut_short = 0  # kills that left some files loaded and some not
    for attempt in range(KILLS):
        db = tmp_path / f"wdh-{attempt}.db"  # empty each time, so progress shows
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
        if db.exists():
            loaded = _loaded_per_file(db)
            for key, count in loaded.items():
                assert count == expected[key], f"{key}: {count} rows, a file is half-loaded"
            cut_short += 0 < len(loaded) < len(expected)
    assert killed, "no run was killed: the test proved nothing"
    assert cut_short, "no kill landed between two files' loads: the test proved little"
    # and a run that finishes, appending to the same session, leaves everything whole
    final = subprocess.run(command(db), cwd=ROOT, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert _loaded_per_file(db) == expected
