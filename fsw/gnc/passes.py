"""Pass prediction: when a satellite is above a ground station's mask.

``find_passes`` samples the elevation (SGP4 -> TEME -> ECEF -> look angles,
one C loop) on a grid, then

- finds AOS and LOS by bisection on (elevation - mask) between grid samples
  of opposite sign, to ``precision_s`` (default 0.01 s);
- refines every grid-local maximum by golden-section search, so a short
  grazing pass whose peak falls between samples is still found;
- refines the maximum elevation of each pass the same way.

Times are UTC Julian dates (float); a pass already in progress at the start
or still in progress at the end is clipped there and flagged. States the
propagator cannot give (SGP4 error codes, decay included) count as below
the mask, and so does everything after the first grid sample with an error:
after a decay SGP4 goes on returning states that are not real.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from fsw.gnc._core import ffi, lib
from fsw.gnc.frames import Station
from fsw.gnc.orbit import Satellite

__all__ = ["Pass", "elevation_deg", "find_passes", "jd_from_datetime", "jd_to_datetime"]

_MAX_SAMPLES = 5_000_000
_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0
_J2000_JD = 2451545.0
_J2000 = dt.datetime(2000, 1, 1, 12, tzinfo=dt.timezone.utc)


def jd_from_datetime(when: dt.datetime) -> float:
    """UTC Julian date of an aware datetime (naive means UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return _J2000_JD + (when - _J2000).total_seconds() / 86400.0


def jd_to_datetime(jd: float) -> dt.datetime:
    """Aware UTC datetime of a Julian date (microsecond resolution)."""
    return _J2000 + dt.timedelta(days=jd - _J2000_JD)


@dataclass(frozen=True)
class Pass:
    """One pass over a station; times are UTC Julian dates, angles degrees."""

    aos_jd: float
    los_jd: float
    max_elevation_jd: float
    max_elevation_deg: float
    aos_azimuth_deg: float
    los_azimuth_deg: float
    max_elevation_azimuth_deg: float
    starts_before_span: bool = False
    ends_after_span: bool = False

    @property
    def duration_s(self) -> float:
        return (self.los_jd - self.aos_jd) * 86400.0

    @property
    def aos(self) -> dt.datetime:
        return jd_to_datetime(self.aos_jd)

    @property
    def los(self) -> dt.datetime:
        return jd_to_datetime(self.los_jd)


class _Sky:
    """Look angles of one satellite from one station at seconds from a base date."""

    def __init__(self, sat: Satellite, station: Station, jd0: float, dut1_s: float) -> None:
        self.rec = sat._rec
        self.whole = math.floor(jd0)
        self.frac0 = jd0 - self.whole
        self.dut1_s = dut1_s
        self.limit_s = math.inf  # nothing is visible from here on (decay)
        self.lat = math.radians(station.lat_deg)
        self.lon = math.radians(station.lon_deg)
        self.alt = station.alt_km

    def angles(self, seconds: np.ndarray) -> np.ndarray:
        """(n, 2) azimuth and elevation in degrees; elevation -90 where SGP4 fails."""
        s = np.ascontiguousarray(seconds, dtype=np.float64).reshape(-1)
        n = s.size
        whole = np.full(n, float(self.whole))
        frac = self.frac0 + s / 86400.0
        out = np.empty((n, 4))
        err = np.empty(n, dtype=np.intc)
        lib.tsr_sgp4_look_angles(
            self.rec, n, ffi.cast("double *", ffi.from_buffer(whole)),
            ffi.cast("double *", ffi.from_buffer(frac)), self.dut1_s, self.lat, self.lon,
            self.alt, ffi.cast("double *", ffi.from_buffer(out)),
            ffi.cast("int *", ffi.from_buffer(err)))
        az_el = np.degrees(out[:, :2])
        az_el[(err != 0) | (s >= self.limit_s), 1] = -90.0
        self.last_err = err
        return az_el

    def el(self, second: float) -> float:
        return float(self.angles(np.array([second]))[0, 1])

    def az(self, second: float) -> float:
        return float(self.angles(np.array([second]))[0, 0])

    def jd(self, second: float) -> float:
        return self.whole + self.frac0 + second / 86400.0


def _bisect(sky: _Sky, lo: float, hi: float, mask: float, precision_s: float) -> float:
    """Crossing of the mask between lo and hi (signs differ), to precision_s."""
    f_lo = sky.el(lo) - mask
    while hi - lo > precision_s:
        mid = 0.5 * (lo + hi)
        f_mid = sky.el(mid) - mask
        if (f_mid >= 0.0) == (f_lo >= 0.0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _golden_max(sky: _Sky, lo: float, hi: float, precision_s: float) -> tuple[float, float]:
    """Time and value of the elevation maximum in [lo, hi] (golden-section search)."""
    a, b = lo, hi
    c = b - _INVPHI * (b - a)
    d = a + _INVPHI * (b - a)
    fc, fd = sky.el(c), sky.el(d)
    while b - a > precision_s:
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - _INVPHI * (b - a)
            fc = sky.el(c)
        else:
            a, c, fc = c, d, fd
            d = a + _INVPHI * (b - a)
            fd = sky.el(d)
    t = 0.5 * (a + b)
    candidates = [(sky.el(t), t), (sky.el(lo), lo), (sky.el(hi), hi)]
    best = max(candidates)
    return best[1], best[0]


def elevation_deg(sat: Satellite, station: Station, jd_utc: np.ndarray,
                  dut1_s: float = 0.0) -> np.ndarray:
    """Geometric elevation (deg) of the satellite at UTC Julian dates; -90 where SGP4 fails."""
    jd = np.asarray(jd_utc, dtype=np.float64).reshape(-1)
    if jd.size == 0:
        return jd.copy()
    sky = _Sky(sat, station, float(jd[0]), dut1_s)
    return sky.angles((jd - jd[0]) * 86400.0)[:, 1]


def find_passes(sat: Satellite, station: Station, start_jd: float, end_jd: float,
                min_elevation_deg: float = 0.0, step_s: float | None = None,
                precision_s: float = 0.01, dut1_s: float = 0.0) -> list[Pass]:
    """Passes of ``sat`` above ``min_elevation_deg`` seen from ``station`` in a span.

    ``step_s`` is the coarse sampling step (default: 1/100 of the orbital
    period, at most 60 s); ``precision_s`` bounds the error of AOS, LOS and
    the time of maximum elevation.
    """
    if not end_jd > start_jd:
        raise ValueError("end_jd must be after start_jd")
    if not precision_s > 0.0:
        raise ValueError("precision_s must be positive")
    span_s = (end_jd - start_jd) * 86400.0
    if step_s is None:
        period_s = 2.0 * math.pi / max(sat.mean_motion_rad_min, 1e-9) * 60.0
        step_s = min(60.0, period_s / 100.0)
    if not step_s > 0.0:
        raise ValueError("step_s must be positive")
    n = math.ceil(span_s / step_s) + 1
    if n > _MAX_SAMPLES:
        raise ValueError(f"span / step_s gives {n} samples, more than {_MAX_SAMPLES}: "
                         "split the span or raise step_s")
    grid = np.linspace(0.0, span_s, n)
    sky = _Sky(sat, station, start_jd, dut1_s)
    f = sky.angles(grid)[:, 1] - min_elevation_deg
    failed = np.flatnonzero(sky.last_err)
    if failed.size:
        # SGP4 keeps producing states after a decay; none of them is real
        sky.limit_s = float(grid[failed[0]])
        f[failed[0]:] = -90.0 - min_elevation_deg

    # intervals [aos, los] in seconds from start, with clipping flags
    intervals: list[tuple[float, float, bool, bool]] = []
    above = f >= 0.0
    i = 0
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and above[j + 1]:
            j += 1
        aos = 0.0 if i == 0 else _bisect(sky, grid[i - 1], grid[i], min_elevation_deg,
                                         precision_s)
        los = span_s if j == n - 1 else _bisect(sky, grid[j], grid[j + 1], min_elevation_deg,
                                                precision_s)
        intervals.append((aos, los, i == 0, j == n - 1))
        i = j + 1

    # grazing passes whose peak falls between samples that are all below the mask
    for k in range(1, n - 1):
        if above[k - 1] or above[k] or above[k + 1]:
            continue
        # strict on one side: a flat run (e.g. after a decay) is no peak, and
        # two equal samples give one search, not two
        if not (f[k] >= f[k - 1] and f[k] > f[k + 1]):
            continue
        t_peak, el_peak = _golden_max(sky, grid[k - 1], grid[k + 1], precision_s)
        if el_peak - min_elevation_deg < 0.0:
            continue
        aos = _bisect(sky, grid[k - 1], t_peak, min_elevation_deg, precision_s)
        los = _bisect(sky, t_peak, grid[k + 1], min_elevation_deg, precision_s)
        intervals.append((aos, los, False, False))

    passes = []
    for aos, los, clipped_start, clipped_end in sorted(intervals):
        inside = grid[(grid > aos) & (grid < los)]
        samples = np.concatenate(([aos], inside, [los]))
        k = int(np.argmax(sky.angles(samples)[:, 1]))
        lo = samples[max(k - 1, 0)]
        hi = samples[min(k + 1, samples.size - 1)]
        t_max, el_max = _golden_max(sky, lo, hi, precision_s)
        passes.append(Pass(
            aos_jd=sky.jd(aos), los_jd=sky.jd(los), max_elevation_jd=sky.jd(t_max),
            max_elevation_deg=el_max, aos_azimuth_deg=sky.az(aos),
            los_azimuth_deg=sky.az(los), max_elevation_azimuth_deg=sky.az(t_max),
            starts_before_span=clipped_start, ends_after_span=clipped_end,
        ))
    return passes
