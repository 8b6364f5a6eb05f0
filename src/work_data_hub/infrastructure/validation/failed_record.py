"""One failed source row as a record: the seven fields of a log line."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from work_data_hub.infrastructure.validation._raw_values import encode_row
from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.session import validate_session_id

__all__ = ["FailedRecord", "utc_timestamp"]


def utc_timestamp(moment: datetime | None = None) -> str:
    """Return ``moment`` (default: now) as the log's timestamp text.

    Always timezone-aware UTC with microseconds, the form the exporter writes.

    >>> utc_timestamp(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    '2024-01-02T03:04:05.000000+00:00'
    """
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """A rejected source row with the context needed to find and replay it.

    Field order is the column order of the failure log.

    >>> record = FailedRecord.from_validation_error(
    ...     "etl_20240101_120000_abcdef", "annuity_performance", "2024-03.xlsx",
    ...     17, "VALIDATION_FAILED", {"计划代码": "P0012", "期末资产规模": -1.0},
    ... )
    >>> record.raw_data
    '{"计划代码":"P0012","期末资产规模":-1.0}'
    >>> record.to_dict()["error_type"]
    'VALIDATION_FAILED'
    """

    session_id: str
    timestamp: str
    domain: str
    source_file: str
    row_index: int | None
    error_type: ErrorType
    raw_data: str

    def __post_init__(self) -> None:
        validate_session_id(self.session_id)
        # Accept the plain string value too; store the enum member.
        object.__setattr__(self, "error_type", ErrorType(self.error_type))

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a plain dict, ``error_type`` as its string value."""
        data = asdict(self)
        data["error_type"] = self.error_type.value
        return data

    @classmethod
    def from_validation_error(
        cls,
        session_id: str,
        domain: str,
        source_file: str,
        row_index: int | None,
        error_type: ErrorType | str,
        raw_row: Mapping[Hashable, Any] | pd.Series,
    ) -> FailedRecord:
        """Build a record for ``raw_row``, stamped now (UTC), raw_data encoded."""
        if not isinstance(raw_row, Mapping | pd.Series):
            raise TypeError(
                f"raw_row must be a mapping or a pandas Series of the source row, "
                f"not {type(raw_row).__name__}"
            )
        return cls(
            session_id=session_id,
            timestamp=utc_timestamp(),
            domain=domain,
            source_file=source_file,
            row_index=row_index,
            error_type=ErrorType(error_type),
            raw_data=encode_row(raw_row),
        )
