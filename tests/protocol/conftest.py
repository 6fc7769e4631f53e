"""Fixtures for the space-link tests (helpers live in spacelink_kit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spacelink_kit import KEY_DOC, Link


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    p = tmp_path / "keys.json"
    p.write_text(json.dumps(KEY_DOC))
    return p


@pytest.fixture
def link(key_file: Path, tmp_path: Path) -> Link:
    return Link(key_file, tmp_path / "flight.db", tmp_path / "ground.db")
