"""1. Concurrency: many processes and threads appending to one session file."""

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from tests.helpers import ROOT, SESSION
from work_data_hub.infrastructure.validation import (
    FIELDNAMES,
    FailureExporter,
    read_failures,
    to_failed_frame,
)

HEADER = (",".join(FIELDNAMES) + "\n").encode()

WRITER = textwrap.dedent(
    f"""
    import sys
    from pathlib import Path
    from tests.reliability.test_concurrency import batch
    from work_data_hub.infrastructure.validation import FailureExporter
    folder, (worker, exports, rows) = sys.argv[1], map(int, sys.argv[2:5])
    exporter = FailureExporter("{SESSION}", Path(folder))
    for export in range(exports):
        exporter.export(batch(worker, export, rows))
    """
)


def batch(worker: int, export: int, rows: int) -> pd.DataFrame:
    raw = pd.DataFrame(
        {"worker": worker, "export": export, "text": ['多行\r\n"引号", 逗号\u2028'] * rows}
    )
    return to_failed_frame(
        raw,
        session_id=SESSION,
        domain=f"domain{worker}",
        source_file=f"file{export}.csv",
        error_type="VALIDATION_FAILED",
    )


def _check(path, workers: int, exports: int, rows: int) -> None:
    data = path.read_bytes()
    assert data.startswith(HEADER)
    assert data.count(HEADER) == 1
    frame = read_failures(path)
    assert len(frame) == workers * exports * rows
    raw = [json.loads(text) for text in frame["raw_data"]]  # every raw_data valid JSON
    key = pd.Series([f"{r['worker']}/{r['export']}" for r in raw])
    runs = key.ne(key.shift()).cumsum()
    assert runs.nunique() == key.nunique() == workers * exports  # each export contiguous
    assert (key.groupby(runs).size() == rows).all()
    assert (frame["row_index"].to_numpy() == list(range(rows)) * (workers * exports)).all()


@pytest.mark.slow
def test_eight_processes_fifty_exports_each(tmp_path):
    workers, exports, rows = 8, 50, 1000
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(w), str(exports), str(rows)], cwd=ROOT
        )
        for w in range(workers)
    ]
    assert [child.wait(timeout=600) for child in children] == [0] * workers
    _check(FailureExporter(SESSION, tmp_path).output_file, workers, exports, rows)


def test_threads_of_one_process(tmp_path):
    workers, exports, rows = 6, 20, 300
    exporter = FailureExporter(SESSION, tmp_path)

    def work(worker: int) -> None:
        for export in range(exports):
            exporter.export(batch(worker, export, rows))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, range(workers)))
    _check(exporter.output_file, workers, exports, rows)
