"""Ctrl-C during ``wdh-etl``: one line saying what is loaded and how to resume, exit 130,
a log that still reads, and a resume that completes the session exactly once.

Real runs over generated sources big enough to be interrupted between their
first committed file and their last; the signal is sent once the ledger
(``wdh_file_loads``) shows a committed file, or once an import is under way.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import wdh_failures
from work_data_hub.infrastructure.validation import read_failures
from work_data_hub.samples.generate import generate

INTERRUPTED = re.compile(
    r"^wdh-etl: interrupted: (?P<loaded>\d+) files? loaded and kept in session "
    r"(?P<session>etl_\w+); resume with: (?P<resume>.+)$"
)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Sources that take a sequential run some seconds, file after file."""
    sources = tmp_path_factory.mktemp("big") / "sources"
    return sources, generate(sources, rows=3000, seed=5)


def _start(sources: Path, root: Path, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "work_data_hub.cli.etl", "--all-domains", "--source", str(sources),
        "--db", f"sqlite:///{root / 'wdh.db'}", "--logs-dir", str(root / "logs"), "--plain", *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def _ledger(db: Path, session: str | None = None) -> list[tuple]:
    """The committed loads (domain, table, read, loaded, logged), or [] while unreadable."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0) as connection:
            return connection.execute(
                "SELECT domain, source_file, rows_read, rows_loaded, rows_logged "
                "FROM wdh_file_loads WHERE kind = 'load' AND (? IS NULL OR session_id = ?)",
                (session, session),
            ).fetchall()
    except sqlite3.OperationalError:  # not made yet, or locked by the writer: ask again
        return []


def _after_a_first_load(run: subprocess.Popen[str], db: Path) -> None:
    deadline = time.monotonic() + 120
    while run.poll() is None and time.monotonic() < deadline and not _ledger(db):
        time.sleep(0.02)
    assert run.poll() is None, "the run ended before it was interrupted: the test proved nothing"


def _files(tables: list[tuple]) -> set[tuple[str, str]]:
    return {(domain, re.sub(r"\[[^\]]*\]$", "", table)) for domain, table, *_ in tables}


def _interrupted_line(run: subprocess.Popen[str]) -> re.Match[str]:
    _, err = run.communicate(timeout=300)
    assert run.returncode == 130, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    said = INTERRUPTED.match(lines[0])
    assert said, lines[0]
    return said


def test_ctrl_c_mid_run_says_what_is_loaded_and_the_resume_completes_the_session(big, tmp_path):
    sources, manifest = big
    db = tmp_path / "wdh.db"
    run = _start(sources, tmp_path)
    _after_a_first_load(run, db)
    run.send_signal(signal.SIGINT)
    said = _interrupted_line(run)
    session = said["session"]
    committed = _ledger(db, session)
    assert int(said["loaded"]) == len(_files(committed)) >= 1
    assert len(_files(committed)) < len({key.split("[")[0] for key in manifest["files"]})

    log = tmp_path / "logs" / f"wdh_etl_failures_{session}.csv"
    summary = wdh_failures("summary", str(log), "--plain", cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr  # the log reads, with no torn tail

    resume = shlex.split(said["resume"])
    assert resume[0] == "wdh-etl"
    assert resume[-2:] == ["--session-id", session]
    done = subprocess.run(
        [sys.executable, "-m", "work_data_hub.cli.etl", *resume[1:], "--summary-json", "s.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    files = {
        f"{domain}/{name}": file
        for domain, result in json.loads((tmp_path / "s.json").read_text())["domains"].items()
        for name, file in result["files"].items()
    }
    resumed = [key for key, file in files.items() if file["status"] == "resumed"]
    assert len(_files([(k.split("/")[0], k.split("/")[1]) for k in resumed])) == int(said["loaded"])
    # conservation per table: read = loaded + logged, in the ledger, the log and the tables
    logged = read_failures(log).groupby(["domain", "source_file"], observed=True).size()
    with sqlite3.connect(db) as connection:
        for key, expected in manifest["files"].items():
            domain, name = key.split("/", 1)
            failed = sum(expected["failed"].values())
            assert files[key]["read"] == expected["rows"] == files[key]["loaded"] + failed
            assert logged[(domain, name)] == failed, key
            [(rows,)] = connection.execute(
                f"SELECT COUNT(*) FROM {domain} WHERE source_file = ?", (name,)
            ).fetchall()
            assert rows == expected["rows"] - failed, key


def test_ctrl_c_with_worker_processes_prints_no_traceback(big, tmp_path):
    sources, _ = big
    db = tmp_path / "wdh.db"
    run = _start(sources, tmp_path, "--jobs", "2")
    _after_a_first_load(run, db)
    os.killpg(run.pid, signal.SIGINT)  # as a terminal does: the command and its workers
    said = _interrupted_line(run)
    assert int(said["loaded"]) == len(_files(_ledger(db, said["session"])))
    log = tmp_path / "logs" / f"wdh_etl_failures_{said['session']}.csv"
    assert wdh_failures("summary", str(log), cwd=tmp_path).returncode == 0


def _interrupt_while_importing(command: list[str], cwd: Path) -> tuple[int, list[str]]:
    """Run ``command``, send Ctrl-C while it imports pandas; its status and stderr lines."""
    run = subprocess.Popen(
        [sys.executable, "-m", "work_data_hub.cli.etl", *command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},  # says each import as it ends
    )
    assert run.stderr is not None
    for line in run.stderr:  # pandas imports its frame long before it is done importing
        if line.split("|")[-1].strip() == "pandas.core.frame":
            run.send_signal(signal.SIGINT)
            break
    else:
        pytest.fail("pandas was never imported")
    rest = run.stderr.read()
    run.wait(timeout=60)
    return run.returncode, [
        line for line in rest.splitlines() if not line.startswith("import time:")
    ]


def test_ctrl_c_while_the_run_imports_its_modules_is_one_line(tmp_path):
    status, said = _interrupt_while_importing(["--all-domains", "--source", "nowhere"], tmp_path)
    assert status == 130
    assert said == [
        "wdh-etl: interrupted before any source file ran: nothing was loaded; run it again"
    ]


def test_ctrl_c_while_a_replay_imports_its_modules_is_one_line(tmp_path):
    status, said = _interrupt_while_importing(["replay"], tmp_path)
    assert status == 130
    assert len(said) == 1
    assert said[0].startswith("wdh-etl replay: interrupted: ")
