"""The database layer against a real SQLite file and a real PostgreSQL database
(``db_url``: every test runs on both)."""

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy

from work_data_hub.domain.table import Column, ColumnKind, ForeignKey, ReferenceTable, TableSpec
from work_data_hub.errors import LoadInputError, LoadSupersededError, RowConservationError
from work_data_hub.io.database import Database
from work_data_hub.io.file_loads import LEDGER_COLUMNS, FileLoad

PLAN = ReferenceTable("plans", key="计划代码", columns=("计划代码", "计划名称"))
COMPANY = ReferenceTable("company_mapping", key="客户名称", columns=("客户名称", "company_id"))
PLANS = pd.DataFrame({"计划代码": ["P1", "P2"], "计划名称": ["计划一", "计划二"]})
COMPANIES = pd.DataFrame({"客户名称": ["甲", "乙"], "company_id": ["C1", "C2"]})
#: a table spec as a domain declares one (here: like annuity_performance's, in short)
TABLE = TableSpec(
    "annuity_performance",
    (
        Column("月度", ColumnKind.DATE, required=True),
        Column("计划代码", ColumnKind.TEXT, required=True),
        Column("客户名称", ColumnKind.TEXT),
        Column("company_id", ColumnKind.TEXT, required=True),
        Column("期末资产规模", ColumnKind.AMOUNT),
    ),
    foreign_keys=(ForeignKey("计划代码", PLAN),),
)


@pytest.fixture
def db(db_url):
    db = Database(db_url)
    db.upsert_reference({PLAN: PLANS, COMPANY: COMPANIES})
    db.add_domain(TABLE)
    return db


def _rows(codes, extra=None):
    frame = pd.DataFrame(
        {
            "月度": pd.to_datetime(["2024-03-01"] * len(codes)),
            "计划代码": codes,
            "客户名称": ["甲"] * len(codes),
            "company_id": ["C1"] * len(codes),
            "期末资产规模": [1.5] * len(codes),
            "raw_hash": range(len(codes)),  # as the duplicate step leaves them
        },
        index=range(10, 10 + len(codes)),
    )
    return frame.assign(**(extra or {}))


def _load(db, rows, *, source_file, session_id, logged=0):
    entry = FileLoad(
        "annuity_performance",
        source_file,
        session_id,
        rows_read=len(rows) + logged,
        rows_loaded=len(rows),
        rows_logged=logged,
        file_sha256="ab" * 32,
    )
    return db.load(rows, entry)


def test_rows_without_fingerprints_are_refused(db):
    with pytest.raises(LoadInputError, match="raw_hash column"):
        _load(db, _rows(["P1"]).drop(columns="raw_hash"), source_file="a.csv", session_id="s1")
    assert db.rows("annuity_performance").empty


def test_reference_upsert_updates_and_keeps(db):
    db.upsert_reference(
        {
            PLAN: pd.DataFrame({"计划代码": ["P2", "P3"], "计划名称": ["新二", "三"]}),
            COMPANY: COMPANIES.iloc[:0],
        }
    )
    frames = db.reference_frames([PLAN, COMPANY])
    plans, companies = frames["plans"], frames["company_mapping"]
    assert plans.sort_values("计划代码").to_dict("list") == {
        "计划代码": ["P1", "P2", "P3"],
        "计划名称": ["计划一", "新二", "三"],
    }
    assert len(companies) == 2


def test_load_carries_lineage_and_extra_columns(db):
    loaded = _load(
        db,
        _rows(["P1", "P2"], {"备注": ["x", None]}),
        source_file="2024-03.xlsx",
        session_id="etl_20240301_090000_0a1b2c",
    )
    assert loaded == 2
    rows = db.rows("annuity_performance")
    assert rows["row_index"].tolist() == [10, 11]
    assert set(rows["source_file"]) == {"2024-03.xlsx"}
    assert set(rows["session_id"]) == {"etl_20240301_090000_0a1b2c"}
    assert json.loads(rows.loc[0, "extra"]) == {"备注": "x"}
    assert json.loads(rows.loc[1, "extra"]) == {"备注": None}


