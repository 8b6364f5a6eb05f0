import csv
import datetime as dt
import io
import os

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from tests.helpers import rewrite_workbook, stale_dimension
from work_data_hub.errors import SourceFileError
from work_data_hub.io import _csv_reader
from work_data_hub.io.sources import list_sources, parse_size, read_source, source_digest


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
    with pytest.raises(SourceFileError, match="first row holds no header"):
        read_source(_xlsx(tmp_path / "empty.xlsx", []))
    with pytest.raises(SourceFileError, match="duplicate column names"):
        read_source(_xlsx(tmp_path / "dup.xlsx", [["a", "a"], [1, 2]]))


# -- what real spreadsheets and exports do (the reliability issue, items 1, 2, 16-18) ----

ROWS = [
    [f"2024-0{n % 9 + 1}", f"P{n:04d}", f"客户{n}", n * 1.5, n, "备注", n % 2] for n in range(100)
]
HEADER = ["月度", "计划代码", "客户名称", "期初资产规模", "户数", "备注", "标记"]


@pytest.mark.parametrize("ref", ["A1", "A1:G2", "A1:C101", "B3:B3"])
def test_a_stale_dimension_tag_loses_no_row_or_column(tmp_path, ref):
    path = stale_dimension(_xlsx(tmp_path / "2024-01.xlsx", [HEADER, *ROWS]), ref)
    assert f'<dimension ref="{ref}"/>' in _sheet_xml(path)
    frame = read_source(path)
    assert frame.columns.tolist() == HEADER
    assert frame.index.tolist() == list(range(100))
    assert frame.to_numpy().tolist() == ROWS


def _sheet_xml(path):
    book = load_workbook(path)  # sanity: still a workbook
    assert book.active.max_row == 101
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


def test_blank_rows_are_skipped_and_later_rows_keep_their_places(tmp_path):
    """One rule for CSV and Excel: index N is sheet row N + 2, blank rows are no data."""
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("a,b\n1,x\n\n,\n2,y\n\n", encoding="utf-8")
    book = _xlsx(tmp_path / "a.xlsx", [["a", "b"], ["1", "x"], [None, None], ["", ""], ["2", "y"]])
    for path in (csv_path, book):
        frame = read_source(path)
        assert frame.index.tolist() == [0, 3], path.name
        assert frame["a"].tolist() == ["1", "2"], path.name


def test_a_stray_cell_at_the_last_sheet_row_is_no_million_rows(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["a", "b"])
    sheet.append(["1", "x"])
    sheet.cell(row=1_048_576, column=2).number_format = "0.00"  # formatted, no value
    sheet.cell(row=1_048_575, column=1, value="stray")
    book.save(tmp_path / "stray.xlsx")
    frame = read_source(tmp_path / "stray.xlsx")
    assert frame.index.tolist() == [0, 1_048_573]  # sheet rows 2 and 1,048,575
    assert frame["a"].tolist() == ["1", "stray"]


def test_a_value_right_of_the_header_refuses_the_workbook(tmp_path):
    path = _xlsx(tmp_path / "wide.xlsx", [["a", "b"], ["1", "2"], ["3", "4", None, "note"]])
    with pytest.raises(SourceFileError, match=r"wide.xlsx row 3 has a value in column D, right"):
        read_source(path)


def test_trailing_empty_header_cells_are_not_columns(tmp_path):
    path = _xlsx(tmp_path / "a.xlsx", [["a", "b", None, ""], ["1", "2", None, ""]])
    assert read_source(path).columns.tolist() == ["a", "b"]


