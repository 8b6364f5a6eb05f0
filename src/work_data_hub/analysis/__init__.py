"""Failure analysis: what failed in a run, where, and is it new.

Plain DataFrames first; terminal and notebook views are built over them.
Each name is imported on first use, so a command that lists sessions does
not pay for the Excel writer or the Rich views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from work_data_hub.infrastructure.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from work_data_hub.analysis.diff import DiffStatus, diff_sessions
    from work_data_hub.analysis.excel import to_excel
    from work_data_hub.analysis.sessions import list_sessions, resolve_log
    from work_data_hub.analysis.summary import summarize
    from work_data_hub.analysis.views import FailureCards, FrameView

__all__ = [
    "DiffStatus",
    "FailureCards",
    "FrameView",
    "diff_sessions",
    "list_sessions",
    "resolve_log",
    "summarize",
    "to_excel",
]

_HOME = {
    "DiffStatus": "diff",
    "FailureCards": "views",
    "FrameView": "views",
    "diff_sessions": "diff",
    "list_sessions": "sessions",
    "resolve_log": "sessions",
    "summarize": "summary",
    "to_excel": "excel",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOME, __all__)
