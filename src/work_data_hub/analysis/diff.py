"""Which failures are new in a session, which were resolved, which persist."""

from __future__ import annotations

from enum import StrEnum

import pandas as pd

__all__ = ["DiffStatus", "diff_sessions"]


class DiffStatus(StrEnum):
    """Where a failed row stands in the newer of two sessions."""

    NEW = "new"  # fails now, did not before
    PERSISTING = "persisting"  # fails in both
    RESOLVED = "resolved"  # failed before, not now


#: Rows match by content, not by row number: row numbers shift between runs.
MATCH_KEYS = ["domain", "source_file", "raw_data"]


def _numbered(failures: pd.DataFrame) -> pd.DataFrame:
    # The n-th copy of a row in one log matches the n-th copy in the other.
    frame = failures.reset_index(drop=True)
    keys = frame[MATCH_KEYS].astype(str)
    return frame.assign(
        _copy=keys.groupby(MATCH_KEYS, sort=False).cumcount(), **{k: keys[k] for k in MATCH_KEYS}
    )


def diff_sessions(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Compare two sessions' failures; return every failure with a ``status``.

    ``new``: fails now, did not before; ``resolved``: failed before, not now;
    ``persisting``: fails in both (shown with the new session's row). Rows match
    on domain, source file and raw_data, so re-sorting a source file does not
    fake a difference.

    >>> old = pd.DataFrame({"domain": ["d", "d"], "source_file": ["f", "f"],
    ...                     "raw_data": ['{"a":1}', '{"a":2}'], "row_index": [0, 1]})
    >>> new = pd.DataFrame({"domain": ["d", "d"], "source_file": ["f", "f"],
    ...                     "raw_data": ['{"a":3}', '{"a":2}'], "row_index": [0, 1]})
    >>> diff_sessions(old, new)[["status", "raw_data"]].values.tolist()
    [['new', '{"a":3}'], ['persisting', '{"a":2}'], ['resolved', '{"a":1}']]
    """
    left, right = _numbered(old), _numbered(new)
    on = [*MATCH_KEYS, "_copy"]
    matched = right.merge(left[on], on=on, how="left", indicator=True)
    current = right.assign(
        status=matched["_merge"]
        .map({"both": DiffStatus.PERSISTING.value, "left_only": DiffStatus.NEW.value})
        .to_numpy()
    )
    gone = left.merge(right[on], on=on, how="left", indicator=True)
    resolved = left[gone["_merge"].to_numpy() == "left_only"]
    resolved = resolved.assign(status=DiffStatus.RESOLVED.value)
    result = pd.concat([current, resolved], ignore_index=True).drop(columns="_copy")
    order = {status.value: n for n, status in enumerate(DiffStatus)}
    result = result.sort_values("status", key=lambda s: s.map(order), kind="stable")
    columns = ["status", *[c for c in result.columns if c != "status"]]
    ordered: pd.DataFrame = result[columns].reset_index(drop=True)
    return ordered
