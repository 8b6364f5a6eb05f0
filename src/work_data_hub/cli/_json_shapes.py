"""The JSON the commands print, declared once as pydantic models.

A failed row has one shape wherever it is printed (``show``, ``diff``,
``explain``): the seven failure-log columns, with ``raw_data`` the JSON object
that was logged (the same keys and values, not a string), plus ``sheet_row``
(``row_index + 2``: the row number a spreadsheet or an editor shows, the
header being row 1) and the command's own fields (``status`` for ``diff``;
``verdict``, ``step``, ``reason``... for ``explain``). Timestamps are ISO 8601.

The JSON Schema files in ``docs/schemas`` are generated from these models::

    python -m work_data_hub.cli._json_shapes docs/schemas

and a test checks that they are up to date and that real output validates.
``Verdict`` lives with the explain workflow, whose package is heavy to
import: the explain models are in ``_explain_shape`` for that reason.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

from work_data_hub.analysis.diff import DiffStatus
from work_data_hub.infrastructure.validation.error_types import ErrorType

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DiffOutput",
    "ErrorTypeName",
    "EtlSummary",
    "ExcelOutput",
    "FailedRow",
    "SessionsOutput",
    "ShowOutput",
    "SummaryOutput",
    "dumps",
    "failed_rows",
    "records",
    "sheet_row",
]


#: An error type, as its name (the enum's docstring is a doctest, not a description).
ErrorTypeName = Annotated[
    ErrorType,
    WithJsonSchema(
        {
            "title": "ErrorType",
            "description": "where in a run the row was rejected",
            "type": "string",
            "enum": [e.value for e in ErrorType],
        }
    ),
]


class Shape(BaseModel):
    """An object of the printed JSON: every field required, no other field."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FailedRow(Shape):
    """One failed row: the failure log's seven columns, ``raw_data`` parsed."""

    session_id: str
    timestamp: datetime = Field(description="when the row was logged (UTC)")
    domain: str
    source_file: str = Field(description="as logged; a workbook's sheet as file[sheet]")
    row_index: int | None = Field(description="0-based data row in the source file")
    sheet_row: int | None = Field(
        description="row_index + 2: the row a spreadsheet or editor shows (header on row 1)"
    )
    error_type: ErrorTypeName
    raw_data: dict[str, Any] = Field(description="the source row, exactly as logged")


def sheet_row(row_index: int | None) -> int | None:
    """The row a spreadsheet or editor shows for ``row_index`` (the header is row 1).

    >>> sheet_row(7), sheet_row(None)
    (9, None)
    """
    return None if row_index is None else row_index + 2


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as dicts of Python values, missing values None.

    >>> import pandas as pd
    >>> records(pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": ["中", None]}))
    [{'a': 1, 'b': '中'}, {'a': None, 'b': None}]
    """
    plain = frame.astype(object)
    rows = plain.where(plain.notna(), None).to_dict("records")
    return [{str(name): value for name, value in row.items()} for row in rows]


def failed_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A failure-log frame's rows (and any extra columns) as ``FailedRow`` fields:
    ``raw_data`` parsed, ``sheet_row`` added.

    >>> import pandas as pd
    >>> failed_rows(pd.DataFrame({"row_index": [7], "raw_data": ['{"a":"0012"}']}))
    [{'row_index': 7, 'raw_data': {'a': '0012'}, 'sheet_row': 9}]
    """
    from work_data_hub.infrastructure.validation.raw_data import raw_objects

    raws = raw_objects(frame) if len(frame) else []
    return [
        {**record, "raw_data": raw, "sheet_row": sheet_row(record["row_index"])}
        for record, raw in zip(records(frame.drop(columns="raw_data")), raws, strict=True)
    ]


class ShowOutput(RootModel[list[FailedRow]]):
    """``wdh-failures show --json``: the rows shown (``--limit`` applies)."""


class DiffRow(FailedRow):
    """A failed row of ``diff``: the newer session's, or the older one's if resolved."""

    status: DiffStatus


class DiffCounts(Shape):
    new: int
    resolved: int
    persisting: int


class DiffOutput(Shape):
    """``wdh-failures diff --json``: every row of both sessions, with its status."""

    old: str
    new: str
    counts: DiffCounts
    failures: list[DiffRow]


class SessionEntry(Shape):
    """One session log in the logs folder (one count per error type)."""

    session_id: str
    started: datetime | None = Field(
        description="local time, from the session id; null if it holds no real date and time"
    )
    path: str
    rows: int
    VALIDATION_FAILED: int
    DROPPED_IN_PIPELINE: int
    ENRICHMENT_FAILED: int
    FK_CONSTRAINT_VIOLATION: int
    domains: str = Field(description="comma-separated")


class SessionsOutput(RootModel[list[SessionEntry]]):
    """``wdh-failures sessions --json``: newest first; ``[]`` for an empty folder."""


class SummaryRow(Shape):
    """Failed rows of one source file by error type; the last row is the total."""

    domain: str
    source_file: str
    VALIDATION_FAILED: int
    DROPPED_IN_PIPELINE: int
    ENRICHMENT_FAILED: int
    FK_CONSTRAINT_VIOLATION: int
    total: int


class SummaryOutput(Shape):
    """``wdh-failures summary --json``."""

    log: str
    summary: list[SummaryRow]


class ExcelOutput(Shape):
    """``wdh-failures excel --json``: the workbook written."""

    log: str
    excel: str


class EtlFile(Shape):
    status: Literal["loaded", "resumed", "error"]
    read: int
    loaded: int
    failed: dict[str, int] = Field(description="failed rows by error type")
    error: str | None


class EtlDomain(Shape):
    error: str | None
    skipped: dict[str, str] = Field(description="files that are not sources, and why")
    seconds: dict[str, float] = Field(description="time per phase: read, steps, log, load")
    files: dict[str, EtlFile]


class EtlSummary(Shape):
    """``wdh-etl --summary-json``: the run, by domain and source file."""

    session_id: str
    failure_log: str
    domains: dict[str, EtlDomain]


def dumps(shape: BaseModel) -> str:
    """``shape`` as the commands print it: indented, non-ASCII kept.

    >>> print(dumps(ExcelOutput(log="a.csv", excel="/tmp/a.xlsx")))
    {
      "log": "a.csv",
      "excel": "/tmp/a.xlsx"
    }
    """
    return json.dumps(shape.model_dump(mode="json"), ensure_ascii=False, indent=2)


def schemas() -> dict[str, dict[str, Any]]:
    """Each output's JSON Schema, by file name."""
    from work_data_hub.cli._explain_shape import ExplainOutput

    outputs: dict[str, type[BaseModel]] = {
        "wdh-failures-sessions": SessionsOutput,
        "wdh-failures-summary": SummaryOutput,
        "wdh-failures-show": ShowOutput,
        "wdh-failures-diff": DiffOutput,
        "wdh-failures-excel": ExcelOutput,
        "wdh-failures-explain": ExplainOutput,
        "wdh-etl-summary": EtlSummary,
    }
    return {
        f"{name}.schema.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **model.model_json_schema(),
        }
        for name, model in outputs.items()
    }


def schema_text(schema: dict[str, Any]) -> str:
    """A schema as its checked-in file holds it."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, schema in schemas().items():
        (folder / file_name).write_text(schema_text(schema), encoding="utf-8")
        print(folder / file_name)
