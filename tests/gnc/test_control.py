"""Pointing control, desaturation and targets through the Python API."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.gnc.adcs import default_wheels
from fsw.gnc.control import (
    Desaturation,
    PdGains,
    PointingController,
    ground_target,
    nadir_target,
    two_axis_target,
)

J = np.diag([0.033, 0.034, 0.0067])
unit_quat = st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(
    lambda q: sum(x * x for x in q) > 0.05).map(lambda q: np.array(q) / np.linalg.norm(q))


def qmul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = p
    w2, x2, y2, z2 = q
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
                     w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
                     w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


@settings(max_examples=200, deadline=None)
@given(unit_quat, unit_quat)
def test_torque_opposes_attitude_error(q_target, dq) -> None:
    ctl = PointingController(J, default_wheels(), PdGains.from_bandwidth(0.1, 0.9,
                                                                          max_slew_rate_rad_s=0.0))
    q = qmul(q_target, dq)
    cmd = ctl.step(q, np.zeros(3), q_target)
    # at exactly 180 deg either way round is right; away from it, the short way
    theta = 2.0 * np.sign(dq[0]) * dq[1:]
    if abs(dq[0]) > 1e-6 and np.linalg.norm(theta) > 1e-6:
        # J^-1 tau points against the error: the eigenaxis rotation closes it
        assert float(np.dot(np.linalg.solve(J, cmd.torque_body_nm), theta)) < 0.0
    assert np.all(np.abs(cmd.wheel_torque_nm) <= 2e-3 * (1 + 1e-12))
    assert 0.0 <= cmd.error_angle_rad <= math.pi


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-0.5, 0.5), min_size=3, max_size=3))
def test_rate_damping_opposes_rate(w) -> None:
    ctl = PointingController(J, default_wheels(), PdGains(kp_per_s2=0.0, kd_per_s=0.2))
    w = np.array(w)
    cmd = ctl.step([1.0, 0, 0, 0], w, [1.0, 0, 0, 0])
    if np.linalg.norm(w) > 1e-9:
        # the gyroscopic term w x Jw is perpendicular to w and does no work
        assert float(np.dot(cmd.torque_body_nm, w)) < 0.0


def test_integral_anti_windup() -> None:
    gains = PdGains(kp_per_s2=1.0, kd_per_s=2.0, ki_per_s3=0.01, integral_limit_rad_s=0.05,
                    max_slew_rate_rad_s=0.0)
    ctl = PointingController(J, default_wheels(), gains)
    q = np.array([math.cos(0.6), math.sin(0.6), 0.0, 0.0])
    for _ in range(50):
        cmd = ctl.step(q, np.zeros(3), [1.0, 0, 0, 0])
    assert cmd.saturated
    np.testing.assert_array_equal(ctl.integral_rad_s, 0.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-0.01, 0.01), min_size=3, max_size=3),
       st.lists(st.floats(-5e-5, 5e-5), min_size=3, max_size=3))
def test_desaturation_torque_never_adds_momentum(h, b) -> None:
    h, b = np.array(h), np.array(b)
    if np.linalg.norm(b) < 1e-7:
        return
    d = Desaturation(0.01, h_on_nms=0.0, h_off_nms=0.0, max_dipole_am2=[0.2, 0.2, 0.2])
    m = d.step(h, b)
    assert np.all(np.abs(m) <= 0.2 + 1e-12)
    assert float(np.dot(np.cross(m, b), h)) <= 1e-18


def test_desaturation_hysteresis_and_bad_field() -> None:
    d = Desaturation(0.01, h_on_nms=2e-3, h_off_nms=0.5e-3, max_dipole_am2=[0.2] * 3)
    b = [2e-5, 0, 3e-5]
    assert not d.step([1e-3, 0, 0], b).any() and not d.active
    d.step([3e-3, 0, 0], b)
    assert d.active
    d.step([1e-3, 0, 0], b)
    assert d.active
    d.step([1e-4, 0, 0], b)
    assert not d.active
    with pytest.raises(ValueError):
        d.step([1e-3, 0, 0], [0, 0, 0])


def _a(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q
    return np.array([
        [w * w + x * x - y * y - z * z, 2 * (x * y + w * z), 2 * (x * z - w * y)],
        [2 * (x * y - w * z), w * w - x * x + y * y - z * z, 2 * (y * z + w * x)],
        [2 * (x * z + w * y), 2 * (y * z - w * x), w * w - x * x - y * y + z * z]])


def test_targets_put_the_axes_where_asked() -> None:
    sun = np.array([0.3, 0.9, 0.2])
    q = two_axis_target([1, 0, 0], [0, 0, 1], sun, [0, 0, 1])
    np.testing.assert_allclose(_a(q) @ (sun / np.linalg.norm(sun)), [1, 0, 0], atol=1e-12)
    r, v = np.array([0.0, 6878.0, 0.0]), np.array([-7.6, 0.0, 0.0])
    qn, wn = nadir_target([0, 0, 1], [0, 1, 0], r, v)
    np.testing.assert_allclose(_a(qn) @ (-r / 6878.0), [0, 0, 1], atol=1e-12)
    assert np.linalg.norm(wn) == pytest.approx(7.6 / 6878.0)
    tgt = np.array([300.0, 6370.0, 0.0])
    qg, _ = ground_target([0, 0, 1], [0, 1, 0], r, v, tgt, [-0.46, 0.02, 0.0])
    los = (tgt - r) / np.linalg.norm(tgt - r)
    np.testing.assert_allclose(_a(qg) @ los, [0, 0, 1], atol=1e-12)
