import pandas as pd
from openpyxl import load_workbook

from tests.helpers import write_log
from work_data_hub.analysis import to_excel
from work_data_hub.infrastructure.validation import read_failures

SESSION = "etl_20240302_090000_bbbbbb"


def test_summary_and_one_sheet_per_domain_with_raw_columns(tmp_path, raw):
    typed = raw.assign(规模=[1.5, None, 3.25, 4.0, 2**60])
    failures = read_failures(
        write_log(
            tmp_path,
            SESSION,
            [
                ("annuity_performance", "a.xlsx", "VALIDATION_FAILED", typed.iloc[:2]),
                ("annuity_income", "b.csv", "ENRICHMENT_FAILED", typed.iloc[2:]),
            ],
        )
    )
    path = to_excel(failures, tmp_path / "out" / "failures.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["summary", "annuity_income", "annuity_performance"]
    summary = list(book["summary"].values)
    assert summary[0][:3] == ("domain", "source_file", "VALIDATION_FAILED")
    assert summary[-1][0] == "total"
    assert summary[-1][-1] == 5
    rows = list(book["annuity_performance"].values)
    assert rows[0] == (
        "source_file",
        "row_index",
        "error_type",
        "timestamp",
        "计划代码",
        "客户名称",
        "规模",
    )
    assert rows[1][:3] == ("a.xlsx", 0, "VALIDATION_FAILED")
    assert rows[1][4:] == ("P1", "甲", 1.5)  # Chinese text and numbers as themselves
    assert rows[2][6] is None
    income = list(book["annuity_income"].values)
    assert income[-1][6] == 2**60  # a float column: Excel holds the float


def test_formula_like_text_is_stored_as_text(tmp_path):
    raw = pd.DataFrame(
        {"note": ['=HYPERLINK("http://x")', "+1", "-3", "@SUM(A1)", "\t=1", "\r=1", "ok"]}
    )
    failures = read_failures(
        write_log(
            tmp_path, SESSION, [("=cmd|' /C calc'!A0", "@evil.csv", "DROPPED_IN_PIPELINE", raw)]
        )
    )
    path = to_excel(failures, tmp_path / "f.xlsx")
    book = load_workbook(path)
    (domain_sheet,) = [name for name in book.sheetnames if name != "summary"]
    sheet = book[domain_sheet]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.value
    values = [row[4] for row in sheet.values][1:]
    # (XML readers turn a lone CR in cell text into LF; the CSV log keeps it)
    assert values == ['=HYPERLINK("http://x")', "+1", "-3", "@SUM(A1)", "\t=1", "\n=1", "ok"]
    summary = book["summary"]
    assert all(cell.data_type != "f" for row in summary.iter_rows() for cell in row)


def test_huge_integers_are_text_not_rounded(tmp_path):
    # Excel keeps 15 significant digits: 16 and more would be rounded as numbers
    ids = [2**62 + 1, 10**15 + 1, 10**15 - 1, 7]
    raw = pd.DataFrame({"id": pd.array(ids, dtype="Int64")})
    failures = read_failures(write_log(tmp_path, SESSION, [("d", "f", "VALIDATION_FAILED", raw)]))
    book = load_workbook(to_excel(failures, tmp_path / "f.xlsx"))
    assert [row[4] for row in book["d"].values][1:] == [
        str(2**62 + 1),
        str(10**15 + 1),
        10**15 - 1,
        7,
    ]