def test_reloading_a_file_replaces_its_rows(db):
    _load(db, _rows(["P1", "P2"]), source_file="a.xlsx", session_id="s1")
    _load(db, _rows(["P1"]), source_file="b.xlsx", session_id="s1")
    _load(db, _rows(["P2"]), source_file="a.xlsx", session_id="s2")
    rows = db.rows("annuity_performance")
    assert sorted(zip(rows["source_file"], rows["计划代码"], strict=True)) == [
        ("a.xlsx", "P2"),
        ("b.xlsx", "P1"),
    ]


def test_foreign_key_is_enforced_and_the_file_transaction_rolls_back(db):
    _load(db, _rows(["P1"]), source_file="a.xlsx", session_id="s1")
    with pytest.raises(sqlalchemy.exc.IntegrityError, match=r"(?i)foreign key"):
        _load(db, _rows(["P2", "NOPE"]), source_file="a.xlsx", session_id="s2")
    rows = db.rows("annuity_performance")  # the earlier load of a.xlsx is intact
    assert rows["计划代码"].tolist() == ["P1"]
    assert rows["session_id"].tolist() == ["s1"]
    # and so is the ledger: the failed load left no record
    assert db.loads("annuity_performance", ["a.xlsx"])["session_id"].tolist() == ["s1"]


def test_each_load_is_recorded_in_the_ledger_with_its_counts(db):
    _load(db, _rows(["P1", "P2"]), source_file="a.xlsx", session_id="s1", logged=3)
    _load(db, _rows(["P1"]), source_file="a.xlsx", session_id="s2")
    loads = db.loads("annuity_performance", ["a.xlsx", "other.csv"])
    assert list(loads.columns) == list(LEDGER_COLUMNS)
    assert loads[["session_id", "kind", "load_session"]].values.tolist() == [
        ["s1", "load", "s1"],
        ["s2", "load", "s2"],
    ]
    assert loads[["rows_read", "rows_loaded", "rows_logged"]].values.tolist() == [
        [5, 2, 3],
        [1, 1, 0],
    ]
    assert loads["committed_at"].notna().all()


@pytest.mark.parametrize(("read", "loaded"), [(3, 2), (2, 1)])
def test_a_load_that_does_not_balance_is_refused_before_anything_is_written(db, read, loaded):
    entry = FileLoad(
        "annuity_performance", "a.csv", "s1", rows_read=read, rows_loaded=loaded, rows_logged=0
    )
    with pytest.raises(RowConservationError, match="nothing loaded"):
        db.load(_rows(["P1", "P2"]), entry)
    assert db.rows("annuity_performance").empty
    assert db.loads("annuity_performance", ["a.csv"]).empty


def test_replayed_rows_fill_empty_lineage_slots_only(db):
    _load(db, _rows(["P1"]), source_file="a.csv", session_id="s1")
    replayed = _rows(["P1", "P2"], {"raw_hash": [7, -8]}).rename(index={11: 12})  # 10 is taken
    added = db.add_replayed(
        "annuity_performance",
        replayed,
        source_file="a.csv",
        session_id="s2",
        replayed_from=pd.Series(["s1", "s1"], index=replayed.index),
        load_session="s1",
        rows_logged=4,
    )
    assert added.tolist() == [12]
    replay = db.loads("annuity_performance", ["a.csv"]).iloc[-1]
    assert replay[["session_id", "kind", "load_session"]].tolist() == ["s2", "replay", "s1"]
    assert replay[["rows_read", "rows_loaded", "rows_logged"]].tolist() == [6, 1, 4]
    rows = db.rows("annuity_performance").set_index("row_index")
    assert rows.loc[10, "session_id"] == "s1"
    assert pd.isna(rows.loc[10, "replayed_from"])
    assert rows.loc[12, ["session_id", "replayed_from", "raw_hash"]].tolist() == ["s2", "s1", -8]
    lineage = db.lineage("annuity_performance", ["a.csv"])
    assert sorted(lineage["row_index"]) == [10, 12]


def test_replayed_rows_of_a_load_replaced_meanwhile_are_refused_whole(db):
    """A run of the file committed a newer load between the replay's read of the ledger
    and its insert: the replayed rows belong to a load that no longer counts."""
    _load(db, _rows(["P1"]), source_file="a.csv", session_id="s1")
    _load(db, _rows(["P1"]), source_file="a.csv", session_id="s3")  # the newer run
    before = db.rows("annuity_performance"), db.loads("annuity_performance", ["a.csv"])
    replayed = _rows(["P2"], {"raw_hash": [7]}).rename(index={10: 12})
    for rows in (replayed, replayed.iloc[:0]):  # rows to add, or only the ledger row
        with pytest.raises(LoadSupersededError, match="loaded again by session s3"):
            db.add_replayed(
                "annuity_performance",
                rows,
                source_file="a.csv",
                session_id="s2",
                replayed_from=pd.Series("s1", index=rows.index),
                load_session="s1",
                rows_logged=0,
            )
    pd.testing.assert_frame_equal(db.rows("annuity_performance"), before[0])
    pd.testing.assert_frame_equal(db.loads("annuity_performance", ["a.csv"]), before[1])


