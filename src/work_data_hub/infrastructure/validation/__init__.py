"""The failure log: every row an ETL run rejects, in one session file.

>>> import pandas as pd, pandera.pandas as pa, tempfile
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

from work_data_hub.infrastructure.validation.error_types import ErrorType
from work_data_hub.infrastructure.validation.exporter import (
    FailureExporter,
    export_failed_records,
)
from work_data_hub.infrastructure.validation.failed_frame import dropped_rows, to_failed_frame
from work_data_hub.infrastructure.validation.failed_record import FailedRecord
from work_data_hub.infrastructure.validation.raw_data_expand import expand_raw_data
from work_data_hub.infrastructure.validation.reader import latest_entries, read_failures
from work_data_hub.infrastructure.validation.report_generator import export_error_csv
from work_data_hub.infrastructure.validation.schema import (
    FAILURE_LOG_DTYPES,
    FAILURE_LOG_SCHEMA,
    FIELDNAMES,
)
from work_data_hub.infrastructure.validation.session import (
    generate_session_id,
    validate_session_id,
)

__all__ = [
    "FAILURE_LOG_DTYPES",
    "FAILURE_LOG_SCHEMA",
    "FIELDNAMES",
    "ErrorType",
    "FailedRecord",
    "FailureExporter",
    "dropped_rows",
    "expand_raw_data",
    "export_error_csv",
    "export_failed_records",
    "generate_session_id",
    "latest_entries",
    "read_failures",
    "to_failed_frame",
    "validate_session_id",
]
