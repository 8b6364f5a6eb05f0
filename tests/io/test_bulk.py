"""Bulk loads on both databases (``db_url``): executemany on SQLite, COPY on PostgreSQL.

Values read back as they went in: nasty text, ``None`` vs ``""``, dates,
huge integers, and amounts (exact decimals on PostgreSQL, the same float64
on SQLite); loads happen in the caller's transaction.
"""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from tests.io.test_database import COMPANIES, COMPANY, PLAN, PLANS, TABLE, _load, _rows
from tests.strategies import amounts, datetimes, int64s, nasty_text
from work_data_hub.domain.table import Column, ColumnKind, TableSpec
from work_data_hub.errors import UnstorableValueError
from work_data_hub.io._bulk import insert_rows
from work_data_hub.io.database import Database

VALUES = TableSpec(
    "values_table",
    (
        Column("t", ColumnKind.TEXT),
        Column("u", ColumnKind.TEXT),
        Column("a", ColumnKind.AMOUNT),
        Column("d", ColumnKind.DATE),
    ),
)
int32s = st.integers(min_value=-(2**31), max_value=2**31 - 1)


def _expected_amount(value, dialect):
    """What an amount reads back as: the decimal ``repr`` shows (PostgreSQL NUMERIC),
    the same float (SQLite REAL)."""
    if value is None:
        return None
    return Decimal(repr(value)) if dialect == "postgresql" else value


@st.composite
def value_rows(draw):
    """Rows of VALUES's columns plus lineage, as lists (None where missing)."""
    size = draw(st.integers(min_value=1, max_value=8))

    def column(strategy):
        return draw(st.lists(st.one_of(st.none(), strategy), min_size=size, max_size=size))

    return {
        "t": column(nasty_text),
        "u": column(nasty_text),
        "a": column(amounts),
        "d": column(datetimes),
        "extra": column(nasty_text),
        "source_file": draw(st.lists(nasty_text, min_size=size, max_size=size)),
        "row_index": draw(st.lists(int32s, min_size=size, max_size=size, unique=True)),
        "session_id": draw(st.lists(nasty_text, min_size=size, max_size=size)),
        "raw_hash": column(int64s),
        "replayed_from": column(nasty_text),
    }


def _frame(values, text_dtype):
    """The frame the pipeline would hand over: float64 amounts, datetime64 months."""
    frame = pd.DataFrame(
        {
            **{name: pd.Series(values[name], dtype=text_dtype) for name in ("t", "u", "extra")},
            "a": pd.Series([float("nan") if v is None else v for v in values["a"]], dtype=float),
            "d": pd.Series(pd.to_datetime(values["d"]), dtype="datetime64[us]"),
            "source_file": values["source_file"],
            "row_index": values["row_index"],
            "session_id": values["session_id"],
            "raw_hash": pd.array(values["raw_hash"], dtype="Int64"),
            "replayed_from": pd.Series(values["replayed_from"], dtype=object),
        }
    )
    return frame


@pytest.fixture
def values_db(db_url):
    db = Database(db_url)
    db.add_domain(VALUES)
    yield db
    db.engine.dispose()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=value_rows(),
    text_dtype=st.sampled_from([object, "str"]),
    skip_taken=st.booleans(),
)
def test_insert_rows_round_trips_every_value(values_db, values, text_dtype, skip_taken):
    """Whatever goes in reads back equal; with ``skip_taken`` a taken slot keeps its row."""
    db, table = values_db, values_db.domains[VALUES.name]
    dialect = db.engine.dialect.name
    frame = _frame(values, text_dtype)
    taken = frame.iloc[:1].assign(t="taken", a=-1.25)  # the first row's slot, held already
    with db.engine.begin() as connection:
        connection.execute(delete(table))
        if skip_taken:
            insert_rows(connection, table, taken)
        insert_rows(connection, table, frame, skip_taken=skip_taken)
    with db.engine.connect() as connection:
        got = connection.execute(select(table).order_by(table.c.row_index)).mappings().all()
    expected = frame.sort_values("row_index", ignore_index=True)
    assert len(got) == len(expected)
    for row, (_, want) in zip(got, expected.iterrows(), strict=True):
        held = skip_taken and row["row_index"] == taken["row_index"].iloc[0]
        source = taken.iloc[0] if held else want
        for name in ("t", "u", "extra", "source_file", "session_id", "replayed_from"):
            value = source[name]
            assert row[name] == (None if pd.isna(value) else value), name
        assert row["row_index"] == source["row_index"]
        assert row["raw_hash"] == (None if pd.isna(source["raw_hash"]) else source["raw_hash"])
        amount = None if pd.isna(source["a"]) else float(source["a"])
        assert row["a"] == _expected_amount(amount, dialect)
        day = source["d"]
        assert row["d"] == (None if pd.isna(day) else day.date())


@pytest.mark.parametrize("amount", ["12345678901234.56", "3107.90", "0.1", "-0.03", "1E+16"])
def test_amounts_read_back_exactly(db_url, amount):
    """A source amount reads back as its decimal on PostgreSQL (NUMERIC); on SQLite
    (REAL) as the float64 the pipeline held, which prints as the source (less
    trailing zeros) for amounts of up to 15 significant digits."""
    db = Database(db_url)
    db.upsert_reference({PLAN: PLANS, COMPANY: COMPANIES})
    db.add_domain(TABLE)
    _load(db, _rows(["P1"]).assign(期末资产规模=float(amount)), source_file="a", session_id="s")
    (stored,) = db.rows("annuity_performance")["期末资产规模"]
    if db.engine.dialect.name == "postgresql":
        assert isinstance(stored, Decimal)
        assert stored == Decimal(amount)
    else:
        assert type(stored) is float
        assert stored == float(amount)
        assert Decimal(repr(stored)) == Decimal(amount)


