"""``annual_award`` end to end: a hand-made two-sheet workbook and a CSV, every row's fate known.

Through the real commands (``wdh-etl``, ``wdh-failures``, ``wdh-etl replay``),
a real database of each dialect (``db_url``): each row is loaded with the
canonical values, or logged under its sheet (``<file>[<sheet>]``) with the
error type the domain's rules give it; explain names the step; the commands
filter a workbook by name.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from openpyxl import Workbook

from tests.helpers import query, query_frame, wdh_etl, wdh_failures

COLUMNS = [
    "上报月份", "业务类型", "客户全称", "年金计划号", "机构", "中标日期", "计划类型",
    "计划规模", "年缴规模", "备注", "区域", "年金中心", "上报人",
]  # fmt: skip
OK = "上海浦江制造有限公司"
D = dt.datetime(2024, 3, 8)
TRUSTEE = [  # (row, its fate)
    ([202403, "受托", OK, "P0012", "北京分行", D, "集合", 1e8, 2e6, None, "华北", "中心", "张三"],
     "loaded"),
    (["2024-03", "企年受托", f" {OK}\u3000", "", "", "2024/3/9", "单一", "", "", "0012", None,
      None, None], "loaded"),  # trimmed name; plan AN002 by type; branch G00
    (["2024-13", "受托", OK, "P0012", "北京分行", D, "集合", 1, 1, None, None, None, None],
     "VALIDATION_FAILED"),  # no such month
    (["2024-03", "受托", OK, "", "", D, "", 1, 1, None, None, None, None],
     "VALIDATION_FAILED"),  # neither a plan number nor a plan type
    (["2024-03", "受托", "合计", "P0012", "", None, "集合", 9, 9, None, None, None, None],
     "DROPPED_IN_PIPELINE"),  # a subtotal
    ([202403, "受托", OK, "P0012", "北京分行", D, "集合", 1e8, 2e6, None, "华北", "中心", "张三"],
     "DROPPED_IN_PIPELINE"),  # a copy of row 0
    (["2024-03", "受托", "未知客户", "P0012", "", D, "集合", 1, 1, None, None, None, None],
     "ENRICHMENT_FAILED"),  # no company
]  # fmt: skip
INVESTMENT = [
    ([202403, "投管", OK, "P0013", "上海分行", D, "集合计划", 5, 0.5, None, None, None, None],
     "loaded"),  # 投管 is 企年投资, PL201
    ([202403, "投资", OK, "P0013", "火星分行", D, "集合", 5, 0.5, None, None, None, None],
     "ENRICHMENT_FAILED"),  # no such branch
    ([202403, "投资", OK, "P9999", "", D, "集合", 5, 0.5, None, None, None, None],
     "FK_CONSTRAINT_VIOLATION"),  # no such plan
    ([202403, "投资", OK, "P0013", "", "2024-02-30", "集合", 5, 0.5, None, None, None, None],
     "VALIDATION_FAILED"),  # no such day
    # a copy of the trustee sheet's row 0 is no copy here: duplicates are within a sheet
    ([202403, "受托", OK, "P0012", "北京分行", D, "集合", 1e8, 2e6, None, "华北", "中心", "张三"],
     "loaded"),
]  # fmt: skip
CSV = [
    (["2024-03", "投资", OK, "AN001", "深圳分行", "2024-03-01", "集合", "7.5", "1", "", "", "", ""],
     "loaded"),
    (["2024-03", "其他", OK, "AN001", "", "", "集合", "7.5", "1", "", "", "", ""],
     "VALIDATION_FAILED"),  # no such business type
    (["2024-03", "受托", OK, "AN001", "", "", "集合", "-7.5", "inf", "", "", "", ""],
     "VALIDATION_FAILED"),  # a negative and an infinite amount
]  # fmt: skip


@pytest.fixture
def sources(tmp_path):
    root = tmp_path / "data" / "samples"
    (root / "reference").mkdir(parents=True)
    plans = pd.DataFrame({"计划代码": ["P0012", "P0013", "AN001", "AN002"], "计划名称": "计划"})
    plans.to_csv(root / "reference" / "plans.csv", index=False)
    companies = pd.DataFrame({"客户名称": [OK], "company_id": ["C1"]})
    companies.to_csv(root / "reference" / "company_mapping.csv", index=False)
    branches = pd.DataFrame({"机构名称": ["北京分行", "上海分行", "深圳分行"],
                             "机构代码": ["G01", "G02", "G03"]})  # fmt: skip
    branches.to_csv(root / "reference" / "branches.csv", index=False)
    folder = root / "annual_award"
    folder.mkdir()
    book = Workbook()
    book.remove(book.active)
    for sheet, rows in (("企年受托中标", TRUSTEE), ("企年投资中标", INVESTMENT)):
        table = book.create_sheet(sheet)
        table.append(COLUMNS)
        for row, _ in rows:
            table.append(row)
    book.create_sheet("说明").append(["not", "read"])  # a sheet the domain does not name
    book.save(folder / "2024-03.xlsx")
    pd.DataFrame([row for row, _ in CSV], columns=COLUMNS).to_csv(
        folder / "2024-04.csv", index=False
    )
    return root


def _fates(rows):
    return {n: fate for n, (_, fate) in enumerate(rows)}


def test_every_row_is_loaded_or_logged_as_its_rules_say(sources, db_url):
    root = sources.parents[1]
    result = wdh_etl(
        "--domain", "annual_award", "--db", db_url, "--plain", "--summary-json", "run.json",
        cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((root / "run.json").read_text(encoding="utf-8"))
    files = summary["domains"]["annual_award"]["files"]
    assert list(files) == [
        "2024-03.xlsx[企年受托中标]",
        "2024-03.xlsx[企年投资中标]",
        "2024-04.csv",
    ]
    expected = {
        "2024-03.xlsx[企年受托中标]": _fates(TRUSTEE),
        "2024-03.xlsx[企年投资中标]": _fates(INVESTMENT),
        "2024-04.csv": _fates(CSV),
    }
    logged = pd.read_csv(summary["failure_log"], dtype=str, keep_default_na=False)
    loaded = query_frame(db_url, "SELECT * FROM annual_award")
    loaded = loaded.sort_values(["source_file", "row_index"], ignore_index=True)  # any collation
    for label, fates in expected.items():
        failed = logged[logged["source_file"] == label]
        got = {int(n): t for n, t in zip(failed["row_index"], failed["error_type"], strict=True)}
        got |= {int(n): "loaded" for n in loaded.loc[loaded["source_file"] == label, "row_index"]}
        assert got == fates, label
    first = loaded.iloc[0]
    derived = ["业务类型", "产品线代码", "年金计划号", "计划类型", "机构代码", "company_id"]
    assert first[derived].tolist() == ["企年受托", "PL202", "P0012", "集合计划", "G01", "C1"]
    second = loaded.iloc[1]
    assert second[["上报客户名称", "年金计划号", "计划类型", "机构代码"]].tolist() == [
        f" {OK}\u3000", "AN002", "单一计划", "G00"
    ]  # fmt: skip
    assert pd.Timestamp(second["上报月份"]) == pd.Timestamp("2024-03-01")
    assert pd.Timestamp(second["中标日期"]) == pd.Timestamp("2024-03-09")
    investment = loaded[loaded["source_file"] == "2024-03.xlsx[企年投资中标]"].iloc[0]
    assert investment[["业务类型", "产品线代码"]].tolist() == ["企年投资", "PL201"]
    # the columns that are not loaded are nowhere in the table, and kept as read in the log
    assert not {"区域", "年金中心", "上报人"} & set(loaded.columns)
    assert first["extra"] is None  # no column beyond the table's and the dropped ones
    raw = json.loads(logged[logged["error_type"] == "DROPPED_IN_PIPELINE"]["raw_data"].iloc[1])
    assert raw["区域"] == "华北"


def test_commands_take_a_workbook_for_all_its_sheets(sources, db_url):
    root = sources.parents[1]
    run = wdh_etl("--domain", "annual_award", "--db", db_url, "--plain", cwd=root)
    assert run.returncode == 0, run.stderr
    shown = json.loads(wdh_failures("show", "--source-file", "2024-03.xlsx", "--json",
                                    "--limit", "100", cwd=root).stdout)  # fmt: skip
    assert {row["source_file"] for row in shown} == {
        "2024-03.xlsx[企年受托中标]",
        "2024-03.xlsx[企年投资中标]",
    }
    assert len(shown) == 5 + 3
    explained = json.loads(
        wdh_failures("explain", "--source-file", "2024-03.xlsx", "--json", cwd=root).stdout
    )["explained"]
    steps = {(row["source_file"], row["row_index"]): row["step"] for row in explained}
    assert steps[("2024-03.xlsx[企年受托中标]", 3)] == "bronze_validation"
    assert steps[("2024-03.xlsx[企年投资中标]", 1)] == "enrich_branch"
    assert steps[("2024-03.xlsx[企年投资中标]", 2)] == "plan_exists"
    # the branch gets its code, and the replay loads that row into its sheet's place
    branches = sources / "reference" / "branches.csv"
    branches.write_text(branches.read_text(encoding="utf-8") + "火星分行,G99\n", encoding="utf-8")
    reference = str(sources / "reference")
    replay = wdh_etl(
        "replay", "--source-file", "2024-03.xlsx", "--reference", reference, "--plain", cwd=root
    )
    assert replay.returncode == 0, replay.stderr
    [row] = query(
        db_url,
        'SELECT "机构代码", replayed_from FROM annual_award '
        "WHERE source_file = '2024-03.xlsx[企年投资中标]' AND row_index = 1",
    )
    assert row[0] == "G99"
    assert row[1] is not None
