"""The failure log: every row an ETL run rejects, in one session file.

The face: what a pipeline needs to log failed rows (``to_failed_frame``,
``FailureExporter``) and to read them back (``read_failures``,
``expand_raw_data``), the record types and the schema; ``raw_data`` has its
own face in ``.raw_data``. Storage (CSV format, commit record, lock) and the
pandera/pydantic adapters are private modules. The first design's entry
points live in ``.legacy`` and are exported here for its callers.

Each name is imported on first use: reading a log does not import pandera
(the writer's checks), and ``ErrorType`` costs nothing.

>>> import pandas as pd, pandera.pandas as pa, tempfile
>>> from work_data_hub.infrastructure.validation import (
...     FailureExporter, read_failures, to_failed_frame)
>>> from pathlib import Path
>>> raw = pd.DataFrame({"计划代码": ["P1", "P2"], "期末资产规模": ["10.5", "-3"]})
>>> schema = pa.DataFrameSchema({"期末资产规模": pa.Column(float, pa.Check.ge(0), coerce=True)})
>>> try:
...     schema.validate(raw, lazy=True)
... except pa.errors.SchemaErrors as err:
...     failed = to_failed_frame(err, session_id="etl_20240101_120000_abcdef",
...                              domain="annuity_performance", source_file="a.csv", raw=raw)
>>> exporter = FailureExporter("etl_20240101_120000_abcdef", Path(tempfile.mkdtemp()))
>>> read_failures(exporter.export(failed))["raw_data"].tolist()
['{"计划代码":"P2","期末资产规模":"-3"}']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from work_data_hub.infrastructure.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from work_data_hub.infrastructure.validation._failing_labels import (
        pandera_failing_labels,
    )
    from work_data_hub.infrastructure.validation.error_types import ErrorType
    from work_data_hub.infrastructure.validation.exporter import FailureExporter
    from work_data_hub.infrastructure.validation.failed_frame import (
        dropped_rows,
        to_failed_frame,
    )
    from work_data_hub.infrastructure.validation.failed_record import FailedRecord
    from work_data_hub.infrastructure.validation.legacy import (
        export_error_csv,
        export_failed_records,
    )
    from work_data_hub.infrastructure.validation.raw_data import expand_raw_data
    from work_data_hub.infrastructure.validation.reader import (
        holds_entries,
        latest_entries,
        read_failures,
    )
    from work_data_hub.infrastructure.validation.schema import (
        FAILURE_LOG_SCHEMA,
        FIELDNAMES,
    )
    from work_data_hub.infrastructure.validation.session import (
        generate_session_id,
        validate_session_id,
    )

__all__ = [
    "FAILURE_LOG_SCHEMA",
    "FIELDNAMES",
    "ErrorType",
    "FailedRecord",
    "FailureExporter",
    "dropped_rows",
    "expand_raw_data",
    "export_error_csv",  # legacy
    "export_failed_records",  # legacy
    "generate_session_id",
    "holds_entries",
    "latest_entries",
    "pandera_failing_labels",
    "read_failures",
    "to_failed_frame",
    "validate_session_id",
]

_HOME = {
    "FAILURE_LOG_SCHEMA": "schema",
    "FIELDNAMES": "schema",
    "ErrorType": "error_types",
    "FailedRecord": "failed_record",
    "FailureExporter": "exporter",
    "dropped_rows": "failed_frame",
    "expand_raw_data": "raw_data",
    "export_error_csv": "legacy",
    "export_failed_records": "legacy",
    "generate_session_id": "session",
    "holds_entries": "reader",
    "latest_entries": "reader",
    "pandera_failing_labels": "_failing_labels",
    "read_failures": "reader",
    "to_failed_frame": "failed_frame",
    "validate_session_id": "session",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
