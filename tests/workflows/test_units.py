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


def test_a_cluster_starts_the_two_largest_files_first(tmp_path):
    """Two workers: the files of all the domains start largest first, give or take
    a place or two; Dask does not keep the order tasks were submitted in: priorities
    do it."""
    distributed = pytest.importorskip("distributed")
    from work_data_hub.io.scheduler import open_cluster
    from work_data_hub.workflows.cluster import run_on_cluster

    sources = tmp_path / "sources"
    generate(sources, rows=300, seed=3)
    domains = sorted(p.name for p in sources.iterdir() if p.is_dir() and p.name != "reference")
    db = f"sqlite:///{tmp_path / 'wdh.db'}"
    assert load_reference(db, sources / "reference", domains) == {}
    files = [p for d in domains for p in sorted((sources / d).iterdir())]
    by_size = [f"{p.parent.name}/{p.name}" for p in sorted(files, key=lambda p: -parse_size(p))]
    with open_cluster("local:2") as client:
        client.wait_for_workers(2, timeout=60)
        with distributed.get_task_stream(client) as stream:
            run_on_cluster(
                client, domains, session_id=SESSION, source_dir=sources, db_url=db,
                logs_dir=tmp_path / "logs",
            )  # fmt: skip
    started = sorted(stream.data, key=lambda task: task["startstops"][0]["start"])
    order = [task["key"].rsplit(" ", 1)[0] for task in started]  # "domain/file"
    assert sorted(order) == sorted(by_size)
    # a worker may start the task queued on it before one the scheduler holds: a place
    # or two; started in the order submitted, the smallest files came third and fourth
    displaced = {name: order.index(name) - n for n, name in enumerate(by_size)}
    assert max(map(abs, displaced.values())) <= 2, displaced
