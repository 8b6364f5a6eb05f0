"""The four reasons a source row ends in the failure log."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorType"]


class ErrorType(StrEnum):
    """Where in a run a row was rejected; each value equals its name.

    >>> ErrorType("DROPPED_IN_PIPELINE") is ErrorType.DROPPED_IN_PIPELINE
    True
    """

    VALIDATION_FAILED = "VALIDATION_FAILED"
    DROPPED_IN_PIPELINE = "DROPPED_IN_PIPELINE"
    ENRICHMENT_FAILED = "ENRICHMENT_FAILED"
    FK_CONSTRAINT_VIOLATION = "FK_CONSTRAINT_VIOLATION"

    def __str__(self) -> str:
        return self.value
