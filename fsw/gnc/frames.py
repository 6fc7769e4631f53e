"""Earth frames and ground-station geometry (C core), numpy in and out.

Frames (see ``csrc/tsr_frames.h``):

- TEME: true equator, mean equinox of date, the output frame of SGP4 and
  the quasi-inertial frame of this module.
- ECEF: Earth-fixed. TEME -> ECEF is a rotation by the Greenwich mean
  sidereal time (IAU-82, as Vallado et al. 2006 define TEME) and, when
  given, polar motion (xp, yp). Without polar motion this is the pseudo
  Earth-fixed frame, within ~10 m of ITRF at the surface.
- MOD / J2000: mean equator and equinox of date / of J2000.0, from TEME
  by the equation of the equinoxes, IAU-80 nutation (terms of 0.5 mas and
  more) and IAU-76 precession; within 0.1 arcsec of GCRS (frame bias
  included) from 1990 to 2040.
- Geodetic: WGS-84 latitude, longitude (degrees, east positive) and
  height above the ellipsoid (km).
- Topocentric: azimuth (degrees from north through east), elevation
  (degrees above the ellipsoid horizon), range (km), range rate (km/s).

Times are UTC Julian dates, optionally split into whole + fraction for
full resolution; ``dut1_s`` = UT1 - UTC in seconds (|dut1| < 0.9 s; leaving
it 0 moves a ground track by up to ~0.4 km at the equator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fsw.gnc._core import ffi, lib

__all__ = [
    "WGS84_A_KM",
    "WGS84_F",
    "Station",
    "ecef_to_geodetic",
    "ecef_to_teme",
    "geodetic_to_ecef",
    "gmst_rad",
    "inertial_to_teme",
    "look_angles",
    "nutation80",
    "teme_to_ecef",
    "teme_to_inertial",
]

WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563


@dataclass(frozen=True)
class Station:
    """A ground station on the WGS-84 ellipsoid."""

    lat_deg: float
    lon_deg: float
    alt_km: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat_deg <= 90.0:
            raise ValueError(f"latitude must be within +-90 deg, got {self.lat_deg}")
        if not math.isfinite(self.lon_deg) or not math.isfinite(self.alt_km):
            raise ValueError("longitude and altitude must be finite")

    @property
    def r_ecef_km(self) -> np.ndarray:
        """Station position, ECEF, km."""
        return geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_km)


def _p(a: np.ndarray):
    return ffi.cast("double *", ffi.from_buffer(a))


def _vec3(x: object, name: str) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.shape[-1:] != (3,):
        raise ValueError(f"{name} must have shape (..., 3), got {a.shape}")
    return a


def _times(jd: object, jd_frac: object, n: int, dut1_s: float) -> tuple[np.ndarray, np.ndarray]:
    whole = np.broadcast_to(np.asarray(jd, dtype=np.float64), (n,))
    frac = np.broadcast_to(np.asarray(jd_frac, dtype=np.float64), (n,)) + dut1_s / 86400.0
    return np.ascontiguousarray(whole), np.ascontiguousarray(frac)


def gmst_rad(jd_ut1: float | np.ndarray, jd_ut1_frac: float | np.ndarray = 0.0) -> np.ndarray:
    """Greenwich mean sidereal time (IAU-82), radians in [0, 2 pi)."""
    whole, frac = np.broadcast_arrays(np.asarray(jd_ut1, dtype=np.float64),
                                      np.asarray(jd_ut1_frac, dtype=np.float64))
    w = np.ascontiguousarray(whole).reshape(-1)
    f = np.ascontiguousarray(frac).reshape(-1)
    out = np.empty(w.size)
    lib.tsr_gmst82_many(w.size, _p(w), _p(f), _p(out))
    return out.reshape(whole.shape)


def teme_to_ecef(r_teme_km: np.ndarray, v_teme_km_s: np.ndarray, jd_utc: object,
                 jd_utc_frac: object = 0.0, dut1_s: float = 0.0, xp_rad: float = 0.0,
                 yp_rad: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """TEME position/velocity (shape (..., 3)) to ECEF at the given UTC instants."""
    return _earth_rotation(lib.tsr_teme_to_ecef_many, "teme", r_teme_km, v_teme_km_s, jd_utc,
                           jd_utc_frac, dut1_s, xp_rad, yp_rad)


def ecef_to_teme(r_ecef_km: np.ndarray, v_ecef_km_s: np.ndarray, jd_utc: object,
                 jd_utc_frac: object = 0.0, dut1_s: float = 0.0, xp_rad: float = 0.0,
                 yp_rad: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """ECEF position/velocity (shape (..., 3)) to TEME at the given UTC instants."""
    return _earth_rotation(lib.tsr_ecef_to_teme_many, "ecef", r_ecef_km, v_ecef_km_s, jd_utc,
                           jd_utc_frac, dut1_s, xp_rad, yp_rad)


def _earth_rotation(rotate_many, frame: str, r_km: object, v_km_s: object, jd_utc: object,
                    jd_utc_frac: object, dut1_s: float, xp_rad: float, yp_rad: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Run one of the batch TEME<->ECEF C routines over (..., 3) position/velocity arrays."""
    r = _vec3(r_km, f"r_{frame}_km")
    v = _vec3(v_km_s, f"v_{frame}_km_s")
    if r.shape != v.shape:
        raise ValueError("r and v must have the same shape")
    n = r.size // 3
    whole, frac = _times(jd_utc, jd_utc_frac, n, dut1_s)
    r_out, v_out = np.empty(r.shape), np.empty(v.shape)
    rotate_many(n, _p(r), _p(v), _p(whole), _p(frac), xp_rad, yp_rad, _p(r_out), _p(v_out))
    return r_out, v_out


