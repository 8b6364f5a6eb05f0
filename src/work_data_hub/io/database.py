"""The database the pipelines load into: reference tables and one table per domain.

Tables are built from the domains' specs (``io.tables``); nothing here names
a column of any domain. SQLite by default (any SQLAlchemy URL works where
the dialect supports ``INSERT ... ON CONFLICT``). Foreign keys are enforced
(SQLite: ``PRAGMA foreign_keys=ON`` on every connection). Every loaded row
carries its lineage (``source_file``, ``row_index``, ``session_id``);
loading a source file again replaces that file's earlier rows in the same
transaction, so re-runs never duplicate rows and a file's rows land all
together or not at all. The same transaction records the load in the ledger
(``file_loads``), and refuses it unless rows read = rows loaded + rows
logged.

Each row also keeps ``raw_hash`` (the fingerprint of its ``raw_data``, so a
replayed copy of it is known as a duplicate) and, when a replay loaded it,
``replayed_from`` (the session whose failure log held it). A replay only
fills empty lineage slots and never overwrites one: replaying twice loads
nothing twice. Tables made before these columns existed get them added
(``NULL`` in old rows).

Rows go in by the fastest way each database has (``io._bulk``):
``COPY ... FROM STDIN`` on PostgreSQL (psycopg 3), the driver's prepared
``executemany`` on SQLite; same transaction, same semantics. Months are
``DATE``; amounts are exact ``NUMERIC`` on PostgreSQL and ``REAL`` (the
pipeline's float64) on SQLite (``io.tables``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    create_engine,
    delete,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from work_data_hub.domain.table import ReferenceTable, TableSpec
from work_data_hub.errors import (
    DatabaseNotFoundError,
    LoadInputError,
    RowConservationError,
    TableLayoutError,
    UnsupportedDatabaseError,
)
from work_data_hub.infrastructure.validation.raw_data import encode_rows
from work_data_hub.io import _sqlite
from work_data_hub.io._bulk import insert_rows
from work_data_hub.io._sqlite import sqlite_file
from work_data_hub.io.file_loads import (
    FileLoad,
    LoadKind,
    ledger_table,
    one_load_at_a_time,
    read_ledger,
    record_load,
    still_current,
)
from work_data_hub.io.tables import (
    EXTRA,
    LINEAGE,
    adopt_column_types,
    check_key_sizes,
    domain_table,
    reference_table,
)

__all__ = ["DEFAULT_DB", "LINEAGE", "Database", "existing_database", "sqlite_file"]

#: The database the commands use unless told otherwise (relative to the current folder).
DEFAULT_DB: Final = "sqlite:///data/wdh.db"


class Database:
    """Reference tables, the load ledger and the domain tables, built from specs.

    >>> import tempfile
    >>> from work_data_hub.domain.table import ReferenceTable
    >>> plans = ReferenceTable("plans", key="code", columns=("code", "name"))
    >>> db = Database(f"sqlite:///{tempfile.mkdtemp()}/wdh.db")
    >>> db.upsert_reference({plans: pd.DataFrame({"code": ["P1"], "name": ["one"]})})
    >>> db.reference_frames([plans])["plans"].to_dict("records")
    [{'code': 'P1', 'name': 'one'}]
    """

    def __init__(self, url: str) -> None:
        # an error names the failing statement, never its rows' values (a 3 MB cell,
        # private data): the commands say it in one line
        self.engine: Engine = create_engine(
            url, hide_parameters=True, **_sqlite.engine_arguments(url)
        )
        self.wait_seconds = _sqlite.wait_seconds(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite.foreign_keys_on)
        self.metadata = MetaData()
        self.ledger = ledger_table(self.metadata)
        self.domains: dict[str, Table] = {}

    def add_domain(self, spec: TableSpec, *, create: bool = True) -> None:
        """Declare a domain's table; once is enough.

        With ``create`` (the default) a missing table is created (with the
        reference tables it refers to, and the ledger) and an older version's
        table gets the columns it lacks; without, the database is left as it
        is (for reading only).
        """
        if spec.name in self.domains:
            return
        table = domain_table(self.metadata, spec)
        self.domains[spec.name] = table
        if create:
            referred = [reference_table(self.metadata, fk.references) for fk in spec.foreign_keys]
            self._create([*referred, self.ledger, table])
            self._add_missing_columns(table)
        inspector = inspect(self.engine)
        if inspector.has_table(table.name):
            adopt_column_types(
                table, {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
            )

    def _create(self, tables: list[Table]) -> None:
        """Create the missing ``tables``. The check and the create are not one step:
        another run may create one of them in between (two runs over different domains
        share ``plans``), and this create then fails, undoing what it made. It is tried
        again for the tables still missing, as long as each failure leaves fewer."""
        existing = set(inspect(self.engine).get_table_names())
        missing = [table for table in tables if table.name not in existing]  # (no write lock)
        while missing:
            try:
                with self._writing() as connection:
                    self.metadata.create_all(connection, tables=missing)
                return
            except SQLAlchemyError:
                existing = set(inspect(self.engine).get_table_names())
                still = [table for table in missing if table.name not in existing]
                if len(still) == len(missing):  # nobody else made one: a real error
                    raise
                missing = still

    def _add_missing_columns(self, table: Table) -> None:
        """Add columns a newer version declares to a table an older one made."""
        present = {column["name"] for column in inspect(self.engine).get_columns(table.name)}
        missing = [column for column in table.columns if column.name not in present]
        if not missing:
            return
        preparer = self.engine.dialect.identifier_preparer
        with self._writing() as connection:
            for column in missing:
                if not column.nullable:
                    raise TableLayoutError(table.name, column.name)
                kind = column.type.compile(dialect=self.engine.dialect)
                connection.execute(
                    text(
                        f"ALTER TABLE {preparer.quote(table.name)} "
                        f"ADD COLUMN {preparer.quote(column.name)} {kind}"
                    )
                )

    def _upsert(self, table: Table, frame: pd.DataFrame, key: str) -> None:
        rows: list[dict[str, Any]] = [
            {str(k): v for k, v in record.items()} for record in frame.to_dict("records")
        ]
        if not rows:
            return
        statement = self._insert(table)
        others = {c.name: statement.excluded[c.name] for c in table.columns if c.name != key}
        with self._writing() as connection:
            connection.execute(
                statement.on_conflict_do_update(index_elements=[key], set_=others), rows
            )

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction. On SQLite it takes the write lock first (``BEGIN
        IMMEDIATE``): nothing it reads can change before it writes, and it waits for
        another connection's write (up to ``wait_seconds``) in slices, so that Ctrl-C
        stops the wait at once instead of when SQLite's wait ends."""
        with self.engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                _sqlite.begin_immediate(connection, self.wait_seconds)
            yield connection

    def _insert(self, table: Table) -> Any:
        """An INSERT that takes ``ON CONFLICT`` clauses (SQLite and PostgreSQL)."""
        dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(self.engine.dialect.name)
        if dialect is None:
            raise UnsupportedDatabaseError(self.engine.dialect.name)
        return dialect.insert(table)

    def upsert_reference(self, frames: Mapping[ReferenceTable, pd.DataFrame]) -> None:
        """Insert or update reference tables by key (creating them and the ledger, the
        tables every domain shares), one table per transaction."""
        tables = {spec: reference_table(self.metadata, spec) for spec in frames}
        self._create([*tables.values(), self.ledger])
        for spec, frame in frames.items():
            rows = frame[list(spec.columns)].astype(str)
            if self.engine.dialect.name == "postgresql":
                check_key_sizes(spec, rows[spec.key])
            self._upsert(tables[spec], rows, spec.key)

    def reference_frames(self, specs: Sequence[ReferenceTable]) -> dict[str, pd.DataFrame]:
        """The rows of reference tables by name; a table not in the database has none."""
        present = set(inspect(self.engine).get_table_names())
        frames: dict[str, pd.DataFrame] = {}
        with self.engine.connect() as connection:
            for spec in specs:
                table = reference_table(self.metadata, spec)
                rows = connection.execute(select(table)).all() if spec.name in present else []
                frames[spec.name] = pd.DataFrame(rows, columns=list(spec.columns)).astype("str")
        return frames

    def load(self, rows: pd.DataFrame, entry: FileLoad) -> int:
        """Replace ``entry.source_file``'s rows in its domain table with ``rows``, atomically,
        and record the load in the ledger in the same transaction.

        ``rows`` are the pipeline's kept rows, indexed by source row number,
        with their raw rows' fingerprints in a ``raw_hash`` column (the
        duplicate step adds it), without which a replay could not tell copies
        of them. Returns the number of rows loaded.

        Raises:
            RowConservationError: ``entry`` does not balance (read = loaded +
                logged) or does not count ``rows``; nothing is written.
        """
        (loaded,) = self.load_all([(rows, entry)])
        return loaded

    def load_all(self, parts: Sequence[tuple[pd.DataFrame, FileLoad]]) -> list[int]:
        """``load`` several sources (a workbook's sheets) in one transaction: all or none."""
        batches = []
        for rows, entry in parts:
            table = self.domains[entry.domain]
            frame = self._load_frame(
                table, rows, source_file=entry.source_file, session_id=entry.session_id
            )
            if (
                entry.kind is not LoadKind.LOAD
                or not entry.balanced
                or entry.rows_loaded != len(frame)
            ):
                raise RowConservationError(
                    f"{entry.source_file}: {entry.rows_read} rows read but {len(frame)} to "
                    f"load ({entry.rows_loaded} counted) and {entry.rows_logged} logged: "
                    "nothing loaded",
                    source_file=entry.source_file,
                )
            batches.append((table, frame, entry))
        with self._writing() as connection:
            one_load_at_a_time(connection, [entry for _, _, entry in batches])
            for table, frame, entry in batches:
                connection.execute(delete(table).where(table.c.source_file == entry.source_file))
                insert_rows(connection, table, frame)
                record_load(connection, self.ledger, entry)
        return [len(frame) for _, frame, _ in batches]

    def add_replayed(
        self,
        domain: str,
        rows: pd.DataFrame,
        *,
        source_file: str,
        session_id: str,
        replayed_from: pd.Series,
        load_session: str,
        rows_logged: int,
    ) -> pd.Index:
        """Add replayed rows of ``source_file`` to empty lineage slots only, and record
        the replay in the ledger (``load_session``: the load it adds to, ``rows_logged``:
        the rows the replay logged as still failing), in one transaction.

        A row whose (``source_file``, row index) slot is taken, even by a run
        that took it a moment ago, is skipped (``ON CONFLICT DO NOTHING``).
        Raises ``LoadSupersededError`` (nothing written) when a run of the file
        committed a newer load than ``load_session`` meanwhile.
        ``rows`` carry ``raw_hash`` as for ``load``; ``replayed_from`` (the
        session whose log held each row) is aligned with them. Returns the
        labels of the rows added.
        """
        table = self.domains[domain]
        frame = self._load_frame(
            table, rows, source_file=source_file, session_id=session_id,
            replayed_from=replayed_from,
        )  # fmt: skip

        def entry(added: int) -> FileLoad:
            return FileLoad(
                domain, source_file, session_id, rows_read=len(frame) + rows_logged,
                rows_loaded=added, rows_logged=rows_logged, kind=LoadKind.REPLAY,
                load_session=load_session,
            )  # fmt: skip

        mine = select(table.c.row_index).where(
            table.c.source_file == source_file,
            table.c.session_id == session_id,
            table.c.row_index.in_([int(label) for label in rows.index]),
        )
        added: set[int] = set()
        with self._writing() as connection:
            still_current(connection, self.ledger, entry(0))
            if len(frame):
                before = set(connection.execute(mine).scalars())
                insert_rows(connection, table, frame, skip_taken=True)
                added = set(connection.execute(mine).scalars()) - before
            record_load(connection, self.ledger, entry(len(added)))
        return pd.Index(sorted(added), dtype="int64")

    def loads(self, domain: str, source_files: Sequence[str]) -> pd.DataFrame:
        """The ledger rows of ``source_files`` of ``domain``, oldest first (``LEDGER_COLUMNS``)."""
        return read_ledger(self.engine, self.ledger, domain, source_files)

    def lineage(self, domain: str, source_files: Sequence[str]) -> pd.DataFrame:
        """``source_file``, ``row_index``, ``session_id``, ``raw_hash`` of the loaded rows
        of ``source_files`` in a domain table (none if the table does not exist;
        ``raw_hash`` missing where an older version loaded the row)."""
        table = self.domains[domain]
        names = ["source_file", "row_index", "session_id", "raw_hash"]
        inspector = inspect(self.engine)
        if not inspector.has_table(table.name):
            return pd.DataFrame({name: [] for name in names}).astype(
                {"row_index": "int64", "raw_hash": "Int64"}
            )
        present = {column["name"] for column in inspector.get_columns(table.name)}
        columns = [table.c[name] for name in names if name in present]
        with self.engine.connect() as connection:
            result = connection.execute(
                select(*columns).where(table.c.source_file.in_(list(source_files)))
            )
            frame = pd.DataFrame(result.all(), columns=[c.name for c in columns])
        return frame.reindex(columns=names).astype({"row_index": "int64", "raw_hash": "Int64"})

    def _load_frame(
        self,
        table: Table,
        rows: pd.DataFrame,
        *,
        source_file: str,
        session_id: str,
        replayed_from: pd.Series | None = None,
    ) -> pd.DataFrame:
        """``rows`` as the table's columns: the spec's, ``extra`` (the other columns as
        JSON) and the lineage."""
        if rows.empty:
            return rows.iloc[:0, :0]  # a file whose every row failed early has no columns
        if "raw_hash" not in rows.columns:
            raise LoadInputError(
                "rows to load need their fingerprints in a raw_hash column "
                "(see work_data_hub.domain.duplicates)"
            )
        known = [c.name for c in table.columns if c.name not in ("id", EXTRA, *LINEAGE)]
        extra = [c for c in rows.columns if c not in known and c not in LINEAGE]
        return rows.reindex(columns=known).assign(
            **{EXTRA: encode_rows(rows[extra]).to_numpy() if extra else None},
            source_file=source_file,
            row_index=rows.index.to_numpy(dtype="int64"),
            session_id=session_id,
            raw_hash=rows["raw_hash"].to_numpy(),
            replayed_from=None
            if replayed_from is None
            else replayed_from.reindex(rows.index).to_numpy(),
        )

    def rows(self, domain: str) -> pd.DataFrame:
        """Every row of a domain table, as a frame, values as the driver reads them:
        dates as ``datetime.date``, amounts as ``Decimal`` (PostgreSQL) or ``float``
        (SQLite)."""
        table = self.domains[domain]
        with self.engine.connect() as connection:
            result = connection.execute(select(table).order_by(table.c.id))
            return pd.DataFrame(result.all(), columns=list(result.keys()))


def existing_database(url: str) -> Database:
    """Open the database at ``url``; an SQLite file must exist already (no empty one is made).

    Raises:
        DatabaseNotFoundError: the SQLite file does not exist.
    """
    file = sqlite_file(url)
    if file is not None and not file.is_file():
        raise DatabaseNotFoundError(file)
    return Database(url)
