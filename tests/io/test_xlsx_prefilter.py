"""The one-pass scan that clears a workbook for calamine finds what the exact checks find.

``_suspect`` (one compiled pass) runs first; the exact checks (several
scans) only where it matched. So whatever the exact checks would refuse,
the scan must match, and, to spare their scans, nothing else: a property
over XML made of the pieces they look for.
"""

from __future__ import annotations

import zipfile

from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from work_data_hub.io._xlsx_fast import (
    _WIDE,
    _suspect,
    _text_calamine_misreads,
    fast_sheets,
)
from work_data_hub.io._xlsx_reader import exact_sheets

#: Sheet XML as the checks see it: text elements (with and without xml:space, or
#: unclosed) around white space Python's ``\s`` knows and some it does not, CJK text
#: and stray bytes; error cells and wide columns between them.
opening = st.sampled_from([b"<t>", b'<t xml:space="preserve">', b"<x:t>", b""])
closing = st.sampled_from([b"</t>", b"<t/>", b"</x:t>", b"<x:t />", b""])
filler = st.sampled_from(
    [
        b" ",
        b"\t",
        b"\n",
        b"\r",
        b"\x0b",
        b"\x0c",
        b"\xc2\xa0",
        "上".encode(),
        b"x",
        b"t",
        b"\xff",
        b"<",
        b"<t",
        b"&#32;",
        b"&#x0a;",
        b"&#233;",
    ]
)
cell = st.sampled_from([b"", b' t="e"', b'<c r="AB1"', b'<x:c r="AB1"', b'<c r="Z9"', b"<v>1</v>"])
element = st.tuples(cell, opening, st.lists(filler, max_size=3).map(b"".join), closing)
xml = st.lists(element.map(b"".join), max_size=6).map(b"".join)


def _refused(data: bytes) -> bool:
    """What the exact checks refuse in a sheet, or would look further at (wide)."""
    return b' t="e"' in data or _text_calamine_misreads(data) or bool(_WIDE.search(data))


@settings(max_examples=1000)
@given(xml)
@example(b"<t>x\r</t>")  # and one of each the exact checks look for, every run
@example(b"<t>a< </t>")
@example(b"<t>a<<x\n</t>")
@example(b"<t>a<t \r</t>")
@example(b"<t>\x0bx</t>")
@example(b"<t>\x0cx</t>")
@example(b"<t>tx </t>")
@example(b"<t></t>")
@example(b"<t/>")
@example(b"<x:t> a</x:t>")
@example(b"<t>a&#10;</t>")
@example(b'<c r="A1" t="e"><v>#DIV/0!</v></c>')
@example(b'<c r="AB1"><v>1</v></c>')
def test_the_scan_matches_exactly_what_the_exact_checks_look_for(data):
    assert _suspect(data) == _refused(data)


def test_the_scan_lets_plain_xml_through():
    assert not _suspect(b'<c r="A1" t="inlineStr"><is><t>0012</t></is></c><c r="B1"><v>1</v></c>')
    assert not _suspect(b"")


def test_preserved_white_space_is_not_suspect_and_reads_fast(tmp_path):
    book = Workbook()
    book.active.append(["a", "b"])
    book.active.append(["x ", "y"])  # written as <t xml:space="preserve">x </t>: calamine keeps it
    path = tmp_path / "preserved.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    assert b'<t xml:space="preserve">x </t>' in xml
    assert not _suspect(xml)
    assert _suspect(xml.replace(b'<t xml:space="preserve">x </t>', b"<t>x </t>"))
    fast = fast_sheets(path, None)
    assert fast is not None
    assert fast[None]["a"].tolist() == exact_sheets(path, None)[None]["a"].tolist() == ["x "]
