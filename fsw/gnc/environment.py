"""Space environment for attitude work (C core), numpy in and out.

- Sun: Astronomical Almanac low-precision formulae (about 0.01 deg, 1950-2050),
  geocentric, mean equator and equinox of date (used as ECI).
- Eclipse: spherical Earth, cylindrical shadow or umbra/penumbra cones with
  the occulted fraction of the solar disc (Vallado; Montenbruck & Gill).
- Geomagnetic field: IGRF-14 (IAGA V-MOD, 2024) to degree and order 13, with
  the coefficients committed in ``csrc/data/igrf14.inc``.
- Torques: gravity gradient, and drag on one reference area with an offset
  centre of pressure in an exponential atmosphere.

Frames: ECI is the inertial frame of the orbit (z along Earth's spin axis);
ECEF is Earth-fixed; the caller provides the Earth rotation angle ``gmst_rad``
between them (see ``fsw.gnc.frames``). ``q_body_eci`` is scalar-first Hamilton,
``v_body = A(q) v_eci``. Units are SI unless a name says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from fsw.gnc import _ffi
from fsw.gnc._core import lib

# One WGS-84 model for both modules: the C conversion and its constants live in frames.
from fsw.gnc.frames import WGS84_A_KM, WGS84_F, geodetic_to_ecef

__all__ = [
    "IGRF_NMAX",
    "WGS84_A_KM",
    "WGS84_F",
    "atmosphere_density",
    "drag_torque",
    "eclipse_fraction",
    "geodetic_to_ecef",
    "gravity_gradient_torque",
    "igrf_coefficients",
    "igrf_field_ecef",
    "igrf_field_eci",
    "igrf_field_geodetic",
    "sun_position_eci",
    "sun_vector_eci",
]

IGRF_NMAX = lib.TSR_IGRF_NMAX


def _batch3(x: np.ndarray | Sequence[float], name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.shape[-1:] != (3,):
        raise ValueError(f"{name} must have shape (..., 3), got {a.shape}")
    return a


def sun_position_eci(jd_tt: float | np.ndarray) -> np.ndarray:
    """Geocentric sun position, km, ECI (mean of date); shape (..., 3).

    ``jd_tt`` is the Julian date in TT (UT1 is as good at this accuracy).
    """
    jd = np.asarray(jd_tt, dtype=np.float64)
    out = np.empty((*jd.shape, 3))
    flat = out.reshape(-1, 3)
    buf, p = _ffi.out(3)
    for i, t in enumerate(jd.ravel()):
        lib.tsr_sun_position_eci(float(t), p)
        flat[i] = buf
    return out


def sun_vector_eci(jd_tt: float | np.ndarray) -> np.ndarray:
    """Unit vector from Earth's centre to the sun, ECI; shape (..., 3)."""
    r = sun_position_eci(jd_tt)
    return r / np.linalg.norm(r, axis=-1, keepdims=True)


def eclipse_fraction(r_sat_km: np.ndarray | Sequence[float], r_sun_km: np.ndarray | Sequence[float],
                     model: Literal["conical", "cylindrical"] = "conical") -> np.ndarray | float:
    """Fraction of the solar disc hidden by the Earth: 0 in full sun, 1 in umbra.

    Both positions are geocentric, km, in the same frame; shapes broadcast as
    (..., 3). "conical" gives the penumbra fraction in between; "cylindrical"
    only 0 or 1. Returns a float for single vectors.
    """
    fn = {"conical": lib.tsr_shadow_conical, "cylindrical": lib.tsr_shadow_cylindrical}.get(model)
    if fn is None:
        raise ValueError(f"model must be 'conical' or 'cylindrical', not {model!r}")
    sat = _batch3(r_sat_km, "r_sat_km")
    sun = _batch3(r_sun_km, "r_sun_km")
    if sat.ndim == 1 and sun.ndim == 1:  # the common single-vector case, without broadcasting
        return float(fn(_ffi.ptr(np.ascontiguousarray(sat)), _ffi.ptr(np.ascontiguousarray(sun))))
    sat, sun = np.broadcast_arrays(sat, sun)
    shape = sat.shape[:-1]
    sat = np.ascontiguousarray(sat.reshape(-1, 3))
    sun = np.ascontiguousarray(sun.reshape(-1, 3))
    res = np.array([fn(_ffi.ptr(sat[i]), _ffi.ptr(sun[i])) for i in range(sat.shape[0])])
    return float(res[0]) if shape == () else res.reshape(shape)


def igrf_coefficients(decimal_year: float, nmax: int = IGRF_NMAX) -> tuple[np.ndarray, np.ndarray]:
    """IGRF-14 Gauss coefficients (nT) at a decimal year as 14x14 arrays g[n, m], h[n, m]."""
    g, gp = _ffi.out(196)
    h, hp = _ffi.out(196)
    if lib.tsr_igrf_coefficients(float(decimal_year), int(nmax), gp, hp) != 0:
        raise ValueError(f"IGRF-14 covers 1900.0-2030.0 and degrees 1-13: "
                         f"year {decimal_year}, nmax {nmax}")
    return g.reshape(14, 14), h.reshape(14, 14)


