"""``wdh-etl --scheduler``: the same rows loaded and logged as a serial run, exactly
once, whatever happens to a worker or to the client. Real clusters: a
``LocalCluster`` of two worker processes (the fixture), ``--scheduler local:2``
(the run's own), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import ROOT, SESSION, SQLITE_ONLY, table_names, wdh_etl
from tests.reliability.test_etl_crash import ROW_KEY, _tables
from work_data_hub.cli.etl import CLUSTER_TASKS
from work_data_hub.infrastructure.validation import read_failures
from work_data_hub.io.scheduler import open_cluster
from work_data_hub.samples.generate import generate
from work_data_hub.workflows.cluster import _stop_the_rest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.Client]:
    """Two single-threaded worker processes with nannies (restarted when killed), as
    ``--scheduler local:2`` starts them (forked from a server of their own, on Linux)."""
    with open_cluster("local:2", worker_imports=CLUSTER_TASKS) as client:
        yield client


def _options(sources: Path, db: str, logs: Path) -> list[str]:
    return ["--all-domains", "--source", str(sources), "--db", db, "--logs-dir", str(logs)]


def _serial(tmp_path: Path, sources: Path, make_db_url) -> tuple[str, Path]:
    """A serial run of ``sources``: its database and its log."""
    db, logs = make_db_url("serial"), tmp_path / "serial_logs"
    summary = tmp_path / "serial.json"
    run = wdh_etl(*_options(sources, db, logs), "--plain", "--summary-json", str(summary), cwd=ROOT)
    assert run.returncode == 0, run.stderr
    session = json.loads(summary.read_text())["session_id"]
    return db, logs / f"wdh_etl_failures_{session}.csv"


def _entries(log: Path, **options: bool) -> pd.DataFrame:
    return read_failures(log, **options)[ROW_KEY].sort_values(ROW_KEY, ignore_index=True)


def _same_as_serial(db: str, log: Path, serial_db: str, serial_log: Path) -> None:
    """The same rows in every table (none twice) and the same log entries (each once,
    every entry counted: not even a superseded copy)."""
    pd.testing.assert_frame_equal(_entries(log, every_entry=True), _entries(serial_log))
    mine = _tables(db)
    for name, table in _tables(serial_db).items():
        assert not mine[name].duplicated(["source_file", "row_index"]).any(), name
        pd.testing.assert_frame_equal(mine[name], table)


def _workers(client: distributed.Client) -> dict[str, int]:
    """Worker address -> pid, once both workers are up (a killed one restarts)."""
    client.wait_for_workers(2, timeout=60)
    return client.run(os.getpid)


def test_a_cluster_run_loads_and_logs_what_a_serial_run_does(
    tmp_path, db_url, make_db_url, cluster
):
    """SQLite on the run's own local cluster; PostgreSQL on a running scheduler."""
    manifest = generate(tmp_path / "samples", rows=60, seed=5)
    sources = tmp_path / "samples"
    serial_db, serial_log = _serial(tmp_path, sources, make_db_url)
    scheduler = "local:2" if db_url.startswith("sqlite") else cluster.scheduler.address
    logs, summary = tmp_path / "logs", tmp_path / "cluster.json"
    run = wdh_etl(
        *_options(sources, db_url, logs),
        "--scheduler",
        scheduler,
        "--plain",
        "--summary-json",
        str(summary),
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    report = json.loads(summary.read_text())
    _same_as_serial(
        db_url, logs / f"wdh_etl_failures_{report['session_id']}.csv", *(serial_db, serial_log)
    )
    files = {
        f"{domain}/{name}": entry
        for domain, result in report["domains"].items()
        for name, entry in result["files"].items()
    }
    for key, expected in manifest["files"].items():  # the same summary as a local run
        assert files[key]["read"] == expected["rows"], key
        assert files[key]["failed"] == expected["failed"], key


def _busy_worker(client: distributed.Client) -> str | None:
    """A worker running a task of the run (a file: read, steps, load), or None."""
    for worker, keys in client.processing().items():
        if any(str(key).startswith("wdh-file-") for key in keys):  # "wdh-file-RUN DOMAIN/FILE #N"
            return worker
    return None


@pytest.mark.slow
def test_a_worker_killed_mid_task_loses_and_doubles_nothing(tmp_path, db_url, make_db_url, cluster):
    """SIGKILL a worker while it holds a task: Dask runs the task again elsewhere; the
    run completes with every row loaded xor logged once, as a serial run."""
    for rows in (400, 1600, 6400):  # larger files until a kill lands mid-task
        sources = tmp_path / f"samples_{rows}"
        generate(sources, rows=rows, seed=11)
        db, logs = make_db_url(f"cluster_{rows}"), tmp_path / f"logs_{rows}"
        pids = _workers(cluster)
        run = subprocess.Popen(
            [
                *(sys.executable, "-m", "work_data_hub.cli.etl", *_options(sources, db, logs)),
                *("--scheduler", cluster.scheduler.address, "--plain", "--session-id", SESSION),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        killed = None
        while run.poll() is None and killed is None:
            worker = _busy_worker(cluster)
            if worker is not None and worker in pids:
                os.kill(pids[worker], signal.SIGKILL)
                killed = worker
            time.sleep(0.005)
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        if killed is not None:
            break
    assert killed is not None, "no worker was ever killed mid-task: the test proved nothing"
    serial_db, serial_log = _serial(tmp_path, sources, make_db_url)
    _same_as_serial(db, logs / f"wdh_etl_failures_{SESSION}.csv", serial_db, serial_log)


def _files_logged(log: Path) -> int:
    if not log.exists():
        return 0
    return int(
        read_failures(log, every_entry=True)[["domain", "source_file"]].drop_duplicates().shape[0]
    )


@pytest.mark.slow
def test_the_client_killed_at_any_moment_then_resumed_loads_and_logs_each_row_once(
    tmp_path, db_url, make_db_url, cluster
):
    """SIGKILL ``wdh-etl`` itself after its first, second, ... file is logged (its tasks
    may still run and commit on the cluster), resume the session each time: in the
    end the database and the log are a serial run's, each row once."""
    sources = tmp_path / "samples"
    generate(sources, rows=400, seed=13)
    logs = tmp_path / "logs"
    log = logs / f"wdh_etl_failures_{SESSION}.csv"
    command = [sys.executable, "-m", "work_data_hub.cli.etl", *_options(sources, db_url, logs)]
    command += ["--scheduler", cluster.scheduler.address, "--plain", "--session-id", SESSION]
    killed = 0
    for moment in (1, 3, 5):
        run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while run.poll() is None and _files_logged(log) < moment:
            time.sleep(0.01)
        if run.poll() is None:
            run.kill()
            killed += 1
        run.wait()
    assert killed, "the client was never killed: the test proved nothing"
    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    serial_db, serial_log = _serial(tmp_path, sources, make_db_url)
    _same_as_serial(db_url, log, serial_db, serial_log)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--scheduler", "tcp://10.0.0.5:8786"], "cannot share an SQLite file"),
        (["--scheduler", "tcp://10.0.0.5:8786", "--db", "sqlite:///x.db"], "SQLite"),
        (["--scheduler", "cluster-7"], "give a scheduler address (tcp://HOST:8786) or local:N"),
        (["--scheduler", "local:0"], "give a scheduler address"),
        (["--scheduler", "local:2", "--jobs", "2"], "--jobs and --scheduler: give one"),
    ],
)
def test_a_scheduler_that_cannot_work_is_refused_before_any_work(tmp_path, arguments, says):
    run = wdh_etl("--all-domains", *arguments, cwd=tmp_path)
    assert run.returncode == 2
    assert says in run.stderr
    assert "Traceback" not in run.stderr
    assert list(tmp_path.iterdir()) == []  # no database, no logs folder


def test_without_dask_the_scheduler_option_names_the_extra(tmp_path):
    hidden = "import sys; sys.modules['distributed'] = None\n"
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            hidden + "from work_data_hub.cli.etl import main\n"
            "sys.exit(main(['--all-domains', '--scheduler', 'local:2']))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == 'wdh-etl: --scheduler needs Dask: pip install -e ".[dask]"'


def test_a_scheduler_that_does_not_answer_is_every_domain_s_error(tmp_path):
    generate(tmp_path / "samples", rows=10, seed=1)
    run = wdh_etl(
        "--all-domains",
        "--source",
        str(tmp_path / "samples"),
        "--plain",
        "--scheduler",
        "tcp://127.0.0.1:9",
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert "Dask cluster tcp://127.0.0.1:9:" in run.stderr
    assert "Traceback" not in run.stderr
    assert not table_names(f"sqlite:///{tmp_path / 'data' / 'wdh.db'}") & {
        "annuity_performance",
        "annuity_income",
        "annual_award",
    }


def test_a_dask_that_is_installed_but_broken_is_every_domain_s_error(tmp_path):
    """Found (``find_spec``) but failing to import: one line per domain and the
    summary, as for a scheduler that does not answer; never a traceback."""
    shadow = tmp_path / "shadow" / "distributed"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("a broken install")\n')
    generate(tmp_path / "samples", rows=10, seed=1)
    summary = tmp_path / "summary.json"
    run = wdh_etl(
        "--all-domains", "--source", str(tmp_path / "samples"), "--plain",
        "--scheduler", "local:2", "--summary-json", str(summary),
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "shadow")},
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.count("Dask cluster local:2: ImportError: a broken install") == 3
    assert "Traceback" not in run.stderr
    domains = json.loads(summary.read_text())["domains"]
    assert {d["error"] for d in domains.values()} == {
        "Dask cluster local:2: ImportError: a broken install"
    }


@SQLITE_ONLY
def test_a_resume_on_the_same_cluster_runs_with_the_reference_data_as_it_is_now(
    tmp_path, db_url, cluster
):
    """Workers keep a run's reference data, never a session's: after the mapping is
    fixed, a resume whose file changed would load rows the session logged as failed,
    and is refused (as a local resume is), not run with the mapping of before."""
    sources = tmp_path / "samples"
    generate(sources, rows=30, seed=21)
    command = [
        *_options(sources, db_url, tmp_path / "logs"),
        *("--scheduler", cluster.scheduler.address, "--plain", "--session-id", SESSION),
    ]
    command[0:1] = ["--domain", "annuity_performance"]
    first = wdh_etl(*command, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    log = read_failures(tmp_path / "logs" / f"wdh_etl_failures_{SESSION}.csv")
    unmapped = log[
        (log["error_type"] == "ENRICHMENT_FAILED") & (log["source_file"] == "2024-02.csv")
    ]
    customer = json.loads(unmapped["raw_data"].iloc[0])["客户名称"]
    with (sources / "reference" / "company_mapping.csv").open("a", encoding="utf-8") as mapping:
        mapping.write(f"{customer},C9999\n")  # the fix
    csv = sources / "annuity_performance" / "2024-02.csv"
    csv.write_bytes(csv.read_bytes() + csv.read_bytes().splitlines(keepends=True)[-1])
    resumed = wdh_etl(*command, cwd=ROOT)
    assert resumed.returncode == 1
    assert "2024-02.csv: this session logged rows" in resumed.stderr
    assert "run the file in a new session" in resumed.stderr


@SQLITE_ONLY
def test_a_load_whose_failures_the_log_lacks_runs_again_on_resume(
    tmp_path, db_url, make_db_url, cluster
):
    """A worker loads a file, then the client dies before it appends the file's
    failures: the ledger counts failures the log does not hold. Made here by removing
    the log after a run: the resume runs every file again (none is "resumed"), and
    the database and log are a serial run's, each row once."""
    sources = tmp_path / "samples"
    generate(sources, rows=40, seed=17)
    logs = tmp_path / "logs"
    command = [
        *_options(sources, db_url, logs),
        *("--scheduler", cluster.scheduler.address, "--plain", "--session-id", SESSION),
    ]
    assert wdh_etl(*command, cwd=ROOT).returncode == 0
    log = logs / f"wdh_etl_failures_{SESSION}.csv"
    log.unlink()
    resumed = wdh_etl(*command, "--summary-json", str(tmp_path / "s.json"), cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr
    statuses = {
        file["status"]
        for domain in json.loads((tmp_path / "s.json").read_text())["domains"].values()
        for file in domain["files"].values()
    }
    assert statuses == {"loaded"}
    _same_as_serial(db_url, log, *_serial(tmp_path, sources, make_db_url))


def _mark_and_wait(marker: str, seconds: float) -> str:
    """A task that leaves ``marker`` the moment it starts."""
    Path(marker).touch()
    time.sleep(seconds)
    return marker


def test_after_a_ctrl_c_no_task_starts_that_the_client_does_not_wait_for(tmp_path, cluster):
    """The stop after a Ctrl-C is one step in the scheduler: every task it does not
    return (for the client to wait for and log) is cancelled before it starts. A look,
    then a cancel, let a queued task start in between and load its file unlogged."""
    markers = [str(tmp_path / f"task{i}") for i in range(12)]
    keys = [f"wdh-file-stop{os.getpid()} {i}" for i in range(12)]
    futures = cluster.map(_mark_and_wait, markers, [0.3] * 12, key=keys)
    while not any(Path(marker).exists() for marker in markers):
        time.sleep(0.01)

    def look_then_cancel(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stop looked at the tasks and cancelled in two steps")

    processing, cluster.processing = cluster.processing, look_then_cancel
    try:
        started = _stop_the_rest(cluster, futures)
    finally:
        cluster.processing = processing
    assert 1 <= len(started) < len(futures)
    assert sorted(cluster.gather(started)) == sorted(markers[keys.index(f.key)] for f in started)
    deadline = time.monotonic() + 120  # (the cluster settles: nothing of ours left running)
    while any(key in keys for ks in cluster.processing().values() for key in ks):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ran = {marker for marker in markers if Path(marker).exists()}
    assert ran == {markers[keys.index(future.key)] for future in started}
    assert all(future.status == "cancelled" for future in futures if future not in started)
