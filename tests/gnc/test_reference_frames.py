"""Frames and geometry: published vectors, round trips, and skyfield as an
independent implementation (its own GMST, rotations, WGS-84 and alt/az)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skyfield.api import EarthSatellite, load, wgs84
from skyfield.sgp4lib import TEME_to_ITRF, theta_GMST1982

from fsw.gnc.frames import (
    Station,
    ecef_to_geodetic,
    ecef_to_teme,
    geodetic_to_ecef,
    gmst_rad,
    inertial_to_teme,
    look_angles,
    nutation80,
    teme_to_ecef,
    teme_to_inertial,
)
from fsw.gnc.orbit import Satellite

TS = load.timescale(builtin=True)
ISS = ("1 25544U 98067A   24100.50000000  .00016717  00000-0  30306-3 0  9999",
       "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.49815308 41772")


def test_gmst_vallado_example_3_5() -> None:
    # Vallado, Fundamentals of Astrodynamics, Example 3-5: 1992 Aug 20 12:14 UT1
    g = gmst_rad(2448854.5, (12 + 14 / 60) / 24)
    assert math.degrees(float(g)) == pytest.approx(152.578787886, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.floats(2433282.5, 2488070.5), st.floats(0.0, 1.0))
def test_gmst_matches_skyfield(jd: float, frac: float) -> None:
    whole = math.floor(jd)
    ours = float(gmst_rad(whole, frac))
    theirs, _ = theta_GMST1982(whole, frac)
    diff = (ours - theirs + math.pi) % (2 * math.pi) - math.pi
    assert abs(diff) < 2e-10  # 0.04 mas


def test_teme_to_ecef_matches_skyfield_with_polar_motion() -> None:
    sat = Satellite.from_tle(*ISS)
    r, v, _ = sat.propagate_array(np.linspace(0.0, 1440.0, 11))
    jd0, fr0 = sat.epoch_jd
    frac = fr0 + np.linspace(0.0, 1.0, 11)
    xp, yp = 1.0e-6, -2.0e-6  # ~0.2 and -0.4 arcsec
    r_e, v_e = teme_to_ecef(r, v, jd0, frac, xp_rad=xp, yp_rad=yp)
    for k in range(11):
        # skyfield's (deprecated) function works in km/day
        r_s, v_s = TEME_to_ITRF(jd0, r[k], v[k] * 86400.0, xp, yp, frac[k])
        v_s = v_s / 86400.0
        assert np.max(np.abs(r_e[k] - r_s)) < 1e-6  # 1 mm
        assert np.max(np.abs(v_e[k] - v_s)) < 1e-6  # 1 mm/s (Earth rates differ by 1e-10)


def test_teme_ecef_round_trip_and_dut1() -> None:
    rng = np.random.default_rng(3)
    r = rng.normal(size=(20, 3)) * 7000.0
    v = rng.normal(size=(20, 3)) * 7.0
    jd = 2460000.5 + rng.random(20) * 1000
    r_e, v_e = teme_to_ecef(r, v, jd, 0.0, dut1_s=0.3, xp_rad=1e-6, yp_rad=1e-6)
    r_t, v_t = ecef_to_teme(r_e, v_e, jd, 0.0, dut1_s=0.3, xp_rad=1e-6, yp_rad=1e-6)
    np.testing.assert_allclose(r_t, r, atol=1e-8)
    np.testing.assert_allclose(v_t, v, atol=1e-11)
    # the z axis and the length are kept; a DUT1 of 1 s turns Earth by 7.29e-5 rad
    np.testing.assert_allclose(np.linalg.norm(r_e, axis=1), np.linalg.norm(r, axis=1))
    a, _ = teme_to_ecef(r[0], v[0], jd[0])
    b, _ = teme_to_ecef(r[0], v[0], jd[0], dut1_s=1.0)
    a[2] = b[2] = 0.0
    angle = math.atan2(np.linalg.norm(np.cross(a, b)), np.dot(a, b))
    assert angle == pytest.approx(7.2921e-5, rel=1e-3)


def test_geodetic_vallado_example_3_3() -> None:
    # Vallado, Fundamentals of Astrodynamics, Example 3-3
    lat, lon, alt = ecef_to_geodetic(np.array([6524.834, 6862.875, 6448.296]))
    assert float(lat) == pytest.approx(34.352496, abs=1e-6)
    assert float(lon) == pytest.approx(46.4464, abs=1e-4)
    assert float(alt) == pytest.approx(5085.22, abs=1e-2)


def test_geodetic_poles_and_equator() -> None:
    b_km = 6378.137 * (1 - 1 / 298.257223563)
    lat, _, alt = ecef_to_geodetic(np.array([[0.0, 0.0, b_km + 1.0], [0.0, 0.0, -b_km],
                                             [6378.137, 0.0, 0.0]]))
    np.testing.assert_allclose(lat, [90.0, -90.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(alt, [1.0, 0.0, 0.0], atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(-90.0, 90.0), st.floats(-180.0, 180.0), st.floats(-10.0, 40000.0))
def test_geodetic_round_trip_and_skyfield(lat: float, lon: float, alt: float) -> None:
    r = geodetic_to_ecef(lat, lon, alt)
    np.testing.assert_allclose(r, wgs84.latlon(lat, lon, alt * 1000.0).itrs_xyz.km, atol=1e-9)
    lat2, lon2, alt2 = ecef_to_geodetic(r)
    assert float(lat2) == pytest.approx(lat, abs=1e-9)
    if abs(lat) < 89.9999:
        assert ((float(lon2) - lon + 180.0) % 360.0 - 180.0) == pytest.approx(0.0, abs=1e-9)
    assert float(alt2) == pytest.approx(alt, abs=1e-8)


def test_look_angles_simple_geometry() -> None:
    station = Station(0.0, 0.0, 0.0)
    up = np.array([6378.137 + 500.0, 0.0, 0.0])
    north = np.array([6378.137, 0.0, 100.0])
    east = np.array([6378.137, 100.0, 0.0])
    still = np.zeros(3)
    receding = np.array([1.0, 0.0, 0.0])
    _, el, rng, rr = look_angles(up, receding, station)
    assert float(el) == pytest.approx(90.0) and float(rng) == pytest.approx(500.0)
    assert float(rr) == pytest.approx(1.0)
    az, el, _, _ = look_angles(north, still, station)
    assert float(az) == pytest.approx(0.0, abs=1e-9) and float(el) == pytest.approx(0.0, abs=1e-9)
    az, _, _, _ = look_angles(east, still, station)
    assert float(az) == pytest.approx(90.0)


def test_look_angles_match_skyfield() -> None:
    sat = Satellite.from_tle(*ISS)
    theirs = EarthSatellite(*ISS, ts=TS)
    station = Station(48.1, 11.6, 0.52)
    topos = wgs84.latlon(station.lat_deg, station.lon_deg, station.alt_km * 1000.0)
    t = TS.tt_jd(theirs.model.jdsatepoch + theirs.model.jdsatepochF + np.linspace(0, 1, 300))
    alt, az, dist = (theirs - topos).at(t).altaz()
    # skyfield feeds SGP4 with UTC = TAI - leap seconds; use the same instants
    utc_frac = t.tai_fraction - t._leap_seconds() / 86400.0
    minutes = ((t.whole - sat.epoch_jd[0]) + (utc_frac - sat.epoch_jd[1])) * 1440.0
    r, v, err = sat.propagate_array(minutes)
    assert not err.any()
    # UT1 from skyfield's own tables, passed as the date itself
    r_e, v_e = teme_to_ecef(r, v, np.floor(t.ut1), t.ut1 - np.floor(t.ut1))
    az_o, el_o, rng_o, _ = look_angles(r_e, v_e, station)
    np.testing.assert_allclose(el_o, alt.degrees, atol=2e-6)
    daz = (az_o - az.degrees + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(daz * np.cos(np.radians(el_o)))) < 2e-6
    np.testing.assert_allclose(rng_o, dist.km, atol=1e-4)


def test_shapes_and_errors() -> None:
    r_e, v_e = teme_to_ecef(np.array([7000.0, 0.0, 0.0]), np.array([0.0, 7.5, 0.0]), 2460000.5)
    assert r_e.shape == (3,) and v_e.shape == (3,)
    assert geodetic_to_ecef([0.0, 10.0], [0.0, 20.0]).shape == (2, 3)
    with pytest.raises(ValueError):
        teme_to_ecef(np.zeros((2, 2)), np.zeros((2, 2)), 2460000.5)
    with pytest.raises(ValueError):
        Station(91.0, 0.0)


@pytest.mark.parametrize("year", [1995, 2006, 2024, 2045])
def test_teme_to_j2000_within_0_1_arcsec_of_skyfield_gcrs(year: int) -> None:
    from skyfield.sgp4lib import TEME

    t = TS.tt(year, 7, 1, 3, 0, 0)
    rot = TEME.rotation_at(t)  # r_teme = rot @ r_gcrs
    rng = np.random.default_rng(year)
    r_teme = rng.normal(size=(5, 3)) * 7000.0
    v_teme = rng.normal(size=(5, 3)) * 7.0
    whole = math.floor(t.tt)
    r_j, v_j = teme_to_inertial(r_teme, v_teme, whole, t.tt - whole)
    r_gcrs = r_teme @ rot  # rot.T @ r for each row
    cos_angle = np.sum(r_j * r_gcrs, axis=1) / (np.linalg.norm(r_j, axis=1) ** 2)
    angle_arcsec = np.degrees(np.arccos(np.clip(cos_angle, -1, 1))) * 3600
    assert np.max(angle_arcsec) < 0.1
    np.testing.assert_allclose(np.linalg.norm(v_j, axis=1), np.linalg.norm(v_teme, axis=1))
    back_r, back_v = inertial_to_teme(r_j, v_j, whole, t.tt - whole)
    np.testing.assert_allclose(back_r, r_teme, atol=1e-9)
    np.testing.assert_allclose(back_v, v_teme, atol=1e-12)


def test_nutation_and_mean_of_date() -> None:
    from skyfield.nutationlib import iau2000a_radians

    for year in (2000, 2013, 2030):
        t = TS.tt(year, 1, 1)
        dpsi, deps, eps0 = nutation80(math.floor(t.tt), t.tt - math.floor(t.tt))
        dpsi2, deps2 = iau2000a_radians(t)
        # the IAU-80 and IAU-2000A series differ by a few tens of mas at most
        assert abs(dpsi - dpsi2) < math.radians(0.03 / 3600)
        assert abs(deps - deps2) < math.radians(0.01 / 3600)
        assert math.degrees(eps0) == pytest.approx(23.4392911 - 0.0130042 * (year - 2000) / 100,
                                                   abs=1e-6)
    # at J2000.0 the mean-of-date and J2000 frames coincide
    r = np.array([7000.0, -300.0, 1200.0])
    v = np.array([1.0, 7.0, -0.5])
    a, _ = teme_to_inertial(r, v, 2451545.0, 0.0, frame="mod")
    b, _ = teme_to_inertial(r, v, 2451545.0, 0.0, frame="j2000")
    np.testing.assert_allclose(a, b, atol=1e-9)
    with pytest.raises(ValueError, match="frame"):
        teme_to_inertial(r, v, 2451545.0, frame="gcrs")
