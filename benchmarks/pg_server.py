"""A throwaway PostgreSQL server for a benchmark (``scripts/pg``), and fresh databases on it."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "pg"


@contextmanager
def pg_server() -> Iterator[str]:
    """Start a server (``scripts/pg up <tmpdir>``), yield its URL, stop it however the
    block ends (``scripts/pg down <tmpdir>``). A ``make pg-up`` server is left alone
    (a server in a named folder is not remembered as ``make pg-up``'s).

    Raises:
        RuntimeError: the server could not start (its reason, e.g. no binaries).
    """
    folder = tempfile.mkdtemp(prefix="wdh-bench-pg.")
    try:
        started = subprocess.run(
            [str(SCRIPT), "up", folder], capture_output=True, text=True, check=False
        )
        if started.returncode != 0:
            raise RuntimeError(f"scripts/pg up: {started.stderr.strip()}")
        yield started.stdout.strip()
    finally:
        subprocess.run([str(SCRIPT), "down", folder], capture_output=True, check=False)


def conninfo(url: str) -> str:
    """An SQLAlchemy ``postgresql+psycopg://`` URL as psycopg's conninfo."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def fresh_database(server: str, prefix: str = "wdh_bench") -> str:
    """A new empty database on ``server``; returns its SQLAlchemy URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return make_url(server).set(database=name).render_as_string(hide_password=False)
