"""``raw_data``: a source row as JSON exactly as it was read, and back.

The one place other layers take ``raw_data`` from. Encoding: ``encode_row``
(one mapping) and ``encode_rows`` (a whole frame, columnar) give the same text
for the same values, by the type mapping documented in ``_raw_values``.
Decoding: ``expand_raw_data`` (columns with inferred dtypes, for viewing),
``source_rows`` (the values the source reader gave, for running rows again)
and ``raw_objects`` (each row's JSON object). Values nest at most
``MAX_NESTING`` levels on both sides.

>>> import pandas as pd
>>> texts = encode_rows(pd.DataFrame({"计划代码": ["0012"], "月度": [202401]}))
>>> texts.tolist(), source_rows(pd.DataFrame({"raw_data": texts})).to_dict("records")
(['{"计划代码":"0012","月度":202401}'], [{'计划代码': '0012', '月度': 202401}])
"""

from work_data_hub.infrastructure.validation._raw_columns import encode_rows
from work_data_hub.infrastructure.validation._raw_decode import (
    expand_raw_data,
    raw_objects,
    source_rows,
)
from work_data_hub.infrastructure.validation._raw_values import MAX_NESTING, encode_row

__all__ = [
    "MAX_NESTING",
    "encode_row",
    "encode_rows",
    "expand_raw_data",
    "raw_objects",
    "source_rows",
]
