"""The simulated spacecraft: mass properties and mounting of its parts.

The default is a 3U CubeSat with an RM3100 magnetometer and an ISIS iMTQ
magnetorquer board, both aligned with the body axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SpacecraftModel:
    """Mass properties (kg m^2, body frame) and sensor mountings (sensor -> body)."""

    inertia_kgm2: np.ndarray = field(default_factory=lambda: np.array(
        [[0.033, 0.0005, 0.0], [0.0005, 0.034, 0.0], [0.0, 0.0, 0.0067]]))
    magnetometer_to_body: np.ndarray = field(default_factory=lambda: np.eye(3))
    max_dipole_am2: float = 0.2
