"""The simulated reference CubeSat: mass properties, actuators, sensor models.

A 3U CubeSat with the parts Tessera's HAL models (wired as in
hal/reference.toml): a PNI RM3100 magnetometer, an ST L3GD20H gyro, six
coarse sun sensors (photodiodes read by two TI ADS1115 ADCs), an ISIS iMTQ
magnetorquer board, four reaction wheels on CAN (three on the body axes,
one skewed along (1,1,1)/sqrt 3), a GomSpace P31u EPS, an NMEA GPS receiver
and a UHF radio. Sensors are mounted along the body axes. The numbers are
typical datasheet figures for such parts, stated here once for the whole
simulator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fsw.gnc.dynamics import Wheel
from ground.sim.power import PowerModel

_S = 1.0 / math.sqrt(3.0)


def _reference_wheels() -> tuple[Wheel, ...]:
    axes = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (_S, _S, _S))
    return tuple(Wheel(axis, inertia_kgm2=1.5e-5, max_torque_nm=1e-3, max_speed_rad_s=628.3)
                 for axis in axes)


@dataclass(frozen=True)
class SpacecraftModel:
    """Mass properties (kg m^2, body frame), which parts are fitted, and what the
    simulator adds to the parts' own models (hal.sim.reference): gyro bias, power."""

    inertia_kgm2: np.ndarray = field(default_factory=lambda: np.array(
        [[0.033, 0.0005, 0.0], [0.0005, 0.034, 0.0], [0.0, 0.0, 0.0067]]))
    wheels: tuple[Wheel, ...] = field(default_factory=_reference_wheels)
    has_gyro: bool = True
    has_sun_sensors: bool = True
    has_power_gps_radio: bool = True
    gyro_bias_rad_s: tuple[float, float, float] = (math.radians(0.05), math.radians(-0.03),
                                                   math.radians(0.02))
    # Body-mounted solar panels on the four long faces, loads and battery.
    power: PowerModel = field(default_factory=PowerModel)

    @classmethod
    def magnetic_only(cls) -> SpacecraftModel:
        """The same CubeSat with only a magnetometer and magnetorquers (a detumble fit)."""
        return cls(wheels=(), has_gyro=False, has_sun_sensors=False, has_power_gps_radio=False)
