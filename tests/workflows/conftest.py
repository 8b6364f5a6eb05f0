"""A generated source folder run through every domain into a real database of each dialect."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflows.runs import Run, run_all
from work_data_hub.samples.generate import generate


@pytest.fixture
def first_run(tmp_path: Path, db_url: str) -> Run:
    sources = tmp_path / "sources"
    generate(sources, rows=10, seed=11)
    return run_all(tmp_path, sources, sources / "reference", db_url)
