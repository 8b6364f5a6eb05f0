import pandas as pd
import pytest
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
    (tmp_path / "out").mkdir()
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
    # (a lone CR would read back as LF from the XML: it is shown, as every control is)
    assert values == ['=HYPERLINK("http://x")', "+1", "-3", "@SUM(A1)", "\t=1", "\\x0d=1", "ok"]
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


def test_control_characters_are_shown_and_the_rest_kept(tmp_path):
    raw = pd.DataFrame({"note\x01": ["a\x00b", "\x1b[31mred\x1b[0m", "tab\tand\nline", "中文"]})
    log = write_log(tmp_path, SESSION, [("d\x07", "f\x1b.csv", "VALIDATION_FAILED", raw)])
    book = load_workbook(to_excel(read_failures(log), tmp_path / "f.xlsx"))
    (domain_sheet,) = [name for name in book.sheetnames if name != "summary"]
    rows = list(book[domain_sheet].values)
    assert rows[0][4] == "note\\x01"
    assert [row[0] for row in rows[1:]] == ["f\\x1b.csv"] * 4
    assert [row[4] for row in rows[1:]] == [
        "a\\x00b",
        "\\x1b[31mred\\x1b[0m",
        "tab\tand\nline",
        "中文",
    ]


def test_a_domain_over_the_sheet_limit_is_refused_before_any_work(tmp_path, monkeypatch):
    from work_data_hub.analysis import excel
    from work_data_hub.errors import ExcelLimitError

    monkeypatch.setattr(excel, "EXCEL_MAX_ROWS", 4)  # the limit, scaled down to a test's size
    raw = pd.DataFrame({"x": range(5)})
    failures = read_failures(
        write_log(tmp_path, SESSION, [("big", "f.csv", "VALIDATION_FAILED", raw)])
    )
    with pytest.raises(ExcelLimitError, match="domain 'big' has 5 failed rows, more than an Excel"):
        excel.to_excel(failures, tmp_path / "f.xlsx")
    assert not (tmp_path / "f.xlsx").exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("folder", "is a folder"),
        ("missing/f.xlsx", "no folder"),
        ("f.csv", r"name it \*\.xlsx"),
    ],
)
def test_an_output_path_that_cannot_be_the_workbook_is_refused(tmp_path, name, message):
    from work_data_hub.errors import OutputPathError

    (tmp_path / "folder").mkdir()
    failures = read_failures(
        write_log(tmp_path, SESSION, [("d", "f", "VALIDATION_FAILED", pd.DataFrame({"x": [1]}))])
    )
    with pytest.raises(OutputPathError, match=message):
        to_excel(failures, tmp_path / name)
    assert not (tmp_path / "missing").exists()
    assert not (tmp_path / "f.csv").exists()


def test_text_longer_than_a_cell_is_cut_with_a_visible_mark(tmp_path):
    long = "长" * 40_000
    failures = read_failures(
        write_log(
            tmp_path, SESSION, [("d", "f", "VALIDATION_FAILED", pd.DataFrame({"x": [long, "ok"]}))]
        )
    )
    rows = list(load_workbook(to_excel(failures, tmp_path / "f.xlsx"))["d"].values)
    cut, whole = rows[1][4], rows[2][4]
    assert len(cut) <= 32_767
    assert cut.startswith("长" * 32_000)
    assert cut.endswith(f"… [cut: {40_000 - (32_767 - 80):,} more characters; the CSV log has all]")
    assert whole == "ok"