def test_nul_in_text_is_refused_on_postgresql_and_kept_on_sqlite(db_url):
    """PostgreSQL text cannot hold NUL: the load is refused, naming the file, row and
    column, and nothing changes (the earlier load and its ledger row stay). SQLite
    holds it as it is. Never a silent change."""
    db = Database(db_url)
    db.upsert_reference({PLAN: PLANS, COMPANY: COMPANIES})
    db.add_domain(TABLE)
    _load(db, _rows(["P1"]), source_file="a.csv", session_id="s1")
    bad = _rows(["P1", "P2"], {"客户名称": ["甲", "乙\x00丙"]})
    if db.engine.dialect.name == "sqlite":
        _load(db, bad, source_file="a.csv", session_id="s2")
        assert db.rows("annuity_performance")["客户名称"].tolist() == ["甲", "乙\x00丙"]
        return
    with pytest.raises(UnstorableValueError, match=r"a\.csv, row_index 11: column '客户名称'"):
        _load(db, bad, source_file="a.csv", session_id="s2")
    assert isinstance(UnstorableValueError(source_file="f", column="c", row_index=1), ValueError)
    rows = db.rows("annuity_performance")
    assert rows[["客户名称", "session_id"]].values.tolist() == [["甲", "s1"]]
    assert db.loads("annuity_performance", ["a.csv"])["session_id"].tolist() == ["s1"]


def test_nul_in_an_extra_column_is_kept_as_json(db_url):
    """A column that is not the table's goes into ``extra`` as JSON, where NUL is
    the escape ``\\u0000``: it loads on both databases."""
    db = Database(db_url)
    db.upsert_reference({PLAN: PLANS, COMPANY: COMPANIES})
    db.add_domain(TABLE)
    _load(db, _rows(["P1"], {"备注": ["a\x00b"]}), source_file="a.csv", session_id="s1")
    (extra,) = db.rows("annuity_performance")["extra"]
    assert "\\u0000" in extra


def test_insert_rows_runs_in_the_callers_transaction(values_db):
    """Rows a load sent are gone when the caller's transaction rolls back."""
    table = values_db.domains[VALUES.name]
    frame = _frame(
        {name: [None] for name in ("t", "u", "a", "d", "extra", "raw_hash", "replayed_from")}
        | {"source_file": ["f"], "row_index": [0], "session_id": ["s"]},
        object,
    )

    count = select(sqlalchemy.func.count()).select_from(table)
    with values_db.engine.connect() as connection:
        transaction = connection.begin()
        insert_rows(connection, table, frame)
        assert connection.execute(count).scalar() == 1  # sent, in this transaction
        transaction.rollback()
    with values_db.engine.connect() as connection:
        assert connection.execute(count).scalar() == 0


def test_a_second_replay_of_the_same_rows_adds_nothing(db_url):
    """Replays fill empty slots only (``ON CONFLICT DO NOTHING``; on PostgreSQL via a
    temporary table the commit drops): the second adds none and keeps every row."""
    db = Database(db_url)
    db.upsert_reference({PLAN: PLANS, COMPANY: COMPANIES})
    db.add_domain(TABLE)
    _load(db, _rows(["P1"]), source_file="a.csv", session_id="s1")
    replayed = _rows(["P1", "P2"]).rename(index={10: 20, 11: 21})
    added = []
    for session in ("s2", "s3"):
        added.append(
            db.add_replayed(
                "annuity_performance",
                replayed,
                source_file="a.csv",
                session_id=session,
                replayed_from=pd.Series("s1", index=replayed.index),
                load_session="s1",
                rows_logged=0,
            ).tolist()
        )
    assert added == [[20, 21], []]
    rows = db.rows("annuity_performance")
    assert sorted(zip(rows["row_index"], rows["session_id"], strict=True)) == [
        (10, "s1"),
        (20, "s2"),
        (21, "s2"),
    ]
    ledger = db.loads("annuity_performance", ["a.csv"])
    assert ledger[["session_id", "rows_loaded"]].values.tolist() == [
        ["s1", 1],
        ["s2", 2],
        ["s3", 0],
    ]


def test_a_date_keeps_its_day_whatever_its_time(values_db):
    """A DATE drops a timestamp's time of day (as SQLAlchemy's insert() does), also
    before 1970 where the time would round the day the wrong way if truncated."""
    table = values_db.domains[VALUES.name]
    days = ["1969-12-31 23:59:59.999999", "2024-03-01 12:00", "1900-01-01 00:00:01"]
    frame = _frame(
        {name: [None] * 3 for name in ("t", "u", "a", "extra", "raw_hash", "replayed_from")}
        | {
            "d": [pd.Timestamp(day) for day in days],
            "source_file": ["f"] * 3,
            "row_index": [0, 1, 2],
            "session_id": ["s"] * 3,
        },
        object,
    )
    with values_db.engine.begin() as connection:
        insert_rows(connection, table, frame)
    with values_db.engine.connect() as connection:
        got = connection.execute(select(table.c.d).order_by(table.c.row_index)).scalars().all()
    assert got == [dt.date(1969, 12, 31), dt.date(2024, 3, 1), dt.date(1900, 1, 1)]