def geodetic_to_ecef(lat_deg: object, lon_deg: object, alt_km: object = 0.0) -> np.ndarray:
    """WGS-84 geodetic coordinates to ECEF position, km; shape (..., 3)."""
    lat, lon, alt = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                        np.asarray(lon_deg, dtype=np.float64),
                                        np.asarray(alt_km, dtype=np.float64))
    la = np.ascontiguousarray(np.radians(lat)).reshape(-1)
    lo = np.ascontiguousarray(np.radians(lon)).reshape(-1)
    h = np.ascontiguousarray(alt).reshape(-1)
    out = np.empty((la.size, 3))
    lib.tsr_geodetic_to_ecef_many(la.size, _p(la), _p(lo), _p(h), _p(out))
    return out.reshape((*lat.shape, 3))


def ecef_to_geodetic(r_ecef_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF position (..., 3) km to WGS-84 (lat_deg, lon_deg, alt_km), each shape (...)."""
    r = _vec3(r_ecef_km, "r_ecef_km")
    n = r.size // 3
    lat, lon, alt = np.empty(n), np.empty(n), np.empty(n)
    lib.tsr_ecef_to_geodetic_many(n, _p(r), _p(lat), _p(lon), _p(alt))
    shape = r.shape[:-1]
    return (np.degrees(lat).reshape(shape), np.degrees(lon).reshape(shape), alt.reshape(shape))


def look_angles(r_ecef_km: np.ndarray, v_ecef_km_s: np.ndarray, station: Station
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth (deg), elevation (deg), range (km), range rate (km/s) of targets.

    Targets are ECEF positions/velocities of shape (..., 3); each output has
    shape (...). Elevation is geometric (no refraction).
    """
    r = _vec3(r_ecef_km, "r_ecef_km")
    v = _vec3(v_ecef_km_s, "v_ecef_km_s")
    if r.shape != v.shape:
        raise ValueError("r and v must have the same shape")
    n = r.size // 3
    out = np.empty((n, 4))
    lib.tsr_look_angles_many(n, _p(r), _p(v), math.radians(station.lat_deg),
                             math.radians(station.lon_deg), station.alt_km, _p(out))
    shape = r.shape[:-1]
    return (np.degrees(out[:, 0]).reshape(shape), np.degrees(out[:, 1]).reshape(shape),
            out[:, 2].reshape(shape), out[:, 3].reshape(shape))


def _inertial(r: object, v: object, jd: object, jd_frac: object, frame: str,
              inverse: bool) -> tuple[np.ndarray, np.ndarray]:
    if frame not in ("j2000", "mod"):
        raise ValueError(f"frame must be 'j2000' or 'mod', got {frame!r}")
    rr = _vec3(r, "r_km")
    vv = _vec3(v, "v_km_s")
    if rr.shape != vv.shape:
        raise ValueError("r and v must have the same shape")
    n = rr.size // 3
    whole, frac = _times(jd, jd_frac, n, 0.0)
    r_out, v_out = np.empty(rr.shape), np.empty(vv.shape)
    lib.tsr_teme_inertial_many(n, int(frame == "j2000"), int(inverse), _p(whole), _p(frac),
                               _p(rr), _p(vv), _p(r_out), _p(v_out))
    return r_out, v_out


def teme_to_inertial(r_teme_km: np.ndarray, v_teme_km_s: np.ndarray, jd_tt: object,
                     jd_tt_frac: object = 0.0, frame: str = "j2000"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """TEME to the mean equator and equinox of J2000 (``frame="j2000"``) or of date
    (``"mod"``, the ECI of ``fsw.gnc.environment``); shapes (..., 3).

    Time is TT; passing UTC instead changes the result by under 1e-4 arcsec.
    """
    return _inertial(r_teme_km, v_teme_km_s, jd_tt, jd_tt_frac, frame, inverse=False)


def inertial_to_teme(r_km: np.ndarray, v_km_s: np.ndarray, jd_tt: object,
                     jd_tt_frac: object = 0.0, frame: str = "j2000"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``teme_to_inertial``."""
    return _inertial(r_km, v_km_s, jd_tt, jd_tt_frac, frame, inverse=True)


def nutation80(jd_tt: float, jd_tt_frac: float = 0.0) -> tuple[float, float, float]:
    """IAU-80 nutation in longitude and obliquity and the mean obliquity, radians."""
    dpsi, deps, eps0 = ffi.new("double *"), ffi.new("double *"), ffi.new("double *")
    lib.tsr_nutation80(float(jd_tt), float(jd_tt_frac), dpsi, deps, eps0)
    return dpsi[0], deps[0], eps0[0]
