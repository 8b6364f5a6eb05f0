"""Scenario 8: loads into PostgreSQL, on a server the bench starts and stops itself.

200,000 kept rows of the ``annuity_performance`` table's columns (month,
plan, customer, company, four amounts, the fingerprint) are loaded into
that table (its foreign key to ``plans``, its unique lineage slot, an
emptied table before each run) three ways, median of 3 each:

- (a) the old way: the lineage frame as a list of dicts, ``DELETE`` of the
  file's rows, then SQLAlchemy Core ``connection.execute(insert(table),
  list_of_dicts)``, and the ledger row;
- (b) ours: ``Database.load`` (``COPY ... FROM STDIN`` of CSV that pyarrow
  writes, in the transaction of the ``DELETE`` and the ledger row);
- (c) the floor: a plain psycopg ``COPY ... FROM STDIN`` of the same rows from
  a CSV buffer pandas built beforehand (untimed), in its own transaction;
- (d) the floor of any client: (c) in PostgreSQL's binary ``COPY`` format (the
  rows as the server sends them back, fetched untimed), which the server
  reads without parsing text: no load into this table can be faster, so
  (a)/(d) bounds (a)/(b);
- (e) for scale, no target: (c) into a copy of the table without its foreign
  key: the server's per-row key check is most of (c) and (d).

Targets: (a)/(b) >= 5 and (b)/(c) <= 2. With ``--whole-run`` (as ``make
bench`` runs it) also scenario 7 (``benchmarks.whole_run``) against the same
server.

    python -m benchmarks.pg_load [--rows 200000] [--repeats 3] [--whole-run]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import delete, insert, text

from benchmarks.data import annuity_frame
from benchmarks.pg_server import conninfo, fresh_database, pg_server
from benchmarks.timing import Figure, timed
from benchmarks.whole_run import report_lines as whole_run_lines
from benchmarks.whole_run import scenario_whole_run
from benchmarks.whole_run import targets as whole_run_targets
from work_data_hub.domain.annuity_performance import NAME, TABLE
from work_data_hub.domain.reference import PLANS
from work_data_hub.io.database import Database
from work_data_hub.io.file_loads import FileLoad, record_load

ROWS = 200_000
SOURCE = "2024-03.xlsx"
SESSION = "etl_20240301_090000_0a1b2c"


def kept_rows(rows: int) -> pd.DataFrame:
    """``rows`` kept rows as the pipeline hands them to the load: the table's columns
    and the fingerprints, indexed by source row."""
    frame = annuity_frame(rows)
    rng = np.random.default_rng(3)
    columns = [c.name for c in TABLE.columns if c.name != "company_id"]
    return frame[columns].assign(
        company_id=np.char.add("C", rng.integers(0, 5_000, rows).astype(str)).astype(object),
        raw_hash=rng.integers(-(2**63), 2**63 - 1, rows, dtype=np.int64),
    )


def _entry(rows: pd.DataFrame) -> FileLoad:
    return FileLoad(NAME, SOURCE, SESSION, rows_read=len(rows), rows_loaded=len(rows),
                    rows_logged=0)  # fmt: skip


def _lineage_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as the table's columns, as the old load built them (no extra columns)."""
    return rows.assign(
        extra=None,
        source_file=SOURCE,
        row_index=rows.index.to_numpy(dtype="int64"),
        session_id=SESSION,
        replayed_from=None,
    )


