"""The layout shows the architecture: each layer imports only the layers below it.

Read from the code's own imports (``ast``), so a new arrow that runs back up
fails here before a reviewer has to find it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "src" / "work_data_hub"
#: layer -> the project packages it may import (its own included)
ALLOWED = {
    "errors": set(),
    "infrastructure": {"errors", "infrastructure"},
    "domain": {"errors", "infrastructure", "domain"},
    "io": {"errors", "infrastructure", "domain", "io"},
    "workflows": {"errors", "infrastructure", "domain", "io", "workflows"},
    "analysis": {"errors", "infrastructure", "analysis"},
    "samples": {"errors", "infrastructure", "domain", "samples"},
}


def _imports(path: Path) -> set[str]:
    """The project packages a module imports (first part after work_data_hub)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "work_data_hub" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_layers_below_its_own(path):
    layer = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    if layer not in ALLOWED:
        return  # the commands and quickstart sit on top
    above = _imports(path) - ALLOWED[layer]
    assert not above, f"{path.relative_to(PACKAGE)} imports {sorted(above)}, above {layer}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_holds_more_than_one_concept_s_worth(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_io_names_no_column_of_any_domain():
    han = re.compile("[\u4e00-\u9fff]")
    for path in (PACKAGE / "io").rglob("*.py"):
        assert not han.search(path.read_text(encoding="utf-8")), path
