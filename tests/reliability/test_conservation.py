"""10. Conservation on random sources: every row loaded or logged once, exactly as read.

Random CSV and Excel sources (typed workbook cells, blank rows, copies of
rows, stale dimension tags, any line ends) run through ``wdh-etl``. For every
file that did not error: the rows in the file (as a reference reader sees
them) are the rows loaded plus the rows logged (one per row, by the log's
latest-entry rule), disjoint; and each logged ``raw_data`` is the row as the
reference reader reads it. The reference readers are independent of the
product's: the standard ``csv`` module, and openpyxl's full (not read-only)
mode, which reads cells, not the ``<dimension>`` tag.

It runs on SQLite and on PostgreSQL (``db_url``): one database per test, its
tables dropped before each example; fewer examples on PostgreSQL, where each
costs a server round trip per statement.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from tests.helpers import drop_tables, is_sqlite, query_frame, stale_dimension
from tests.strategies import amount_cells, month_cells, name_cells, plan_cells
from work_data_hub.cli import etl
from work_data_hub.domain import annuity_performance
from work_data_hub.infrastructure.validation import FailureExporter, read_failures
from work_data_hub.infrastructure.validation._raw_values import encode_row

SESSION = "etl_20240401_090000_5eed00"
NO_FAILURES = ["source_file", "row_index", "raw_data"]
COLUMNS = [*annuity_performance.COLUMNS, "备注"]
CELLS = {
    "月度": month_cells,
    "计划代码": plan_cells,
    "客户名称": name_cells,
    **dict.fromkeys(annuity_performance.AMOUNTS, amount_cells),
    "备注": st.one_of(st.none(), st.sampled_from(["", "0012", "复核", "a,b", 'q"', "多\n行"])),
}


def _text(value: object) -> str:
    return "" if value is None else str(value)


@st.composite
def rows(draw: st.DrawFn) -> list[list[object] | None]:
    """Source rows, good and bad, some exact copies of others; None is a blank row."""
    drawn = [[draw(cell) for cell in CELLS.values()] for _ in range(draw(st.integers(1, 8)))]
    for copy in draw(st.lists(st.integers(0, len(drawn) - 1), max_size=2)):
        drawn.append(list(drawn[copy]))
    blanks = draw(st.lists(st.integers(0, len(drawn)), max_size=3))
    placed: list[list[object] | None] = list(drawn)
    for position in sorted(blanks, reverse=True):
        placed.insert(position, None)
    return placed


@st.composite
def sources(draw: st.DrawFn) -> list[tuple[str, dict]]:
    """One to three files: (name, how to write it)."""
    files = []
    for number in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            spec = {
                "rows": draw(rows()),
                "newline": draw(st.sampled_from(["\n", "\r\n", "\r"])),
                "blank": draw(st.sampled_from(["", ",,,,,,,"])),  # a blank line or only commas
            }
            files.append((f"2024-{number + 1:02d}.csv", spec))
        else:
            spec = {
                "rows": draw(rows()),
                "dimension": draw(st.sampled_from([None, "A1", "A1:B2", "A1:C200"])),
            }
            files.append((f"2024-{number + 1:02d}.xlsx", spec))
    return files


def _write(folder: Path, name: str, spec: dict) -> None:
    path = folder / name
    if name.endswith(".csv"):
        cells = [_text(v) for row in spec["rows"] if row for v in row]
        # a value with a line break is quoted (the csv module quotes its own only)
        breaks = any("\n" in cell or "\r" in cell for cell in cells)
        quoting = csv.QUOTE_ALL if breaks else csv.QUOTE_MINIMAL
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=spec["newline"], quoting=quoting)
        writer.writerow(COLUMNS)
        for row in spec["rows"]:
            if row is None:
                buffer.write(spec["blank"] + spec["newline"])
            else:
                writer.writerow([_text(value) for value in row])
        path.write_bytes(buffer.getvalue().encode())
        return
    book = Workbook()
    book.active.append(COLUMNS)
    for row in spec["rows"]:
        book.active.append([] if row is None else row)
    book.save(path)
    if spec["dimension"]:
        stale_dimension(path, spec["dimension"])


def _reference_rows(path: Path) -> dict[int, dict[str, object]]:
    """Row index -> the row as an independent reader sees it (fully empty rows left out)."""
    if path.suffix == ".csv":
        records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        header, body = records[0], records[1:]
        return {
            n: dict(zip(header, record[: len(header)], strict=True))
            for n, record in enumerate(body)
            if any(record)
        }
    sheet = load_workbook(path).active  # full mode: every cell, whatever the dimension tag
    cells = list(sheet.iter_rows(values_only=True))
    header = [name for name in cells[0] if name is not None]
    return {
        n: dict(zip(header, row[: len(header)], strict=False))
        for n, row in enumerate(cells[1:])
        if any(cell not in (None, "") for cell in row)
    }


#: Examples per dialect, (CI, dev).
EXAMPLES = {"sqlite": (40, 15), "postgresql": (15, 6)}


def test_every_row_is_loaded_or_logged_once_as_read(db_url: str) -> None:
    ci, dev = EXAMPLES["sqlite" if is_sqlite(db_url) else "postgresql"]

    @settings(
        max_examples=ci if os.environ.get("CI") else dev,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sources())
    def every_row_once(files: list[tuple[str, dict]]) -> None:
        drop_tables(db_url)  # one database per test, empty for each example
        _check(files, db_url)

    every_row_once()


def _check(files: list[tuple[str, dict]], db_url: str) -> None:
    """Run ``files`` into ``db_url``; every row loaded or logged once, as read."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = root / "sources" / "annuity_performance"
        source.mkdir(parents=True)
        (root / "sources" / "reference").mkdir()
        pd.DataFrame(
            {"计划代码": ["P0012", "P0013", "0012"], "计划名称": ["一", "二", "三"]}
        ).to_csv(root / "sources" / "reference" / "plans.csv", index=False)
        pd.DataFrame({"客户名称": ["上海浦江制造有限公司"], "company_id": ["C1"]}).to_csv(
            root / "sources" / "reference" / "company_mapping.csv", index=False
        )
        for name, spec in files:
            _write(source, name, spec)
        status = etl.main(
            [
                "--domain", "annuity_performance", "--source", str(root / "sources"),
                "--db", db_url, "--logs-dir", str(root / "logs"),
                "--session-id", SESSION, "--plain",
                "--summary-json", str(root / "run.json"),
            ]
        )  # fmt: skip
        assert status == 0
        log = FailureExporter(SESSION, root / "logs").output_file
        failures = read_failures(log) if log.exists() else pd.DataFrame(columns=NO_FAILURES)
        loaded = query_frame(db_url, "SELECT source_file, row_index FROM annuity_performance")
        event("some rows loaded" if len(loaded) else "no row loaded")
        for name, _spec in files:
            expected = _reference_rows(source / name)
            logged = failures[failures["source_file"] == name]
            kept = set(loaded.loc[loaded["source_file"] == name, "row_index"])
            places = list(logged["row_index"].astype(int))
            assert len(places) == len(set(places)), f"{name}: a row logged twice"
            assert not kept & set(places), f"{name}: a row both loaded and logged"
            assert kept | set(places) == set(expected), f"{name}: rows lost or invented"
            for place, raw_data in zip(places, logged["raw_data"], strict=True):
                assert raw_data == encode_row(expected[place]), (name, place)
