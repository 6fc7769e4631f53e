"""The space environment the simulator puts the spacecraft in.

Time: simulation time t (s) counts from the mission epoch `epoch_tai_s`
(TAI seconds since 1958, as the flight clock). Earth's rotation angle is
GMST (IAU-82, with UT1 = UTC); the sun is the Astronomical Almanac
low-precision position; the shadow is the conical umbra/penumbra model; the
field is IGRF-14 to degree 13, or the IGRF-13 tilted dipole when a test or
benchmark wants the simplest model. All from the C core via fsw.gnc.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Final, Literal

import numpy as np

from fsw.core.time import DEFAULT_EPOCH_TAI_S, decimal_year, jd_tt, jd_utc_split
from fsw.gnc._core import ffi, lib
from fsw.gnc.environment import IGRF_NMAX

# Three doubles in and out of the C buffers in one struct call each (the
# same doubles; compiled, a cffi slice assignment or three item reads are
# generic calls element by element).
_VEC3: Final = struct.Struct("3d")
# The C functions called every step, looked up in the library once.
_GMST82: Final = lib.tsr_gmst82
_IGRF_FIELD_ECI: Final = lib.tsr_igrf_field_eci
_SHADOW_CONICAL: Final = lib.tsr_shadow_conical


def _put3(buffer, v: Sequence[float]) -> None:
    """Write the three values of `v` as doubles into a C buffer."""
    if type(v) is tuple and len(v) == 3:
        # Read natively, no unpacking protocol; Any: floats are passed on as
        # the objects they are, not unboxed and boxed again.
        t: tuple[Any, ...] = v
        x, y, z = t[0], t[1], t[2]
        if type(x) is float and type(y) is float and type(z) is float:
            _VEC3.pack_into(buffer, 0, x, y, z)
            return
    else:
        x, y, z = v
    _VEC3.pack_into(buffer, 0, float(x), float(y), float(z))

FieldModel = Literal["igrf", "dipole"]


class Environment:
    """Field, sun and shadow along the orbit, at simulation time t_s."""

    def __init__(self, epoch_tai_s: float = DEFAULT_EPOCH_TAI_S,
                 field_model: FieldModel = "igrf") -> None:
        if field_model not in ("igrf", "dipole"):
            raise ValueError(f"field_model must be 'igrf' or 'dipole', not {field_model!r}")
        self.epoch_tai_s = epoch_tai_s
        self.field_model = field_model
        self.decimal_year = decimal_year(epoch_tai_s)  # secular change over a run is negligible
        # The simulator calls these every step: C buffers reused, no numpy round trips.
        self._r = ffi.new("double[3]")
        self._b = ffi.new("double[3]")
        self._sun = ffi.new("double[3]")
        self._r_bytes = ffi.buffer(self._r)
        self._b_bytes = ffi.buffer(self._b)
        self._sun_bytes = ffi.buffer(self._sun)
        # The tuples last written into `_r` and `_sun`: the simulator asks for
        # the field and the shadow at the same position every step, and for
        # the shadow of the same sun for a second; a tuple cannot change, so
        # the same one need not be written again.
        self._r_written: tuple[float, ...] | None = None
        self._sun_written: tuple[float, ...] | None = None

    def jd_tt(self, t_s: float) -> float:
        return jd_tt(self.epoch_tai_s + t_s)

    def jd_utc(self, t_s: float) -> tuple[float, float]:
        return jd_utc_split(self.epoch_tai_s + t_s)

    def gmst_rad(self, t_s: float) -> float:
        """Earth rotation angle ECI -> ECEF (GMST, IAU-82; UT1 taken as UTC)."""
        whole, frac = self.jd_utc(t_s)
        return lib.tsr_gmst82(whole, frac)

    def b_eci_t(self, r_eci_km: Sequence[float], t_s: float) -> np.ndarray:
        """Field at r (km, ECI) at time t_s, tesla, ECI."""
        return np.array(self.field_eci_t(r_eci_km, t_s))

    def field_eci_t(self, r_eci_km: Sequence[float], t_s: float) -> tuple[float, float, float]:
        """`b_eci_t` as a plain (x, y, z) tuple, tesla, ECI: the simulator's
        per-step form, without a numpy round trip."""
        whole, frac = jd_utc_split(self.epoch_tai_s + t_s)
        gmst = _GMST82(whole, frac)  # `gmst_rad`, one call shallower every step
        self._write_r(r_eci_km)
        if self.field_model == "dipole":
            lib.tsr_dipole_field_eci(self._r, gmst, self._b)
        elif _IGRF_FIELD_ECI(self._r, gmst, self.decimal_year, IGRF_NMAX, self._b) != 0:
            raise ValueError(f"IGRF-14 undefined at r={list(r_eci_km)} km, "
                             f"year {self.decimal_year:.3f}")
        bx, by, bz = _VEC3.unpack_from(self._b_bytes)
        return (bx, by, bz)

    def sun_eci_km(self, t_s: float) -> np.ndarray:
        """Geocentric sun position, km, ECI."""
        lib.tsr_sun_position_eci(self.jd_tt(t_s), self._sun)
        self._sun_written = None  # `_sun` now holds this position, no tuple's
        return np.array(list(self._sun))

    def lit_fraction(self, r_eci_km: Sequence[float], sun_eci_km: Sequence[float]) -> float:
        """Fraction of the solar disc visible from r: 1 in full sun, 0 in umbra."""
        self._write_r(r_eci_km)
        if type(sun_eci_km) is not tuple or sun_eci_km is not self._sun_written:
            _put3(self._sun_bytes, sun_eci_km)
            self._sun_written = sun_eci_km if type(sun_eci_km) is tuple else None
        return 1.0 - _SHADOW_CONICAL(self._r, self._sun)

    def _write_r(self, r_eci_km: Sequence[float]) -> None:
        """Put a position into the C buffer `_r`, unless it is the tuple already there."""
        if type(r_eci_km) is not tuple or r_eci_km is not self._r_written:
            _put3(self._r_bytes, r_eci_km)
            self._r_written = r_eci_km if type(r_eci_km) is tuple else None
