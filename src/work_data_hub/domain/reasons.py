"""Why a pandera error rejects each row: the failing columns, checks and values.

The rows are exactly those ``pandera_failing_labels`` names. A failure that
names no row (a missing column, a dtype mismatch) is a reason for every row
it rejects.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import pandera.errors as pa_errors

from work_data_hub.infrastructure.validation import pandera_failing_labels

__all__ = ["pandera_reasons", "reasons_frame"]

_SHOWN_VALUE_CHARS: Final = 60
_MESSAGE_CHARS: Final = 160  # the first line of pandera's message; tracebacks stay out


def reasons_frame(labels: pd.Index, columns: object, reason: object) -> pd.DataFrame:
    """A reasons frame: ``columns`` and ``reason`` (scalars or aligned Series) per label.

    >>> reasons_frame(pd.Index([4]), "计划代码", "plan 'P9' is not in plans").to_dict("index")
    {4: {'columns': '计划代码', 'reason': "plan 'P9' is not in plans"}}
    """
    frame = pd.DataFrame({"columns": columns, "reason": reason}, index=labels)
    return frame.astype("str")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 1] + "…"


# reasons pandera reports without a check object, named like checks
_REASON_NAMES: Final = {
    pa_errors.SchemaErrorReason.SERIES_CONTAINS_NULLS: "not_null",
    pa_errors.SchemaErrorReason.SERIES_CONTAINS_DUPLICATES: "unique",
}


def _check_name(error: pa_errors.SchemaError) -> str:
    if error.reason_code in _REASON_NAMES:
        return _REASON_NAMES[error.reason_code]
    check = error.check
    name = getattr(check, "name", None) or getattr(check, "error", None)
    if name:
        return str(name)
    return str(error.reason_code.value if error.reason_code else "check")


def _cases(error: pa_errors.SchemaError) -> pd.DataFrame:
    """One row per (label, column, text) this error gives; label NA when it names no row."""
    column = str(error.column_name) if error.column_name is not None else "(frame)"
    check = _check_name(error)
    cases = error.failure_cases
    if isinstance(cases, pd.DataFrame) and "index" in cases and cases["index"].notna().any():
        located = cases[cases["index"].notna()]
        if error.column_name is None:  # a check of the whole row: its cells say nothing
            located = located.drop_duplicates("index")
            text: object = f"{check} fails for the row"
        else:
            text = f"{column} {check} fails on " + located["failure_case"].map(_shown).to_numpy(
                dtype=object
            )
        return pd.DataFrame({"label": located["index"].to_numpy(), "column": column, "text": text})
    lines = str(error).strip().splitlines() or [check]
    message = lines[0] if len(lines[0]) <= _MESSAGE_CHARS else lines[0][: _MESSAGE_CHARS - 1] + "…"
    return pd.DataFrame({"label": [pd.NA], "column": [column], "text": [f"{column}: {message}"]})


def pandera_reasons(error: pa_errors.SchemaErrors | pa_errors.SchemaError) -> pd.DataFrame:
    """Return, for each row the error rejects, the failing columns and a reason text.

    >>> import pandera.pandas as pa
    >>> schema = pa.DataFrameSchema({"月度": pa.Column(checks=pa.Check.isin(["202401"]))})
    >>> try:
    ...     schema.validate(pd.DataFrame({"月度": ["202401", "2024-13"]}), lazy=True)
    ... except pa.errors.SchemaErrors as err:
    ...     print(pandera_reasons(err).to_dict("index"))
    {1: {'columns': '月度', 'reason': "月度 isin fails on '2024-13'"}}
    """
    labels = pandera_failing_labels(error)
    errors = error.schema_errors if isinstance(error, pa_errors.SchemaErrors) else [error]
    cases = pd.concat([_cases(e) for e in errors], ignore_index=True)
    located = cases[cases["label"].notna()]
    everywhere = cases[cases["label"].isna()]
    texts = located.groupby("label", sort=False)["text"].agg("; ".join)
    columns = located.groupby("label", sort=False)["column"].agg(
        lambda c: ", ".join(dict.fromkeys(c))
    )
    reason = pd.Series(texts, index=labels, dtype="str")
    failing_columns = pd.Series(columns, index=labels, dtype="str")
    if len(everywhere):
        # no row named: the same reason for every rejected row (also the rows
        # re-validation found after a failed coercion blinded a check)
        shared = "; ".join(everywhere["text"])
        shared_columns = ", ".join(dict.fromkeys(everywhere["column"]))
        reason = (reason + "; " + shared).fillna(shared)
        failing_columns = (failing_columns + ", " + shared_columns).fillna(shared_columns)
        failing_columns = failing_columns.map(
            lambda text: ", ".join(dict.fromkeys(text.split(", ")))
        )
    return reasons_frame(labels, failing_columns.fillna(""), reason.fillna("rejected"))
