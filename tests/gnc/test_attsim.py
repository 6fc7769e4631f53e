"""The closed-loop requirements flown with the C fast-time simulator.

``FastAttitudeSim`` flies the flight ADCS cycle (MEKF + B-dot / quaternion
feedback, 10 Hz) against the C truth model: SGP4 orbit (500 km, 97.4 deg),
IGRF-14, the sun and its shadow, RK4 rigid body with four wheels,
gravity-gradient and drag torques, and seeded sensor errors (gyro bias
(0.1, -0.08, 0.06) deg/s plus 1.7e-4 rad/sqrt(s), magnetometer 100 nT per
axis, sun sensor 0.5 deg per axis, no sun reading in shadow).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fsw.core.time import DEFAULT_EPOCH_TAI_S
from fsw.gnc.adcs import AdcsConfig, Mode, Status
from fsw.gnc.attsim import Disturbances, FastAttitudeSim, SensorErrors, run_batch
from fsw.gnc.ephemeris import MeanElements

DRAG = Disturbances(drag_area_m2=0.03, drag_cp_body_m=(0.01, 0.005, 0.02))
# RAAN 280 deg puts the sun near this orbit's plane at the default epoch
# (early January): about 35 min of shadow per orbit.
ECLIPSING = MeanElements.circular(500.0, DEFAULT_EPOCH_TAI_S, raan_deg=280.0)
SUNLIT = MeanElements.circular(500.0, DEFAULT_EPOCH_TAI_S, raan_deg=0.0)
Q0 = tuple(np.array([0.3, -0.5, 0.7, 0.2]) / np.linalg.norm([0.3, -0.5, 0.7, 0.2]))


def period_s(elements: MeanElements) -> float:
    return 86400.0 / elements.mean_motion_rev_day


def sun_sim(seed: int, orbit: MeanElements = ECLIPSING, **kw) -> FastAttitudeSim:
    return FastAttitudeSim(AdcsConfig(), orbit=orbit, seed=seed, mode=Mode.SUN,
                           q0_body_eci=Q0, w0_body_rad_s=tuple(np.radians([0.5, -0.3, 0.4])),
                           disturbances=DRAG, **kw)


def test_detumble_from_10_deg_s_per_axis_within_one_orbit() -> None:
    sim = FastAttitudeSim(AdcsConfig(), orbit=SUNLIT, seed=3, mode=Mode.DETUMBLE,
                          w0_body_rad_s=(math.radians(10.0),) * 3, disturbances=DRAG)
    log = sim.run(period_s(SUNLIT), log_every_s=1.0)
    rates = np.degrees(np.linalg.norm(log.w_body_rad_s, axis=1))
    below = np.nonzero(rates < 0.5)[0]
    assert below.size, f"still {rates[-1]:.2f} deg/s after one orbit"
    print(f"from {rates[0]:.1f} deg/s: below 0.5 deg/s after {log.t_s[below[0]]:.0f} s "
          f"of {period_s(SUNLIT):.0f}; final {rates[-1]:.3f} deg/s")
    assert log.t_s[below[0]] < period_s(SUNLIT)
    assert rates[below[0]:].max() < 1.0          # and it stays detumbled
    assert np.all(np.isnan(log.pointing_error_rad))  # no attitude target in DETUMBLE
    assert np.all(log.wheel_torque_cmd_nm == 0.0)


def test_sun_pointing_through_eclipse_and_gyro_bias_convergence() -> None:
    sim = sun_sim(seed=5)
    log = sim.run(1.2 * period_s(ECLIPSING), log_every_s=0.1)
    shadow = log.shadow_fraction > 0.5
    assert 0.25 < shadow.mean() < 0.45               # this orbit does cross the shadow
    # the eclipse flag follows the truth shadow exactly
    assert np.array_equal((log.status & Status.ECLIPSE) != 0, shadow)
    settled = log.t_s > 1000.0
    lit = settled & (log.shadow_fraction == 0.0)
    sun_err = np.degrees(log.sun_axis_error_rad[lit])
    point_err = np.degrees(log.pointing_error_rad[settled])
    est_err = np.degrees(log.estimation_error_rad[settled])
    bias_err = np.degrees(np.abs(log.gyro_bias_est_rad_s[-1000:].mean(axis=0)
                                 - log.gyro_bias_true_rad_s[-1]))
    print(f"sun axis error in sunlight after 1000 s: 99.73% {np.percentile(sun_err, 99.73):.3f} "
          f"deg, max {sun_err.max():.3f}; 3-axis error 99.73% "
          f"{np.percentile(point_err, 99.73):.3f} deg (eclipse included); estimation 99.73% "
          f"{np.percentile(est_err, 99.73):.3f} deg; bias error {bias_err} deg/s")
    assert np.percentile(sun_err, 99.73) < 1.0
    assert np.percentile(point_err, 99.73) < 2.0    # the shadow costs the sun reading only
    assert np.all(bias_err < 0.005)
    assert np.all(log.status[settled] & Status.EST_VALID)
    assert not np.any(log.status[settled] & Status.NO_CONTROL)
    # the filter's 1 sigma covers what it reports
    sigma = np.linalg.norm(log.att_sigma_rad[settled], axis=1)
    assert np.mean(log.estimation_error_rad[settled] < 4.0 * sigma) > 0.99


def test_bias_random_walk_is_tracked() -> None:
    errors = SensorErrors(gyro_bias_rw_rad_s2_sqrt_hz=2e-6)
    sim = sun_sim(seed=8, orbit=SUNLIT, sensors=errors)
    log = sim.run(3000.0, log_every_s=1.0)
    drift = np.degrees(np.abs(log.gyro_bias_true_rad_s[-1] - log.gyro_bias_true_rad_s[0]))
    err = np.degrees(np.abs(log.gyro_bias_est_rad_s[-100:] - log.gyro_bias_true_rad_s[-100:]))
    assert np.any(drift > 1e-4)                     # the simulated bias did wander
    assert err.mean(axis=0).max() < 0.005


def test_same_seed_same_run_and_pieces_equal_the_whole() -> None:
    a = sun_sim(seed=11).run(300.0, log_every_s=0.5)
    b = sun_sim(seed=11).run(300.0, log_every_s=0.5)
    np.testing.assert_array_equal(a.raw, b.raw)
    sim = sun_sim(seed=11)
    pieces = [sim.run(d, log_every_s=0.5) for d in (100.3, 0.1, 199.6)]
    np.testing.assert_array_equal(np.vstack([p.raw for p in pieces]), a.raw)
    assert sim.t_s == pytest.approx(300.0)
    c = sun_sim(seed=12).run(300.0, log_every_s=0.5)
    assert not np.array_equal(a.raw, c.raw)
    np.testing.assert_array_equal(a.t_s, np.arange(0.0, 300.0, 0.5))


def test_monte_carlo_batch_over_seeds() -> None:
    seeds = list(range(100, 106))
    logs = run_batch(lambda s: sun_sim(s, orbit=SUNLIT), seeds, 900.0, log_every_s=1.0,
                     threads=3)
    again = run_batch(lambda s: sun_sim(s, orbit=SUNLIT), seeds[:2], 900.0, log_every_s=1.0)
    for x, y in zip(logs[:2], again, strict=True):
        np.testing.assert_array_equal(x.raw, y.raw)     # threads change nothing
    finals = np.array([np.degrees(lg.sun_axis_error_rad[-100:]).max() for lg in logs])
    est = np.array([np.degrees(lg.estimation_error_rad[-100:]).max() for lg in logs])
    print(f"{len(seeds)} seeds, 900 s: worst sun error over the last 100 s "
          f"{finals.max():.3f} deg (mean {finals.mean():.3f}); estimation {est.max():.3f} deg")
    assert np.all(finals < 1.0)
    assert len({lg.raw[-1].tobytes() for lg in logs}) == len(seeds)  # the seeds differ


def test_inertial_hold_and_mode_switch() -> None:
    sim = FastAttitudeSim(orbit=SUNLIT, seed=4, mode=Mode.INERTIAL,
                          q0_body_eci=(math.cos(0.2), 0.0, math.sin(0.2), 0.0))
    sim.set_inertial_target([1.0, 0.0, 0.0, 0.0])
    log = sim.run(600.0, log_every_s=10.0)
    assert math.degrees(log.pointing_error_rad[0]) > 20.0
    assert math.degrees(log.pointing_error_rad[-1]) < 0.5
    sim.mode = Mode.IDLE
    log = sim.run(10.0)
    assert sim.mode == Mode.IDLE and np.all(log.wheel_torque_cmd_nm == 0.0)
    sim.run_quiet(5.0)
    assert sim.t_s == pytest.approx(615.0)


@pytest.mark.parametrize("kwargs, reason", [
    (dict(seed=-1), "seed"),
    (dict(q0_body_eci=(0.0, 0.0, 0.0, 0.0)), "q0_body_eci"),
    (dict(q0_body_eci=(1.0, 0.0, 0.0)), "q0_body_eci"),
    (dict(w0_body_rad_s=(math.nan, 0.0, 0.0)), "w0_body_rad_s"),
    (dict(sensors=SensorErrors(mag_noise_t=-1e-9)), "mag_noise_t"),
    (dict(sensors=SensorErrors(sun_shadow_threshold=2.0)), "sun_shadow_threshold"),
    (dict(disturbances=Disturbances(drag_area_m2=math.inf)), "drag_area_m2"),
    (dict(truth_inertia_kgm2=((1.0, 0.5, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))), "inertia"),
    (dict(igrf_nmax_truth=14), "igrf_nmax_truth"),
    (dict(mode=42), "mode"),
    (dict(orbit="ISS"), "orbit"),
    (dict(orbit=MeanElements(DEFAULT_EPOCH_TAI_S, 15.0, eccentricity=1.5)), "SGP4"),
    (dict(start_tai_s=math.nan), "start_tai_s"),
])
def test_bad_inputs_raise_value_error_with_reason(kwargs, reason) -> None:
    args = dict(orbit=SUNLIT)
    args.update(kwargs)
    with pytest.raises(ValueError, match=reason):
        FastAttitudeSim(**args)


def test_bad_run_arguments_and_orbit_failure() -> None:
    sim = FastAttitudeSim(orbit=SUNLIT)
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="duration_s"):
            sim.run(bad)
    with pytest.raises(ValueError, match="log_every_s"):
        sim.run(1.0, log_every_s=0.0)
    assert sim.t_s == 0.0 and len(sim.run(0.0)) == 0
    # started 300 years after the elements' epoch: SGP4 refuses, the run says so
    late = FastAttitudeSim(orbit=SUNLIT, start_tai_s=DEFAULT_EPOCH_TAI_S + 300 * 3.15576e7)
    with pytest.raises(ValueError, match="SGP4"):
        late.run(1.0)


def test_matches_the_same_loop_wired_in_python_from_the_public_api() -> None:
    # Noise off, so both sides fly the same inputs: the C loop's wiring
    # (SGP4 time, TT and UT1, GMST, sun, shadow, field, sensors, torques)
    # against AdcsCycle + RigidBody + fsw.gnc.environment driven here.
    from fsw.core.time import TAI_MINUS_UTC_S, TT_MINUS_TAI_S, jd_utc_split
    from fsw.gnc import environment as env
    from fsw.gnc.adcs import AdcsCycle, AdcsSensors
    from fsw.gnc.dynamics import RigidBody, Wheel
    from fsw.gnc.frames import gmst_rad

    quiet = SensorErrors(gyro_arw_rad_s_sqrt_hz=0.0, mag_noise_t=0.0, sun_noise_rad=0.0)
    start = DEFAULT_EPOCH_TAI_S + 1234.5
    w0 = tuple(np.radians([2.0, -1.0, 1.5]))
    cfg = AdcsConfig()
    sim = FastAttitudeSim(cfg, orbit=ECLIPSING, start_tai_s=start, sensors=quiet, seed=1,
                          mode=Mode.SUN, q0_body_eci=Q0, w0_body_rad_s=w0)
    log = sim.run(60.0)

    sat = ECLIPSING.satellite()
    whole, frac = jd_utc_split(start)
    ep_whole, ep_frac = sat.epoch_jd
    cycle = AdcsCycle(cfg, Mode.SUN)
    inertia = np.asarray(cfg.inertia_kgm2, dtype=float)
    body = RigidBody(inertia, [Wheel(axis_body=a, inertia_kgm2=1.5e-5, max_torque_nm=2e-3,
                                     max_speed_rad_s=600.0) for a in cfg.wheels.axes_body])
    body.q_body_eci, body.w_body_rad_s = Q0, w0
    bias = np.asarray(quiet.gyro_bias_rad_s)
    for k in range(len(log)):
        t = k * cfg.dt_s
        np.testing.assert_allclose(body.q_body_eci, log.q_body_eci[k], atol=1e-9)
        np.testing.assert_allclose(body.w_body_rad_s, log.w_body_rad_s[k], atol=1e-10)
        f = frac + t / 86400.0
        r, v = sat.propagate(((whole - ep_whole) + (frac - ep_frac)) * 1440.0 + t / 60.0)
        jd_tt = whole + (f + (TAI_MINUS_UTC_S + TT_MINUS_TAI_S) / 86400.0)
        gmst = float(gmst_rad(whole, f))
        year = 2000.0 + (jd_tt - 2451545.0) / 365.25
        b_eci = env.igrf_field_eci(r, gmst, year)
        r_sun = env.sun_position_eci(jd_tt)
        s_eci = (r_sun - r) / np.linalg.norm(r_sun - r)
        a = _dcm(body.q_body_eci)
        lit = env.eclipse_fraction(r, r_sun) <= 0.5
        cmd = cycle.step(AdcsSensors(
            gyro_rad_s=body.w_body_rad_s + bias, mag_body_t=a @ b_eci,
            sun_body=a @ s_eci if lit else None, r_eci_km=r, v_eci_km_s=v, jd_tt=jd_tt,
            gmst_rad=gmst, decimal_year=year, wheel_speed_rad_s=body.wheel_speed_rad_s))
        np.testing.assert_allclose(cmd.wheel_torque_nm, log.wheel_torque_cmd_nm[k], atol=1e-9)
        np.testing.assert_allclose(r, log.r_eci_km[k], atol=1e-9)
        body.step(cfg.dt_s, b_eci_t=b_eci, mtq_dipole_am2=cmd.mtq_dipole_am2,
                  wheel_torque_nm=cmd.wheel_torque_nm,
                  ext_torque_body_nm=env.gravity_gradient_torque(inertia, body.q_body_eci, r))


def _dcm(q: np.ndarray) -> np.ndarray:
    """A(q): v_body = A v_eci for scalar-first Hamilton q."""
    w, x, y, z = q
    return np.array([
        [w * w + x * x - y * y - z * z, 2 * (x * y + w * z), 2 * (x * z - w * y)],
        [2 * (x * y - w * z), w * w - x * x + y * y - z * z, 2 * (y * z + w * x)],
        [2 * (x * z + w * y), 2 * (y * z - w * x), w * w - x * x - y * y + z * z]])
