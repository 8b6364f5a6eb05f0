"""The fast workbook reader (calamine) gives every cell the exact reader (openpyxl) gives.

So every ``raw_data`` a run logs, and every fingerprint it stores, is the same
whichever reader read the workbook: the typed sample workbooks and generated
ones are read both ways and compared cell for cell, type included.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tests.helpers import ROOT, one_cell_workbook, rewrite_workbook, stale_dimension
from tests.strategies import nasty_text
from work_data_hub.errors import SourceFileError
from work_data_hub.infrastructure.validation.raw_data import encode_rows
from work_data_hub.io._xlsx_fast import fast_sheets
from work_data_hub.io._xlsx_reader import exact_sheets, read_sheets

SAMPLES = sorted((ROOT / "data" / "samples").glob("*/*.xlsx"))


def _same(fast: dict, exact: dict) -> None:
    assert list(fast) == list(exact)
    for key, frame in exact.items():
        pd.testing.assert_frame_equal(fast[key], frame)  # values and dtypes
        # and the same Python type in every cell: raw_data and fingerprints follow
        assert encode_rows(fast[key]).tolist() == encode_rows(frame).tolist()
        for column in frame.columns:
            kinds = list(map(type, frame[column])), list(map(type, fast[key][column]))
            assert kinds[0] == kinds[1], column


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_bundled_workbooks_read_the_same_both_ways(path):
    sheets = ("企年受托中标", "企年投资中标") if path.parent.name == "annual_award" else None
    fast = fast_sheets(path, sheets)
    assert fast is not None, "the samples take the fast path"
    _same(fast, exact_sheets(path, sheets))


writable_text = nasty_text.map(lambda text: ILLEGAL_CHARACTERS_RE.sub("", text))
#: cells as Excel users leave them: text, numbers, dates and times, booleans, empty
cells = st.one_of(
    st.none(),
    writable_text,
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2200, 1, 1)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2200, 1, 1)),
    st.booleans(),
)


@st.composite
def workbooks(draw: st.DrawFn) -> list[list[object]]:
    width = draw(st.integers(1, 5))
    names = st.text(
        st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=5
    )
    typed = st.one_of(  # a header cell Excel stores as a number, a date or a boolean
        st.integers(-(2**53), 2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2200, 1, 1)),
        st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2200, 1, 1)),
        st.booleans(),
    )
    header = draw(st.lists(names | typed, min_size=width, max_size=width, unique_by=str))
    body = draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=8))
    return [header, *body]


def _outcome(read, path):
    """(the sheets, None), or (None, why the reader refused the workbook)."""
    try:
        return read(path, None), None
    except SourceFileError as error:
        return None, str(error)


@given(workbooks(), st.sampled_from([None, "A1", "A1:B2"]))
def test_generated_typed_workbooks_read_the_same_both_ways(rows, dimension):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.xlsx"
        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
        if dimension:
            stale_dimension(path, dimension)
        fast, refused = _outcome(fast_sheets, path)
        event("refused" if refused else "fast path" if fast is not None else "exact reader")
        if refused:  # then the exact reader refuses it the same way
            assert _outcome(exact_sheets, path)[1] == refused
        elif fast is not None:
            _same(fast, exact_sheets(path, None))


def test_what_calamine_cannot_read_exactly_goes_to_the_exact_reader(tmp_path):
    book = Workbook()
    book.active.append(["a", "b"])
    book.active.append([1, "x"])
    book.save(tmp_path / "plain.xlsx")
    assert fast_sheets(tmp_path / "plain.xlsx", None) is not None
    errors = tmp_path / "errors.xlsx"  # a cached #DIV/0!, which calamine reads as empty
    errors.write_bytes((tmp_path / "plain.xlsx").read_bytes())
    rewrite_workbook(
        errors,
        lambda name, data: (
            data.replace(b'<c r="A2" t="n"><v>1</v></c>', b'<c r="A2" t="e"><v>#DIV/0!</v></c>')
            if "worksheets/" in name
            else data
        ),
    )
    assert fast_sheets(errors, None) is None
    assert read_sheets(errors)[None]["a"].tolist() == ["#DIV/0!"]
    book = Workbook()
    book.active.append(["a", "b"])
    book.active.append([" ", "x"])  # white space that calamine would trim away
    book.save(tmp_path / "space.xlsx")
    assert fast_sheets(tmp_path / "space.xlsx", None) is None
    assert read_sheets(tmp_path / "space.xlsx")[None]["a"].tolist() == [" "]
    book = Workbook()
    book.active.append(["a", "b"])
    book.active.append([1, 2])
    book.active.cell(row=200_000, column=2000, value="far")  # a dense range of 400M cells
    book.save(tmp_path / "sparse.xlsx")
    assert fast_sheets(tmp_path / "sparse.xlsx", None) is None
    with pytest.raises(Exception, match="right of the header's last column"):
        read_sheets(tmp_path / "sparse.xlsx")


#: How Excel stores characters XML cannot hold as such, and what calamine reads (the
#: spec's ST_Xstring: ``_xHHHH_`` is U+HHHH, left to right; ``_x005F_`` escapes the
#: ``_`` of a literal ``_x``; no surrogate; ``_X`` and non-hex are text).
ESCAPES = [
    ("line1_x000D_\nline2", "line1\r\nline2"),
    ("a_x0009_b", "a\tb"),
    ("a_x000d_b", "a\rb"),
    ("a_x005F_x000D_b", "a_x000D_b"),
    ("_x005f_x0041_", "_x0041_"),
    ("abx005F_c", "abx005F_c"),
    ("_x0041__x0042_", "AB"),
    ("a_x00e9_b", "aéb"),
    ("a_x00ZZ_b", "a_x00ZZ_b"),
    ("a_xD800_b", "a_xD800_b"),
    ("a_X000D_b", "a_X000D_b"),
    ("a_x1F600_b", "a_x1F600_b"),
]


@pytest.mark.parametrize("kind", ["shared", "inline", "formula"])
@pytest.mark.parametrize(("stored", "shown"), ESCAPES)
def test_escaped_characters_read_as_excel_shows_them_both_ways(tmp_path, kind, stored, shown):
    """A carriage return in a cell is stored ``_x000D_``: whichever reader a workbook
    takes (an error cell elsewhere sends it to openpyxl), the cell reads the same."""
    xml = stored if kind == "formula" else f"<t>{stored}</t>"
    path = one_cell_workbook(tmp_path / "x.xlsx", xml, kind=kind)
    fast = fast_sheets(path, None)
    assert fast is not None
    assert fast[None]["h"].tolist() == [shown]
    assert exact_sheets(path, None)[None]["h"].tolist() == [shown]


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("<x:t> a</x:t>", " a"),  # a namespace prefix, as the .NET Open XML SDK writes
        ("<x:t>a\t</x:t>", "a\t"),
        ("<t>&#32;a</t>", " a"),  # white space as a character reference
        ("<t>&#x20;a</t>", " a"),
        ("<t>a&#10;</t>", "a\n"),
        ("<x:t>a&#13;</x:t>", "a\r"),
        ("<t>&#0032;a</t>", " a"),
    ],
)
def test_white_space_calamine_would_trim_sends_the_workbook_to_the_exact_reader(
    tmp_path, stored, shown
):
    for kind in ("shared", "inline"):
        path = one_cell_workbook(tmp_path / f"{kind}.xlsx", stored, kind=kind)
        assert fast_sheets(path, None) is None, kind
        assert read_sheets(path)[None]["h"].tolist() == [shown], kind


def test_white_space_that_is_kept_or_not_at_an_edge_reads_fast(tmp_path):
    for stored, shown in [
        ('<x:t xml:space="preserve"> a</x:t>', " a"),
        ("<t>\u3000a\u00a0</t>", "\u3000a\u00a0"),  # calamine trims XML's white space only
        ("<t>a&#32;b</t>", "a b"),
        ("<t>&#233;</t>", "é"),
    ]:
        path = one_cell_workbook(tmp_path / "x.xlsx", stored)
        fast = fast_sheets(path, None)
        assert fast is not None, stored
        assert fast[None]["h"].tolist() == [shown] == exact_sheets(path, None)[None]["h"].tolist()


def test_a_number_under_a_date_format_that_is_no_date_reads_as_the_number(tmp_path, recwarn):
    """An amount formatted as a date by mistake (Excel shows #####): both readers give
    the number; openpyxl's "#VALUE!" and its warning never reach the run."""
    book = Workbook()
    book.active.append(["amount", "note"])
    for number in (19801692.47, 3_000_000, 1e300, 45000):
        book.active.append([number, "x"])
    for row in range(2, 6):
        book.active.cell(row=row, column=1).number_format = "yyyy-mm-dd"
    path = tmp_path / "plain.xlsx"
    book.save(path)
    expected = [19801692.47, 3_000_000, 1e300, dt.datetime(2023, 3, 15)]
    fast = fast_sheets(path, None)
    assert fast is not None
    assert fast[None]["amount"].tolist() == expected
    lookup = book.create_sheet("lookup")  # an error cell elsewhere: the exact reader reads it
    lookup["A1"] = "#N/A"
    lookup.sheet_state = "hidden"
    book.save(tmp_path / "errors.xlsx")
    assert fast_sheets(tmp_path / "errors.xlsx", None) is None
    read = read_sheets(tmp_path / "errors.xlsx")[None]["amount"].tolist()
    assert read == expected
    assert [type(value) for value in read] == [float, int, float, dt.datetime]
    assert not [str(warning.message) for warning in recwarn]


def test_rows_stored_out_of_order_are_read_fast_or_refused_never_skipped(tmp_path):
    book = Workbook()
    for row in (["v", "w"], [2], [3]):
        book.active.append(row)
    path = tmp_path / "x.xlsx"
    book.save(path)
    rows = (b'<row r="2"><c r="A2" t="n"><v>2</v></c></row>',
            b'<row r="3"><c r="A3" t="n"><v>3</v></c></row>')  # fmt: skip
    rewrite_workbook(path, lambda _, data: data.replace(b"".join(rows), b"".join(rows[::-1])))
    fast = fast_sheets(path, None)
    assert fast is not None
    assert fast[None].to_dict("index") == {0: {"v": 2, "w": None}, 1: {"v": 3, "w": None}}
    errors = tmp_path / "errors.xlsx"  # an error cell: the exact reader, which would skip row 2
    errors.write_bytes(path.read_bytes())
    error = b'<v>3</v></c><c r="B3" t="e"><v>#N/A</v></c>'
    rewrite_workbook(errors, lambda _, data: data.replace(b"<v>3</v></c>", error))
    with pytest.raises(SourceFileError, match="stores cell A2 after cell B3"):
        read_sheets(errors)


def test_cells_stored_out_of_order_in_a_row_are_read_fast_or_refused_never_dropped(tmp_path):
    book = Workbook()
    for row in (["v", "w", "x"], [1, 2, 3]):
        book.active.append(row)
    path = tmp_path / "x.xlsx"
    book.save(path)
    cells = b'<c r="A2" t="n"><v>1</v></c><c r="B2" t="n"><v>2</v></c><c r="C2" t="n"><v>3</v></c>'
    swapped = (
        b'<c r="C2" t="n"><v>3</v></c><c r="A2" t="n"><v>1</v></c><c r="B2" t="n"><v>2</v></c>'
    )
    rewrite_workbook(path, lambda _, data: data.replace(cells, swapped))
    fast = fast_sheets(path, None)
    assert fast is not None
    assert fast[None].to_dict("records") == [{"v": 1, "w": 2, "x": 3}]
    errors = tmp_path / "errors.xlsx"  # an error cell: the exact reader, which would drop A2, B2
    errors.write_bytes(path.read_bytes())
    error = b'<v>2</v></c><c r="D2" t="e"><v>#N/A</v></c>'
    rewrite_workbook(errors, lambda _, data: data.replace(b"<v>2</v></c>", error))
    with pytest.raises(SourceFileError, match="stores cell A2 after cell C2"):
        read_sheets(errors)
