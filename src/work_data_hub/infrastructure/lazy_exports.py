"""A package face whose names are imported on first use (PEP 562), so a command that
needs one name does not pay for the modules behind the others.

>>> attribute, listing = lazy_exports("json", {"JSONDecoder": "decoder"}, ["JSONDecoder"])
>>> attribute("JSONDecoder").__name__, "JSONDecoder" in listing()
('JSONDecoder', True)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, homes: Mapping[str, str], names: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: each name in ``homes`` comes
    from ``package.<its module>`` when first asked for, then stays in the package."""

    def attribute(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        setattr(sys.modules[package], name, value)  # once: later lookups do not come here
        return value

    def listing() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return attribute, listing
