"""Exact duplicate rows: the same source values as an earlier row of the same file.

Rows are compared by their ``raw_data`` JSON, the same text the failure log
keeps, so a row read from the file and the same row replayed from the log
compare equal (an Excel date cell and the ISO text it is logged as, too).
Within a batch the text itself is compared; across runs, rows already in
the database are matched by a 64-bit fingerprint of that text, stored with
each loaded row.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FINGERPRINT", "copy_of", "fingerprints"]

#: The column the duplicate step adds to the rows it keeps: their fingerprints,
#: computed from the text it compared anyway, for the database to store.
FINGERPRINT = "raw_hash"


def fingerprints(texts: pd.Series) -> pd.Series:
    """A signed 64-bit hash of each text, aligned with it (fits an SQL BIGINT).

    pandas' SipHash-2-4 with its fixed key (``hash_pandas_object``), unchanged
    since pandas 0.20; the values are stored, so a test pins them and a pandas
    that changed them would fail it before any database saw the difference.

    >>> texts = pd.Series(['{"a":"0012"}', '{"a":12}', '{"a":"0012"}'])
    >>> prints = fingerprints(texts)
    >>> prints[0] == prints[2], prints[0] == prints[1]
    (np.True_, np.False_)
    """
    # hash_pandas_object's own kernel; categorize=False skips its dedupe pass (5x faster)
    hashed = pd.util.hash_array(texts.to_numpy(dtype=object), categorize=False)
    return pd.Series(hashed.view("int64"), index=texts.index, name=FINGERPRINT)


def copy_of(
    texts: pd.Series, loaded: pd.Series | None = None, prints: pd.Series | None = None
) -> pd.Series:
    """For each row (its ``raw_data`` text, by label) that duplicates another, the label of
    the row it copies; else NA.

    A row copies a row already loaded from the same file (``loaded`` maps
    fingerprints to those rows' labels; the lowest label wins), or else the
    first earlier row with the same text. Rows are grouped by their
    fingerprints (``prints``, computed when not given), and the texts then
    compared, so a 64-bit collision can never make two rows copies.

    >>> from work_data_hub.infrastructure.validation.raw_data import encode_rows
    >>> texts = encode_rows(pd.DataFrame({"a": ["x", "y", "x"]}, index=[3, 5, 7]))
    >>> copy_of(texts).tolist()
    [<NA>, <NA>, 3]
    >>> loaded = pd.Series([1], index=fingerprints(texts.loc[[3]]))
    >>> copy_of(texts, loaded).tolist()
    [1, <NA>, 1]
    """
    prints = fingerprints(texts) if prints is None else prints
    labels = pd.Series(texts.index, index=texts.index)
    first = labels.groupby(prints.to_numpy(), sort=False).transform("first")
    candidates = first[first != labels]  # few: compare just their texts
    if (
        texts.loc[candidates.to_numpy()].to_numpy() != texts.loc[candidates.index].to_numpy()
    ).any():
        first = labels.groupby(texts.to_numpy(), sort=False).transform("first")  # a collision
    copies = first.where(first != labels).astype("Int64")
    if loaded is not None and len(loaded):
        originals = loaded.groupby(level=0).min()
        in_database = prints.map(originals).astype("Int64")
        copies = in_database.fillna(copies)  # the loaded row is the original of them all
    return copies.rename("copy_of")
