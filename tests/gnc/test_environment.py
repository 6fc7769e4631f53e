"""Environment models: sun, eclipse, IGRF-14 against ppigrf, torques."""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.gnc import environment as env

AU_KM = 149597870.7


# Only the comparisons with ppigrf need it: the sun, eclipse and torque tests
# run without it (a module-level skip would silently drop them too).
@pytest.fixture(scope="module")
def ppigrf():
    return pytest.importorskip("ppigrf")


@pytest.fixture(scope="module")
def igrf14_shc(ppigrf) -> Path:
    # IGRF-13 and -14 differ by tens of nT at LEO: pin the generation we committed.
    return Path(ppigrf.__file__).with_name("IGRF14.shc")


def test_sun_matches_vallado_example_5_1() -> None:
    # Vallado, Fundamentals of Astrodynamics and Applications, Example 5-1.
    r = env.sun_position_eci(2453827.5) / AU_KM
    np.testing.assert_allclose(r, [0.9771945, 0.1924424, 0.0834308], atol=3e-6)


def test_sun_vector_batches_and_is_unit() -> None:
    jd = 2461000.5 + np.arange(12).reshape(3, 4) * 30.0
    s = env.sun_vector_eci(jd)
    assert s.shape == (3, 4, 3)
    np.testing.assert_allclose(np.linalg.norm(s, axis=-1), 1.0, atol=1e-15)


def test_eclipse_fraction_models() -> None:
    sun = np.array([AU_KM, 0.0, 0.0])
    assert env.eclipse_fraction([7000.0, 0, 0], sun) == 0.0
    assert env.eclipse_fraction([-7000.0, 0, 0], sun) == 1.0
    assert env.eclipse_fraction([-7000.0, 0, 0], sun, model="cylindrical") == 1.0
    # across the shadow edge the conical model shows a penumbra, the cylinder a step
    ys = np.linspace(6300.0, 6500.0, 401)
    sats = np.stack([-np.sqrt(6878.0 ** 2 - ys ** 2), ys, np.zeros_like(ys)], axis=-1)
    cone = env.eclipse_fraction(sats, sun)
    cyl = env.eclipse_fraction(sats, sun, model="cylindrical")
    assert np.all(np.diff(cone) <= 1e-12)
    assert np.any((cone > 0.0) & (cone < 1.0))
    assert set(np.unique(cyl)) == {0.0, 1.0}
    with pytest.raises(ValueError):
        env.eclipse_fraction([7000.0, 0, 0], sun, model="flat")


