"""Pointing control (C core): quaternion feedback on reaction wheels, attitude
targets, and wheel-momentum desaturation with magnetorquers.

Control law (Wie, Weiss & Arapostathis 1989; Wie 2008 sec. 7.3), gains scaled
by the inertia so every axis has the same bandwidth:
``tau = -J (kd (w_e - w_c) + ki z) + w x (J w + h_wheels)`` with
``w_c = -sat(kp/kd theta_e, max_slew_rate)``, ``theta_e`` twice the vector
part of the body-frame error quaternion ``q_target* (x) q``. Wheel torques come
from the least-norm split of ``tau``, scaled down together at a wheel's
limit; the integral then pauses and is clamped (anti-windup).

Desaturation: ``m = k (h x B) / |B|^2`` (Markley & Crassidis sec. 7.5.2),
on above ``h_on_nms``, off below ``h_off_nms``.

B-dot detumbling is :class:`fsw.gnc.bdot.BDot` (re-exported here).

Frames: ``q_*_eci`` scalar-first Hamilton (``v_body = A(q) v_eci``); rates in
rad/s in body (or target) axes; field in tesla, body frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fsw.gnc import _ffi
from fsw.gnc._core import ffi, lib
from fsw.gnc.bdot import BDot

__all__ = [
    "BDot",
    "Desaturation",
    "PdGains",
    "PointingController",
    "WheelArray",
    "ground_target",
    "nadir_target",
    "two_axis_target",
]


@dataclass(frozen=True)
class WheelArray:
    """Reaction wheels: unit spin axes (n, 3) in the body frame and their limits."""

    axes_body: np.ndarray | Sequence[Sequence[float]]
    inertia_kgm2: float | Sequence[float] = 1.5e-5
    max_torque_nm: float | Sequence[float] = 2e-3

    def fill(self, p) -> None:
        """Write into a tsr_pd_params struct."""
        axes = np.asarray(self.axes_body, dtype=float)
        if axes.ndim != 2 or axes.shape[1] != 3 or not 3 <= axes.shape[0] <= 4:
            raise ValueError("axes_body must be (3, 3) or (4, 3)")
        axes = axes / np.linalg.norm(axes, axis=1, keepdims=True)
        n = axes.shape[0]
        p.n_wheels = n
        p.wheel_axis_body[0:3 * n] = list(axes.ravel())
        p.wheel_inertia_kgm2[0:n] = list(np.broadcast_to(self.inertia_kgm2, (n,)).astype(float))
        p.wheel_max_torque_nm[0:n] = list(np.broadcast_to(self.max_torque_nm, (n,)).astype(float))


@dataclass(frozen=True)
class PdGains:
    """Quaternion-feedback gains: kp = wn^2 (1/s^2), kd = 2 zeta wn (1/s), ki (1/s^3)."""

    kp_per_s2: float = 0.01
    kd_per_s: float = 0.2
    ki_per_s3: float = 0.0
    integral_limit_rad_s: float = 0.05
    max_slew_rate_rad_s: float = 0.02

    @classmethod
    def from_bandwidth(cls, wn_rad_s: float, zeta: float = 0.9, **kw: float) -> PdGains:
        return cls(kp_per_s2=wn_rad_s ** 2, kd_per_s=2.0 * zeta * wn_rad_s, **kw)

    def fill(self, p) -> None:
        p.kp_per_s2 = self.kp_per_s2
        p.kd_per_s = self.kd_per_s
        p.ki_per_s3 = self.ki_per_s3
        p.integral_limit_rad_s = self.integral_limit_rad_s
        p.max_slew_rate_rad_s = self.max_slew_rate_rad_s


@dataclass
class PointingCommand:
    """Output of one control step."""

    wheel_torque_nm: np.ndarray
    torque_body_nm: np.ndarray
    error_angle_rad: float
    saturated: bool = field(default=False)


class PointingController:
    """Quaternion feedback with wheel allocation, saturation and anti-windup."""

    def __init__(self, inertia_kgm2: np.ndarray, wheels: WheelArray,
                 gains: PdGains = PdGains()) -> None:
        self._p = ffi.new("tsr_pd_params *")
        self._p.inertia_kgm2 = list(np.asarray(inertia_kgm2, dtype=float).reshape(9))
        wheels.fill(self._p)
        gains.fill(self._p)
        self._s = ffi.new("tsr_pd_state *")
        self.n_wheels = self._p.n_wheels
        self._in = np.zeros(4 + 3 + 4 + 3 + 4)
        self._u, self._up = _ffi.out(4)
        self._t, self._tp = _ffi.out(3)
        self._err = ffi.new("double *")

    @property
    def integral_rad_s(self) -> np.ndarray:
        return np.array(list(self._s.integral_rad_s))

    def wheel_momentum_body_nms(self, wheel_speed_rad_s: Sequence[float]) -> np.ndarray:
        """Momentum of the wheels' spin relative to the body, N m s, body frame."""
        w = np.zeros(4)
        w[: self.n_wheels] = wheel_speed_rad_s
        h, hp = _ffi.out(3)
        lib.tsr_wheel_momentum(self._p, _ffi.ptr(w), hp)
        return h

    def step(self, q_body_eci: np.ndarray, w_body_rad_s: np.ndarray, q_target_eci: np.ndarray,
             w_target_rad_s: np.ndarray | Sequence[float] = (0.0, 0.0, 0.0),
             wheel_speed_rad_s: Sequence[float] | None = None,
             dt_s: float = 0.1) -> PointingCommand:
        """Wheel motor torques (N m) to take q_body_eci toward q_target_eci.

        ``w_target_rad_s`` is the target's rate in its own axes.
        """
        a = self._in
        a[0:4] = q_body_eci
        a[4:7] = w_body_rad_s
        a[7:11] = q_target_eci
        a[11:14] = w_target_rad_s
        a[14:18] = 0.0
        if wheel_speed_rad_s is not None:
            a[14:14 + self.n_wheels] = wheel_speed_rad_s
        base = _ffi.ptr(a)
        if lib.tsr_pd_control(self._p, self._s, base, base + 4, base + 7, base + 11, base + 14,
                              dt_s, self._up, self._tp, self._err) != 0:
            raise ValueError("pointing control rejected its inputs (non-finite or bad dt)")
        return PointingCommand(self._u[: self.n_wheels].copy(), self._t.copy(),
                               float(self._err[0]), bool(self._s.saturated))


