"""Scenario 5: the share of a wdh-etl run spent on failure logging.

Runs every domain in this process over generated sources (about 200,000
rows), timing the failure-log calls inside the pipeline (``to_failed_frame``
and ``FailureExporter.export``) against the whole run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from work_data_hub.domain import pipeline
from work_data_hub.domain.reference import COMPANIES
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.io.database import Database
from work_data_hub.io.sources import read_reference
from work_data_hub.samples.generate import generate
from work_data_hub.workflows import reference_tables, run_domain
from work_data_hub.workflows import run as service

SESSION = "etl_20240301_090000_0a1b2c"


@contextmanager
def _timing(spent: list[float]) -> Iterator[None]:
    """Add the time of every failure-log call made by the pipelines to ``spent``."""

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - start)

        return wrapper

    to_failed_frame, export = pipeline.to_failed_frame, service.FailureExporter.export
    pipeline.to_failed_frame = timed(to_failed_frame)
    service.FailureExporter.export = timed(export)  # type: ignore[method-assign]
    try:
        yield
    finally:
        pipeline.to_failed_frame = to_failed_frame
        service.FailureExporter.export = export  # type: ignore[method-assign]


def run_once(samples: Path, *, all_fail: bool) -> tuple[float, float, int]:
    """One run of every domain: (total seconds, failure-logging seconds, rows logged).

    ``all_fail`` runs a bad month: the company mapping is empty, so every row
    that passes validation fails enrichment and is logged.
    """
    reference = read_reference(samples / "reference", reference_tables())
    if all_fail:
        reference[COMPANIES] = reference[COMPANIES].iloc[:0]
    with tempfile.TemporaryDirectory() as folder:
        db_url = f"sqlite:///{folder}/wdh.db"
        Database(db_url).upsert_reference(reference)
        spent: list[float] = []
        logged = 0
        start = time.perf_counter()
        with _timing(spent):
            for domain in DOMAINS:
                result = run_domain(
                    domain,
                    session_id=SESSION,
                    source_dir=samples,
                    db_url=db_url,
                    logs_dir=Path(folder) / "logs",
                )
                logged += sum(f.logged for f in result.files)
        return time.perf_counter() - start, sum(spent), logged


def make_samples(folder: Path, rows: int = 200_000) -> Path:
    """Generated sources of both domains totalling about ``rows`` rows."""
    generate(folder, rows=rows // 6, seed=1)  # 2 domains x 3 files
    return folder