#: what an older version's SQLAlchemy made of a DATE month, a FLOAT amount and its id
OLD_TYPES = {
    "sqlite": ("INTEGER PRIMARY KEY", "DATETIME", "FLOAT"),
    "postgresql": ("SERIAL PRIMARY KEY", "TIMESTAMP WITHOUT TIME ZONE", "FLOAT"),
}


def test_tables_of_an_older_version_keep_their_types_and_get_the_new_columns(db_url):
    """A table an older version made (months DATETIME, amounts FLOAT, no raw_hash
    and replayed_from) keeps loading and reading: the new columns are added, and
    months stay datetimes, so old and new rows hold the same form."""
    engine = sqlalchemy.create_engine(db_url)
    key, month, amount = OLD_TYPES[engine.dialect.name]
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(
                f'CREATE TABLE annuity_performance (id {key}, "月度" {month} NOT NULL, '
                '"计划代码" VARCHAR NOT NULL, "客户名称" TEXT, company_id VARCHAR NOT NULL, '
                f'"期末资产规模" {amount}, extra TEXT, source_file VARCHAR NOT NULL, row_index '
                "INTEGER NOT NULL, session_id VARCHAR NOT NULL, UNIQUE (source_file, row_index))"
            )
        )
        connection.execute(
            sqlalchemy.text(
                'INSERT INTO annuity_performance ("月度", "计划代码", "客户名称", company_id, '
                '"期末资产规模", extra, source_file, row_index, session_id) VALUES '
                "('2024-03-01 00:00:00.000000', 'P1', '甲', 'C1', 1.0, NULL, 'old.csv', 0, 's0')"
            )
        )
    engine.dispose()
    db = Database(db_url)
    db.upsert_reference({PLAN: PLANS, COMPANY: COMPANIES})
    db.add_domain(TABLE)
    old = db.rows("annuity_performance")
    assert old[["raw_hash", "replayed_from"]].isna().all().all()
    assert db.lineage("annuity_performance", ["old.csv"])["row_index"].tolist() == [0]
    _load(db, _rows(["P1"], {"raw_hash": [5]}), source_file="a.csv", session_id="s1")
    assert db.lineage("annuity_performance", ["a.csv"])["raw_hash"].tolist() == [5]
    rows = db.rows("annuity_performance")
    assert rows["月度"].tolist() == [dt.datetime(2024, 3, 1)] * 2
    assert rows["期末资产规模"].tolist() == [1.0, 1.5]
    assert all(type(value) is float for value in rows["期末资产规模"])
    if db.engine.dialect.name == "sqlite":  # the stored text: old and new rows alike
        with db.engine.connect() as connection:
            stored = connection.exec_driver_sql(
                'SELECT "月度" FROM annuity_performance ORDER BY id'
            ).fetchall()
        assert stored == [("2024-03-01 00:00:00.000000",)] * 2


def test_a_workbooks_sheets_load_in_one_transaction(db):
    def entry(label, rows, session="s1"):
        return FileLoad(
            "annuity_performance",
            label,
            session,
            rows_read=len(rows),
            rows_loaded=len(rows),
            rows_logged=0,
        )

    trustee, investment = _rows(["P1"]), _rows(["P2"])
    db.load_all(
        [(trustee, entry("b.xlsx[受托]", trustee)), (investment, entry("b.xlsx[投资]", investment))]
    )
    bad = _rows(["NOPE"])  # the second sheet breaks the foreign key: neither sheet changes
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        db.load_all(
            [
                (investment, entry("b.xlsx[受托]", investment, "s2")),
                (bad, entry("b.xlsx[投资]", bad, "s2")),
            ]
        )
    rows = db.rows("annuity_performance")
    assert sorted(zip(rows["source_file"], rows["计划代码"], rows["session_id"], strict=True)) == [
        ("b.xlsx[受托]", "P1", "s1"),
        ("b.xlsx[投资]", "P2", "s1"),
    ]
    assert set(db.loads("annuity_performance", ["b.xlsx[受托]", "b.xlsx[投资]"])["session_id"]) == {
        "s1"
    }


