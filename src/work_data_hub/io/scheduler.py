"""Where a run's tasks go: a Dask scheduler's address, or a local cluster for the run.

Dask is imported only when a cluster is opened (the ``dask`` extra); the
checks run before any work and import nothing heavy.

>>> parse_scheduler("local:2")
(None, 2)
>>> parse_scheduler("tcp://10.0.0.5:8786")
('tcp://10.0.0.5:8786', 0)
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.util import find_spec
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

__all__ = [
    "dashboard_link",
    "open_cluster",
    "parse_scheduler",
    "start_worker_server",
    "workers_can_share",
]

_LOCAL = re.compile(r"local:(\d+)")
_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://(\[[0-9A-Fa-f:]+\]|[^\s/:\[\]]+)(:\d+)?/?")
_LOOPBACK: Final = ("127.0.0.1", "localhost", "::1")
_FORK_SERVER: Final = sys.platform == "linux"
#: What every local worker starts with, besides the run's tasks: Ctrl-C left to
#: the run, and Dask's worker process.
_WORKER_START: Final = ("work_data_hub.io._worker_server", "distributed.nanny")
#: A local cluster's settings (on Linux): workers forked from a fork server that
#: imported pandas, pyarrow and the run's tasks once (``start_worker_server``; a
#: spawned worker imports them again: about 1 s and 4 s of CPU of a two-worker
#: run here; a worker forked from the run's own process, which has threads, can
#: inherit a lock one of them held and hang for good), and the scheduler sending
#: a worker a queued task only when a thread of it is free
#: (Dask's 1.1 sent a second one to wait on a busy worker). Dask's housekeeping
#: comes less often: the event loops' health check (a warning the run silences)
#: every 1 s, not 20 ms, in each of the run's and the workers' servers; the
#: system monitor every 2 s, not 0.5; a worker's memory every 0.5 s, not 0.1.
#: Each wake-up takes the GIL from a task; together, on a whole run of 9 files
#: on 2 workers (``farm-bench``, 8 pairs): 2.6% of its CPU, 1.9% of its time.
_LOCAL_CONFIG: Final = {
    "distributed.worker.multiprocessing-method": "forkserver" if _FORK_SERVER else "spawn",
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "500ms",
}
#: The workers' profiler, which samples a running task (taking the GIL from it),
#: serves the dashboard's profile pages only: off where no dashboard is served
#: (no bokeh here; on the run above: 2.0% of its CPU, 0.9% of its time), else
#: every 100 ms instead of 10 ms.
_PROFILER: Final[dict[bool, dict[str, object]]] = {
    False: {"distributed.worker.profile.enabled": False},
    True: {"distributed.worker.profile.interval": "100ms"},
}


def parse_scheduler(scheduler: str) -> tuple[str | None, int]:
    """``(address, 0)`` of a running scheduler, or ``(None, N)`` for a local cluster of
    N worker processes started for the run.

    Raises:
        ValueError: neither ``local:N`` (N >= 1) nor a scheduler address.
    """
    local = _LOCAL.fullmatch(scheduler)
    if local and int(local.group(1)) >= 1:
        return None, int(local.group(1))
    if _ADDRESS.fullmatch(scheduler):
        return scheduler.rstrip("/"), 0
    raise ValueError(
        f"--scheduler {scheduler!r}: give a scheduler address (tcp://HOST:8786) "
        "or local:N (N worker processes on this machine)"
    )


def workers_can_share(scheduler: str, db_url: str) -> bool:
    """Whether the workers of ``scheduler`` can all reach the database ``db_url``: a
    server database, or an SQLite file with workers on this host only (a local
    cluster, or a scheduler on a loopback address).

    >>> workers_can_share("tcp://10.0.0.5:8786", "sqlite:///data/wdh.db")
    False
    >>> workers_can_share("local:2", "sqlite:///data/wdh.db")
    True
    """
    address, _ = parse_scheduler(scheduler)
    if address is None or make_url(db_url).get_backend_name() != "sqlite":
        return True
    return urlsplit(address).hostname in _LOOPBACK


def start_worker_server(worker_imports: Sequence[str] = ()) -> None:
    """Start, once per process, the server that a local cluster's workers are
    forked from (on Linux; elsewhere they are spawned), importing Dask's worker
    and the modules ``worker_imports`` (what the run's tasks run) in it.

    It is a new, single-threaded process, started in a few milliseconds and
    importing while the run goes on: call it as soon as a local cluster is
    certain, so that its imports overlap the run's own. A worker forked from it
    holds no lock of the run's threads (a fork of the run itself could: CPython
    does not reset a module's import lock in the child, and a worker that
    imports a module another thread was importing then waits forever). The
    modules of a server already running stay what they were.

    >>> start_worker_server(["json"])  # returns at once; a second call changes nothing
    """
    if not _FORK_SERVER:
        return
    from multiprocessing import forkserver

    from work_data_hub.io._worker_server import WORKER_SERVER

    forkserver.set_forkserver_preload([*_WORKER_START, *worker_imports])
    os.environ[WORKER_SERVER] = "1"  # (for the server's first module: see there)
    try:
        forkserver.ensure_running()
    finally:
        del os.environ[WORKER_SERVER]


@contextmanager
def open_cluster(scheduler: str, *, worker_imports: Sequence[str] = ()) -> Iterator[Any]:
    """A Dask client of ``scheduler``: a running scheduler's address, or ``local:N``
    (a cluster of N single-threaded worker processes, stopped on leaving).

    A local cluster's workers are forked from one server that imported
    ``worker_imports`` (``start_worker_server``), so they start with them
    instead of importing everything again; they freeze what they hold once
    started out of the cycle collector's walks (they live for the run), and
    leave Ctrl-C to the run."""
    import dask
    from distributed import Client, LocalCluster

    address, workers = parse_scheduler(scheduler)
    if address is not None:
        with Client(address, timeout="10s") as client:
            yield client
        return
    start_worker_server(worker_imports)
    profiler = _PROFILER[find_spec("bokeh") is not None]
    with (
        dask.config.set({**_LOCAL_CONFIG, **profiler}),  # the cluster's life: restarts too
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: never 8787 taken by another
            silence_logs=50,  # the run's own output says what happened
        ) as cluster,
        Client(cluster) as client,
    ):
        from work_data_hub.io._local_workers import FreezeStartup, IgnoreCtrlC

        client.register_plugin(IgnoreCtrlC(), name="wdh-ignore-ctrl-c")
        client.register_plugin(FreezeStartup(), name="wdh-freeze-startup")
        yield client


def dashboard_link(client: Any) -> str | None:
    """The cluster's dashboard, when it is there: a scheduler lists one it cannot
    serve (no bokeh where it runs: its page says so)."""
    from urllib.error import URLError
    from urllib.request import urlopen

    link = str(client.dashboard_link)
    try:
        with urlopen(link, timeout=2) as page:
            start = page.read(4096)
    except (URLError, OSError, ValueError):
        return None
    return None if b"needs bokeh" in start else link
