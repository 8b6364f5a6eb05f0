"""Scenario 7: a whole ``wdh-etl`` run against the floor of its parts, in the same run.

Generated sources of about 600,000 rows (every domain; workbooks, some of
two sheets, and CSVs) are run by ``wdh-etl --all-domains --plain`` into a
fresh SQLite file (or, given a server, a fresh PostgreSQL database), as a
process, three times. The floor, per source table, measured in this
process: the fastest reader of its format (calamine for a workbook sheet,
pyarrow for a CSV), one pandera validation of the domain's gold schema over
the kept rows, and the fastest insert of the kept rows into an empty table
with the same columns: ``sqlite3`` ``executemany``, or on PostgreSQL a
psycopg ``COPY`` of a CSV buffer built beforehand (untimed). The kept rows are the run's
own (computed outside the timing), so the floor does the same work on the
same rows, without the run's checks, logging, lineage and guarantees.

Also: peak RSS of the run (from the kernel's accounting of the finished
process), less a baseline process's, against the largest source file's frames in memory, the run's
seconds per phase (``--summary-json``) as rows per second, and the failure
log's share.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import pandas as pd

from benchmarks.pg_server import conninfo, fresh_database
from work_data_hub.domain.pipeline import run_steps
from work_data_hub.domain.reference import Reference
from work_data_hub.domain.registry import DOMAINS
from work_data_hub.domain.spec import NOTHING_LOADED
from work_data_hub.domain.table import ColumnKind, TableSpec
from work_data_hub.io.sources import list_sources, read_reference, read_tables
from work_data_hub.samples.generate import generate
from work_data_hub.workflows import reference_tables

#: Good rows per source table: 11 tables (3 + 3 CSV/workbooks, 5 award sheets/CSVs)
ROWS_PER_TABLE = 54_000


def make_sources(folder: Path, rows_per_table: int = ROWS_PER_TABLE) -> tuple[Path, int]:
    """Generated sources of every domain; returns the folder and the rows in it."""
    manifest = generate(folder, rows=rows_per_table, seed=2)
    return folder, sum(entry["rows"] for entry in manifest["files"].values())


# Linux keeps a process's peak RSS across fork and exec: a child forked from this
# (large) process would report this process's size. A small launcher forks the
# measured command instead, and reports the command's own peak.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(f"{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def measured(command: list[str], report: Path) -> tuple[float, float, int]:
    """Run ``command``: (wall seconds, its peak RSS in MiB, its exit status)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(report), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    kib, status = report.read_text().split()
    return wall, int(kib) / 1024, int(status)


def _run(sources: Path, folder: Path, db: str) -> tuple[float, float, dict[str, Any]]:
    """One ``wdh-etl`` process: (wall seconds, peak RSS in MiB, its --summary-json)."""
    summary = folder / "summary.json"
    command = [
        sys.executable, "-m", "work_data_hub.cli.etl", "--all-domains", "--plain",
        "--source", str(sources), "--db", db,
        "--logs-dir", str(folder / "logs"), "--summary-json", str(summary),
    ]  # fmt: skip
    wall, peak, status = measured(command, folder / "rusage")
    if status != 0:
        raise RuntimeError(f"wdh-etl exited {status}: {summary}")
    return wall, peak, json.loads(summary.read_text(encoding="utf-8"))


def _fastest_read(path: Path, sheet: str | None) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, engine="pyarrow", dtype=str, keep_default_na=False)
    return pd.read_excel(path, engine="calamine", sheet_name=sheet or 0)


class _SqliteFloor:
    """``sqlite3`` ``executemany`` of the kept rows into an empty untyped table."""

    def __init__(self, folder: Path) -> None:
        self.connection = sqlite3.connect(folder / "floor.db")

    def insert(self, name: str, kept: pd.DataFrame, spec: TableSpec) -> float:
        columns = [c.name for c in spec.columns]
        rows = kept.reindex(columns=columns).astype(object)
        rows = rows.where(rows.notna(), None)
        for column in spec.columns:  # sqlite3 binds text, not timestamps
            if column.kind is ColumnKind.DATE:
                rows[column.name] = rows[column.name].map(lambda v: None if v is None else str(v))
        values = list(rows.itertuples(index=False, name=None))
        quoted = ", ".join(f'"{c}"' for c in columns)
        self.connection.execute(f"CREATE TABLE {name} ({quoted})")
        start = time.perf_counter()
        with self.connection:
            self.connection.executemany(
                f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})", values
            )
        return time.perf_counter() - start

    def close(self) -> None:
        self.connection.close()


