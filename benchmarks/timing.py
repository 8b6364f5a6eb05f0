"""How the benchmarks time things and judge targets: medians of runs from one state."""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Figure:
    name: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


@dataclass
class Target:
    name: str
    ratio: float  # of the medians: what the target is judged on
    limit: float
    at_least: bool  # ratio must be >= limit (else <= limit)
    fastest_ratio: float | None = None  # of the fastest runs, to show the noise

    @property
    def met(self) -> bool:
        return self.ratio >= self.limit if self.at_least else self.ratio <= self.limit


def settle() -> None:
    """Start each timed run from the same state: no garbage, no dirty pages.

    Without the sync, a run pays for the previous run's page-cache writeback
    (the kernel throttles writers with many dirty pages), which made the
    write-heavy figures swing by 3x between identical runs.
    """
    gc.collect()
    os.sync()


def timed(
    name: str,
    repeats: int,
    work: Callable[[int], object],
    prepare: Callable[[int], object] | None = None,
) -> Figure:
    """``work(attempt)`` timed ``repeats`` times, each after an untimed ``prepare(attempt)``."""
    runs = []
    for attempt in range(repeats):
        if prepare is not None:
            prepare(attempt)
        settle()
        start = time.perf_counter()
        work(attempt)
        runs.append(time.perf_counter() - start)
    print(f"  {name}: median {statistics.median(runs):.3f}s of {runs}", file=sys.stderr)
    return Figure(name, runs)
