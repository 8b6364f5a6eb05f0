"""Test-wide settings: hypothesis profiles (``ci`` under CI, ``dev`` otherwise);
commands started by the tests take Ctrl-C as from a terminal."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# ci: 200 examples a property (300 took the suite past 30 minutes on 2 cores)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# A test run started in the background by a shell without job control (`make test &`
# in a script, some CI runners) has SIGINT ignored, and every command it starts
# inherits that: the commands would rightly go on through the Ctrl-C tests' SIGINTs
# (exit 0, all files loaded). The commands must start as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# -- databases: every test that touches one runs on SQLite and on PostgreSQL ----------

#: A PostgreSQL server for the tests (`make pg-up` prints one; `.ci/run` starts one).
PG_URL = os.environ.get("WDH_TEST_PG_URL")
_PG_HOW = "PostgreSQL cases need a server: make pg-up, then WDH_TEST_PG_URL=<its URL> make test"


def _pg_admin(url: str) -> str:
    """``url`` as a psycopg conninfo (SQLAlchemy's ``+psycopg`` dropped)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database's SQLAlchemy URL: an SQLite file in ``tmp_path``, or a
    new database on the ``WDH_TEST_PG_URL`` server, dropped after the test.

    Without a server the PostgreSQL case skips (one line saying how to run it),
    except under ``CI=true``, where it fails: CI must run it.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wdh.db'}"
        return
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no WDH_TEST_PG_URL: {_PG_HOW}")
        pytest.skip(_PG_HOW)
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"wdh_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_pg_admin(PG_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_pg_admin(PG_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- more databases of the same dialect (appended: imports kept here) ----------------------

from collections.abc import Callable  # noqa: E402


def _pg_database(statement: str) -> None:
    import psycopg

    with psycopg.connect(_pg_admin(str(PG_URL)), autocommit=True) as admin:
        admin.execute(statement)


@pytest.fixture
def make_db_url(db_url: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes more fresh databases of ``db_url``'s dialect, for a test that compares
    runs into separate databases: ``make_db_url("clean")`` is an SQLite file
    ``tmp_path/clean.db``, or a new PostgreSQL database, dropped after the test."""
    from sqlalchemy.engine import make_url

    made: list[str] = []

    def make(name: str) -> str:
        if db_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / name}.db"
        database = f"wdh_test_{uuid.uuid4().hex[:16]}"
        _pg_database(f'CREATE DATABASE "{database}"')
        made.append(database)
        return make_url(str(PG_URL)).set(database=database).render_as_string(hide_password=False)

    yield make
    for database in made:
        _pg_database(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