_SQL_TYPES: Final = {ColumnKind.TEXT: "text", ColumnKind.AMOUNT: "numeric", ColumnKind.DATE: "date"}


class _CopyFloor:
    """psycopg ``COPY`` of the kept rows, as a CSV buffer built beforehand, into an
    empty table of the same column types (text, NUMERIC, DATE)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(conninfo(url))

    def insert(self, name: str, kept: pd.DataFrame, spec: TableSpec) -> float:
        columns = [c.name for c in spec.columns]
        typed = ", ".join(f'"{c.name}" {_SQL_TYPES[c.kind]}' for c in spec.columns)
        with self.connection.transaction():
            self.connection.execute(f"CREATE TABLE {name} ({typed})")
        text = kept.reindex(columns=columns).to_csv(header=False, index=False).encode()
        quoted = ", ".join(f'"{c}"' for c in columns)
        start = time.perf_counter()
        sql = f"COPY {name} ({quoted}) FROM STDIN (FORMAT csv)"
        with (
            self.connection.transaction(),
            self.connection.cursor() as cursor,
            cursor.copy(sql) as copy,
        ):
            copy.write(text)
        return time.perf_counter() - start

    def close(self) -> None:
        self.connection.close()


def _floor(sources: Path, inserts: _SqliteFloor | _CopyFloor) -> dict[str, float]:
    """The parts' floor per phase, summed over every source table (seconds)."""
    reference = Reference(
        {spec.name: frame for spec, frame in read_reference(sources / "reference",
                                                            reference_tables()).items()}
    )  # fmt: skip
    spent = {"read": 0.0, "validate": 0.0, "insert": 0.0}
    for name, spec in DOMAINS.items():
        for path in list_sources(sources, name).files:
            tables = read_tables(path, spec.sheets)  # the run's rows, untimed
            for label, raw in tables.items():
                sheet = label[len(path.name) + 1 : -1] if label != path.name else None
                start = time.perf_counter()
                _fastest_read(path, sheet)
                spent["read"] += time.perf_counter() - start
                steps = spec.steps(reference, NOTHING_LOADED)
                session = "etl_20240101_000000_000000"
                run = run_steps(raw, steps, session_id=session, domain=name, source_file=label)
                kept = run.kept
                gold = next(step for step in steps if step.name == "gold_validation")
                start = time.perf_counter()
                gold.run(kept)
                spent["validate"] += time.perf_counter() - start
                table = f"t_{name}_{abs(hash(label))}"
                spent["insert"] += inserts.insert(table, kept, spec.table)
    inserts.close()
    return spent


def _largest_frames_mib(sources: Path) -> tuple[float, float]:
    """(largest source file's frames, largest single table's frame) in MiB, as read.

    A workbook of several sheets is one file of several tables; its frames add up.
    """
    largest_file = largest_table = 0
    for name, spec in DOMAINS.items():
        for path in list_sources(sources, name).files:
            sizes = [
                int(frame.memory_usage(deep=True).sum())
                for frame in read_tables(path, spec.sheets).values()
            ]
            largest_file = max(largest_file, sum(sizes))
            largest_table = max(largest_table, *sizes)
    return largest_file / 2**20, largest_table / 2**20


def _baseline_rss_mib(folder: Path) -> float:
    """The peak RSS of a process that imports what wdh-etl imports, and does nothing."""
    code = "import work_data_hub.cli.etl, work_data_hub.workflows, python_calamine"
    return measured([sys.executable, "-c", code], folder / "baseline")[1]


def scenario_whole_run(repeats: int = 3, server: str | None = None) -> dict[str, Any]:
    """The whole-run figures: runs, floors, their ratios, RSS, rows per second per phase.

    ``server``: a PostgreSQL server's URL; each run and each floor gets a fresh
    database on it (else fresh SQLite files).
    """
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        sources, rows = make_sources(root / "sources")
        runs, floors, rss, summaries = [], [], [], []
        for attempt in range(repeats):
            run_folder = root / f"run{attempt}"
            run_folder.mkdir()
            db = f"sqlite:///{run_folder / 'wdh.db'}" if server is None else fresh_database(server)
            wall, peak, summary = _run(sources, run_folder, db)
            runs.append(wall)
            rss.append(peak)
            summaries.append(summary)
            inserts = (
                _SqliteFloor(run_folder) if server is None else _CopyFloor(fresh_database(server))
            )
            floors.append(sum(_floor(sources, inserts).values()))
        largest_file, largest_table = _largest_frames_mib(sources)
        baseline = _baseline_rss_mib(root)
    phases: dict[str, float] = {}
    for domain in summaries[-1]["domains"].values():
        for phase, seconds in domain["seconds"].items():
            phases[phase] = phases.get(phase, 0.0) + seconds
    return {
        "database": "SQLite" if server is None else "PostgreSQL",
        "rows": rows,
        "run": runs,
        "floor": floors,
        "ratio_median": statistics.median(runs) / statistics.median(floors),
        "ratio_fastest": min(runs) / min(floors),
        "peak_rss_mib": max(rss),
        "baseline_rss_mib": baseline,
        "largest_file_frames_mib": largest_file,
        "largest_table_frame_mib": largest_table,
        "phases": phases,
        "rows_per_second": {phase: rows / s for phase, s in phases.items() if s},
        "log_share": phases.get("log", 0.0) / statistics.median(runs),
    }


