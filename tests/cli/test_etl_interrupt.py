"""Ctrl-C during ``wdh-etl``: one line saying what is loaded and how to resume, exit 130,
a log that still reads, and a resume that completes the session exactly once
(``wdh-failures``, read-only: one line, 130).

Real runs over generated sources big enough to be interrupted between their
first committed file and their last; the signal is sent once the ledger
(``wdh_file_loads``) shows a committed file, or once an import is under way.
The runs go into a database of each dialect (``db_url``).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from tests.helpers import query, wdh_failures, write_two_sessions
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


def _start(sources: Path, root: Path, db_url: str, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "work_data_hub.cli.etl", "--all-domains", "--source", str(sources),
        "--db", db_url, "--logs-dir", str(root / "logs"), "--plain", *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def _ledger(db_url: str, session: str) -> list[tuple]:
    """The session's committed loads (domain, table, read, loaded, logged)."""
    return query(
        db_url,
        "SELECT domain, source_file, rows_read, rows_loaded, rows_logged "
        "FROM wdh_file_loads WHERE kind = 'load' AND session_id = :session",
        {"session": session},
    )


def _loaded_yet(db_url: str) -> bool:
    """Whether a running wdh-etl committed a load (False while that cannot be read)."""
    try:
        return bool(query(db_url, "SELECT 1 FROM wdh_file_loads", busy_timeout=0))
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError):
        return False  # no database or ledger yet, or the SQLite writer's lock: ask again


def _after_a_first_load(run: subprocess.Popen[str], db_url: str) -> None:
    deadline = time.monotonic() + 120
    while run.poll() is None and time.monotonic() < deadline and not _loaded_yet(db_url):
        time.sleep(0.02)
    assert run.poll() is None, "the run ended before it was interrupted: the test proved nothing"


def _files(tables: list[tuple]) -> set[tuple[str, str]]:
    return {(domain, re.sub(r"\[[^\]]*\]$", "", table)) for domain, table, *_ in tables}


def _interrupted_line(run: subprocess.Popen[str]) -> re.Match[str]:
    out, err = run.communicate(timeout=300)
    assert run.returncode == 130, f"exit {run.returncode}\nstderr:\n{err}\nstdout:\n{out}"
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    said = INTERRUPTED.match(lines[0])
    assert said, lines[0]
    return said


def test_ctrl_c_mid_run_says_what_is_loaded_and_the_resume_completes_the_session(
    big, tmp_path, db_url
):
    sources, manifest = big
    run = _start(sources, tmp_path, db_url)
    _after_a_first_load(run, db_url)
    run.send_signal(signal.SIGINT)
    said = _interrupted_line(run)
    session = said["session"]
    committed = _ledger(db_url, session)
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
    for key, expected in manifest["files"].items():
        domain, name = key.split("/", 1)
        failed = sum(expected["failed"].values())
        assert files[key]["read"] == expected["rows"] == files[key]["loaded"] + failed
        assert logged[(domain, name)] == failed, key
        [(rows,)] = query(
            db_url, f"SELECT COUNT(*) FROM {domain} WHERE source_file = :name", {"name": name}
        )
        assert rows == expected["rows"] - failed, key


@pytest.mark.parametrize("workers", [["--jobs", "2"], ["--scheduler", "local:2"]], ids=str)
def test_ctrl_c_with_worker_processes_prints_no_traceback(big, tmp_path, db_url, workers):
    """Worker processes (a pool's, a local Dask cluster's) get the terminal's Ctrl-C
    too: they leave it to the run, which says one line."""
    sources, _ = big
    run = _start(sources, tmp_path, db_url, *workers)
    _after_a_first_load(run, db_url)
    os.killpg(run.pid, signal.SIGINT)  # as a terminal does: the command and its workers
    said = _interrupted_line(run)
    assert int(said["loaded"]) == len(_files(_ledger(db_url, said["session"])))
    log = tmp_path / "logs" / f"wdh_etl_failures_{said['session']}.csv"
    assert wdh_failures("summary", str(log), cwd=tmp_path).returncode == 0


#: fcntl's F_SETPIPE_SZ (Linux); Python names it only from 3.10 on some builds.
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def _interrupt_while_importing(
    command: list[str], cwd: Path, module: str = "work_data_hub.cli.etl"
) -> tuple[int, list[str]]:
    """Run ``command`` (of ``module``), send Ctrl-C while it imports pandas; its status
    and stderr lines."""
    # The smallest pipe (one page) for its stderr: the command blocks on its import
    # report until this test has read it, so however slow this test is, the command
    # is at most a few imports past the line this test acts on.
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, _F_SETPIPE_SZ, 4096)
    run = subprocess.Popen(
        [sys.executable, "-m", module, *command],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=write_end,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},  # says each import as it ends
    )
    os.close(write_end)
    with open(read_end, encoding="utf-8", errors="replace") as stderr:
        for line in stderr:  # pandas imports its frame long before it is done importing
            if line.split("|")[-1].strip() == "pandas.core.frame":
                run.send_signal(signal.SIGINT)
                break
        else:
            pytest.fail("pandas was never imported")
        rest = stderr.read()
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


