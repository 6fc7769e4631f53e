"""The ADCS cycle in closed loop with the C dynamics and noisy sensors.

The harness (conftest.py) states the sensor models: gyro bias
(0.1, -0.08, 0.06) deg/s and ARW 1.7e-4 rad/sqrt(s), magnetometer 100 nT,
sun sensor 0.5 deg, IGRF-14 truth field, gravity-gradient and drag torques.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.gnc.adcs import AdcsConfig, AdcsCycle, AdcsSensors, Mode, Status

DETUMBLE_THRESHOLD_DEG_S = 0.5


def test_detumble_from_10_deg_s_per_axis_within_one_orbit(closed_loop) -> None:
    loop_cls, scenario = closed_loop
    w0 = (math.radians(10.0),) * 3
    loop = loop_cls(scenario(mode=Mode.DETUMBLE, w0_body_rad_s=w0, beta_deg=30.0, seed=3))
    steps = int(loop.period_s / loop.dt)
    rates = np.empty(steps)
    for k in range(steps):
        loop.step()
        rates[k] = math.degrees(np.linalg.norm(loop.body.w_body_rad_s))
    below = np.nonzero(rates < DETUMBLE_THRESHOLD_DEG_S)[0]
    assert below.size, f"still {rates[-1]:.2f} deg/s after one orbit"
    t_detumbled = (below[0] + 1) * loop.dt
    print(f"detumbled below {DETUMBLE_THRESHOLD_DEG_S} deg/s after {t_detumbled:.0f} s "
          f"(orbit {loop.period_s:.0f} s); final {rates[-1]:.3f} deg/s")
    assert t_detumbled < loop.period_s
    # and it stays detumbled (B-dot's floor is about twice the orbit rate)
    assert rates[below[0]:].max() < 2.0 * DETUMBLE_THRESHOLD_DEG_S


def test_sun_pointing_error_and_gyro_bias_convergence(closed_loop) -> None:
    loop_cls, scenario = closed_loop
    q0 = np.array([0.3, -0.5, 0.7, 0.2])
    loop = loop_cls(scenario(mode=Mode.SUN, q0_body_eci=tuple(q0 / np.linalg.norm(q0)),
                             w0_body_rad_s=tuple(np.radians([0.5, -0.3, 0.4])), seed=5))
    converge_s, measure_s = 1000.0, 2000.0
    errors, bias_err = [], []
    for _ in range(int((converge_s + measure_s) / loop.dt)):
        loop.step()
        if loop.t > converge_s:
            cmd, _ = loop.last
            errors.append(loop.true_sun_error_rad())
            bias_err.append(cmd.gyro_bias_rad_s - np.asarray(loop.sc.gyro_bias_rad_s))
    errors_deg = np.degrees(errors)
    three_sigma = float(np.percentile(errors_deg, 99.73))
    bias_final = np.degrees(np.abs(np.mean(bias_err[-1000:], axis=0)))
    print(f"sun pointing after {converge_s:.0f} s: 99.73% {three_sigma:.3f} deg, "
          f"mean {errors_deg.mean():.3f}, max {errors_deg.max():.3f}; "
          f"bias error {bias_final} deg/s (true bias 0.1/-0.08/0.06)")
    # docs/gnc.md states "about 0.2 deg" (3 sigma) and bias "within 0.002 deg/s":
    # the test allows those figures and little more, not the 1 deg design aim.
    assert three_sigma < 0.25
    assert np.all(bias_final < 0.002)
    cmd, _ = loop.last
    assert cmd.status & Status.EST_VALID
    assert not cmd.status & Status.NO_CONTROL
    # the filter's own 1-sigma is consistent with the truth it reports on
    assert loop.true_estimation_error_rad() < 4.0 * float(np.linalg.norm(cmd.att_sigma_rad))


def test_nadir_pointing_holds_within_a_degree(closed_loop) -> None:
    loop_cls, scenario = closed_loop
    loop = loop_cls(scenario(mode=Mode.NADIR, w0_body_rad_s=(0.002, -0.001, 0.001), seed=9))
    errs = []
    for _ in range(int(1500.0 / loop.dt)):
        loop.step()
        if loop.t > 700.0:
            cmd, _ = loop.last
            q_err = abs(float(np.dot(cmd.q_target_eci, loop.body.q_body_eci)))
            errs.append(2.0 * math.degrees(math.acos(min(1.0, q_err))))
    assert np.percentile(errs, 99.73) < 1.0


@pytest.mark.parametrize("orbits", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_sun_pointing_through_eclipses(closed_loop, orbits) -> None:
    # Orbits with eclipses (beta 20 deg): gyro and magnetometer carry the
    # estimate through the shadow; pointing in sunlight stays under 1 deg.
    # `make test` flies one orbit (one eclipse), `make soak` four.
    loop_cls, scenario = closed_loop
    loop = loop_cls(scenario(mode=Mode.SUN, beta_deg=20.0, seed=11))
    lit_errors = []
    for _ in range(int(orbits * loop.period_s / loop.dt)):
        loop.step()
        cmd, _ = loop.last
        if loop.t > 1000.0 and cmd.shadow_fraction == 0.0:
            lit_errors.append(math.degrees(loop.true_sun_error_rad()))
    assert np.percentile(lit_errors, 99.73) < 1.0


def _sensors(**kw) -> AdcsSensors:
    base = dict(gyro_rad_s=[0.01, -0.02, 0.005], mag_body_t=[2e-5, -1e-5, 3e-5],
                sun_body=[0.2, 0.9, 0.1], r_eci_km=[6878.0, 0.0, 0.0],
                v_eci_km_s=[0.0, 1.0, 7.5], jd_tt=2461120.5, gmst_rad=1.0,
                decimal_year=2027.2)
    base.update(kw)
    return AdcsSensors(**base)


def test_cycle_is_deterministic_and_validates_commands() -> None:
    a, b = AdcsCycle(mode=Mode.SUN), AdcsCycle(mode=Mode.SUN)
    for _ in range(20):
        ca, cb = a.step(_sensors()), b.step(_sensors())
        for f in dataclasses.fields(ca):
            np.testing.assert_array_equal(getattr(ca, f.name), getattr(cb, f.name))
    with pytest.raises(ValueError):
        a.set_inertial_target([0, 0, 0, 0])
    with pytest.raises(ValueError):
        a.step(_sensors(r_eci_km=[math.nan, 0, 0]))
    a.reset_estimator()
    assert not a.estimator_initialized
    cmd = a.step(_sensors(sun_body=None))
    assert cmd.status & Status.NO_CONTROL and not cmd.status & Status.EST_VALID


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Mode)), st.booleans(), st.booleans(),
                          st.booleans(), st.floats(-0.3, 0.3)), min_size=1, max_size=40))
def test_any_mode_and_sensor_sequence_gives_bounded_commands(seq) -> None:
    cfg = AdcsConfig()
    cycle = AdcsCycle(cfg)
    cycle.set_ground_target([4000.0, 1000.0, 4800.0])
    for mode, gyro_ok, mag_ok, sun_ok, w in seq:
        cycle.mode = mode
        cmd = cycle.step(_sensors(gyro_rad_s=[w, -w, 0.1 * w] if gyro_ok else None,
                                  mag_body_t=[2e-5, w * 1e-4, 3e-5] if mag_ok else None,
                                  sun_body=[1.0, w, 0.2] if sun_ok else None))
        assert np.all(np.isfinite(cmd.wheel_torque_nm))
        assert np.all(np.abs(cmd.wheel_torque_nm) <= 2e-3 * (1 + 1e-12))
        assert np.all(np.abs(cmd.mtq_dipole_am2) <= 0.2 * (1 + 1e-12))
        assert np.linalg.norm(cmd.q_body_eci) == pytest.approx(1.0, abs=1e-12)
        if mode in (Mode.IDLE, Mode.DETUMBLE):
            assert not np.any(cmd.wheel_torque_nm)
        if mode != Mode.DETUMBLE and not cmd.status & Status.DESAT_ACTIVE:
            assert not np.any(cmd.mtq_dipole_am2)


def test_adcs_config_defaults_are_the_documented_3u():
    # The figures of docs/gnc.md ("AdcsConfig defaults describe the 3U of the tests").
    c = AdcsConfig()
    np.testing.assert_array_equal(np.asarray(c.inertia_kgm2),
                                  np.diag([0.033, 0.034, 0.0067]))
    s = 1.0 / math.sqrt(3.0)
    np.testing.assert_allclose(np.asarray(c.wheels.axes_body),
                               [[1, 0, 0], [0, 1, 0], [0, 0, 1], [s, s, s]])
    assert tuple(c.max_dipole_am2) == (0.2, 0.2, 0.2)
    assert (c.bdot_gain_am2_per_t_s, c.bdot_filter_alpha) == (2.0e5, 0.5)
    # PD bandwidth 0.1 rad/s, damping 0.9: kp = wn^2, kd = 2 zeta wn; slew 1.5 deg/s
    assert c.gains.kp_per_s2 == pytest.approx(0.01)
    assert c.gains.kd_per_s == pytest.approx(0.18)
    assert math.degrees(c.gains.max_slew_rate_rad_s) == pytest.approx(1.5)
    assert math.degrees(c.sun_sigma_rad) == pytest.approx(0.5)
    assert math.degrees(c.mag_sigma_rad) == pytest.approx(1.5)
    assert (tuple(c.sun_axis_body), tuple(c.sun_secondary_body)) == ((1, 0, 0), (0, 0, 1))
    assert (tuple(c.nadir_axis_body), tuple(c.nadir_secondary_body)) == ((0, 0, 1), (0, 1, 0))


def test_a_sensor_that_drops_out_is_flagged_and_used_again_when_it_returns() -> None:
    sun_pointing = AdcsCycle(mode=Mode.SUN)
    assert sun_pointing.step(_sensors()).status & Status.EST_VALID
    sun_pointing.reset_estimator()
    lost = sun_pointing.step(_sensors(sun_body=None))
    assert lost.status & Status.NO_CONTROL and not lost.status & Status.EST_VALID
    assert sun_pointing.step(_sensors()).status & Status.EST_VALID  # the sun is back

    detumble = AdcsCycle(mode=Mode.DETUMBLE)
    detumble.step(_sensors())
    for _ in range(2):  # no field: no B-dot, and the cycle says it cannot control
        blind = detumble.step(_sensors(mag_body_t=None))
        assert blind.status & Status.NO_CONTROL
        np.testing.assert_array_equal(blind.mtq_dipole_am2, 0.0)
    detumble.step(_sensors(mag_body_t=[2.1e-5, -1e-5, 3e-5]))
    seeing = detumble.step(_sensors(mag_body_t=[2.2e-5, -1e-5, 3e-5]))
    assert not seeing.status & Status.NO_CONTROL
    assert seeing.mtq_dipole_am2[0] < 0.0  # the field grew along x: B-dot opposes it


def test_the_commands_are_arrays_for_the_actuators_and_floats_for_the_estimate() -> None:
    cmd = AdcsCycle(mode=Mode.SUN).step(_sensors(wheel_speed_rad_s=(1, 2, 3, 4)))
    assert isinstance(cmd.wheel_torque_nm, np.ndarray) and cmd.wheel_torque_nm.shape == (4,)
    assert isinstance(cmd.mtq_dipole_am2, np.ndarray) and cmd.mtq_dipole_am2.shape == (3,)
    for name, n in (("q_body_eci", 4), ("w_body_rad_s", 3), ("gyro_bias_rad_s", 3),
                    ("att_sigma_rad", 3), ("q_target_eci", 4), ("sun_eci", 3), ("b_eci_t", 3),
                    ("wheel_momentum_body_nms", 3)):
        value = getattr(cmd, name)
        assert type(value) is tuple and len(value) == n and all(type(x) is float for x in value)
    assert np.linalg.norm(cmd.q_body_eci) == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.norm(cmd.sun_eci) == pytest.approx(1.0, abs=1e-12)