def targets(result: dict[str, Any]) -> list[tuple[str, float, float, bool, float | None]]:
    """The scenario's targets as (name, ratio, limit, at_least, fastest runs' ratio)."""
    growth = result["peak_rss_mib"] - result["baseline_rss_mib"]
    on = "" if result.get("database", "SQLite") == "SQLite" else f" on {result['database']}"
    return [
        (
            f"7. whole wdh-etl run{on} vs the floor of its parts (slow-down)",
            result["ratio_median"],
            2.5,
            False,
            result["ratio_fastest"],
        ),
        (
            f"7. peak RSS growth of the run{on} / largest source file's frames",
            growth / result["largest_file_frames_mib"],
            4,
            False,
            None,
        ),
    ]


def report_lines(result: dict[str, Any]) -> list[str]:
    """The scenario's section of RESULTS.md."""
    growth = result["peak_rss_mib"] - result["baseline_rss_mib"]
    runs = ", ".join(f"{s:.1f}" for s in result["run"])
    floors = ", ".join(f"{s:.1f}" for s in result["floor"])
    postgres = result.get("database") == "PostgreSQL"
    into, insert = (
        ("a fresh PostgreSQL database on the bench's own server", "a psycopg `COPY` of "
         "the kept rows (as CSV built beforehand) into an empty table of the same types")
        if postgres
        else ("a fresh SQLite file", "`sqlite3` `executemany` of the kept rows into an "
              "empty table")
    )  # fmt: skip
    lines = [
        f"## Scenario 7{' on PostgreSQL' if postgres else ''}: the whole run against the "
        "floor of its parts",
        "",
        f"`wdh-etl --all-domains --plain` over generated sources of {result['rows']:,} rows "
        f"(every domain; workbooks, one of two sheets, and CSVs) into {into}, "
        f"as a process, {len(result['run'])} times: {runs} s. The floor, measured in the "
        "same run for every source table: the fastest reader of its format (calamine, "
        "pyarrow), one pandera validation of the domain's gold schema over the kept rows, "
        f"{insert}: {floors} s.",
        "",
        "| measured | value |",
        "|---|---:|",
        f"| whole run / floor, medians | {result['ratio_median']:.2f} |",
        f"| whole run / floor, fastest runs | {result['ratio_fastest']:.2f} |",
        f"| peak RSS of the run | {result['peak_rss_mib']:.0f} MiB |",
        f"| peak RSS of a process that only imports what wdh-etl imports "
        f"| {result['baseline_rss_mib']:.0f} MiB |",
        f"| growth over that baseline | {growth:.0f} MiB |",
        f"| largest source file's frames as read (a two-sheet workbook) "
        f"| {result['largest_file_frames_mib']:.0f} MiB |",
        f"| largest single table's frame as read | {result['largest_table_frame_mib']:.0f} MiB |",
        f"| peak RSS (not growth) / largest file's frames "
        f"| {result['peak_rss_mib'] / result['largest_file_frames_mib']:.2f} |",
        f"| failure log's share of the run | {result['log_share']:.2%} |",
        "",
        "| phase (last run, summed over domains) | seconds | rows per second |",
        "|---|---:|---:|",
    ]
    for phase, seconds in result["phases"].items():
        rate = result["rows_per_second"].get(phase)
        lines.append(f"| {phase} | {seconds:.2f} | {'' if rate is None else f'{rate:,.0f}'} |")
    return lines


if __name__ == "__main__":
    print(json.dumps(scenario_whole_run(int(sys.argv[1]) if len(sys.argv) > 1 else 1), indent=2))