def igrf_field_ecef(r_ecef_km: np.ndarray | Sequence[float], decimal_year: float,
                    nmax: int = IGRF_NMAX) -> np.ndarray:
    """IGRF-14 main field, tesla, Earth-fixed axes, at geocentric ECEF positions (..., 3) km."""
    r = _batch3(r_ecef_km, "r_ecef_km")
    flat = np.ascontiguousarray(r.reshape(-1, 3))
    out = np.empty_like(flat)
    for i in range(flat.shape[0]):
        if lib.tsr_igrf_field_ecef(_ffi.ptr(flat[i]), float(decimal_year), int(nmax),
                                   _ffi.ptr(out[i])) != 0:
            raise ValueError(f"IGRF-14 undefined for r={flat[i]} km, year {decimal_year}, "
                             f"nmax {nmax}")
    return out.reshape(r.shape)


def igrf_field_eci(r_eci_km: np.ndarray | Sequence[float], gmst_rad: float, decimal_year: float,
                   nmax: int = IGRF_NMAX) -> np.ndarray:
    """IGRF-14 field, tesla, ECI axes, at an ECI position (km); gmst_rad turns ECI into ECEF."""
    r = _ffi.vec(r_eci_km, 3, "r_eci_km")
    out, p = _ffi.out(3)
    if lib.tsr_igrf_field_eci(_ffi.ptr(r), float(gmst_rad), float(decimal_year), int(nmax),
                              p) != 0:
        raise ValueError(f"IGRF-14 undefined for r={r} km, year {decimal_year}, nmax {nmax}")
    return out


def igrf_field_geodetic(lat_deg: np.ndarray | float, lon_deg: np.ndarray | float,
                        alt_km: np.ndarray | float, decimal_year: float,
                        nmax: int = IGRF_NMAX) -> np.ndarray:
    """IGRF-14 field in nT as (north, east, down) relative to the WGS84 ellipsoid.

    Latitude is geodetic, longitude east, height above the ellipsoid; shape (..., 3).
    """
    r = geodetic_to_ecef(lat_deg, lon_deg, alt_km)
    b = igrf_field_ecef(r, decimal_year, nmax) * 1e9
    lat = np.radians(np.asarray(lat_deg, dtype=float))[..., None]
    lon = np.radians(np.asarray(lon_deg, dtype=float))[..., None]
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    north = -sl * co * b[..., :1] - sl * so * b[..., 1:2] + cl * b[..., 2:3]
    east = -so * b[..., :1] + co * b[..., 1:2]
    down = -cl * co * b[..., :1] - cl * so * b[..., 1:2] - sl * b[..., 2:3]
    return np.concatenate([north, east, down], axis=-1)


def gravity_gradient_torque(inertia_kgm2: np.ndarray, q_body_eci: np.ndarray,
                            r_eci_km: np.ndarray) -> np.ndarray:
    """Gravity-gradient torque, N m, body frame: 3 mu / r^3 (n x J n)."""
    j = np.ascontiguousarray(inertia_kgm2, dtype=float).reshape(9)
    q = _ffi.vec(q_body_eci, 4, "q_body_eci")
    r = _ffi.vec(r_eci_km, 3, "r_eci_km")
    out, p = _ffi.out(3)
    lib.tsr_gravity_gradient_torque(_ffi.ptr(j), _ffi.ptr(q), _ffi.ptr(r), p)
    return out


def atmosphere_density(alt_km: float) -> float:
    """Exponential-model air density, kg/m^3 (Vallado Table 8-4), at a height in km."""
    return float(lib.tsr_atmosphere_density(float(alt_km)))


def drag_torque(q_body_eci: np.ndarray, v_rel_eci_m_s: np.ndarray, density_kg_m3: float,
                cd: float, area_m2: float, cp_body_m: np.ndarray) -> np.ndarray:
    """Aerodynamic torque, N m, body frame, of drag on `area_m2` acting at `cp_body_m`.

    ``v_rel_eci_m_s`` is the velocity relative to the air (m/s, ECI).
    """
    q = _ffi.vec(q_body_eci, 4, "q_body_eci")
    v = _ffi.vec(v_rel_eci_m_s, 3, "v_rel_eci_m_s")
    cp = _ffi.vec(cp_body_m, 3, "cp_body_m")
    out, p = _ffi.out(3)
    lib.tsr_drag_torque(_ffi.ptr(q), _ffi.ptr(v), float(density_kg_m3), float(cd),
                        float(area_m2), _ffi.ptr(cp), p)
    return out
