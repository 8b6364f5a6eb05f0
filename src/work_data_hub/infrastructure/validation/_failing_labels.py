"""Which source rows an error rejects: pandera and pydantic, mapped to row labels.

Each function returns the index labels of the failing rows, once each and
sorted, so a row that failed five checks is still one failed record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors as pa_errors
import pydantic

from work_data_hub.errors import FailedFrameError

__all__ = ["pandera_failing_labels", "pydantic_failing_labels"]

# A check that raised instead of returning booleans reports no row. After a
# failed coercion this is pandera skipping the column's other checks, not a
# frame-level failure: those rows must be validated again without the rows
# that failed coercion.
_BLINDED_CHECK = pa_errors.SchemaErrorReason.CHECK_ERROR


def _located(failure_cases: object) -> pd.Index | None:
    """Labels named by one pandera error, or None when it names no row."""
    if not isinstance(failure_cases, pd.DataFrame) or "index" not in failure_cases:
        return None
    labels = failure_cases["index"].dropna()
    return pd.Index(labels.unique()) if len(labels) else None


def pandera_failing_labels(error: pa_errors.SchemaErrors | pa_errors.SchemaError) -> pd.Index:
    """Return the labels of the rows of ``error.data`` that the error rejects.

    A failure that names no row (missing column, strict extra column, frame
    or column scalar check, dtype mismatch without coercion) rejects every
    row. A check blinded by a failed coercion does not: the rows that did
    coerce are validated again, so no invalid row is missed.

    >>> import pandera.pandas as pa
    >>> schema = pa.DataFrameSchema({"a": pa.Column(int, pa.Check.ge(0), coerce=True)})
    >>> try:
    ...     schema.validate(pd.DataFrame({"a": ["1", "abc", "-3"]}), lazy=True)
    ... except pa.errors.SchemaErrors as err:
    ...     print(pandera_failing_labels(err).tolist())
    [1, 2]
    """
    data = error.data
    if not isinstance(data, pd.DataFrame | pd.Series):
        raise FailedFrameError(
            f"the pandera error carries no validated data ({type(data).__name__}); "
            "validate a pandas DataFrame to log its failed rows"
        )
    errors = error.schema_errors if isinstance(error, pa_errors.SchemaErrors) else [error]
    located: list[pd.Index] = []
    blinded = False
    for schema_error in errors:
        labels = _located(schema_error.failure_cases)
        if labels is not None:
            located.append(labels)
        elif schema_error.reason_code == _BLINDED_CHECK:
            blinded = True
        else:
            return data.index.copy()
    failing = located[0].append(located[1:]).unique() if located else pd.Index([])
    if blinded:
        if failing.empty:
            # The check cannot run on any row, so no row is proven valid.
            return data.index.copy()
        failing = failing.append(_revalidate(error, data.drop(index=failing))).unique()
    return failing.sort_values()


def _revalidate(error: pa_errors.SchemaErrors | pa_errors.SchemaError, rest: Any) -> pd.Index:
    schema = error.schema
    if len(rest) == 0 or schema is None or not hasattr(schema, "validate"):
        return pd.Index([])
    try:
        schema.validate(rest, lazy=True)
    except (pa_errors.SchemaErrors, pa_errors.SchemaError) as again:
        return pandera_failing_labels(again)
    return pd.Index([])


def pydantic_failing_labels(
    failures: pydantic.ValidationError | Mapping[Any, pydantic.ValidationError],
    raw: pd.DataFrame,
) -> pd.Index:
    """Return the labels of ``raw`` rejected by pydantic.

    ``failures`` is either ``{row_label: ValidationError}`` (one model per row)
    or the single error of validating the list of ``raw``'s rows, whose
    ``loc[0]`` is a row position.

    >>> class Row(pydantic.BaseModel):
    ...     amount: float
    >>> raw = pd.DataFrame({"amount": ["1.5", "abc", "x"]}, index=[4, 5, 6])
    >>> try:
    ...     pydantic.TypeAdapter(list[Row]).validate_python(raw.to_dict("records"))
    ... except pydantic.ValidationError as err:
    ...     print(pydantic_failing_labels(err, raw).tolist())
    [5, 6]
    """
    if isinstance(failures, Mapping):
        labels = pd.Index(list(failures.keys()))
        bad = [
            type(e).__name__
            for e in failures.values()
            if not isinstance(e, pydantic.ValidationError)
        ]
        if bad:
            raise FailedFrameError(
                f"a mapping of failures must hold pydantic ValidationErrors, got {bad[0]}"
            )
        unique: pd.Index = pd.Index(labels.unique())
        return unique.sort_values()
    positions: set[int] = set()
    for detail in failures.errors():
        loc = detail.get("loc", ())
        if not loc or not isinstance(loc[0], int):
            # The list itself was rejected: no row is proven valid.
            return raw.index.copy()
        positions.add(loc[0])
    ordered = np.array(sorted(positions), dtype=np.int64)
    out_of_range = ordered[(ordered < 0) | (ordered >= len(raw))]
    if out_of_range.size:
        raise FailedFrameError(
            f"pydantic error positions {out_of_range.tolist()[:5]} are outside raw's "
            f"{len(raw)} rows: pass the frame whose rows were validated as raw"
        )
    return raw.index[ordered]
