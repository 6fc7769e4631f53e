"""TRIAD, QUEST and the MEKF through the Python API, with property tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fsw.gnc.attitude import AttitudeError, Mekf, quest, triad


def attitude_matrix(q: np.ndarray) -> np.ndarray:
    """A(q): v_body = A v_eci (docs/developing.md)."""
    w, x, y, z = q
    return np.array([
        [w * w + x * x - y * y - z * z, 2 * (x * y + w * z), 2 * (x * z - w * y)],
        [2 * (x * y - w * z), w * w - x * x + y * y - z * z, 2 * (y * z + w * x)],
        [2 * (x * z + w * y), 2 * (y * z - w * x), w * w - x * x - y * y + z * z]])


def angle_between(p: np.ndarray, q: np.ndarray) -> float:
    return 2.0 * math.acos(min(1.0, abs(float(np.dot(p, q)))))


unit_quat = st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(
    lambda q: sum(x * x for x in q) > 0.05).map(lambda q: np.array(q) / np.linalg.norm(q))
vec3 = st.lists(st.floats(-1, 1), min_size=3, max_size=3).filter(
    lambda v: sum(x * x for x in v) > 0.05).map(np.array)


@settings(max_examples=200, deadline=None)
@given(unit_quat, vec3, vec3)
def test_triad_and_quest_recover_attitude_from_exact_vectors(q, r1, r2) -> None:
    u1, u2 = r1 / np.linalg.norm(r1), r2 / np.linalg.norm(r2)
    assume(np.linalg.norm(np.cross(u1, u2)) > 0.1)
    a = attitude_matrix(q)
    qt = triad(a @ r1, a @ r2, r1, r2)
    qq, loss = quest(np.stack([a @ r1, a @ r2]), np.stack([r1, r2]), [4.0, 1.0])
    for est in (qt, qq):
        assert np.linalg.norm(est) == pytest.approx(1.0, abs=1e-12)
        assert angle_between(est, q) < 1e-6
    assert 0.0 <= loss < 1e-10


@settings(max_examples=100, deadline=None)
@given(unit_quat, st.integers(0, 2**32 - 1))
def test_quest_with_noise_stays_near_truth_and_unit(q, seed) -> None:
    rng = np.random.default_rng(seed)
    refs = np.array([[0.3, -0.8, 0.52], [-0.1, 0.2, 0.97], [0.9, 0.3, -0.1]])
    a = attitude_matrix(q)
    sig = math.radians(0.5)
    meas = np.array([a @ r + rng.normal(0, sig, 3) for r in refs])
    est, loss = quest(meas, refs, 1.0 / np.full(3, sig) ** 2)
    assert np.linalg.norm(est) == pytest.approx(1.0, abs=1e-12)
    assert angle_between(est, q) < math.radians(3.0)
    assert loss >= 0.0


def test_degenerate_vectors_are_refused() -> None:
    with pytest.raises(AttitudeError):
        triad([1, 0, 0], [2, 0, 0], [0, 1, 0], [0, 1, 1])
    with pytest.raises(AttitudeError):
        quest(np.array([[1.0, 0, 0], [1.0, 0, 0]]), np.array([[0, 1.0, 0], [0, 1.0, 0]]))
    with pytest.raises(ValueError):
        quest(np.zeros((2, 2)), np.zeros((2, 2)))


def test_mekf_estimates_bias_and_keeps_covariance_symmetric() -> None:
    rng = np.random.default_rng(7)
    bias = np.radians([0.1, -0.08, 0.06])
    arw, dt = 1.7e-4, 0.1
    f = Mekf(arw, 2e-6)
    assert not f.initialized
    q = np.array([0.4, -0.3, 0.8, 0.1])
    q /= np.linalg.norm(q)
    f.init(q, sigma_att_rad=math.radians(5), sigma_bias_rad_s=math.radians(0.5))
    refs = np.array([[0.3, -0.8, 0.52], [-0.1, 0.2, 0.97]])
    a = attitude_matrix(q)
    for _ in range(3000):
        f.propagate(bias + rng.normal(0, arw / math.sqrt(dt), 3), dt)
        f.update(a @ refs[0] + rng.normal(0, math.radians(0.5), 3), refs[0], math.radians(0.5))
        f.update(a @ refs[1] + rng.normal(0, math.radians(1.5), 3), refs[1], math.radians(1.5))
    np.testing.assert_allclose(f.bias_rad_s, bias, atol=math.radians(0.005))
    assert angle_between(f.q_body_eci, q) < math.radians(0.1)
    p = f.covariance
    np.testing.assert_array_equal(p, p.T)
    assert np.all(np.linalg.eigvalsh(p) > 0.0)
    # the estimate's spread is consistent with the truth: error within 4 sigma
    err = np.abs(f.bias_rad_s - bias)
    assert np.all(err < 4.0 * np.sqrt(np.diag(p)[3:]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["prop", "sun", "mag"]),
                          st.floats(-0.2, 0.2), st.floats(-1, 1)), min_size=1, max_size=60))
def test_mekf_state_machine_stays_finite_unit_and_psd(ops) -> None:
    f = Mekf(1.7e-4, 2e-6)
    f.init([1.0, 0, 0, 0], sigma_att_rad=0.2, sigma_bias_rad_s=0.01)
    for op, a, b in ops:
        if op == "prop":
            f.propagate([a, -a, b * 0.1], 0.1)
        else:
            meas = [1.0, a, b] if op == "sun" else [b, 1.0, a]
            f.update(meas, [0.2, 0.5, 1.0] if op == "sun" else [1.0, -0.3, 0.1],
                     math.radians(1.0))
        assert np.linalg.norm(f.q_body_eci) == pytest.approx(1.0, abs=1e-12)
        p = f.covariance
        assert np.all(np.isfinite(p))
        np.testing.assert_array_equal(p, p.T)
        assert np.min(np.linalg.eigvalsh(p)) > -1e-15
