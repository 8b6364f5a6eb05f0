"""What several test packages share: session ids, logs on disk, the commands, and
reading a database of either dialect."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from work_data_hub.infrastructure.validation import FailureExporter, to_failed_frame

ROOT = Path(__file__).resolve().parents[1]
SESSION = "etl_20240301_090000_0a1b2c"
OLD = "etl_20240301_090000_aaaaaa"
NEW = "etl_20240302_090000_bbbbbb"


#: For a test about SQLite itself (a locked file, a missing file, the default
#: ``sqlite:///data/wdh.db``): its ``db_url`` is an SQLite file only.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


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
    module: str,
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    columns: int = 80,
    max_file_size: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` in a subprocess at ``columns`` wide, output captured;
    ``max_file_size``: its writes past that many bytes fail (EFBIG, as a full disk)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": str(columns), **(env or {})},
        preexec_fn=None if max_file_size is None else partial(_limit_file_size, max_file_size),
    )


def _limit_file_size(size: int) -> None:
    """In the child: a write past ``size`` bytes fails with EFBIG (not SIGXFSZ's kill)."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


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


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def one_cell_workbook(path: Path, stored: str, *, kind: str = "shared") -> Path:
    """A workbook with header ``h`` and one text cell below it whose XML is ``stored``
    (a ``<t>`` element as some writer left it; for a formula, its cached text): a shared
    string (as Excel writes text), an inline string, or a formula's cached text
    (``kind`` ``"shared"``, ``"inline"``, ``"formula"``). Namespace prefix ``x`` is
    declared for the main namespace."""
    from openpyxl import Workbook  # (tests only: openpyxl writes the rest of the package)

    book = Workbook()
    book.active.append(["h"])
    book.active.append(["PLACEHOLDER"])
    book.save(path)
    inline = b'<c r="A2" t="inlineStr"><is><t>PLACEHOLDER</t></is></c>'
    cell = {
        "shared": '<c r="A2" t="s"><v>0</v></c>',
        "inline": f'<c r="A2" t="inlineStr"><is>{stored}</is></c>',
        "formula": f'<c r="A2" t="str"><f>"x"</f><v>{stored}</v></c>',
    }[kind].encode()

    def edit(name: str, data: bytes) -> bytes:
        if name.startswith("xl/worksheets/"):
            assert inline in data
            root = f'<worksheet xmlns="{_MAIN}"'.encode()
            return data.replace(inline, cell).replace(root, root + f' xmlns:x="{_MAIN}"'.encode())
        if name == "[Content_Types].xml":
            part = (
                '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            )
            return data.replace(b"</Types>", part.encode() + b"</Types>")
        if name == "xl/_rels/workbook.xml.rels":
            rel = (
                '<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/'
                'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            )
            return data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
        return data

    rewrite_workbook(path, edit)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        strings = f"<si>{stored}</si>" if kind == "shared" else ""
        archive.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN}" '
            f'xmlns:x="{_MAIN}">{strings}</sst>',
        )
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


# -- databases of either dialect, read the same way --------------------------------------


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names an SQLite database.

    >>> is_sqlite("sqlite:///data/wdh.db"), is_sqlite("postgresql+psycopg://u@h/db")
    (True, False)
    """
    return make_url(url).get_backend_name() == "sqlite"


def _engine(url: str, busy_timeout: float) -> sqlalchemy.Engine:
    """An engine on ``url`` that never creates an SQLite file (``mode=rw``: read-write,
    so that it can roll back the journal of a killed writer, as any connection must)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sqlalchemy.create_engine(parsed, poolclass=NullPool)
    existing = parsed.set(database=f"file:{parsed.database}", query={"mode": "rw", "uri": "true"})
    return sqlalchemy.create_engine(
        existing, poolclass=NullPool, connect_args={"timeout": busy_timeout}
    )


def plain(value: object) -> object:
    """A value read from either dialect as SQLite's driver returns it: ``NUMERIC``
    (``Decimal``) as ``float``, a ``DATE`` as ``YYYY-MM-DD`` and a timestamp as
    ``YYYY-MM-DD HH:MM:SS.ffffff`` (how SQLAlchemy stores them in SQLite), a
    timestamp's zone dropped.

    >>> plain(Decimal("3107.90")), plain(dt.date(2024, 3, 1)), plain("P0012")
    (3107.9, '2024-03-01', 'P0012')
    """
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def query(
    url: str, sql: str, params: Mapping[str, object] | None = None, *, busy_timeout: float = 5.0
) -> list[tuple[object, ...]]:
    """The rows of ``sql`` (named ``:params``) in the database at ``url``, each value
    ``plain``. A missing SQLite file is an ``OperationalError``, never
    created; ``busy_timeout``: how long to wait for its
    writer's lock."""
    engine = _engine(url, busy_timeout)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text(sql), dict(params or {})).fetchall()
    finally:
        engine.dispose()
    return [tuple(plain(value) for value in row) for row in rows]


def query_frame(url: str, sql: str, params: Mapping[str, object] | None = None) -> pd.DataFrame:
    """``query`` as a DataFrame with the result's column names (object columns)."""
    engine = _engine(url, 5.0)
    try:
        with engine.connect() as connection:
            result = connection.execute(sqlalchemy.text(sql), dict(params or {}))
            columns, rows = list(result.keys()), result.fetchall()
    finally:
        engine.dispose()
    return pd.DataFrame(
        [[plain(value) for value in row] for row in rows], columns=columns, dtype=object
    )


def table_names(url: str) -> set[str]:
    """The tables in the database at ``url`` (none while an SQLite file does not exist)."""
    if is_sqlite(url) and not Path(str(make_url(url).database)).exists():
        return set()
    engine = _engine(url, 5.0)
    try:
        return set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def drop_tables(url: str) -> None:
    """Drop every table of the database at ``url``: a clean database for the next
    hypothesis example without making a new one."""
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        metadata = sqlalchemy.MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()
