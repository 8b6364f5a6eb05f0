"""``SessionRecord``: how a session ran, in a small JSON sidecar next to its failure log.

``<logs-dir>/wdh_etl_session_<id>.json`` holds the database URL (never its
password), the source and reference folders (absolute), the domains, the
package versions, the start time and, for a replay, the session it replays.
It is written before the session's first file runs and replaced atomically
(a temporary file, then ``os.replace``), so a reader sees the old record or
the new one, never half of one; a session that logs no failed row still has
it. Commands that work on a session later (replay, explain, the notebook)
default to it for what they are not told: ``session_settings(log)``.

The sidecar is a convenience, not the truth of a run (the log and the
database's ledger are): one that is missing or cannot be read is as good as
none, and the commands fall back to their own defaults.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from sqlalchemy import inspect, select
from sqlalchemy.engine import URL, make_url

from work_data_hub.io.database import existing_database
from work_data_hub.io.file_loads import LoadKind

__all__ = [
    "SessionRecord",
    "committed_files",
    "database_url_for_record",
    "record_path",
    "session_settings",
    "write_session_record",
]

#: What a sidecar is named after: the session id of its failure log.
_LOG_NAME: Final = re.compile(
    r"wdh_etl_failures_(?P<session>etl_[0-9]{8}_[0-9]{6}_[0-9a-f]{6})\.csv"
)
#: The packages whose versions a record keeps (a run's results depend on them).
_PACKAGES: Final = ("work-data-hub", "pandas", "pandera", "sqlalchemy", "python-calamine")
#: The layout of the JSON; a newer layout may add keys, never change one.
FORMAT: Final = 1


def record_path(logs_dir: Path, session_id: str) -> Path:
    """The sidecar of ``session_id`` in ``logs_dir``.

    >>> record_path(Path("logs"), "etl_20240101_120000_abcdef").name
    'wdh_etl_session_etl_20240101_120000_abcdef.json'
    """
    return logs_dir / f"wdh_etl_session_{session_id}.json"


def database_url_for_record(url: str) -> str:
    """``url`` as a record keeps it: without the password, an SQLite file's path absolute
    (so that the record means the same database from any folder).

    >>> database_url_for_record("postgresql+psycopg://wdh:secret@db.example/wdh")
    'postgresql+psycopg://wdh@db.example/wdh'
    >>> database_url_for_record("sqlite:///data/wdh.db") == f"sqlite:///{Path.cwd()}/data/wdh.db"
    True
    """
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        database = str(Path(str(database)).absolute())
    # URL.set() cannot drop a password (None there means "unchanged"): build it anew
    kept = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=database,
        query=parsed.query,
    )
    return kept.render_as_string(hide_password=False)


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class SessionRecord:
    """How one session ran: a ``wdh-etl`` run (``replays`` None) or a replay.

    >>> record = SessionRecord("etl_20240101_120000_abcdef", db_url="sqlite:////srv/wdh.db",
    ...                        domains=("annuity_income",))
    >>> SessionRecord.from_json(record.to_json()) == record
    True
    """

    session_id: str
    db_url: str
    source_dir: Path | None = None
    reference_dir: Path | None = None
    domains: tuple[str, ...] = ()
    #: the session whose failed rows this one replays (None: a run over source files)
    replays: str | None = None
    started: str = field(default_factory=_now)
    versions: dict[str, str] = field(default_factory=_versions, compare=False)

    @property
    def kind(self) -> str:
        """``run`` or ``replay``."""
        return "run" if self.replays is None else "replay"

    def to_json(self) -> dict[str, Any]:
        """The record as the sidecar holds it."""
        return {
            "format": FORMAT,
            "session_id": self.session_id,
            "kind": self.kind,
            "replays": self.replays,
            "started": self.started,
            "db_url": self.db_url,
            "source_dir": None if self.source_dir is None else str(self.source_dir),
            "reference_dir": None if self.reference_dir is None else str(self.reference_dir),
            "domains": list(self.domains),
            "versions": self.versions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionRecord:
        """A record from a sidecar's JSON object.

        Raises:
            KeyError, TypeError, ValueError: the object is not a record.
        """

        def folder(key: str) -> Path | None:
            value = data.get(key)
            return None if value is None else Path(str(value))

        return cls(
            session_id=str(data["session_id"]),
            db_url=str(data["db_url"]),
            source_dir=folder("source_dir"),
            reference_dir=folder("reference_dir"),
            domains=tuple(str(name) for name in data.get("domains", ())),
            replays=None if data.get("replays") is None else str(data["replays"]),
            started=str(data["started"]),
            versions={str(k): str(v) for k, v in dict(data.get("versions", {})).items()},
        )


def _read(path: Path) -> SessionRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SessionRecord.from_json(data) if isinstance(data, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_session_record(record: SessionRecord, logs_dir: Path) -> Path:
    """Write ``record`` as its session's sidecar in ``logs_dir``, atomically; return its path.

    A session run again (a resume) keeps the start time of its first run.

    >>> folder = Path(tempfile.mkdtemp())
    >>> path = write_session_record(SessionRecord("etl_20240101_120000_abcdef",
    ...                                           db_url="sqlite://"), folder)
    >>> json.loads(path.read_text())["kind"]
    'run'

    Raises:
        OSError: the folder cannot be written.
    """
    path = record_path(logs_dir, record.session_id)
    earlier = _read(path)
    data = record.to_json()
    if earlier is not None:
        data["started"] = earlier.started
    # hidden, so that nothing that lists the folder's sessions ever sees a half-written one
    handle, temporary = tempfile.mkstemp(dir=logs_dir, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def session_settings(log_path: Path | str) -> SessionRecord | None:
    """The record of the session whose failure log is ``log_path`` (the sidecar next to
    it), or None when there is none or it cannot be read.

    ``log_path`` need not exist: a session that logged no failed row has a
    record but no log.

    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_session_record(SessionRecord("etl_20240101_120000_abcdef",
    ...     db_url="sqlite:////srv/wdh.db", reference_dir=Path("/srv/ref")), folder)
    >>> session_settings(folder / "wdh_etl_failures_etl_20240101_120000_abcdef.csv").db_url
    'sqlite:////srv/wdh.db'
    >>> session_settings(folder / "elsewhere.csv") is None
    True
    """
    path = Path(log_path)
    match = _LOG_NAME.fullmatch(path.name)
    if match is None:
        return None
    record = _read(record_path(path.parent, match["session"]))
    return record if record is not None and record.session_id == match["session"] else None


def committed_files(db_url: str, session_id: str) -> int:
    """How many source files ``session_id`` has loaded into the database at ``db_url``
    (committed, as its ledger says; a workbook's sheets are one file).

    Raises:
        DatabaseNotFoundError: no SQLite file at ``db_url``.
        SQLAlchemyError: the database cannot be read.
    """
    database = existing_database(db_url)
    ledger = database.ledger
    if not inspect(database.engine).has_table(ledger.name):
        return 0
    query = select(ledger.c.domain, ledger.c.source_file).where(
        ledger.c.session_id == session_id, ledger.c.kind == LoadKind.LOAD.value
    )
    with database.engine.connect() as connection:
        tables = connection.execute(query).all()
    # a workbook's sheets are recorded as "<file>[<sheet>]"
    return len({(domain, re.sub(r"\[[^\]]*\]$", "", name)) for domain, name in tables})
