"""Satellite / SatelliteArray behaviour beyond the verification set."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4.api import WGS72, Satrec

from fsw.gnc.orbit import PropagationError, Satellite, SatelliteArray
from fsw.gnc.tle import TleError, parse_tle_text

ISS = ("1 25544U 98067A   24100.50000000  .00016717  00000-0  30306-3 0  9999",
       "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.49815308 41772")
MOLNIYA = ("1 08195U 75081A   06176.33215444  .00000099  00000-0  11873-3 0   813",
           "2 08195  64.1586 279.0717 6877146 264.7651  20.2257  2.00491383225656")
GEO = ("1 24208U 96044A   06177.04061740 -.00000094  00000-0  10000-3 0  1600",
       "2 24208   3.8536  80.0121 0026640 311.0977  48.3000  1.00778054 36119")


def _peer_afspc(tle: tuple[str, str]) -> Satrec:
    ref = Satrec.twoline2rv(*tle)
    peer = Satrec()
    peer.sgp4init(WGS72, "a", ref.satnum, ref.jdsatepoch + ref.jdsatepochF - 2433281.5,
                  ref.bstar, ref.ndot, ref.nddot, ref.ecco, ref.argpo, ref.inclo, ref.mo,
                  ref.no_kozai, ref.nodeo)
    return peer


@pytest.mark.parametrize("tle", [ISS, MOLNIYA, GEO], ids=["leo", "molniya", "geo"])
def test_afspc_opsmode_matches_python_sgp4(tle: tuple[str, str]) -> None:
    ours = Satellite.from_tle(*tle, opsmode="a")
    peer = _peer_afspc(tle)
    for t in np.linspace(-2880.0, 10000.0, 41):
        e, r, v = peer.sgp4_tsince(float(t))
        got_r, got_v = ours.propagate(float(t))
        assert e == 0
        assert np.max(np.abs(got_r - r)) < 1e-6
        assert np.max(np.abs(got_v - v)) < 1e-9


def test_bad_opsmode() -> None:
    with pytest.raises(ValueError, match="opsmode"):
        Satellite.from_tle(*ISS, opsmode="x")


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_threads_do_not_change_results(threads: int) -> None:
    sats = [Satellite.from_tle(*t) for t in (ISS, MOLNIYA, GEO)] * 3
    group = SatelliteArray(sats)
    minutes = np.linspace(-500.0, 20000.0, 101)
    base = group.propagate(minutes)
    for got, want in zip(group.propagate(minutes, threads=threads), base, strict=True):
        np.testing.assert_array_equal(got, want)
    jd = np.full(50, 2453911.5)
    fr = np.linspace(0.0, 5.0, 50)
    base = group.propagate_jd(jd, fr)
    for got, want in zip(group.propagate_jd(jd, fr, threads=threads), base, strict=True):
        np.testing.assert_array_equal(got, want)
    one = sats[1]
    base = one.propagate_array(minutes)
    for got, want in zip(one.propagate_array(minutes, threads=threads), base, strict=True):
        np.testing.assert_array_equal(got, want)


def test_batch_equals_scalar_for_resonant_orbits_in_any_order() -> None:
    """Batches carry the resonance integrator along; single calls restart it."""
    rng = np.random.default_rng(5)
    minutes = np.concatenate([np.linspace(0, 30000, 50), rng.uniform(-20000, 20000, 50)])
    for tle in (MOLNIYA, GEO):
        sat = Satellite.from_tle(*tle)
        r, v, err = sat.propagate_array(minutes)
        for k, t in enumerate(minutes):
            rs, vs = sat.propagate(float(t))
            assert err[k] == 0
            np.testing.assert_array_equal(r[k], rs)
            np.testing.assert_array_equal(v[k], vs)


def test_properties_and_scalar_error() -> None:
    sat = Satellite.from_tle(*ISS)
    assert sat.satnum == 25544 and sat.tle is not None
    assert sat.epoch_jd == (2460409.5, 0.5)  # 2024 day 100.5 = 9 April 12:00
    assert not sat.deep_space and Satellite.from_tle(*MOLNIYA).deep_space
    assert sat.init_error == 0
    assert repr(sat) == "Satellite(satnum=25544, epoch_jd=2460410.00000000, deep_space=False)"
    assert sat.mean_motion_rad_min == pytest.approx(15.49815308 * 2 * math.pi / 1440, rel=1e-3)
    with pytest.raises(PropagationError) as info:
        sat.propagate(float("nan"))
    assert info.value.code == 7
    _, _, err = sat.propagate_array([0.0, math.inf, 1e9])
    assert err.tolist() == [0, 7, 7]


def test_empty_batches() -> None:
    sat = Satellite.from_tle(*ISS)
    r, _, err = sat.propagate_array(np.array([]))
    assert r.shape == (0, 3) and err.shape == (0,)
    r, _, err = SatelliteArray([]).propagate(np.arange(3.0))
    assert r.shape == (0, 3, 3)
    with pytest.raises(ValueError):
        sat.propagate_jd(np.zeros(2), np.zeros(3))


def test_catalogue_text() -> None:
    text = "\n".join(["ISS (ZARYA)", *ISS, "", "0 MOLNIYA 2-14", *MOLNIYA, *GEO]) + "\n"
    tles = parse_tle_text(text)
    assert [t.satnum for t in tles] == [25544, 8195, 24208]
    assert [t.name for t in tles] == ["ISS (ZARYA)", "MOLNIYA 2-14", ""]
    group = SatelliteArray.from_tles(tles)
    r, _, err = group.propagate(np.array([0.0, 60.0]))
    assert r.shape == (3, 2, 3) and not err.any()
    with pytest.raises(TleError, match="catalogue line 2: line 1 checksum"):
        parse_tle_text("NAME\n" + ISS[0][:-1] + "0\n" + ISS[1])
    with pytest.raises(TleError, match="without a line 2"):
        parse_tle_text(ISS[0])
    with pytest.raises(TleError, match="without a line 1"):
        parse_tle_text(ISS[1])


@settings(max_examples=300, deadline=None)
@given(
    ecc=st.floats(-0.5, 1.5), incl=st.floats(-10.0, 200.0), n=st.floats(-1.0, 20.0),
    bstar=st.floats(-1.0, 1.0), ndot=st.floats(-1.0, 1.0), nddot=st.floats(-1e-3, 1e-3),
    minutes=st.lists(st.floats(-1e9, 1e9) | st.sampled_from([math.nan, math.inf, -math.inf]),
                     min_size=1, max_size=5),
)
def test_any_elements_end_with_a_known_code(ecc: float, incl: float, n: float, bstar: float,
                                            ndot: float, nddot: float,
                                            minutes: list[float]) -> None:
    """Nonsense elements must neither crash nor hang: every point gets a known code."""
    sat = Satellite.from_elements(
        epoch_jd=2460000.5, epoch_jd_frac=0.25, bstar_per_er=bstar, ndot_rev_day2=ndot,
        nddot_rev_day3=nddot, eccentricity=ecc, arg_perigee_deg=10.0, inclination_deg=incl,
        mean_anomaly_deg=20.0, mean_motion_rev_day=n, raan_deg=30.0,
    )
    _, _, err = sat.propagate_array(np.array(minutes))
    assert set(err.tolist()) <= {0, 1, 2, 3, 4, 6, 7}


@pytest.mark.parametrize("tle", [ISS, MOLNIYA, GEO], ids=["leo", "molniya", "geo"])
@pytest.mark.parametrize("days", [-1.25, 0.0, 0.3, 7.0])
def test_scalar_call_matches_python_sgp4(tle: tuple[str, str], days: float) -> None:
    ours, peer = Satellite.from_tle(*tle), Satrec.twoline2rv(*tle)
    jd, fr = peer.jdsatepoch, peer.jdsatepochF + days
    code, r, v = ours.sgp4(jd, fr)
    e, r_peer, v_peer = peer.sgp4(jd, fr)
    assert code == e == 0
    assert type(r) is tuple and type(v) is tuple and len(r) == len(v) == 3
    assert r == pytest.approx(r_peer, abs=1e-6) and v == pytest.approx(v_peer, abs=1e-9)
    # The same state at minutes since epoch, and through the numpy call.
    code, r2, _ = ours.sgp4_tsince(days * 1440.0)
    assert code == 0 and r2 == pytest.approx(r, abs=1e-6)
    assert np.allclose(ours.propagate(days * 1440.0)[0], r2, atol=1e-9)


def test_scalar_call_returns_errors_rather_than_raising() -> None:
    sat = Satellite.from_tle(*ISS)
    code, r, v = sat.sgp4_tsince(math.nan)
    assert code == 7 and math.isnan(r[0]) and math.isnan(v[2])
    whole, frac = sat.epoch_jd
    assert sat.sgp4(whole + 1e6, frac)[0] == 7