def test_the_first_visible_sheet_is_read(tmp_path):
    book = Workbook()
    book.active.title = "lookup"
    book.active.append(["code", "name"])
    book.active.append(["x", "y"])
    book.active.sheet_state = "hidden"
    data = book.create_sheet("data")
    data.append(["a", "b"])
    data.append(["1", "2"])
    book.save(tmp_path / "hidden.xlsx")
    assert read_source(tmp_path / "hidden.xlsx").to_dict("records") == [{"a": "1", "b": "2"}]
    none = tmp_path / "none.xlsx"  # (openpyxl will not write this: a real writer might)
    none.write_bytes((tmp_path / "hidden.xlsx").read_bytes())
    rewrite_workbook(none, lambda _name, data: data.replace(b'state="visible"', b'state="hidden"'))
    with pytest.raises(SourceFileError, match="no visible worksheet"):
        read_source(none)


def test_corrupt_sheet_xml_and_text_in_a_number_cell_are_file_errors(tmp_path):
    good = _xlsx(tmp_path / "good.xlsx", [["a", "b"], ["x", 1.5]])
    corrupt = rewrite_workbook(
        (tmp_path / "corrupt.xlsx").write_bytes(good.read_bytes()) and tmp_path / "corrupt.xlsx",
        lambda name, data: (
            data.replace(b"</sheetData>", b"</sheetDat>")
            if name.startswith("xl/worksheets/")
            else data
        ),
    )
    with pytest.raises(SourceFileError, match=r"corrupt.xlsx is not a readable \.xlsx workbook"):
        read_source(corrupt)
    text_number = tmp_path / "text_number.xlsx"
    text_number.write_bytes(good.read_bytes())
    rewrite_workbook(
        text_number,
        lambda name, data: (
            data.replace(b"<v>1.5</v>", b"<v>abc</v>")
            if name.startswith("xl/worksheets/")
            else data
        ),
    )
    with pytest.raises(SourceFileError, match=r"text_number\.xlsx is not a readable"):
        read_source(text_number)


def test_a_file_name_that_is_not_utf8_is_refused_by_name(tmp_path):
    path = tmp_path / os.fsdecode(b"2024-\xb0\xb3.csv")
    path.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"2024-\\xb0\\xb3.csv: the file name is not UTF-8"):
        read_source(path)


def test_lock_and_hidden_files_are_not_sources(tmp_path):
    folder = tmp_path / "annuity_performance"
    folder.mkdir()
    for name in ("2024-03.xlsx", "~$2024-03.xlsx", ".draft.csv", "2024-02.csv", "notes.txt"):
        (folder / name).write_bytes(b"")
    listing = list_sources(tmp_path, "annuity_performance")
    assert [p.name for p in listing.files] == ["2024-02.csv", "2024-03.xlsx"]
    assert sorted(listing.skipped) == [".draft.csv", "~$2024-03.xlsx"]
    assert "lock file" in listing.skipped["~$2024-03.xlsx"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_line_ends_of_any_kind(tmp_path, newline):
    path = tmp_path / "a.csv"
    text = newline.join(["月度,计划代码", '202403,"P1', 'x"', "202404,P2", ""])
    path.write_bytes(text.encode())
    frame = read_source(path)
    assert frame.to_dict("records") == [
        {"月度": "202403", "计划代码": f"P1{newline}x"},
        {"月度": "202404", "计划代码": "P2"},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,202403,P1\n2,202404,P2\n", "line 2 has 3 fields, more than the header's 2"),
        ("202403,P1\n202404\n", "line 3 has 1 fields, fewer than the header's 2"),
        ('202403,"P1\nP2"\n202404,P2,x\n', "line 4 has 3 fields"),
    ],
)
def test_a_csv_record_that_does_not_line_up_refuses_the_file(tmp_path, body, message):
    path = tmp_path / "a.csv"
    path.write_text("月度,计划代码\n" + body, encoding="utf-8")
    with pytest.raises(SourceFileError, match=message):
        read_source(path)


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ('202403,"急 需核对\n202404,P2\n202405,P3\n', "line 2: a quoted value in this record is "
         "never closed, so lines 2-4"),
        ('202403,P1\n"202404,P2\n202405,P3\n', "line 3: .* lines 3-4"),
        ('202403,"P1\nP2"\n202404,"P2""\n', "line 4: .* lines 4-4"),  # "" is a quote inside
        ('202403,P1\r"202404,P2\r202405,P3\r', "line 3: .* lines 3-4"),  # CR-only line ends
    ],
)  # fmt: skip
def test_a_quote_never_closed_refuses_the_file_naming_its_line(tmp_path, body, line):
    """Every line after such a quote would be read as one value, their records lost."""
    path = tmp_path / "a.csv"
    path.write_text("月度,计划代码\n" + body, encoding="utf-8")
    with pytest.raises(SourceFileError, match=line):
        read_source(path)


