"""Shared fixtures for the HAL tests."""

from __future__ import annotations

import pytest

from hal.sim import SimI2C


@pytest.fixture
def i2c() -> SimI2C:
    return SimI2C("i2c0")