def _decimal_year_as_ppigrf(when: dt.datetime) -> float:
    # ppigrf interpolates linearly in time between the 5-year model epochs
    # (Jan 1 of 1900, 1905, ...): reproduce that mapping exactly.
    base = dt.datetime(1900 + 5 * ((when.year - 1900) // 5), 1, 1)
    nxt = dt.datetime(base.year + 5, 1, 1)
    return base.year + 5.0 * (when - base).total_seconds() / (nxt - base).total_seconds()


def test_coefficient_table_is_the_igrf14_file(igrf14_shc) -> None:
    lines = [ln.split() for ln in igrf14_shc.read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    epochs = [float(x) for x in lines[1]]
    rows = lines[2:]
    assert len(rows) == 195
    for k, epoch in enumerate(epochs):
        g, h = env.igrf_coefficients(min(epoch, 2030.0))
        for row in rows:
            n, m, value = int(row[0]), int(row[1]), float(row[2 + k])
            got = g[n, m] if m >= 0 else h[n, -m]
            assert got == pytest.approx(value, abs=1e-9), (epoch, n, m)


IGRF_POINTS = 400


def test_igrf_agrees_with_ppigrf_at_leo(ppigrf, igrf14_shc) -> None:
    rng = np.random.default_rng(2024)
    r = 6371.2 + rng.uniform(300.0, 1000.0, IGRF_POINTS)
    colat = np.degrees(np.arccos(rng.uniform(-1.0, 1.0, IGRF_POINTS)))
    lon = rng.uniform(-180.0, 180.0, IGRF_POINTS)
    worst = 0.0
    for when in (dt.datetime(2026, 7, 2, 12), dt.datetime(2029, 3, 1), dt.datetime(2010, 5, 5)):
        br, bt, bp = (x.ravel() for x in ppigrf.igrf_gc(r, colat, lon, when,
                                                          coeff_fn=str(igrf14_shc)))
        th, ph = np.radians(colat), np.radians(lon)
        # spherical (r, theta, phi) -> ECEF, then compare vectors in nT
        ref = np.stack([
            br * np.sin(th) * np.cos(ph) + bt * np.cos(th) * np.cos(ph) - bp * np.sin(ph),
            br * np.sin(th) * np.sin(ph) + bt * np.cos(th) * np.sin(ph) + bp * np.cos(ph),
            br * np.cos(th) - bt * np.sin(th)], axis=-1)
        pos = np.stack([r * np.sin(th) * np.cos(ph), r * np.sin(th) * np.sin(ph),
                        r * np.cos(th)], axis=-1)
        ours = env.igrf_field_ecef(pos, _decimal_year_as_ppigrf(when)) * 1e9
        worst = max(worst, float(np.max(np.abs(ours - ref))))
    # the two are the same model: agreement to rounding, far below 1 nT
    assert worst < 1e-3


def test_igrf_geodetic_matches_ppigrf(ppigrf, igrf14_shc) -> None:
    when = dt.datetime(2027, 1, 1)
    lat = np.array([-80.0, -33.0, 0.0, 45.0, 78.0])
    lon = np.array([170.0, -70.0, 10.0, 7.0, 15.0])
    be, bn, bu = (x.ravel() for x in ppigrf.igrf(lon, lat, 550.0, when,
                                                  coeff_fn=str(igrf14_shc)))
    ned = env.igrf_field_geodetic(lat, lon, 550.0, _decimal_year_as_ppigrf(when))
    # ppigrf converts geodetic<->geocentric with a series: agreement to ~1 nT
    np.testing.assert_allclose(ned, np.stack([bn, be, -bu], axis=-1), atol=1.0)


def test_igrf_eci_is_ecef_rotated() -> None:
    gmst = 0.7
    r_eci = np.array([4000.0, -5000.0, 1500.0])
    c, s = math.cos(gmst), math.sin(gmst)
    r_ecef = np.array([c * r_eci[0] + s * r_eci[1], -s * r_eci[0] + c * r_eci[1], r_eci[2]])
    b_ecef = env.igrf_field_ecef(r_ecef, 2026.5)
    b_eci = env.igrf_field_eci(r_eci, gmst, 2026.5)
    np.testing.assert_allclose([c * b_eci[0] + s * b_eci[1], b_eci[2]],
                               [b_ecef[0], b_ecef[2]], atol=1e-18)
    with pytest.raises(ValueError):
        env.igrf_field_ecef([7000.0, 0, 0], 2031.0)


def test_legendre_factor_table_is_its_generator_output() -> None:
    # The C core reads the recursion's square roots from a checked-in table;
    # a hand edit, or a generator change not rerun, would change every field.
    script = Path(__file__).resolve().parents[2] / "csrc" / "data" / "legendre_factors.py"
    spec = importlib.util.spec_from_file_location("legendre_factors", script)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.OUT.read_text() == generator.render()
    # a_nm = (2n - 1) / sqrt(n^2 - m^2), b_nm = sqrt(((n-1)^2 - m^2) / (n^2 - m^2))
    assert generator.column_a(2, 0) == 1.5
    assert generator.column_a(13, 12) == 5.0
    assert generator.column_b(3, 1) == math.sqrt(0.375)
    assert generator.column_b(4, 3) == 0.0
    assert generator.sectoral(2) == math.sqrt(0.75)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(
    lambda q: sum(x * x for x in q) > 0.01))
def test_gravity_gradient_is_perpendicular_to_nadir(q: list[float]) -> None:
    qn = np.array(q) / np.linalg.norm(q)
    j = np.diag([0.033, 0.034, 0.0067])
    r = np.array([6878.0, 100.0, -300.0])
    tau = env.gravity_gradient_torque(j, qn, r)
    w, x, y, z = qn
    a = np.array([
        [w * w + x * x - y * y - z * z, 2 * (x * y + w * z), 2 * (x * z - w * y)],
        [2 * (x * y - w * z), w * w - x * x + y * y - z * z, 2 * (y * z + w * x)],
        [2 * (x * z + w * y), 2 * (y * z - w * x), w * w - x * x - y * y + z * z]])
    n_body = a @ r / np.linalg.norm(r)
    assert abs(float(np.dot(tau, n_body))) < 1e-20
    # magnitude bound: 3 mu / r^3 (Jmax - Jmin) / 2
    k = 3 * 398600.4418e9 / (np.linalg.norm(r) * 1e3) ** 3
    assert np.linalg.norm(tau) <= k * (0.034 - 0.0067) / 2 * (1 + 1e-9)


def test_drag_torque_and_density() -> None:
    rho = env.atmosphere_density(500.0)
    assert rho == pytest.approx(6.967e-13)
    tau = env.drag_torque([1, 0, 0, 0], [7600.0, 0, 0], rho, 2.2, 0.03, [0, 0, 0.1])
    assert tau[1] == pytest.approx(-0.1 * 0.5 * rho * 2.2 * 0.03 * 7600.0 ** 2)