def test_tables_come_from_the_spec_and_name_nothing_else(db_url):
    spec = TableSpec("awards", (Column("日期", ColumnKind.DATE), Column("规模", ColumnKind.AMOUNT)))
    db = Database(db_url)
    db.add_domain(spec)
    columns = sqlalchemy.inspect(db.engine).get_columns("awards")
    assert [c["name"] for c in columns] == [
        "id",
        "日期",
        "规模",
        "extra",
        "source_file",
        "row_index",
        "session_id",
        "raw_hash",
        "replayed_from",
    ]
    kinds = {c["name"]: type(c["type"]).__name__ for c in columns}
    amount = {"sqlite": "FLOAT", "postgresql": "NUMERIC"}[db.engine.dialect.name]
    assert (kinds["日期"], kinds["规模"], kinds["raw_hash"]) == ("DATE", amount, "BIGINT")


def test_keys_and_file_names_compare_as_bytes_on_postgresql(db):
    """Keys, the columns that reference them and ``source_file`` are compared in byte
    order on PostgreSQL (``COLLATE "C"``: cheaper per foreign-key check than the
    server's locale); SQLite's text compares as bytes already."""
    inspector = sqlalchemy.inspect(db.engine)

    def collations(table):
        return {
            c["name"]: getattr(c["type"], "collation", None) for c in inspector.get_columns(table)
        }

    loaded, plans = collations("annuity_performance"), collations("plans")
    found = (plans["计划代码"], loaded["计划代码"], loaded["source_file"], loaded["客户名称"])
    expected = ("C", "C", "C", None) if db.engine.dialect.name == "postgresql" else (None,) * 4
    assert found == expected


def test_values_are_stored_as_sqlalchemy_stores_them(db):
    """The bulk path (executemany on SQLite, COPY on PostgreSQL) stores what
    SQLAlchemy's insert() stores: a month is a DATE (a time of day dropped), so old
    and new rows compare and sort."""
    rows = _rows(["P1", "P2"]).assign(
        月度=pd.to_datetime(["2024-03-01", "2024-03-01 12:34:56.789"], format="ISO8601"),
        期末资产规模=[1.5, None],
    )
    _load(db, rows, source_file="a.csv", session_id="s1")
    table = db.domains["annuity_performance"]
    with db.engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {"月度": value.to_pydatetime(), "计划代码": "P1", "company_id": "C1",
                 "期末资产规模": amount, "source_file": "b.csv", "row_index": n,
                 "session_id": "s1"}
                for n, (value, amount) in enumerate(
                    zip(rows["月度"], rows["期末资产规模"], strict=True)
                )
            ],
        )  # fmt: skip
    stored = db.rows("annuity_performance").groupby("source_file")
    for column in ("月度", "期末资产规模"):
        bulk, reference = (
            [None if pd.isna(v) else v for v in stored.get_group(f)[column]]
            for f in ("a.csv", "b.csv")
        )
        assert bulk == reference
    assert stored.get_group("a.csv")["月度"].tolist() == [dt.date(2024, 3, 1)] * 2
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            text = connection.exec_driver_sql(
                'SELECT DISTINCT "月度" FROM annuity_performance'
            ).fetchall()
        assert text == [("2024-03-01",)]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_loads_of_one_file_at_once_wait_for_each_other(db, db_url):
    """Two transactions replacing the same file's rows at the same moment (a task Dask
    ran again while the first still ran): the second waits for the first and replaces
    its rows, instead of failing on the lineage key. Both are held at the table's lock
    by a third connection until both are waiting, then let go together."""
    import threading
    import time

    import psycopg

    conninfo = db_url.replace("postgresql+psycopg://", "postgresql://", 1)
    errors: list[BaseException] = []

    def load(database: Database) -> None:
        try:
            _load(database, _rows(["P1", "P2"]), source_file="a.xlsx", session_id="s1")
        except Exception as error:  # said by the assertion below
            errors.append(error)

    databases = [Database(db_url) for _ in range(2)]  # two processes' engines
    for database in databases:
        database.add_domain(TABLE)
    with psycopg.connect(conninfo) as holder, psycopg.connect(conninfo, autocommit=True) as watch:
        holder.execute('LOCK TABLE "annuity_performance" IN SHARE ROW EXCLUSIVE MODE')
        loads = [threading.Thread(target=load, args=(database,)) for database in databases]
        for thread in loads:
            thread.start()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        while watch.execute(waiting).fetchone()[0] < 2:  # both wait: held here, or each other
            assert all(thread.is_alive() for thread in loads), errors
            time.sleep(0.01)
        holder.rollback()
        for thread in loads:
            thread.join(timeout=60)
    assert errors == []
    rows = db.rows("annuity_performance")
    assert sorted(rows["row_index"]) == [10, 11]  # one copy: the second replaced the first