def scenario_load(server: str, rows: int, repeats: int) -> dict[str, Figure]:
    """(a), (b), (c), (d) into one fresh database on ``server``; checks each run's rows."""
    url = fresh_database(server)
    db = Database(url)
    kept = kept_rows(rows)
    plans = pd.DataFrame({"计划代码": kept["计划代码"].unique()}).assign(计划名称="计划")
    db.upsert_reference({PLANS: plans})
    db.add_domain(TABLE)
    table = db.domains[NAME]
    frame = _lineage_frame(kept)
    columns = list(frame.columns)
    csv = frame.to_csv(header=False, index=False).encode()

    def truncate(*tables: str) -> None:
        with db.engine.begin() as connection:
            names = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {names}"))

    def empty(_: int) -> None:
        truncate(NAME, "wdh_file_loads")

    def count() -> None:
        with db.engine.connect() as connection:
            loaded = connection.execute(text(f'SELECT count(*) FROM "{NAME}"')).scalar()
        if loaded != rows:
            raise RuntimeError(f"{loaded} rows loaded, {rows} expected")

    def old_way(_: int) -> None:
        cleaned = frame.astype(object).where(frame.notna(), None)
        records = [{str(k): v for k, v in r.items()} for r in cleaned.to_dict("records")]
        with db.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.source_file == SOURCE))
            connection.execute(insert(table), records)
            record_load(connection, db.ledger, _entry(kept))
        count()

    def ours(_: int) -> None:
        db.load(kept, _entry(kept))
        count()

    quoted = ", ".join(f'"{name}"' for name in columns)

    def plain_copy(_: int, into: str = NAME, data: bytes = csv, form: str = "csv") -> None:
        sql = f'COPY "{into}" ({quoted}) FROM STDIN (FORMAT {form})'
        with (
            psycopg.connect(conninfo(url)) as connection,
            connection.cursor() as cursor,
            cursor.copy(sql) as copy,
        ):
            copy.write(data)
        if into == NAME:
            count()

    def binary_rows() -> bytes:
        """The rows in COPY's binary format, as the server writes them (untimed)."""
        empty(0)
        plain_copy(0)
        sql = f'COPY "{NAME}" ({quoted}) TO STDOUT (FORMAT binary)'
        with (
            psycopg.connect(conninfo(url)) as connection,
            connection.cursor() as cursor,
            cursor.copy(sql) as copy,
        ):
            return b"".join(bytes(block) for block in copy)

    with db.engine.begin() as connection:  # the same table but for its foreign key
        connection.execute(
            text(f'CREATE TABLE no_fk (LIKE "{NAME}" INCLUDING DEFAULTS INCLUDING INDEXES)')
        )

    binary = binary_rows()
    figures = {
        "pg_old": timed(f"PostgreSQL load {rows:,} insert() executemany", repeats, old_way, empty),
        "pg_ours": timed(f"PostgreSQL load {rows:,} Database.load (COPY)", repeats, ours, empty),
        "pg_copy": timed(f"PostgreSQL load {rows:,} plain COPY of a CSV buffer", repeats,
                         plain_copy, empty),
        "pg_copy_binary": timed(
            f"PostgreSQL load {rows:,} plain COPY, binary format", repeats,
            lambda attempt: plain_copy(attempt, data=binary, form="binary"), empty,
        ),
        "pg_copy_no_fk": timed(
            f"PostgreSQL load {rows:,} plain COPY, table without its foreign key", repeats,
            lambda attempt: plain_copy(attempt, "no_fk"), lambda _: truncate("no_fk"),
        ),
    }  # fmt: skip
    db.engine.dispose()
    return figures


def scenario_postgres(rows: int, repeats: int, whole_run: bool) -> dict[str, Any]:
    """Start a server, run scenario 8 (and 7 on it with ``whole_run``), stop it.

    Returns the figures, or ``{"skipped": reason}`` when no server can start
    (no PostgreSQL binaries on the machine).
    """
    try:
        with pg_server() as server:
            result: dict[str, Any] = {"rows": rows, "figures": scenario_load(server, rows, repeats)}
            if whole_run:
                result["whole_run"] = scenario_whole_run(repeats, server=server)
            return result
    except RuntimeError as error:
        if not str(error).startswith("scripts/pg up"):
            raise
        return {"skipped": str(error)}


