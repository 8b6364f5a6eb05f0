"""One RE2 pass over a whole buffer (Arrow's compiled, linear regex engine), without a
copy: several times faster than Python's ``re`` on the megabytes of a source file.

>>> matches(b"a,b\\n1,2\\n", r"\\d,\\d"), matches(b"a,b\\n", r"\\d")
(True, False)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["matches"]


def matches(data: bytes, pattern: str) -> bool:
    """Whether RE2 finds ``pattern`` in ``data``."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    return bool(pc.match_substring_regex(whole, pattern)[0].as_py())