class Desaturation:
    """Cross-product momentum unloading with hysteresis."""

    def __init__(self, gain_per_s: float, h_on_nms: float, h_off_nms: float,
                 max_dipole_am2: Sequence[float]) -> None:
        if h_off_nms > h_on_nms:
            raise ValueError("h_off_nms must not exceed h_on_nms")
        self._p = ffi.new("tsr_desat_params *")
        self._p.gain_per_s = gain_per_s
        self._p.h_on_nms = h_on_nms
        self._p.h_off_nms = h_off_nms
        self._p.max_dipole_am2 = [float(x) for x in max_dipole_am2]
        self._s = ffi.new("tsr_desat_state *")

    @property
    def active(self) -> bool:
        return bool(self._s.active)

    def step(self, h_wheels_body_nms: Sequence[float], b_body_t: Sequence[float]) -> np.ndarray:
        """Commanded dipole, A m^2, body frame; zero while inactive."""
        h = _ffi.vec(h_wheels_body_nms, 3, "h_wheels_body_nms")
        b = _ffi.vec(b_body_t, 3, "b_body_t")
        m, mp = _ffi.out(3)
        if lib.tsr_desat_step(self._p, self._s, _ffi.ptr(h), _ffi.ptr(b), mp) != 0:
            raise ValueError("desaturation needs a non-zero, finite field")
        return m


def two_axis_target(body_primary: Sequence[float], body_secondary: Sequence[float],
                    eci_primary: Sequence[float], eci_secondary: Sequence[float]) -> np.ndarray:
    """``q_target_eci`` putting body_primary along eci_primary and body_secondary
    as near eci_secondary as possible (e.g. sun pointing: panel normal to the sun)."""
    vs = [_ffi.vec(v, 3, "vector") for v in (body_primary, body_secondary, eci_primary,
                                           eci_secondary)]
    q, qp = _ffi.out(4)
    if lib.tsr_target_two_axis(*(_ffi.ptr(v) for v in vs), qp) != 0:
        raise ValueError("two-axis target needs non-zero, non-parallel pairs")
    return q


def nadir_target(nadir_axis_body: Sequence[float], normal_axis_body: Sequence[float],
                 r_eci_km: Sequence[float],
                 v_eci_km_s: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Nadir pointing: ``(q_target_eci, w_target_rad_s in target axes)``."""
    vs = [_ffi.vec(v, 3, "vector") for v in (nadir_axis_body, normal_axis_body, r_eci_km,
                                           v_eci_km_s)]
    q, qp = _ffi.out(4)
    w, wp = _ffi.out(3)
    if lib.tsr_target_nadir(*(_ffi.ptr(v) for v in vs), qp, wp) != 0:
        raise ValueError("nadir target needs a position off the origin and distinct axes")
    return q, w


def ground_target(axis_body: Sequence[float], secondary_axis_body: Sequence[float],
                  r_sat_eci_km: Sequence[float], v_sat_eci_km_s: Sequence[float],
                  r_tgt_eci_km: Sequence[float],
                  v_tgt_eci_km_s: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Track a ground point (given in ECI with its velocity): ``(q_target_eci, w_target_rad_s)``.

    ``axis_body`` follows the line of sight; ``secondary_axis_body`` leans to the orbit normal.
    """
    vs = [_ffi.vec(v, 3, "vector") for v in (axis_body, secondary_axis_body, r_sat_eci_km,
                                           v_sat_eci_km_s, r_tgt_eci_km, v_tgt_eci_km_s)]
    q, qp = _ffi.out(4)
    w, wp = _ffi.out(3)
    if lib.tsr_target_ground(*(_ffi.ptr(v) for v in vs), qp, wp) != 0:
        raise ValueError("ground target must differ from the satellite position")
    return q, w
