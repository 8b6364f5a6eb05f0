"""Peak memory of logging failures, measured in a fresh process (Linux).

``python -m benchmarks.memory ROWS MODE`` prints JSON: the input frame's
in-memory size and the peak RSS growth (VmHWM, reset through
/proc/self/clear_refs) of ``FailureExporter.export`` of an already-built failed
frame (MODE ``export``) or of ``to_failed_frame`` plus the export
(``build_and_export``). One mode per process, so freed memory that an
allocator keeps cannot hide the growth of the next measurement.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.data import SESSION, annuity_frame, failed_frame
from work_data_hub.infrastructure.validation import FailureExporter


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> int:
    """Reset the peak RSS to the current RSS; return the current RSS in bytes."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS") * 1024


def _peak_growth(baseline: int) -> int:
    return _status_kib("VmHWM") * 1024 - baseline


def main(rows: int, mode: str) -> dict[str, int]:
    """Measure one mode in this process: "export" (failed frame built before
    the measurement starts) or "build_and_export" (both measured)."""
    frame = annuity_frame(rows)
    input_bytes = int(frame.memory_usage(deep=True).sum())
    folder = Path(tempfile.mkdtemp())
    # warm up imports and kernels on a small slice so they do not count
    FailureExporter(SESSION, folder / "warm").export(failed_frame(frame.head(1000)))
    failed = failed_frame(frame) if mode == "export" else None
    baseline = _reset_peak()
    FailureExporter(SESSION, folder / "log").export(
        failed if failed is not None else failed_frame(frame)
    )
    return {"input_bytes": input_bytes, "peak_growth": _peak_growth(baseline)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), sys.argv[2])))
