"""Work units are handed out largest first, by worker processes and by a Dask cluster:
with one worker, the files finish in that order, whatever their listing order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SESSION
from work_data_hub.io.sources import parse_size
from work_data_hub.samples.generate import generate
from work_data_hub.workflows import load_reference
from work_data_hub.workflows.pool import run_in_processes

DOMAIN = "annuity_performance"


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    generate(folder, rows=300, seed=3)
    return folder


def _largest_first(sources: Path) -> list[str]:
    """The domain's files by the bytes their reads parse, largest first."""
    listed = sorted((sources / DOMAIN).iterdir())
    by_size = sorted(listed, key=lambda path: -parse_size(path))  # (stable: ties as listed)
    assert [p.name for p in by_size] != [p.name for p in listed]  # else this proves nothing
    return [p.name for p in by_size]


def _finished(run, sources: Path, tmp_path: Path) -> list[str]:
    db = f"sqlite:///{tmp_path / 'wdh.db'}"
    assert load_reference(db, sources / "reference", [DOMAIN]) == {}
    seen: list[str] = []
    run(
        [DOMAIN],
        session_id=SESSION,
        source_dir=sources,
        db_url=db,
        logs_dir=tmp_path / "logs",
        on_file=lambda _, file: seen.append(file.source_file),
    )
    return seen


def test_one_worker_process_runs_the_largest_file_first(sources, tmp_path):
    def run(domains, **options):
        return run_in_processes(domains, workers=1, **options)

    assert _finished(run, sources, tmp_path) == _largest_first(sources)


NAME = "wdh-test-most-on-one-worker"


class _MostOnOneWorker:
    """Scheduler plugin: the most tasks one worker held (running or queued on it) at once."""

    name = NAME

    def __init__(self) -> None:
        self.most = 0

    async def start(self, scheduler) -> None:
        self.scheduler = scheduler

    def transition(self, key, start, finish, *args, **kwargs) -> None:
        if finish == "processing":
            worker = self.scheduler.tasks[key].processing_on
            self.most = max(self.most, len(worker.processing))


def test_a_cluster_starts_files_largest_first_each_as_a_worker_frees_up(tmp_path):
    """Two workers, the files of every domain: each worker holds one task at a time (none
    waits on a busy worker while the other idles, as tasks assigned at submission did:
    the last file queued behind a long one), and they start largest first."""
    distributed = pytest.importorskip("distributed")
    from distributed.diagnostics.plugin import SchedulerPlugin

    from work_data_hub.cli.etl import CLUSTER_TASKS
    from work_data_hub.io.scheduler import open_cluster
    from work_data_hub.workflows.cluster import run_on_cluster

    sources = tmp_path / "sources"
    generate(sources, rows=300, seed=3)
    domains = sorted(p.name for p in sources.iterdir() if p.is_dir() and p.name != "reference")
    db = f"sqlite:///{tmp_path / 'wdh.db'}"
    assert load_reference(db, sources / "reference", domains) == {}
    files = [p for d in domains for p in sorted((sources / d).iterdir())]
    by_size = [f"{p.parent.name}/{p.name}" for p in sorted(files, key=lambda p: -parse_size(p))]
    with open_cluster("local:2", worker_imports=CLUSTER_TASKS) as client:
        client.wait_for_workers(2, timeout=60)
        plugin = type("MostOnOneWorker", (_MostOnOneWorker, SchedulerPlugin), {})()
        client.register_plugin(plugin)
        with distributed.get_task_stream(client) as stream:
            run_on_cluster(
                client, domains, session_id=SESSION, source_dir=sources, db_url=db,
                logs_dir=tmp_path / "logs",
            )  # fmt: skip
        most = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.plugins[NAME].most)
    assert most == 1
    started = sorted(stream.data, key=lambda task: task["startstops"][0]["start"])
    order = [task["key"].split(" ")[1] for task in started]  # "wdh-file-TAG domain/file #N"
    assert sorted(order) == sorted(by_size)
    # the files that start at one moment (the first two) may start in either order
    displaced = {name: order.index(name) - n for n, name in enumerate(by_size)}
    assert max(map(abs, displaced.values())) <= 1, displaced
