"""SGP4/SDP4 orbit propagation (C core), numpy in and out.

The propagator is ``csrc/tsr_sgp4.c``: the model of Hoots & Roehrich,
Spacetrack Report #3 (1980), as revised by Vallado, Crawford, Hujsak & Kelso,
"Revisiting Spacetrack Report #3" (AIAA 2006-6753), deep space included,
WGS-72 constants. Output is position in km and velocity in km/s in the TEME
frame of date; :mod:`fsw.gnc.frames` converts to ECEF, inertial and
topocentric frames.

Error codes per propagated point (Vallado et al. 2006):

====  ==========================================================
0     ok
1     mean eccentricity out of range (e >= 1 or e < -0.001)
2     mean motion <= 0
3     perturbed eccentricity out of range (deep space)
4     semi-latus rectum < 0
6     decayed: osculating radius below one Earth radius (state still returned)
7     Tessera's addition: time not finite or beyond +-1e8 min (190 years)
====  ==========================================================

For codes 1-4 and 7 the state is NaN.
"""

from __future__ import annotations

import itertools
import math
import os
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, SupportsFloat

import numpy as np

from fsw.gnc._core import ffi, lib
from fsw.gnc.tle import Tle, TleError, parse_tle

__all__ = [
    "ERROR_MESSAGES",
    "PropagationError",
    "Satellite",
    "SatelliteArray",
    "TleError",
]

ERROR_MESSAGES = {
    0: "ok",
    1: "mean eccentricity out of range",
    2: "mean motion not positive",
    3: "perturbed eccentricity out of range",
    4: "semi-latus rectum negative",
    6: "satellite has decayed",
    7: "time not finite or beyond 1e8 minutes",
}

_OPSMODES = {"i": lib.TSR_SGP4_OPSMODE_IMPROVED, "a": lib.TSR_SGP4_OPSMODE_AFSPC}
_XPDOTP = 1440.0 / (2.0 * math.pi)  # rev/day per rad/min
_DEG = math.pi / 180.0


class PropagationError(ValueError):
    """SGP4 could not give a valid state; ``code`` is the Vallado error code."""

    def __init__(self, code: int, minutes: float) -> None:
        self.code = code
        self.minutes = minutes
        super().__init__(
            f"SGP4 error {code} ({ERROR_MESSAGES.get(code, 'unknown')}) at {minutes} min"
        )


def _f64(values: object) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def _dptr(array: np.ndarray):
    return ffi.cast("double *", ffi.from_buffer(array, require_writable=False))


def _iptr(array: np.ndarray):
    return ffi.cast("int *", ffi.from_buffer(array))


# Final: the compiled module keeps these in C statics, not in the module dict.
_SGP4_RV: Final = lib.tsr_sgp4_rv
_SGP4_JD_STATE: Final = lib.tsr_sgp4_jd_state
_SGP4_TSINCE_STATE: Final = lib.tsr_sgp4_tsince_state
_from_buffer: Final = ffi.from_buffer
_UNPACK_STATE: Final = struct.Struct("6d").unpack_from  # position then velocity

Vec3 = tuple[float, float, float]
# `Satellite.sgp4`'s position and velocity: three floats each. Typed as a
# tuple of any length because the compiled method then returns the tuples it
# sliced from the unpacked state as they are; with a three-float type it
# would unbox the six floats and box them again on the way out.
StateVec = tuple[float, ...]


