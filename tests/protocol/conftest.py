"""Fixtures for the space-link tests (helpers live in spacelink_kit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import settings
from spacelink_kit import KEY_DOC, Link

# Time is measured in bench/, never asserted in a test: Hypothesis's deadline
# per example only turns a loaded machine (or a mutation run's tracer) into
# failures that say nothing about the code.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    p = tmp_path / "keys.json"
    p.write_text(json.dumps(KEY_DOC))
    return p


@pytest.fixture
def link(key_file: Path, tmp_path: Path) -> Link:
    return Link(key_file, tmp_path / "flight.db", tmp_path / "ground.db")