def test_quotes_inside_values_that_close_are_data(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('a,b\nx"y,"p""q"\n"r"s,"\n"\n', encoding="utf-8")
    assert read_source(path).to_dict("records") == [
        {"a": 'x"y', "b": 'p"q'},
        {"a": "rs", "b": "\n"},
    ]


def _open_at_end(text: str) -> bool:
    """Reference: the ``csv`` module's states (strict=False, as in CPython's _csv.c) at
    the end of ``text``, char by char: is a quoted field open?"""
    state = "start_field"
    for char in text:
        if state == "start_field":
            state = "quoted" if char == '"' else "start_field" if char in ",\r\n" else "field"
        elif state == "field":
            state = "start_field" if char in ",\r\n" else "field"
        elif state == "quoted":
            state = "quote_in_quoted" if char == '"' else "quoted"
        else:  # quote_in_quoted: "" is a quote, a separator ends the field, else text
            state = "quoted" if char == '"' else "start_field" if char in ",\r\n" else "field"
    return state == "quoted"


@given(st.text(st.sampled_from('a,"\r\n长 '), max_size=40))
def test_a_quote_open_at_the_end_is_found_as_the_csv_module_reads(text):
    assert _csv_reader._ends_in_quote(text.encode()) == _open_at_end(text)
    try:  # the reference against the csv module itself, where its strict mode tells
        list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        if str(error) == "unexpected end of data":
            assert _open_at_end(text)
    else:
        assert not _open_at_end(text)


def test_trailing_commas_add_no_column(tmp_path):
    (tmp_path / "plain.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    (tmp_path / "commas.csv").write_text("a,b,\n1,2,\n3,4,\n", encoding="utf-8")
    (tmp_path / "rows.csv").write_text("a,b\n1,2,\n3,4,,\n", encoding="utf-8")
    expected = read_source(tmp_path / "plain.csv")
    for name in ("commas.csv", "rows.csv"):
        pd.testing.assert_frame_equal(read_source(tmp_path / name), expected)


def test_a_huge_csv_cell_is_read_whole(tmp_path):
    big = "长" * 3_000_000
    (tmp_path / "a.csv").write_text(f"a,b\n1,{big}\n2,x\n", encoding="utf-8")
    assert read_source(tmp_path / "a.csv")["b"].tolist() == [big, "x"]


# -- the fast (Arrow) and exact (csv module) paths agree with a reference reader ----

_fields = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(',"\r\n '),
    max_size=6,
)


@st.composite
def csv_files(draw):
    width = draw(st.integers(1, 4))
    names = draw(
        st.lists(
            st.text(min_size=1, max_size=4).filter(lambda n: "\x00" not in n),
            min_size=width,
            max_size=width,
            unique=True,
        )
    )
    records = draw(
        st.lists(
            st.one_of(
                st.lists(_fields, min_size=width, max_size=width),
                st.just([]),  # a blank line
                st.just([""] * width),  # only separators
            ),
            max_size=8,
        )
    )
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    cells = [*names, *(field for record in records for field in record)]
    # a writer quotes a value with a line break (the csv module only for its own one)
    breaks = any("\r" in cell or "\n" in cell for cell in cells)
    quoting = csv.QUOTE_ALL if breaks else draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline, quoting=quoting)
    writer.writerow(names)
    for record in records:
        if record:
            writer.writerow(record)
        else:
            buffer.write(newline)
    return buffer.getvalue(), names, records


