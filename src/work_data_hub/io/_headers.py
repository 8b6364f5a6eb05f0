"""The header row of a source: the column names, the same rule for CSV and Excel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from work_data_hub.errors import SourceFileError

__all__ = ["header_names"]


def header_names(cells: Sequence[object], name: str) -> list[str]:
    """Column names from a header row: trailing empty cells are not columns, an
    empty cell elsewhere is the name ``""``, and no name may repeat.

    >>> header_names(["month", None, 202401, "", None], "a.xlsx")
    ['month', '', '202401']
    >>> header_names(["a", "a"], "a.csv")
    Traceback (most recent call last):
    ...
    work_data_hub.errors.SourceFileError: a.csv has duplicate column names ['a']: ...
    """
    names = ["" if cell is None else str(cell) for cell in cells]
    while names and names[-1] == "":
        names.pop()
    if not names:
        raise SourceFileError(f"{name} is empty: no header row")
    counts = Counter(names)
    duplicates = sorted(n for n, count in counts.items() if count > 1)
    if duplicates:
        raise SourceFileError(
            f"{name} has duplicate column names {duplicates}: rename them in the source"
        )
    return names