class Satellite:
    """One satellite's SGP4 state, initialised from a TLE or mean elements."""

    __slots__ = ("_rec", "_state", "satnum", "tle")

    def __init__(self) -> None:
        self._rec = ffi.new("tsr_sgp4_sat *")
        # The scalar calls' result: the record's state field, read as bytes.
        self._state = ffi.buffer(self._rec.state)
        self.satnum = 0
        self.tle: Tle | None = None

    @classmethod
    def from_tle(cls, line1: str, line2: str, opsmode: str = "i",
                 verify_checksum: bool = True) -> Satellite:
        """Parse a TLE (raises ``TleError``) and initialise SGP4 (WGS-72).

        ``opsmode`` is 'i' (improved, the default, as in python-sgp4) or 'a'
        (AFSPC compatibility: the older sidereal-time formula).
        """
        return cls.from_parsed(parse_tle(line1, line2, verify_checksum=verify_checksum),
                               opsmode)

    @classmethod
    def from_parsed(cls, tle: Tle, opsmode: str = "i") -> Satellite:
        """Initialise SGP4 from an already parsed element set."""
        sat = cls.from_elements(
            epoch_jd=tle.epoch_jd, epoch_jd_frac=tle.epoch_jd_frac,
            bstar_per_er=tle.bstar_per_er,
            ndot_rev_day2=tle.ndot_rev_day2, nddot_rev_day3=tle.nddot_rev_day3,
            eccentricity=tle.eccentricity, arg_perigee_deg=tle.arg_perigee_deg,
            inclination_deg=tle.inclination_deg, mean_anomaly_deg=tle.mean_anomaly_deg,
            mean_motion_rev_day=tle.mean_motion_rev_day, raan_deg=tle.raan_deg,
            opsmode=opsmode,
        )
        sat.satnum = tle.satnum
        sat.tle = tle
        return sat

    @classmethod
    def from_elements(cls, *, epoch_jd: float, epoch_jd_frac: float, bstar_per_er: float,
                      ndot_rev_day2: float, nddot_rev_day3: float, eccentricity: float,
                      arg_perigee_deg: float, inclination_deg: float,
                      mean_anomaly_deg: float, mean_motion_rev_day: float,
                      raan_deg: float, opsmode: str = "i") -> Satellite:
        """Initialise from mean elements in TLE units (epoch as a split UTC Julian date)."""
        if opsmode not in _OPSMODES:
            raise ValueError(f"opsmode must be 'i' or 'a', got {opsmode!r}")
        sat = cls()
        lib.tsr_sgp4_init(
            sat._rec, epoch_jd, epoch_jd_frac, bstar_per_er,
            ndot_rev_day2 / (_XPDOTP * 1440.0), nddot_rev_day3 / (_XPDOTP * 1440.0 * 1440.0),
            eccentricity, arg_perigee_deg * _DEG, inclination_deg * _DEG,
            mean_anomaly_deg * _DEG, mean_motion_rev_day / _XPDOTP, raan_deg * _DEG,
            _OPSMODES[opsmode],
        )
        return sat

    def __repr__(self) -> str:
        whole, frac = self.epoch_jd
        return (f"Satellite(satnum={self.satnum}, epoch_jd={whole + frac:.8f}, "
                f"deep_space={self.deep_space})")

    @property
    def epoch_jd(self) -> tuple[float, float]:
        """Epoch as (whole, fraction) UTC Julian date."""
        return self._rec.epoch_jd, self._rec.epoch_jd_frac

    @property
    def init_error(self) -> int:
        """Error code of the propagation to epoch done at initialisation."""
        return int(self._rec.init_error)

    @property
    def deep_space(self) -> bool:
        """True when the period is 225 min or more (SDP4 branch)."""
        return bool(self._rec.deep)

    @property
    def mean_motion_rad_min(self) -> float:
        """Brouwer mean motion recovered from the element set, rad/min."""
        return float(self._rec.no_unkozai)

    def propagate(self, minutes_since_epoch: float) -> tuple[np.ndarray, np.ndarray]:
        """TEME position (km) and velocity (km/s) at minutes since epoch.

        Raises PropagationError for any nonzero error code (decay included).
        """
        out = np.empty(6)
        code = _SGP4_RV(self._rec, minutes_since_epoch, _from_buffer("double[]", out))
        if code:
            raise PropagationError(code, float(minutes_since_epoch))
        return out[:3], out[3:]

    def sgp4(self, jd: SupportsFloat, fr: SupportsFloat) -> tuple[int, StateVec, StateVec]:
        """TEME state at the UTC Julian date jd + fr, python-sgp4's scalar shape:
        (error code, position (x, y, z) km, velocity km/s) as plain tuples.

        The fast way to propagate one time: one C call, no numpy. Errors
        are returned, not raised (see the codes above; the state is NaN for
        codes 1-4 and 7). The result goes through this satellite's C record
        while the C call runs without the GIL, so one `Satellite` must not
        be propagated by several threads at once: give each thread its own,
        or use `propagate_array(..., threads=n)`.
        """
        # jd and fr go to C as the Python floats they are (a float annotation
        # would unbox them and box them again for the call).
        code = _SGP4_JD_STATE(self._rec, jd, fr)
        state = _UNPACK_STATE(self._state)
        return code, state[:3], state[3:]

    def sgp4_tsince(self, minutes_since_epoch: float) -> tuple[int, Vec3, Vec3]:
        """`sgp4` at minutes since the element set's epoch (python-sgp4's
        `sgp4_tsince`); the same threading rule applies. Its three-float
        tuples are unboxed: compiled callers (the flight and the simulator)
        read them as doubles without Python objects in between."""
        code = _SGP4_TSINCE_STATE(self._rec, minutes_since_epoch)
        x, y, z, vx, vy, vz = _UNPACK_STATE(self._state)
        return code, (x, y, z), (vx, vy, vz)

    def propagate_array(self, minutes: np.ndarray, threads: int = 1
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Propagate to many times (minutes since epoch) in one C loop.

        Returns r_km[n, 3], v_km_s[n, 3] (TEME) and error codes[n] (int32).
        ``threads`` > 1 splits the times over that many threads.
        """
        t = _f64(minutes).reshape(-1)
        n = t.size
        r = np.empty((n, 3))
        v = np.empty((n, 3))
        err = np.empty(n, dtype=np.intc)
        tp, rp, vp, ep = _dptr(t), _dptr(r), _dptr(v), _iptr(err)

        def call(first: int, count: int) -> None:
            lib.tsr_sgp4_times(self._rec, tp + first, count, rp + 3 * first, vp + 3 * first,
                               ep + first)

        _run_chunks(n, threads, call)
        return r, v, err

    def propagate_jd(self, jd: np.ndarray, jd_frac: np.ndarray, threads: int = 1
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Propagate to UTC Julian dates given as whole + fraction arrays.

        Returns r_km[n, 3], v_km_s[n, 3] (TEME) and error codes[n] (int32).
        """
        whole = _f64(jd).reshape(-1)
        frac = _f64(jd_frac).reshape(-1)
        if whole.shape != frac.shape:
            raise ValueError("jd and jd_frac must have the same length")
        n = whole.size
        r = np.empty((n, 3))
        v = np.empty((n, 3))
        err = np.empty(n, dtype=np.intc)
        jp, fp, rp, vp, ep = _dptr(whole), _dptr(frac), _dptr(r), _dptr(v), _iptr(err)

        def call(first: int, count: int) -> None:
            lib.tsr_sgp4_many_jd(self._rec, 1, jp + first, fp + first, count, rp + 3 * first,
                                 vp + 3 * first, ep + first)

        _run_chunks(n, threads, call)
        return r, v, err


def _run_chunks(total: int, threads: int, call) -> None:
    """Call ``call(first, count)`` over contiguous chunks of range(total).

    The C loops run without the GIL (cffi releases it), so chunks run in
    parallel on separate threads; results do not depend on ``threads``.
    """
    threads = max(1, min(int(threads), total))
    if threads == 1:
        call(0, total)
        return
    bounds = np.linspace(0, total, threads + 1).astype(int)
    futures = [_executor().submit(call, int(a), int(b - a))
               for a, b in itertools.pairwise(bounds) if b > a]
    for future in futures:
        future.result()


class SatelliteArray:
    """Many satellites propagated together: one C call loops satellites x times."""

    __slots__ = ("_recs", "satellites")

    def __init__(self, satellites: Sequence[Satellite]) -> None:
        self.satellites = list(satellites)
        n = len(self.satellites)
        self._recs = ffi.new("tsr_sgp4_sat[]", max(n, 1))
        size = ffi.sizeof("tsr_sgp4_sat")
        for i, sat in enumerate(self.satellites):
            ffi.memmove(self._recs + i, sat._rec, size)

    def __len__(self) -> int:
        return len(self.satellites)

    @classmethod
    def from_tles(cls, tles: Sequence[Tle], opsmode: str = "i") -> SatelliteArray:
        """One SatelliteArray from parsed element sets (see ``parse_tle_text``)."""
        return cls([Satellite.from_parsed(t, opsmode) for t in tles])

    def propagate(self, minutes: np.ndarray, threads: int = 1
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each satellite at the same minutes since its own epoch.

        Returns r_km[nsat, n, 3], v_km_s[nsat, n, 3], error codes[nsat, n].
        """
        t = _f64(minutes).reshape(-1)
        ns, n = len(self), t.size
        r = np.empty((ns, n, 3))
        v = np.empty((ns, n, 3))
        err = np.empty((ns, n), dtype=np.intc)
        tp, rp, vp, ep = _dptr(t), _dptr(r), _dptr(v), _iptr(err)

        def call(first: int, count: int) -> None:
            lib.tsr_sgp4_many_tsince(self._recs + first, count, tp, n, rp + 3 * n * first,
                                     vp + 3 * n * first, ep + n * first)

        _run_chunks(ns, threads, call)
        return r, v, err

    def propagate_jd(self, jd: np.ndarray, jd_frac: np.ndarray, threads: int = 1
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All satellites at the same UTC instants (Julian date whole + fraction).

        Returns r_km[nsat, n, 3], v_km_s[nsat, n, 3], error codes[nsat, n].
        ``threads`` > 1 splits the satellites over that many threads.
        """
        whole = _f64(jd).reshape(-1)
        frac = _f64(jd_frac).reshape(-1)
        if whole.shape != frac.shape:
            raise ValueError("jd and jd_frac must have the same length")
        ns, n = len(self), whole.size
        r = np.empty((ns, n, 3))
        v = np.empty((ns, n, 3))
        err = np.empty((ns, n), dtype=np.intc)
        jp, fp, rp, vp, ep = _dptr(whole), _dptr(frac), _dptr(r), _dptr(v), _iptr(err)

        def call(first: int, count: int) -> None:
            lib.tsr_sgp4_many_jd(self._recs + first, count, jp, fp, n, rp + 3 * n * first,
                                 vp + 3 * n * first, ep + n * first)

        _run_chunks(ns, threads, call)
        return r, v, err


_POOL: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _POOL  # one lazily created pool per process
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                                   thread_name_prefix="tsr-sgp4")
    return _POOL