@given(csv_files())
def test_csv_paths_agree_with_the_standard_reader(file):
    text, _names, _records = file
    frame = _csv_reader.read_csv_text(text.encode(), "x.csv")
    reference = list(csv.reader(io.StringIO(text, newline="")))
    header, rows = reference[0], reference[1:]
    expected = {n: dict(zip(header, r, strict=True)) for n, r in enumerate(rows) if any(r)}
    assert frame.to_dict("index") == expected
    exact = _csv_reader._exact_frame(text, "x.csv")
    pd.testing.assert_frame_equal(frame, exact)


def _workbook(path, rows):
    book = Workbook()
    sheet = book.active
    sheet.append(["月度", "计划代码", "客户名称"])
    for n in range(rows):
        sheet.append(["2024-03", f"P{n}", f"客户{n}"])
    book.save(path)
    return path


def test_a_workbook_parses_more_than_it_takes_on_disk_and_grows_with_its_rows(tmp_path):
    small = _workbook(tmp_path / "small.xlsx", 100)
    large = _workbook(tmp_path / "large.xlsx", 2_000)
    assert parse_size(small) > small.stat().st_size  # its XML, uncompressed
    assert parse_size(large) > 10 * parse_size(small)


def test_a_csv_parses_its_size_and_a_file_that_is_no_workbook_or_is_gone_its_own(tmp_path):
    csv_file = tmp_path / "2024-03.csv"
    csv_file.write_text("月度,计划代码\n2024-03,P1\n", encoding="utf-8")
    fake = tmp_path / "2024-04.xlsx"
    fake.write_bytes(b"not a zip at all")
    assert parse_size(csv_file) == csv_file.stat().st_size
    assert parse_size(fake) == len(b"not a zip at all")  # its read will say what is wrong
    assert parse_size(tmp_path / "gone.xlsx") == 0


def _broken_zip(path, how):
    """A workbook whose zip directory ``zipfile`` refuses otherwise than BadZipFile."""
    _workbook(path, 10)
    data = bytearray(path.read_bytes())
    directory = data.find(b"PK\x01\x02")
    if how == "version":  # "version needed to extract" 7.0: NotImplementedError
        data[directory + 6] = 70
    else:  # a name flagged UTF-8 that is not: UnicodeDecodeError
        flags = int.from_bytes(data[directory + 8 : directory + 10], "little") | 0x800
        data[directory + 8 : directory + 10] = flags.to_bytes(2, "little")
        data[directory + 46 : directory + 48] = b"\xff\xfe"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["version", "name"])
def test_a_broken_workbook_parses_its_size_and_its_read_says_why(tmp_path, how):
    """The estimate only orders the work: it never raises; the read is the file's error."""
    broken = _broken_zip(tmp_path / "2024-05.xlsx", how)
    assert parse_size(broken) == broken.stat().st_size
    with pytest.raises(SourceFileError):
        read_source(broken)


def test_a_link_to_nothing_or_a_loop_of_links_is_listed_and_its_read_says_why(tmp_path):
    folder = tmp_path / "annuity_income"
    folder.mkdir()
    (folder / "gone.csv").symlink_to(tmp_path / "share" / "gone.csv")  # a share not mounted
    (folder / "loop.csv").symlink_to("loop.csv")
    listing = list_sources(tmp_path, "annuity_income")
    assert [path.name for path in listing.files] == ["gone.csv", "loop.csv"]
    with pytest.raises(SourceFileError, match=r"^gone.csv cannot be read: No such file"):
        source_digest(folder / "gone.csv")
    with pytest.raises(SourceFileError, match=r"^loop.csv cannot be read: Too many levels"):
        read_source(folder / "loop.csv")
