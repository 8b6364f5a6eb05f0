"""Failure analysis: what failed in a run, where, and is it new.

Plain DataFrames first; terminal and notebook views are built over them.
"""

from work_data_hub.analysis.diff import diff_sessions
from work_data_hub.analysis.excel import to_excel
from work_data_hub.analysis.sessions import list_sessions, resolve_log
from work_data_hub.analysis.summary import summarize
from work_data_hub.analysis.views import FailureCards, FrameView

__all__ = [
    "FailureCards",
    "FrameView",
    "diff_sessions",
    "list_sessions",
    "resolve_log",
    "summarize",
    "to_excel",
]
