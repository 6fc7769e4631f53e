"""The simulated reference CubeSat: mass properties, actuators, sensor models.

A 3U CubeSat with the parts Tessera's HAL models: a PNI RM3100
magnetometer, an ST L3GD20H gyro, six coarse sun sensors (photodiodes read
by two TI ADS1115 ADCs), an ISIS iMTQ magnetorquer board and four reaction
wheels on CAN (three on the body axes, one skewed along (1,1,1)/sqrt 3).
Sensors are mounted along the body axes. The numbers are typical
datasheet figures for such parts, stated here once for the whole simulator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fsw.gnc.dynamics import Wheel

_S = 1.0 / math.sqrt(3.0)


def _reference_wheels() -> tuple[Wheel, ...]:
    axes = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (_S, _S, _S))
    return tuple(Wheel(axis, inertia_kgm2=1.5e-5, max_torque_nm=1e-3, max_speed_rad_s=628.3)
                 for axis in axes)


@dataclass(frozen=True)
class SpacecraftModel:
    """Mass properties (kg m^2, body frame), actuators, and sensor error models."""

    inertia_kgm2: np.ndarray = field(default_factory=lambda: np.array(
        [[0.033, 0.0005, 0.0], [0.0005, 0.034, 0.0], [0.0, 0.0, 0.0067]]))
    wheels: tuple[Wheel, ...] = field(default_factory=_reference_wheels)
    has_gyro: bool = True
    has_sun_sensors: bool = True
    max_dipole_am2: float = 0.2
    magnetometer_noise_t: float = 15e-9
    gyro_noise_rad_s: float = math.radians(0.01)
    gyro_bias_rad_s: tuple[float, float, float] = (math.radians(0.05), math.radians(-0.03),
                                                   math.radians(0.02))
    sun_sensor_noise_v: float = 0.005

    @classmethod
    def magnetic_only(cls) -> SpacecraftModel:
        """The same CubeSat with only a magnetometer and magnetorquers (a detumble fit)."""
        return cls(wheels=(), has_gyro=False, has_sun_sensors=False)
