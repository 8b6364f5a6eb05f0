"""The domains ``wdh-etl`` runs, by name: adding a domain is one line here."""

from __future__ import annotations

from typing import Final

from work_data_hub.domain import annual_award, annuity_income, annuity_performance
from work_data_hub.domain.spec import DomainSpec

__all__ = ["DOMAINS", "DomainSpec"]

DOMAINS: Final[dict[str, DomainSpec]] = {
    spec.name: spec
    for spec in (
        annuity_performance.SPEC,
        annuity_income.SPEC,
        annual_award.SPEC,
    )
}
