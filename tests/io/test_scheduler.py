"""Scheduler addresses, who may share an SQLite file, and the dashboard's link."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from work_data_hub.io.scheduler import (
    dashboard_link,
    open_cluster,
    parse_scheduler,
    workers_can_share,
)

HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,10}){0,3}", fullmatch=True),
)


@given(scheme=st.sampled_from(["tcp", "tls", "ws", "wss"]), host=HOSTS, port=st.integers(1, 65535))
def test_a_scheduler_address_is_kept_as_given(scheme, host, port):
    address = f"{scheme}://{host}:{port}"
    assert parse_scheduler(address) == (address, 0)


@given(st.integers(1, 512))
def test_local_n_is_a_cluster_of_n_workers(n):
    assert parse_scheduler(f"local:{n}") == (None, n)


@given(st.text(max_size=40))
def test_anything_else_is_refused_in_one_line(text):
    if text.startswith(("tcp://", "tls://", "ws://", "wss://", "ucx://", "local:")):
        return  # those are the forms above
    with pytest.raises(ValueError, match="give a scheduler address") as refused:
        parse_scheduler(text)
    assert "\n" not in str(refused.value)  # the text as its repr: one line whatever it holds


@pytest.mark.parametrize(
    "text", ["local:0", "local:-1", "local:", "local:two", "tcp://", "tcp://a b:1"]
)
def test_near_misses_are_refused(text):
    with pytest.raises(ValueError, match="give a scheduler address"):
        parse_scheduler(text)


@pytest.mark.parametrize(
    ("scheduler", "db_url", "shared"),
    [
        ("local:2", "sqlite:///data/wdh.db", True),
        ("tcp://127.0.0.1:8786", "sqlite:///data/wdh.db", True),
        ("tcp://localhost:8786", "sqlite:////abs/wdh.db", True),
        ("tcp://[::1]:8786", "sqlite:///data/wdh.db", True),
        ("tcp://10.0.0.5:8786", "sqlite:///data/wdh.db", False),
        ("tcp://scheduler.internal:8786", "sqlite+pysqlite:///data/wdh.db", False),
        ("tcp://10.0.0.5:8786", "postgresql+psycopg://wdh@db/wdh", True),
    ],
)
def test_an_sqlite_file_is_shared_by_one_hosts_workers_only(scheduler, db_url, shared):
    assert workers_can_share(scheduler, db_url) is shared


@pytest.fixture
def page() -> Iterator[tuple[str, list[bytes]]]:
    """A real HTTP server on a free port; the test sets the page it serves."""
    body = [b""]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body[0])

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/status", body
    finally:
        server.shutdown()
        server.server_close()


def test_the_dashboard_link_is_given_when_the_dashboard_answers(page):
    link, body = page
    body[0] = b"<html><title>Dask: Status</title></html>"
    assert dashboard_link(SimpleNamespace(dashboard_link=link)) == link


def test_a_dashboard_without_bokeh_is_no_dashboard(page):
    link, body = page
    body[0] = b"<p>Dask needs bokeh>=3.1.0 for the dashboard.</p>"
    assert dashboard_link(SimpleNamespace(dashboard_link=link)) is None


def test_a_dashboard_nobody_serves_is_no_dashboard():
    assert dashboard_link(SimpleNamespace(dashboard_link="http://127.0.0.1:9/status")) is None


_WORKERS_START = r"""
import gc, json, sys
from work_data_hub.io.scheduler import open_cluster

def imported(module):
    return module in sys.modules

if __name__ == "__main__":
    tasks = "work_data_hub.workflows.cluster"
    print("written once", end="", flush=False)
    seen = {}
    with open_cluster("local:2", worker_imports=[tasks]) as client:
        client.wait_for_workers(2, timeout=60)
        seen["found"] = list(client.run(imported, tasks).values())
        seen["frozen"] = list(client.run(gc.get_freeze_count).values())
        client.restart()  # workers that start again start with the imports too
        client.wait_for_workers(2, timeout=60)
        seen["again"] = list(client.run(imported, tasks).values())
        seen["frozen_again"] = list(client.run(gc.get_freeze_count).values())
    seen["run_frozen"] = gc.get_freeze_count()
    with open(sys.argv[1], "w") as out:
        json.dump(seen, out)
