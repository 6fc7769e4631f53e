"""Orbit models of the simulator.

`Sgp4Orbit` propagates SGP4 mean elements (the same elements the flight
software is given, so both sides agree on the orbit as they would with a
fresh TLE); TEME serves as the inertial frame. `KeplerOrbit` is the plain
two-body model for tests that want no perturbations: Kepler's equation
solved from classical elements (Vallado, "Fundamentals of Astrodynamics and
Applications", 4th ed., algorithms 2 and 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from fsw.gnc.ephemeris import MU_EARTH_KM3_S2, R_EARTH_KM, MeanElements
from fsw.gnc.orbit import PropagationError, Vec3


@dataclass(frozen=True)
class KeplerOrbit:
    """Classical elements at t = 0 (km, degrees)."""

    a_km: float
    e: float = 0.0
    i_deg: float = 97.4
    raan_deg: float = 0.0
    argp_deg: float = 0.0
    m0_deg: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.e < 1.0:
            raise ValueError(f"eccentricity {self.e} is not elliptical")
        if self.a_km * (1.0 - self.e) <= R_EARTH_KM:
            raise ValueError(f"perigee {self.a_km * (1 - self.e):.0f} km is inside the Earth")

    @classmethod
    def circular(cls, alt_km: float, i_deg: float = 97.4, raan_deg: float = 0.0) -> KeplerOrbit:
        return cls(R_EARTH_KM + alt_km, 0.0, i_deg, raan_deg)

    @property
    def mean_motion_rad_s(self) -> float:
        return math.sqrt(MU_EARTH_KM3_S2 / self.a_km**3)

    @cached_property
    def _to_eci(self) -> np.ndarray:
        return _perifocal_to_eci(math.radians(self.raan_deg), math.radians(self.i_deg),
                                 math.radians(self.argp_deg))

    @property
    def period_s(self) -> float:
        return 2.0 * math.pi / self.mean_motion_rad_s

    def state_eci(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Position (km) and velocity (km/s), inertial frame, at t_s after epoch."""
        e = self.e
        m = math.radians(self.m0_deg) + self.mean_motion_rad_s * t_s
        big_e = m if e < 0.8 else math.pi
        if e > 0.0:
            for _ in range(50):  # Newton on E - e sin E = M; converges in a few steps
                d = (big_e - e * math.sin(big_e) - m) / (1.0 - e * math.cos(big_e))
                big_e -= d
                if abs(d) < 1e-14:
                    break
        cos_e, sin_e = math.cos(big_e), math.sin(big_e)
        a = self.a_km
        r = a * (1.0 - e * cos_e)
        root = math.sqrt(1.0 - e * e)
        # Perifocal position (x, y) and velocity (vx, vy); z is zero in that frame.
        x, y = a * (cos_e - e), a * root * sin_e
        k = math.sqrt(MU_EARTH_KM3_S2 * a) / r
        vx, vy = -k * sin_e, k * root * cos_e
        rot = self._to_eci
        return rot[:, 0] * x + rot[:, 1] * y, rot[:, 0] * vx + rot[:, 1] * vy

    def state_eci_tuples(self, t_s: float) -> tuple[Vec3, Vec3]:
        """`state_eci` as plain (x, y, z) tuples (the simulator's per-step form)."""
        r_km, v_km_s = self.state_eci(t_s)
        return tuple(r_km.tolist()), tuple(v_km_s.tolist())


def _perifocal_to_eci(raan: float, inc: float, argp: float) -> np.ndarray:
    cO, sO = math.cos(raan), math.sin(raan)
    ci, si = math.cos(inc), math.sin(inc)
    cw, sw = math.cos(argp), math.sin(argp)
    return np.array([
        [cO * cw - sO * sw * ci, -cO * sw - sO * cw * ci, sO * si],
        [sO * cw + cO * sw * ci, -sO * sw + cO * cw * ci, -cO * si],
        [sw * si, cw * si, ci],
    ])


class Sgp4Orbit:
    """SGP4 orbit from mean elements; TEME is used as the inertial frame.

    Simulation time t_s counts from `sim_epoch_tai_s`.
    """

    def __init__(self, elements: MeanElements, sim_epoch_tai_s: float) -> None:
        self.elements = elements
        self._sat = elements.satellite()
        self._offset_min = (sim_epoch_tai_s - elements.epoch_tai_s) / 60.0
        self.period_s = 86400.0 / elements.mean_motion_rev_day

    def state_eci(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Position (km) and velocity (km/s), TEME, at t_s after the simulation epoch."""
        return self._sat.propagate(self._offset_min + t_s / 60.0)

    def state_eci_tuples(self, t_s: float) -> tuple[Vec3, Vec3]:
        """`state_eci` as plain (x, y, z) tuples: the simulator's per-step form,
        the same C propagation without numpy."""
        minutes = self._offset_min + t_s / 60.0
        code, r_km, v_km_s = self._sat.sgp4_tsince(minutes)
        if code:
            raise PropagationError(code, float(minutes))
        return r_km, v_km_s
