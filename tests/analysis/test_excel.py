import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.helpers import write_log
from work_data_hub.analysis import to_excel
from work_data_hub.infrastructure.validation import read_failures

SESSION = "etl_20240302_090000_bbbbbb"
#: source_file, row_index, sheet_row, error_type, timestamp, then the source columns
FIRST_RAW = 5


def _table(sheet):
    """A sheet's rows from its header row on (the summary sheet opens with labels)."""
    rows = list(sheet.values)
    start = next(n for n, row in enumerate(rows) if row and row[0] in ("domain", "source_file"))
    return rows[start:]


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
    summary = _table(book["summary"])
    assert summary[0][:3] == ("domain", "source_file", "VALIDATION_FAILED")
    assert summary[-1][0] == "total"
    assert summary[-1][-1] == 5
    rows = list(book["annuity_performance"].values)
    assert rows[0] == (
        "source_file",
        "row_index",
        "sheet_row",
        "error_type",
        "timestamp",
        "计划代码",
        "客户名称",
        "规模",
        "raw_data",
    )
    assert rows[1][:4] == ("a.xlsx", 0, 2, "VALIDATION_FAILED")
    assert rows[1][5:8] == ("P1", "甲", 1.5)  # Chinese text and numbers as themselves
    assert rows[1][8] == '{"计划代码":"P1","客户名称":"甲","规模":1.5}'  # as logged
    assert rows[2][7] is None
    income = list(book["annuity_income"].values)
    assert income[-1][7] == 2**60  # a float column: Excel holds the float


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
    values = [row[FIRST_RAW] for row in sheet.values][1:]
    # (a lone CR would read back as LF from the XML: it is shown, as every control is)
    # "-3" is a number, not a formula: it is written as one (-3)
    assert values == ['=HYPERLINK("http://x")', "+1", -3, "@SUM(A1)", "\t=1", "\\x0d=1", "ok"]
    summary = book["summary"]
    assert all(cell.data_type != "f" for row in summary.iter_rows() for cell in row)


def test_huge_integers_are_text_not_rounded(tmp_path):
    # Excel keeps 15 significant digits: 16 and more would be rounded as numbers
    ids = [2**62 + 1, 10**15 + 1, 10**15 - 1, 7]
    raw = pd.DataFrame({"id": pd.array(ids, dtype="Int64")})
    failures = read_failures(write_log(tmp_path, SESSION, [("d", "f", "VALIDATION_FAILED", raw)]))
    book = load_workbook(to_excel(failures, tmp_path / "f.xlsx"))
    assert [row[FIRST_RAW] for row in book["d"].values][1:] == [
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
    assert rows[0][FIRST_RAW] == "note\\x01"
    assert [row[0] for row in rows[1:]] == ["f\\x1b.csv"] * 4
    assert [row[FIRST_RAW] for row in rows[1:]] == [
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
    cut, whole = rows[1][FIRST_RAW], rows[2][FIRST_RAW]
    assert len(cut) <= 32_767
    assert cut.startswith("长" * 32_000)
    assert cut.endswith(f"… [cut: {40_000 - (32_767 - 80):,} more characters; the CSV log has all]")
    assert whole == "ok"


def test_sheets_are_made_to_be_read(tmp_path):
    raw = pd.DataFrame(
        {
            "计划代码": ["P1", "P2"],
            "客户名称": ["上海浦江制造有限公司", "乙"],
            "备注": ["x" * 500, ""],
        }
    )
    log = write_log(tmp_path, SESSION, [("d", "2024-01.xlsx[规模明细]", "VALIDATION_FAILED", raw)])
    book = load_workbook(to_excel(read_failures(log), tmp_path / "f.xlsx"))
    for sheet in book:
        header = _table(sheet)[0]
        first = next(n for n, row in enumerate(sheet.values, start=1) if row[0] == header[0])
        assert sheet.freeze_panes == f"A{first + 1}"  # scrolling keeps the header in view
        assert sheet.auto_filter.ref.startswith(f"A{first}:")
        assert all(cell.font.b for cell in sheet[first] if cell.value is not None)
    sheet = book["d"]
    assert sheet.auto_filter.ref == "A1:I3"
    widths = {cell.value: sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]}
    # nothing cut: the longest value (+2 for the filter button), CJK counting double
    assert widths["source_file"] == len("2024-01.xlsx[") + 2 * len("规模明细") + 1 + 2
    assert widths["error_type"] == len("VALIDATION_FAILED") + 2
    assert widths["timestamp"] == len("2024-03-02 09:00:00.000000+00:00") + 2
    assert widths["客户名称"] == 2 * len("上海浦江制造有限公司") + 2
    assert widths["sheet_row"] == len("sheet_row") + 2
    assert widths["备注"] == widths["raw_data"] == 60  # capped


def test_the_summary_sheet_names_the_sessions_and_the_log(tmp_path):
    rows = pd.DataFrame({"x": ["1"]})
    log = write_log(tmp_path, SESSION, [("d", "f.csv", "VALIDATION_FAILED", rows)])
    summary = load_workbook(to_excel(read_failures(log), tmp_path / "f.xlsx", log=log))["summary"]
    assert list(summary.values)[:3] == [
        ("session", SESSION, *[None] * 5),
        ("failure log", str(log.resolve()), *[None] * 5),
        ("failed rows", 1, *[None] * 5),
    ]
    other = write_log(
        tmp_path, "etl_20240303_090000_cccccc", [("d", "g.csv", "VALIDATION_FAILED", rows)]
    )
    both = pd.concat([read_failures(log), read_failures(other)], ignore_index=True)
    summary = load_workbook(to_excel(both, tmp_path / "g.xlsx"))["summary"]
    assert next(iter(summary.values))[:2] == ("sessions", f"{SESSION}, etl_20240303_090000_cccccc")


def test_text_that_is_exactly_a_decimal_number_is_a_number_shown_as_written(tmp_path):
    # as read from a CSV: every value is text, and stays text in raw_data
    texts = ["3107.90", "-12", "0.5", "0012", "1e5", "+5", "1,234", "-0", "12345678901234567", "7"]
    log = write_log(
        tmp_path, SESSION, [("d", "f.csv", "VALIDATION_FAILED", pd.DataFrame({"金额": texts}))]
    )
    sheet = load_workbook(to_excel(read_failures(log), tmp_path / "f.xlsx"))["d"]
    cells = [row[FIRST_RAW] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == [
        3107.9,
        -12,
        0.5,
        "0012",
        "1e5",
        "+5",
        "1,234",
        "-0",
        "12345678901234567",
        7,
    ]
    assert [cell.data_type for cell in cells[:3]] == ["n", "n", "n"]  # SUM counts them
    # shown as the text read: 3107.90, not 3107.9
    assert [cell.number_format for cell in cells[:3]] == ["0.00", "0", "0.0"]
    # and the text itself on a second look: raw_data, the last column, as logged
    logged = [row[-1].value for row in sheet.iter_rows(min_row=2)]
    assert logged[0] == '{"金额":"3107.90"}'
