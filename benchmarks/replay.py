"""Scenario 6: explaining and replaying a bad month, against a clean run of it.

A run of every domain with an empty company mapping logs every row that passes
validation (about 200,000). The mapping is then fixed; ``explain_failures``
and ``replay_failures`` run over the whole log; a second replay must load
nothing. The clean run (same sources, fixed mapping, fresh database) is the
yardstick: replay does the same pipeline work from ``raw_data`` instead of
the files, plus the lineage checks.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from work_data_hub.domain.reference import COMPANIES
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.infrastructure.validation import FailureExporter, read_failures
from work_data_hub.io.database import Database
from work_data_hub.io.sources import read_reference
from work_data_hub.workflows import (
    Workspace,
    explain_failures,
    reference_tables,
    replay_failures,
    run_domain,
)

BAD = "etl_20240301_090000_0b0b0b"
CLEAN = "etl_20240301_100000_0c0c0c"
REPLAY = "etl_20240301_110000_0d0d0d"
AGAIN = "etl_20240301_120000_0e0e0e"


def _run(samples: Path, db_url: str, logs: Path, session_id: str) -> float:
    start = time.perf_counter()
    for domain in DOMAINS:
        run_domain(domain, session_id=session_id, source_dir=samples, db_url=db_url, logs_dir=logs)
    return time.perf_counter() - start


def scenario_replay(samples: Path) -> dict[str, float]:
    """Seconds of: the clean run, the bad run, explain, replay, a second replay; and counts."""
    reference = read_reference(samples / "reference", reference_tables())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        clean_url, bad_url = f"sqlite:///{root}/clean.db", f"sqlite:///{root}/bad.db"
        Database(clean_url).upsert_reference(reference)
        clean = _run(samples, clean_url, root / "logs", CLEAN)
        database = Database(bad_url)
        database.upsert_reference({**reference, COMPANIES: reference[COMPANIES].iloc[:0]})
        bad = _run(samples, bad_url, root / "logs", BAD)
        log = read_failures(FailureExporter(BAD, root / "logs").output_file)
        database.upsert_reference(reference)
        workspace = Workspace.open(bad_url)
        start = time.perf_counter()
        explained = explain_failures(log, workspace)
        explain = time.perf_counter() - start
        start = time.perf_counter()
        first = replay_failures(log, workspace, session_id=REPLAY, logs_dir=root / "logs")
        replay = time.perf_counter() - start
        start = time.perf_counter()
        second = replay_failures(log, workspace, session_id=AGAIN, logs_dir=root / "logs")
        again = time.perf_counter() - start
        loaded_clean = _loaded(Database(clean_url), samples)
        loaded_replayed = _loaded(database, samples)
        if second.fixed or loaded_clean != loaded_replayed:
            raise AssertionError(
                f"replay is wrong: second replay fixed {second.fixed}; clean run loaded "
                f"{loaded_clean} rows, bad run plus replay {loaded_replayed}"
            )
    return {
        "clean": clean,
        "bad": bad,
        "explain": explain,
        "replay": replay,
        "again": again,
        "logged": float(len(log)),
        "passes_now": float((explained["verdict"] == "passes now").sum()),
        "fixed": float(first.fixed),
    }


def _loaded(database: Database, samples: Path) -> int:
    """Rows loaded from the samples' files, every domain."""
    total = 0
    for name, spec in DOMAINS.items():
        database.add_domain(spec.table)
        total += len(database.rows(name))
    return total