def test_ctrl_c_while_wdh_failures_works_is_one_line(tmp_path):
    """``wdh-failures`` (read-only: nothing to resume) says it was interrupted, no traceback."""
    write_two_sessions(tmp_path / "logs", pd.DataFrame({"a": ["1", "2", "3"]}))
    status, said = _interrupt_while_importing(
        ["summary"], tmp_path, module="work_data_hub.cli.failures"
    )
    assert (status, said) == (130, ["wdh-failures: interrupted"])


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Many small files per domain: at any moment most wait for a worker."""
    generated = tmp_path_factory.mktemp("many") / "generated"
    generate(generated, rows=300, seed=3)
    sources = generated.parent / "sources"
    shutil.copytree(generated / "reference", sources / "reference")
    for folder in generated.iterdir():
        if folder.is_dir() and folder.name != "reference":
            (sources / folder.name).mkdir(parents=True)
            for file in folder.iterdir():
                for copy in range(8):
                    shutil.copy(file, sources / folder.name / f"c{copy}-{file.name}")
    return sources


@pytest.mark.parametrize("attempt", [1, 2])
def test_ctrl_c_on_a_cluster_logs_the_failures_of_every_file_it_loaded(
    many, tmp_path, db_url, attempt
):
    """Ctrl-C while a cluster's tasks finish and wait: each file loaded has its failures
    in the log, as the ledger counts them. (A Ctrl-C while the client waited for a
    task's result lost that file's failures in nearly every such run.)"""
    run = _start(many, tmp_path, db_url, "--scheduler", "local:2")
    _after_a_first_load(run, db_url)
    time.sleep(0.1 * attempt)  # (a moment later in each attempt)
    os.killpg(run.pid, signal.SIGINT)
    said = _interrupted_line(run)
    ledger = _ledger(db_url, said["session"])
    assert int(said["loaded"]) == len(_files(ledger)) > 0
    log = read_failures(tmp_path / "logs" / f"wdh_etl_failures_{said['session']}.csv")
    logged = log.groupby(["domain", "source_file"]).size().to_dict()
    assert {(d, f): n for d, f, _, _, n in ledger} == {
        (d, f): logged.get((d, f), 0) for d, f, *_ in ledger
    }
    assert set(logged) <= {(d, f) for d, f, *_ in ledger}  # nothing logged but what loaded


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")
@pytest.mark.parametrize("output", ["stdout closed", "stderr closed", "stderr's reader gone"])
def test_ctrl_c_mid_run_with_nowhere_to_say_it_ends_with_130(big, tmp_path, output):
    """``wdh-etl ... >&-`` (or ``2>&-``, or ``2>&1 | tee`` where the same Ctrl-C ended
    ``tee``) interrupted: still 130, and the one line where there is a stderr to say it."""
    sources, _ = big
    db_url = f"sqlite:///{tmp_path / 'w.db'}"
    command = [
        sys.executable, "-m", "work_data_hub.cli.etl", "--all-domains", "--source", str(sources),
        "--db", db_url, "--logs-dir", str(tmp_path / "logs"), "--plain",
    ]  # fmt: skip
    read_end, write_end = os.pipe()
    os.close(read_end)  # (a pipe nobody reads: writing to it fails with EPIPE)
    closed = {"stdout closed": 1, "stderr closed": 2}.get(output)
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL if closed == 1 else subprocess.PIPE,
        stderr={1: subprocess.PIPE, 2: subprocess.DEVNULL}.get(closed, write_end),  # type: ignore[arg-type]
        text=True,
        start_new_session=True,
        preexec_fn=None if closed is None else lambda: os.close(closed),
    )
    os.close(write_end)
    _after_a_first_load(run, db_url)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 130, f"exit {run.returncode}\n{out or ''}{err or ''}"
    if closed == 1:
        said = INTERRUPTED.match(err)
        assert said, err
        assert int(said["loaded"]) == len(_files(_ledger(db_url, said["session"]))) >= 1
    else:
        assert "Traceback" not in out


#: ``wdh-etl`` (argv after the logs folder) whose first Ctrl-C, once a failure log
#: exists, is raised inside the garbage collector, which swallows its KeyboardInterrupt
#: (as a Ctrl-C that lands in any finalizer is: "Exception ignored in ...").
_CTRL_C_IN_THE_COLLECTOR = textwrap.dedent(
    """
    import gc, runpy, signal, sys, time
    from pathlib import Path

    logs, sys.argv = Path(sys.argv[1]), ["wdh-etl", *sys.argv[2:]]
    sent, looked = [], [0.0]

    def ctrl_c_once_a_file_is_logged(phase, info):
        if phase != "start" or sent or time.monotonic() - looked[0] < 0.02:
            return
        looked[0] = time.monotonic()
        if any(logs.glob("wdh_etl_failures_*.csv")):
            sent.append(True)
            signal.raise_signal(signal.SIGINT)  # the handler runs here, in the collector

    gc.callbacks.append(ctrl_c_once_a_file_is_logged)
    runpy.run_module("work_data_hub.cli.etl", run_name="__main__")
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_ctrl_c_the_garbage_collector_swallowed_still_stops_the_run(big, tmp_path):
    """Python loses a KeyboardInterrupt raised inside a finalizer; the run does not:
    it stops after the file in progress, says so in one line, and exits 130."""
    sources, manifest = big
    db_url = f"sqlite:///{tmp_path / 'w.db'}"
    logs = tmp_path / "logs"
    run = subprocess.run(
        [
            sys.executable, "-c", _CTRL_C_IN_THE_COLLECTOR, str(logs), "--all-domains",
            "--source", str(sources), "--db", db_url, "--logs-dir", str(logs), "--plain",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 130, f"exit {run.returncode}\n{run.stderr}\n{run.stdout}"
    [line] = run.stderr.splitlines()
    said = INTERRUPTED.match(line)
    assert said, line
    loaded = _files(_ledger(db_url, said["session"]))
    assert (
        int(said["loaded"]) == len(loaded) < len({key.split("[")[0] for key in manifest["files"]})
    )
