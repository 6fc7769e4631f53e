"""Attitude determination (C core): TRIAD, QUEST and a multiplicative EKF.

Markley & Crassidis, "Fundamentals of Spacecraft Attitude Determination and
Control" (2014): TRIAD sec. 5.2.1, QUEST sec. 5.3.2 (Shuster & Oh 1981),
MEKF sec. 6.2.1 / Table 6.3 with gyro-bias estimation.

Frames: every quaternion is ``q_body_eci``, scalar-first Hamilton, with
``v_body = A(q) v_eci``. Measured vectors are in the body frame, reference
vectors in ECI; neither needs to be unit length. The MEKF's attitude error is
a small rotation in the body frame, ``q_true = q_est (x) [1, dtheta/2]``, and
its covariance is that of ``[dtheta (rad), dbias (rad/s)]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fsw.gnc import _ffi
from fsw.gnc._core import ffi, lib

__all__ = ["QUEST_MAX_VECTORS", "AttitudeError", "Mekf", "quest", "triad"]

QUEST_MAX_VECTORS = lib.TSR_QUEST_MAX_VECTORS


class AttitudeError(ValueError):
    """The vectors do not determine an attitude (zero or parallel vectors, bad weights)."""


def triad(b1_body: np.ndarray, b2_body: np.ndarray, r1_eci: np.ndarray,
          r2_eci: np.ndarray) -> np.ndarray:
    """TRIAD attitude ``q_body_eci`` from two vector pairs.

    The first pair (b1, r1) is matched exactly: give it the more accurate
    sensor (usually the sun). Raises AttitudeError for zero or parallel vectors.
    """
    vs = [_ffi.vec(v, 3, n) for v, n in ((b1_body, "b1_body"), (b2_body, "b2_body"),
                                        (r1_eci, "r1_eci"), (r2_eci, "r2_eci"))]
    q, qp = _ffi.out(4)
    if lib.tsr_triad(*(_ffi.ptr(v) for v in vs), qp) != 0:
        raise AttitudeError("TRIAD needs two non-zero, non-parallel vectors in each frame")
    return q


def quest(b_body: np.ndarray, r_eci: np.ndarray,
          weights: np.ndarray | Sequence[float] | None = None) -> tuple[np.ndarray, float]:
    """QUEST optimal attitude (Wahba's problem) from n pairs, 2 <= n <= 8.

    ``b_body`` and ``r_eci`` have shape (n, 3); ``weights`` (n,) default to
    equal (use 1/sigma^2). Returns ``(q_body_eci, loss)`` with the loss for
    weights normalised to sum 1 (zero for perfect measurements).
    """
    b = np.ascontiguousarray(b_body, dtype=np.float64)
    r = np.ascontiguousarray(r_eci, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 3 or r.shape != b.shape:
        raise ValueError(f"b_body and r_eci must both be (n, 3); got {b.shape} and {r.shape}")
    n = b.shape[0]
    w = np.ones(n) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},)")
    q, qp = _ffi.out(4)
    loss = ffi.new("double *")
    if lib.tsr_quest(n, _ffi.ptr(b), _ffi.ptr(r), _ffi.ptr(w), qp, loss) != 0:
        raise AttitudeError(f"QUEST needs 2..{QUEST_MAX_VECTORS} non-zero vector pairs "
                            "with positive weights")
    return q, float(loss[0])


class Mekf:
    """Multiplicative EKF with gyro-bias estimation; state lives in a C struct.

    ``gyro_arw`` is the gyro angle random walk sigma_v (rad/s/sqrt(Hz), i.e.
    rad/sqrt(s)), ``gyro_bias_rw`` the bias random walk sigma_u
    (rad/s^2/sqrt(Hz)). Call `init` (e.g. from `triad`), then per step
    `propagate` with the gyro and `update` with each measured direction.
    """

    def __init__(self, gyro_arw: float, gyro_bias_rw: float) -> None:
        self._p = ffi.new("tsr_mekf_params *")
        self._p.gyro_arw_rad_s_sqrt_hz = gyro_arw
        self._p.gyro_bias_rw_rad_s2_sqrt_hz = gyro_bias_rw
        self._s = ffi.new("tsr_mekf_state *")
        self._w = np.zeros(3)
        self._b = np.zeros(3)
        self._r = np.zeros(3)

    def init(self, q_body_eci: np.ndarray, bias_rad_s: np.ndarray | Sequence[float] = (0, 0, 0),
             sigma_att_rad: float = 0.1, sigma_bias_rad_s: float = 0.01) -> None:
        """Start (or restart) at an attitude and bias with diagonal covariance."""
        q = _ffi.vec(q_body_eci, 4, "q_body_eci")
        b = _ffi.vec(bias_rad_s, 3, "bias_rad_s")
        if lib.tsr_mekf_init(self._s, _ffi.ptr(q), _ffi.ptr(b), sigma_att_rad,
                             sigma_bias_rad_s) != 0:
            raise ValueError("MEKF init needs a non-zero quaternion and positive sigmas")

    @property
    def initialized(self) -> bool:
        return bool(self._s.initialized)

    @property
    def q_body_eci(self) -> np.ndarray:
        """Attitude estimate, scalar-first Hamilton."""
        return np.array(list(self._s.q_body_eci))

    @property
    def bias_rad_s(self) -> np.ndarray:
        """Gyro bias estimate, rad/s, body frame."""
        return np.array(list(self._s.bias_rad_s))

    @property
    def w_body_rad_s(self) -> np.ndarray:
        """Last bias-corrected body rate, rad/s."""
        return np.array(list(self._s.w_body_rad_s))

    @property
    def covariance(self) -> np.ndarray:
        """6x6 covariance of [dtheta (rad, body), dbias (rad/s)]."""
        return np.array(list(self._s.p)).reshape(6, 6)

    def propagate(self, gyro_rad_s: np.ndarray | Sequence[float], dt_s: float) -> None:
        """Advance by dt_s with the measured body rate (held over the step)."""
        self._w[:] = gyro_rad_s
        if lib.tsr_mekf_propagate(self._p, self._s, _ffi.ptr(self._w), dt_s) != 0:
            raise ValueError("MEKF propagate: not initialised, bad dt or non-finite rate")

    def update(self, b_meas_body: np.ndarray | Sequence[float],
               r_ref_eci: np.ndarray | Sequence[float], sigma_rad: float) -> None:
        """Correct with one measured direction and its known reference (1-sigma noise, rad)."""
        self._b[:] = b_meas_body
        self._r[:] = r_ref_eci
        if lib.tsr_mekf_update_vector(self._s, _ffi.ptr(self._b), _ffi.ptr(self._r),
                                      sigma_rad) != 0:
            raise ValueError("MEKF update: not initialised, zero vector or bad sigma")
