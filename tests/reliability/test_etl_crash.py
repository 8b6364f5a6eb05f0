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

from tests.reliability.conftest import ROOT
from work_data_hub.errors import FailureLogWarning
from work_data_hub.infrastructure.validation import read_failures
from work_data_hub.samples.generate import generate

SESSION = "etl_20240301_090000_0a1b2c"
KILLS = 6


def _loaded_per_file(db):
    counts = {}
    with sqlite3.connect(db) as connection:
        for domain in ("annuity_performance", "annuity_income"):
            try:
                rows = connection.execute(
                    f"SELECT source_file, COUNT(*) FROM {domain} GROUP BY source_file"
                ).fetchall()
            except sqlite3.OperationalError:  # killed before the table existed
                rows = []
            counts.update({f"{domain}/{name}": count for name, count in rows})
    return counts


@pytest.mark.slow
def test_killed_runs_leave_a_readable_log_and_whole_files(tmp_path):
    manifest = generate(tmp_path / "samples", rows=3000, seed=5)
    expected = {
        key: entry["rows"] - sum(entry["failed"].values())
        for key, entry in manifest["files"].items()
    }
    db = tmp_path / "wdh.db"
    log = tmp_path / "logs" / f"wdh_etl_failures_{SESSION}.csv"
    rng = random.Random(8)
    command = [
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
    for _ in range(KILLS):
        run = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.8, 2.8))  # a whole run takes about 3 s here
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)  # the command and its domain processes
            killed += 1
        run.wait()
        if log.exists():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FailureLogWarning)
                read_failures(log)  # parses: only finished exports count
        if db.exists():
            for key, count in _loaded_per_file(db).items():
                assert count == expected[key], f"{key}: {count} rows, a file is half-loaded"
    assert killed, "no run was killed: the test proved nothing"
    # and a run that finishes, appending to the same session, leaves everything whole
    final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert _loaded_per_file(db) == expected