def _create_at_once(db_url, tables, start, errors):
    database = Database(db_url)  # (a process's own engine)
    rows = pd.DataFrame({"k": ["a"], "v": ["1"]})
    start.wait()
    try:
        database.upsert_reference(dict.fromkeys(tables, rows))
    except Exception as error:  # said by the assertion below
        errors.append(error)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_runs_creating_overlapping_tables_at_once_all_succeed(db_url):
    """Four runs (engines) creating reference tables at the same moment, each its own
    set but sharing one (as two runs over different domains share ``plans``): none
    fails, every table is there. Five rounds of new tables."""
    import threading

    for round_ in range(5):
        shared = ReferenceTable(f"shared_{round_}", key="k", columns=("k", "v"))
        own = [ReferenceTable(f"own_{round_}_{n}", key="k", columns=("k", "v")) for n in range(4)]
        start, errors = threading.Barrier(len(own)), []
        runs = [
            threading.Thread(target=_create_at_once, args=(db_url, [shared, mine], start, errors))
            for mine in own
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
        assert errors == []
        names = set(sqlalchemy.inspect(Database(db_url).engine).get_table_names())
        assert {shared.name, *(spec.name for spec in own)} <= names


_HOLD_THE_WRITE_LOCK = """
import sqlite3, sys, time
holder = sqlite3.connect(sys.argv[1], isolation_level=None)
holder.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
holder.execute("COMMIT")
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_load_waits_for_another_process_s_long_write_on_sqlite(db, db_url):
    """Another process writes for 6 s (a run's or a worker's load of a large file):
    the load waits for it and commits, where the driver's own 5 s wait failed it with
    "database is locked"."""
    import subprocess
    import sys

    from work_data_hub.io.database import sqlite_file

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_WRITE_LOCK, str(sqlite_file(db_url)), "6"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        assert _load(db, _rows(["P1"]), source_file="a.xlsx", session_id="s1") == 1
        assert holder.wait(timeout=60) == 0  # its write committed too
    finally:
        holder.kill()
        holder.wait()
    assert db.rows("annuity_performance")["row_index"].tolist() == [10]


_LOAD_ONE_ROW = """
import sys
from tests.io.test_database import TABLE, _load, _rows
from work_data_hub.io.database import Database

db = Database(sys.argv[1])
db.add_domain(TABLE)
print("loading", flush=True)
try:
    _load(db, _rows(["P1"]), source_file="b.xlsx", session_id="s2")
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("loaded", flush=True)
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ctrl_c_stops_a_load_waiting_for_another_s_write_on_sqlite(db, db_url):
    """A load waiting for another process's write (for minutes, at worst) stops at Ctrl-C,
    while the other still writes: SQLite's own wait, in C, let nothing stop it."""
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers import ROOT
    from work_data_hub.io.database import sqlite_file

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_WRITE_LOCK, str(sqlite_file(db_url)), "300"],
        stdout=subprocess.PIPE,
        text=True,
    )
    loader = subprocess.Popen(
        [sys.executable, "-c", _LOAD_ONE_ROW, db_url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        assert loader.stdout is not None
        assert loader.stdout.readline() == "loading\n"
        time.sleep(1)  # (into the wait: were it not yet, Ctrl-C would stop it all the same)
        loader.send_signal(signal.SIGINT)
        assert loader.wait(timeout=120) == 130  # the old wait: the holder's 300 s
        assert loader.stdout.read() == "interrupted\n"
        assert holder.poll() is None  # the other process still holds its write
    finally:
        for process in (loader, holder):
            process.kill()
            process.wait()
    assert db.rows("annuity_performance").empty
