"""Pass prediction against skyfield's find_events, plus consistency checks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from skyfield.api import EarthSatellite, load, wgs84

from fsw.gnc.frames import Station, ecef_to_geodetic, teme_to_ecef
from fsw.gnc.orbit import Satellite
from fsw.gnc.passes import Pass, elevation_deg, find_passes, jd_from_datetime, jd_to_datetime

TS = load.timescale(builtin=True)
ISS = ("1 25544U 98067A   24100.50000000  .00016717  00000-0  30306-3 0  9999",
       "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.49815308 41772")
MOLNIYA = ("1 08195U 75081A   06176.33215444  .00000099  00000-0  11873-3 0   813",
           "2 08195  64.1586 279.0717 6877146 264.7651  20.2257  2.00491383225656")
STATION = Station(48.1, 11.6, 0.52, "Munich")


def _skyfield_events(tle: tuple[str, str], station: Station, start_jd: float, days: float,
                     mask: float) -> tuple[list[float], list[float], list[float]]:
    sat = EarthSatellite(*tle, ts=TS)
    topos = wgs84.latlon(station.lat_deg, station.lon_deg, station.alt_km * 1000.0)
    t0 = TS.ut1_jd(start_jd)
    t1 = TS.ut1_jd(start_jd + days)
    times, events = sat.find_events(topos, t0, t1, altitude_degrees=mask)
    utc = [float(x) for x in times.ut1]
    rises = [u for u, e in zip(utc, events, strict=True) if e == 0]
    culm = [u for u, e in zip(utc, events, strict=True) if e == 1]
    sets = [u for u, e in zip(utc, events, strict=True) if e == 2]
    return rises, culm, sets


@pytest.mark.parametrize("mask", [0.0, 10.0])
def test_leo_passes_match_skyfield(mask: float) -> None:
    sat = Satellite.from_tle(*ISS)
    start = sat.epoch_jd[0] + sat.epoch_jd[1]
    # both sides in UT1 time (dut1 folded into the date) so only the methods differ
    passes = find_passes(sat, STATION, start, start + 2.0, min_elevation_deg=mask)
    rises, culm, sets = _skyfield_events(ISS, STATION, start, 2.0, mask)
    # drop passes clipped at the span edges, which find_events reports differently
    full = [p for p in passes if not (p.starts_before_span or p.ends_after_span)]
    assert len(full) >= 4
    assert len(full) == len(rises) == len(sets)
    for p, rise, top, set_ in zip(full, rises, culm, sets, strict=True):
        assert abs(p.aos_jd - rise) * 86400.0 < 1.0
        assert abs(p.los_jd - set_) * 86400.0 < 1.0
        assert abs(p.max_elevation_jd - top) * 86400.0 < 2.0
        assert p.max_elevation_deg >= mask


def test_pass_geometry_is_consistent() -> None:
    sat = Satellite.from_tle(*ISS)
    start = sat.epoch_jd[0] + sat.epoch_jd[1]
    passes = find_passes(sat, STATION, start, start + 1.0, min_elevation_deg=5.0,
                         precision_s=0.001)
    assert passes
    for p in passes:
        el = elevation_deg(sat, STATION, np.array([p.aos_jd, p.los_jd]))
        if not p.starts_before_span:
            assert el[0] == pytest.approx(5.0, abs=1e-3)
        if not p.ends_after_span:
            assert el[1] == pytest.approx(5.0, abs=1e-3)
        fine = np.linspace(p.aos_jd, p.los_jd, 2001)
        assert p.max_elevation_deg >= np.max(elevation_deg(sat, STATION, fine)) - 1e-6
        assert 0.0 <= p.aos_azimuth_deg < 360.0
        assert 60.0 < p.duration_s < 900.0
        assert p.aos < p.los


def test_grazing_pass_between_samples_is_found() -> None:
    """A pass shorter than the sampling step is still found by the peak search."""
    sat = Satellite.from_tle(*ISS)
    start = sat.epoch_jd[0] + sat.epoch_jd[1]
    reference = find_passes(sat, STATION, start, start + 1.0, step_s=10.0)
    low = min(reference, key=lambda p: p.max_elevation_deg)
    mask = low.max_elevation_deg - 0.05  # leaves a pass of a few tens of seconds
    coarse = find_passes(sat, STATION, start, start + 1.0, min_elevation_deg=mask,
                         step_s=120.0)
    match = [p for p in coarse if abs(p.max_elevation_jd - low.max_elevation_jd) < 1e-3]
    assert len(match) == 1
    assert match[0].duration_s < 120.0
    assert match[0].max_elevation_deg == pytest.approx(low.max_elevation_deg, abs=1e-4)


def test_long_deep_space_passes_and_clipping() -> None:
    sat = Satellite.from_tle(*MOLNIYA)
    start = sat.epoch_jd[0] + sat.epoch_jd[1]
    passes = find_passes(sat, STATION, start, start + 2.0, min_elevation_deg=10.0)
    rises, _, sets = _skyfield_events(MOLNIYA, STATION, start, 2.0, 10.0)
    full = [p for p in passes if not (p.starts_before_span or p.ends_after_span)]
    assert len(full) == len(rises) == len(sets) >= 1
    for p, rise, set_ in zip(full, rises, sets, strict=True):
        assert abs(p.aos_jd - rise) * 86400.0 < 1.0
        assert abs(p.los_jd - set_) * 86400.0 < 1.0
    # a span that starts inside a pass is clipped and flagged
    inside = full[0]
    mid = 0.5 * (inside.aos_jd + inside.los_jd)
    clipped = find_passes(sat, STATION, mid, mid + 0.01, min_elevation_deg=10.0)
    assert clipped[0].starts_before_span and clipped[0].aos_jd == pytest.approx(mid)


def test_decayed_satellite_has_no_passes_after_decay() -> None:
    decaying = ("1 29141U 85108AA  06170.26783845  .99999999  00000-0  13519-0 0   718",
                "2 29141  82.4288 273.4882 0015848 277.2124  83.9133 15.93343074  6828")
    sat = Satellite.from_tle(*decaying)
    start = sat.epoch_jd[0] + sat.epoch_jd[1]
    passes = find_passes(sat, Station(0.0, 0.0), start + 0.5, start + 3.0)
    assert passes == []


def test_datetime_helpers_and_argument_checks() -> None:
    when = dt.datetime(2024, 4, 10, 12, 0, tzinfo=dt.timezone.utc)
    jd = jd_from_datetime(when)
    assert jd == 2460411.0
    assert jd_to_datetime(jd) == when
    assert jd_from_datetime(when.replace(tzinfo=None)) == jd
    sat = Satellite.from_tle(*ISS)
    with pytest.raises(ValueError):
        find_passes(sat, STATION, jd, jd)
    with pytest.raises(ValueError):
        find_passes(sat, STATION, jd, jd + 1, precision_s=0.0)
    assert isinstance(find_passes(sat, STATION, jd, jd + 0.5)[0], Pass)


def test_geostationary_always_or_never_visible() -> None:
    geo = ("1 24208U 96044A   06177.04061740 -.00000094  00000-0  10000-3 0  1600",
           "2 24208   3.8536  80.0121 0026640 311.0977  48.3000  1.00778054 36119")
    sat = Satellite.from_tle(*geo)
    start = sat.epoch_jd[0] + sat.epoch_jd[1]
    r, v, _ = sat.propagate_array(np.array([0.0]))
    r_e, _ = teme_to_ecef(r, v, sat.epoch_jd[0], sat.epoch_jd[1])
    _, lon, _ = ecef_to_geodetic(r_e[0])
    below = Station(0.0, float(lon))
    (p,) = find_passes(sat, below, start, start + 1.0)
    assert p.starts_before_span and p.ends_after_span
    assert p.max_elevation_deg > 80.0
    assert find_passes(sat, Station(0.0, float(lon) + 180.0), start, start + 1.0) == []
