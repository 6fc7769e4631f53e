"""The space environment the simulator puts the spacecraft in.

Earth rotation is a uniform spin from a Greenwich angle at t = 0 (rate
7.292115e-5 rad/s, Vallado 4th ed. eq. 3-40's sidereal rate); the field is
the C core's tilted dipole (IGRF-13 degree 1), evaluated in ECI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fsw.gnc._core import ffi, lib

EARTH_RATE_RAD_S = 7.292115e-5


class Environment:
    """Geomagnetic field along the orbit."""

    def __init__(self, gmst0_rad: float = 0.0) -> None:
        self.gmst0_rad = gmst0_rad
        self._r = ffi.new("double[3]")
        self._b = ffi.new("double[3]")

    def gmst_rad(self, t_s: float) -> float:
        return self.gmst0_rad + EARTH_RATE_RAD_S * t_s

    def b_eci_t(self, r_eci_km: Sequence[float], t_s: float) -> np.ndarray:
        """Field at r (km, ECI) at time t_s, tesla, ECI."""
        self._r[0:3] = [float(x) for x in r_eci_km]
        lib.tsr_dipole_field_eci(self._r, self.gmst_rad(t_s), self._b)
        return np.array(list(self._b))
