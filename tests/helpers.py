"""What several test packages share: session ids, logs on disk, the commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from work_data_hub.infrastructure.validation import FailureExporter, to_failed_frame

ROOT = Path(__file__).resolve().parents[1]
SESSION = "etl_20240301_090000_0a1b2c"
OLD = "etl_20240301_090000_aaaaaa"
NEW = "etl_20240302_090000_bbbbbb"


def write_log(logs: Path, session_id: str, parts: list[tuple[str, str, str, pd.DataFrame]]) -> Path:
    """Export (domain, source_file, error_type, rows) parts to one session log."""
    exporter = FailureExporter(session_id, logs)
    for domain, source_file, error_type, rows in parts:
        exporter.export(
            to_failed_frame(
                rows,
                session_id=session_id,
                domain=domain,
                source_file=source_file,
                error_type=error_type,
            )
        )
    return exporter.output_file


def write_two_sessions(logs: Path, raw: pd.DataFrame) -> Path:
    """OLD logs raw rows 0 and 1 of a.csv; NEW logs rows 1 and 2 of a.csv and the
    last row in b.xlsx of another domain: 2 new, 1 persisting, 1 resolved."""
    write_log(logs, OLD, [("annuity_income", "a.csv", "VALIDATION_FAILED", raw.iloc[[0, 1]])])
    write_log(
        logs,
        NEW,
        [
            ("annuity_income", "a.csv", "VALIDATION_FAILED", raw.iloc[[1, 2]]),
            ("annuity_performance", "b.xlsx", "ENRICHMENT_FAILED", raw.iloc[[-1]]),
        ],
    )
    return logs


def run_module(
    module: str, *args: str, cwd: Path, env: dict[str, str] | None = None, columns: int = 80
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` in a subprocess at ``columns`` wide, output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": str(columns), **(env or {})},
    )


def wdh_etl(*args: str, cwd: Path, **options: object) -> subprocess.CompletedProcess[str]:
    """The ``wdh-etl`` command (``run_module`` options)."""
    return run_module("work_data_hub.cli.etl", *args, cwd=cwd, **options)  # type: ignore[arg-type]


def wdh_failures(*args: str, cwd: Path, **options: object) -> subprocess.CompletedProcess[str]:
    """The ``wdh-failures`` command (``run_module`` options)."""
    return run_module("work_data_hub.cli.failures", *args, cwd=cwd, **options)  # type: ignore[arg-type]


# -- workbooks as real writers leave them -------------------------------------


def rewrite_workbook(path: Path, edit: Callable[[str, bytes], bytes]) -> Path:
    """Rewrite every member of the .xlsx zip at ``path`` through ``edit(name, data)``."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info, edit(info.filename, data))
    return path


def stale_dimension(path: Path, ref: str = "A1") -> Path:
    """Give every sheet of the workbook the ``<dimension ref>`` tag ``ref`` (stale)."""
    tag = f'<dimension ref="{ref}"/>'.encode()
    return rewrite_workbook(
        path, lambda _name, data: re.sub(rb'<dimension ref="[^"]*"\s*/>', tag, data)
    )


def commit_loads(db_url: str, log: Path) -> None:
    """Record in the database's ledger that each file of ``log`` was loaded by its session,
    every row of it failed (as a run would have done before logging ``log``)."""
    from work_data_hub.domain.registry import DOMAINS
    from work_data_hub.infrastructure.validation import read_failures
    from work_data_hub.io.database import Database
    from work_data_hub.io.file_loads import FileLoad

    database = Database(db_url)
    failures = read_failures(log)
    for (session, domain, source_file), rows in failures.groupby(
        ["session_id", "domain", "source_file"], observed=True
    ):
        spec = DOMAINS[str(domain)]
        database.add_domain(spec.table)
        entry = FileLoad(
            spec.name,
            str(source_file),
            str(session),
            rows_read=len(rows),
            rows_loaded=0,
            rows_logged=len(rows),
        )
        database.load(pd.DataFrame(), entry)


def in_terminal(
    command: list[str], *, cwd: Path, columns: int = 100, env: dict[str, str] | None = None
) -> str:
    """Run ``command`` with a pseudo-terminal as stdout and stderr; return all it wrote."""
    import pty
    import select

    leader, follower = pty.openpty()
    os.set_inheritable(follower, True)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), **(env or {})},
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            process.kill()
            raise TimeoutError(f"{command} wrote nothing for 60 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    process.wait(timeout=60)
    return b"".join(chunks).decode("utf-8", "replace")
