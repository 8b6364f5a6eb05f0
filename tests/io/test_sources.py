import datetime as dt

import pytest
from openpyxl import Workbook

from work_data_hub.errors import SourceFileError
from work_data_hub.io.sources import read_source


def _xlsx(path, rows, *, extra_sheet=False):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        book.create_sheet("other").append(["not", "read"])
    book.save(path)
    return path


def test_csv_cells_are_text_as_written(tmp_path):
    path = tmp_path / "2024-03.csv"
    path.write_text('月度,计划代码,客户名称\n202403,0012,"甲,乙"\n202403,,\n', encoding="utf-8")
    frame = read_source(path)
    assert frame.index.tolist() == [0, 1]
    assert frame.to_dict("records") == [
        {"月度": "202403", "计划代码": "0012", "客户名称": "甲,乙"},
        {"月度": "202403", "计划代码": "", "客户名称": ""},
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(tmp_path, encoding):
    path = tmp_path / "a.csv"
    path.write_bytes("计划代码,客户名称\nP1,上海浦江\n".encode(encoding))
    assert read_source(path).columns.tolist() == ["计划代码", "客户名称"]
    assert read_source(path).iloc[0]["客户名称"] == "上海浦江"


def test_xlsx_first_sheet_keeps_excel_types(tmp_path):
    path = _xlsx(
        tmp_path / "2024-03.xlsx",
        [
            ["月度", "计划代码", "期末资产规模", "户数"],
            [dt.datetime(2024, 3, 1), "0012", 1.5, 3],
            [None, "P2", None, None],
            [None, None, None, None],  # formatted but empty trailing row
        ],
        extra_sheet=True,
    )
    frame = read_source(path)
    assert frame.index.tolist() == [0, 1]
    assert frame.iloc[0].tolist() == [dt.datetime(2024, 3, 1), "0012", 1.5, 3]
    assert frame.iloc[1]["计划代码"] == "P2"
    assert frame.iloc[1]["期末资产规模"] is None


def test_header_only_files_have_no_rows(tmp_path):
    (tmp_path / "a.csv").write_text("计划代码,客户名称\n", encoding="utf-8")
    assert read_source(tmp_path / "a.csv").empty
    assert read_source(_xlsx(tmp_path / "b.xlsx", [["计划代码"]])).empty


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty.csv is empty: no header row"),
        ("blank.csv", b"\n\n", "is empty"),
        ("corrupt.xlsx", b"PK\x03\x04 not really a zip", "not a readable .xlsx workbook"),
        ("notes.txt", b"hello", "only .csv, .xlsx sources are read"),
        ("dup.csv", b"a,b,a\n1,2,3\n", "duplicate column names ['a']"),
        ("binary.csv", bytes(range(128, 256)) * 4, "neither UTF-8 nor GB18030"),
    ],
)
def test_bad_sources_get_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_source(path)


def test_missing_and_empty_workbooks(tmp_path):
    with pytest.raises(SourceFileError, match="does not exist"):
        read_source(tmp_path / "missing.xlsx")
    with pytest.raises(SourceFileError, match="first sheet has no header row"):
        read_source(_xlsx(tmp_path / "empty.xlsx", []))
    with pytest.raises(SourceFileError, match="duplicate column names"):
        read_source(_xlsx(tmp_path / "dup.xlsx", [["a", "a"], [1, 2]]))
