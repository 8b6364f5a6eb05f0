"""The domains ``wdh-etl`` can run, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from work_data_hub.domain import annuity_income, annuity_performance
from work_data_hub.domain.pipeline import Step
from work_data_hub.domain.reference import Reference

__all__ = ["DOMAINS", "DomainSpec"]


@dataclass(frozen=True)
class DomainSpec:
    """What the runner needs to know of a domain."""

    name: str
    amounts: tuple[str, ...]
    texts: tuple[str, ...]
    steps: Callable[[Reference], list[Step]]


DOMAINS: Final[dict[str, DomainSpec]] = {
    spec.name: spec
    for spec in (
        DomainSpec(
            annuity_performance.NAME, annuity_performance.AMOUNTS, (), annuity_performance.steps
        ),
        DomainSpec(
            annuity_income.NAME, annuity_income.AMOUNTS, ("业务类型",), annuity_income.steps
        ),
    )
}
