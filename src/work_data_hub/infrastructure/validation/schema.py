"""The seven-column failure-log schema, declared once.

Writer, reader, adapters and tests all derive from these constants: the column
order (:data:`FIELDNAMES`), the in-memory dtypes (:data:`FAILURE_LOG_DTYPES`)
and the pandera schema that checks a frame before it is written
(:data:`FAILURE_LOG_SCHEMA`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.session import SESSION_ID_PATTERN

if TYPE_CHECKING:
    import pandera.pandas as pa

    #: The pandera schema the exporter checks a frame with (built on first use).
    FAILURE_LOG_SCHEMA: pa.DataFrameSchema

__all__ = [
    "ERROR_TYPE_DTYPE",
    "FAILURE_LOG_DTYPES",
    "FAILURE_LOG_SCHEMA",
    "FIELDNAMES",
    "HEADER_LINE",
    "TIMESTAMP_DTYPE",
]

FIELDNAMES: Final[tuple[str, ...]] = (
    "session_id",
    "timestamp",
    "domain",
    "source_file",
    "row_index",
    "error_type",
    "raw_data",
)

#: The header line exactly as the exporter writes it.
HEADER_LINE: Final[str] = ",".join(FIELDNAMES) + "\n"

ERROR_TYPE_DTYPE: Final = pd.CategoricalDtype([e.value for e in ErrorType])
TIMESTAMP_DTYPE: Final = pd.DatetimeTZDtype(unit="us", tz="UTC")

#: Dtypes of a failure-log frame, as built by ``to_failed_frame`` and returned
#: by ``read_failures``. The exporter converts other dtypes to these first.
FAILURE_LOG_DTYPES: Final[dict[str, Any]] = {
    "session_id": "str",
    "timestamp": TIMESTAMP_DTYPE,
    "domain": "str",
    "source_file": "str",
    "row_index": "Int64",
    "error_type": ERROR_TYPE_DTYPE,
    "raw_data": "str",
}


def _failure_log_schema() -> pa.DataFrameSchema:
    import pandera.pandas as pa  # the writer's check: readers need not import pandera

    return pa.DataFrameSchema(
        {
            "session_id": pa.Column("str", pa.Check.str_matches(SESSION_ID_PATTERN.pattern + "$")),
            "timestamp": pa.Column(TIMESTAMP_DTYPE),
            "domain": pa.Column("str", pa.Check.str_length(min_value=1)),
            "source_file": pa.Column("str"),
            "row_index": pa.Column("Int64", pa.Check.ge(0), nullable=True),
            "error_type": pa.Column(ERROR_TYPE_DTYPE),
            "raw_data": pa.Column(
                "str",
                [pa.Check.str_startswith("{"), pa.Check.str_endswith("}")],
            ),
        },
        strict=True,
        ordered=True,
        name="failure_log",
    )


def __getattr__(name: str) -> Any:
    # FAILURE_LOG_SCHEMA, built (and pandera imported) on first use
    if name == "FAILURE_LOG_SCHEMA":
        globals()[name] = schema = _failure_log_schema()
        return schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
