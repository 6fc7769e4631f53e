"""Imports point down only: csrc <- hal <- fsw <- ground, hil; tessera/ above all.

A flight image carries hal/ and fsw/ without the ground segment or the bench,
and the HAL is reused by benches that run no flight framework, so an upward
import would break those deployments even if every test in one checkout passes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Packages each layer must never import (docs/architecture.md, "Layers").
FORBIDDEN = {
    "hal": {"fsw", "ground", "hil", "tessera", "bench"},
    "fsw": {"ground", "hil", "tessera", "bench"},
    "ground": {"hil", "tessera", "bench"},
    "hil": {"tessera", "bench"},
}


def imported_top_packages(source: str) -> set[tuple[str, int]]:
    """Top-level package names imported anywhere in `source`, with line numbers,
    including imports inside functions (a lazy import is still a dependency)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def test_finder_sees_lazy_and_from_imports():
    source = "import os\ndef f():\n    from ground.link import x\n    import hil.server\n"
    assert {name for name, _ in imported_top_packages(source)} == {"os", "ground", "hil"}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_down(layer):
    violations = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for name, line in imported_top_packages(path.read_text(encoding="utf-8")):
            if name in FORBIDDEN[layer]:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not violations, "upward imports:\n" + "\n".join(violations)