"""


def _run_script(script: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` as a program of its own (its own fork server), in its own process group,
    killed whole if it hangs."""
    path = tmp_path / "script.py"
    path.write_text(script)
    run = subprocess.Popen(
        [sys.executable, str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = run.communicate(timeout=300)  # a hang: its start takes seconds
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        out, err = run.communicate()
        pytest.fail(f"hung: still running after 300 s\n{err}")
    return subprocess.CompletedProcess(run.args, run.returncode, out, err)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers on Linux only")
def test_a_local_cluster_s_workers_start_with_the_run_s_imports(tmp_path):
    """Forked from one server that imported the run's tasks: no import of pandas,
    pyarrow and the domains per worker, and what a worker holds once started is
    frozen out of the cycle collector's walks; output the run had not written yet
    is not written again by a worker."""
    pytest.importorskip("distributed")
    seen_at = tmp_path / "seen.json"
    run = _run_script(_WORKERS_START, tmp_path, str(seen_at))
    assert run.returncode == 0, run.stderr
    seen = json.loads(seen_at.read_text())
    assert seen["found"] == [True, True]
    assert seen["again"] == [True, True]
    assert min(seen["frozen"]) > 10_000, seen
    assert min(seen["frozen_again"]) > 10_000, seen
    assert seen["run_frozen"] == 0  # (the run's own process: not open_cluster's to freeze)
    assert run.stdout == "written once"


_IMPORT_HELD = r"""
import os, sys, threading, time

def imports_held():
    import held  # noqa: F401
    return os.getpid()

if __name__ == "__main__":
    from work_data_hub.io.scheduler import open_cluster

    sys.path.insert(0, sys.argv[1])
    with open(os.path.join(sys.argv[1], "held.py"), "w") as module:
        module.write(f"import time\nif __import__('os').getpid() == {os.getpid()}:\n")
        module.write("    time.sleep(3600)\n")  # in the run: an import that never ends
    threading.Thread(target=lambda: __import__("held"), daemon=True).start()
    time.sleep(0.2)  # the thread holds the module's import lock now
    with open_cluster("local:2") as client:
        client.wait_for_workers(2, timeout=60)
        print(sorted(client.run(imports_held).values()))
"""


def test_a_thread_of_the_run_in_the_middle_of_an_import_does_not_hang_the_workers(tmp_path):
    """A worker forked from the run itself inherits a lock one of the run's threads
    held (here a module's import lock: CPython does not reset it in the child), and
    hangs for good when it takes it: the cluster never starts (this hung a CI run).
    The workers are forked from a server of their own."""
    pytest.importorskip("distributed")
    run = _run_script(_IMPORT_HELD, tmp_path, str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)) == 2, run.stdout  # the two workers' pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers on Linux only")
def test_a_worker_restarted_while_the_run_appends_to_the_log_leaves_the_lock_to_it(tmp_path):
    """A worker killed while the run holds the log's lock: its nanny forks a new one
    from the run's process, which must not keep the lock once the run lets go."""
    pytest.importorskip("distributed")
    from work_data_hub.infrastructure.validation._file_lock import lock_path_for, locked

    log = tmp_path / "wdh_etl_failures_x.csv"
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"  # raises if the lock is held
    )
    with open_cluster("local:1") as client:
        client.wait_for_workers(1, timeout=60)
        [killed] = client.run(os.getpid).values()
        with locked(log):
            os.kill(killed, signal.SIGKILL)
            deadline = time.monotonic() + 120
            while True:  # the new worker, forked while the lock is held here
                with contextlib.suppress(Exception):
                    pids = list(client.run(os.getpid).values())
                    if pids and pids[0] != killed:
                        break
                assert time.monotonic() < deadline, "no worker came back"
                time.sleep(0.1)
        check = subprocess.run(
            [sys.executable, "-c", probe, str(lock_path_for(log))], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr


def _settings() -> tuple[object, ...]:
    import dask

    keys = ["admin.tick.interval", "admin.system-monitor.interval", "worker.profile.enabled"]
    return tuple(dask.config.get(f"distributed.{key}") for key in keys)


def test_a_local_cluster_s_workers_keep_dask_s_housekeeping_rare():
    """Event-loop checks every 1 s and system samples every 2 s in the workers (each
    takes the GIL from a task), restarted workers too; no profiler without a
    dashboard to show it."""
    pytest.importorskip("distributed")
    profiled = importlib.util.find_spec("bokeh") is not None
    with open_cluster("local:2") as client:
        client.wait_for_workers(2, timeout=60)
        settings = client.run(_settings)
        client.restart()
        client.wait_for_workers(2, timeout=60)
        settings_again = client.run(_settings)
    expected = ("1s", "2s", profiled)
    assert list(settings.values()) == [expected, expected]
    assert list(settings_again.values()) == [expected, expected]
    assert _settings() != expected  # this process: the cluster's settings left with it


def test_the_worker_server_s_first_module_changes_nothing_where_else_it_is_imported():
    """It sets the fork server's state (Ctrl-C ignored, imports frozen before each fork)
    only there: imported by anything else (a doctest run collecting every module)
    it must leave Ctrl-C alone."""
    check = (
        "import signal\n"
        "import work_data_hub.io._worker_server\n"
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
    )
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_starting_the_worker_server_leaves_the_run_s_environment_as_it_was():
    from work_data_hub.cli.etl import CLUSTER_TASKS
    from work_data_hub.io._worker_server import WORKER_SERVER
    from work_data_hub.io.scheduler import start_worker_server

    start_worker_server(CLUSTER_TASKS)  # (this process's server: as the cluster tests')
    assert WORKER_SERVER not in os.environ
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