def targets(result: dict[str, Any]) -> list[tuple[str, float, float, bool, float | None]]:
    """The scenario's targets (and scenario 7's on PostgreSQL, if run) as (name, ratio,
    limit, at_least, fastest runs' ratio)."""
    if "skipped" in result:
        return []
    figures = result["figures"]

    def ratio(top: str, bottom: str) -> tuple[float, float]:
        upper, lower = figures[top], figures[bottom]
        return upper.median / lower.median, min(upper.runs) / min(lower.runs)

    speedup, speedup_fastest = ratio("pg_old", "pg_ours")
    slowdown, slowdown_fastest = ratio("pg_ours", "pg_copy")
    return [
        ("8. PostgreSQL load vs insert() executemany (speed-up)", speedup, 5, True,
         speedup_fastest),
        ("8. PostgreSQL load vs a plain COPY (slow-down)", slowdown, 2, False, slowdown_fastest),
        *(whole_run_targets(result["whole_run"]) if "whole_run" in result else []),
    ]  # fmt: skip


def report_lines(result: dict[str, Any]) -> list[str]:
    """The scenario's section of RESULTS.md (and scenario 7's on PostgreSQL, if run)."""
    lines = ["## Scenario 8: loading into PostgreSQL", ""]
    if "skipped" in result:
        return [*lines, f"Not run: {result['skipped']}"]
    figures = result["figures"]
    lines += [
        f"{result['rows']:,} kept rows of the annuity_performance table's columns into that "
        "table (foreign key, unique lineage slot; emptied before each run) on a server the "
        "bench started (`scripts/pg up`: fsync off, loopback), median of "
        f"{len(figures['pg_ours'].runs)}: (a) the lineage frame as a list of dicts through "
        "SQLAlchemy Core `connection.execute(insert(table), rows)` (the old load: delete, "
        "insert, ledger row); (b) `Database.load` (COPY of CSV written by pyarrow, in the "
        "transaction of the delete and the ledger row); (c) a plain psycopg `COPY` of a CSV "
        "buffer pandas built beforehand; (d) (c) in COPY's binary format (the rows as the "
        "server sends them back, fetched untimed): the server reads it without parsing "
        "text, so no load into this table goes under (d). For scale, (e): (c) into a copy "
        "of the table without its foreign key (the server's per-row key check is the bulk "
        "of (c) and (d)).",
        "",
        "| way | median s | runs |",
        "|---|---:|---|",
    ]
    labels = {
        "pg_old": "(a) insert() executemany",
        "pg_ours": "(b) Database.load",
        "pg_copy": "(c) plain COPY",
        "pg_copy_binary": "(d) plain COPY, binary format",
        "pg_copy_no_fk": "(e) plain COPY, no foreign key",
    }
    for key, label in labels.items():
        figure = figures[key]
        runs = ", ".join(f"{run:.2f}" for run in figure.runs)
        lines.append(f"| {label} | {figure.median:.3f} | {runs} |")
    old, floor = figures["pg_old"], figures["pg_copy_binary"]
    medians, fastest = old.median / floor.median, min(old.runs) / min(floor.runs)
    lines += [
        "",
        f"The most any load into this table reaches here, (a)/(d): {medians:.2f}x by "
        f"medians ({fastest:.2f}x by fastest runs).",
    ]
    if "whole_run" in result:
        lines += ["", *whole_run_lines(result["whole_run"])]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--whole-run", action="store_true", help="also scenario 7 on it")
    args = parser.parse_args(argv)
    result = scenario_postgres(args.rows, args.repeats, args.whole_run)
    print("\n".join(report_lines(result)))
    for name, ratio, limit, at_least, fastest in targets(result):
        noise = "" if fastest is None else f", fastest runs {fastest:.2f}"
        print(f"{name}: {ratio:.2f} ({'>=' if at_least else '<='} {limit:g}{noise})")
    if "whole_run" in result:
        print(json.dumps(result["whole_run"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
