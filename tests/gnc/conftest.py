"""Closed-loop attitude harness for the ADCS tests.

Truth: the C rigid-body + wheel dynamics (``fsw.gnc.dynamics.RigidBody``,
RK4), a circular 500 km orbit propagated in closed form, the IGRF-14 field,
the Astronomical Almanac sun, gravity-gradient and drag torques. Sensors,
seeded and deterministic:

- gyro: true rate + constant bias + white noise of angle random walk
  1.7e-4 rad/sqrt(s) (0.58 deg/sqrt(h), about 0.03 deg/s per 10 Hz sample);
- magnetometer: true body field + 100 nT (1 sigma) per axis;
- sun sensor: true direction turned by a random small rotation of 0.5 deg
  (1 sigma) per axis; no reading in eclipse (shadow fraction > 0.5);
- wheel tachometers: exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from fsw.gnc import environment as env
from fsw.gnc.adcs import AdcsConfig, AdcsCycle, AdcsSensors, Mode
from fsw.gnc.dynamics import RigidBody, Wheel

MU_KM3_S2 = 398600.4418
R_EARTH_KM = 6378.137
JD_EPOCH = 2461120.5  # 2027-03-21 00:00 TT, near the March equinox


def quat_apply_inverse(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """v_body = A(q) v_eci for scalar-first Hamilton q (numpy mirror of the C helper)."""
    w, x, y, z = q
    a = np.array([
        [w * w + x * x - y * y - z * z, 2 * (x * y + w * z), 2 * (x * z - w * y)],
        [2 * (x * y - w * z), w * w - x * x + y * y - z * z, 2 * (y * z + w * x)],
        [2 * (x * z + w * y), 2 * (y * z - w * x), w * w - x * x - y * y + z * z],
    ])
    return a @ v


def small_rotation(v: np.ndarray, sigma_rad: float, rng: np.random.Generator) -> np.ndarray:
    """v turned by a random rotation vector with sigma_rad per axis (Rodrigues)."""
    phi = rng.normal(0.0, sigma_rad, 3)
    ang = float(np.linalg.norm(phi))
    if ang == 0.0:
        return v
    k = phi / ang
    return (v * math.cos(ang) + np.cross(k, v) * math.sin(ang)
            + k * np.dot(k, v) * (1.0 - math.cos(ang)))


@dataclass
class Scenario:
    """What the closed loop flies; defaults are the 3U of the issue."""

    alt_km: float = 500.0
    beta_deg: float = 75.0          # sun angle above the orbit plane (75: no eclipse)
    w0_body_rad_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    q0_body_eci: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    gyro_bias_rad_s: tuple[float, float, float] = tuple(  # type: ignore[assignment]
        math.radians(x) for x in (0.1, -0.08, 0.06))
    gyro_arw: float = 1.7e-4
    mag_noise_t: float = 100e-9
    sun_noise_rad: float = math.radians(0.5)
    mode: Mode = Mode.SUN
    seed: int = 1
    config: AdcsConfig = field(default_factory=AdcsConfig)


class ClosedLoop:
    """Flight ADCS cycle against the truth model, one 10 Hz step at a time."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        cfg = sc.config
        self.dt = cfg.dt_s
        self.rng = np.random.default_rng(sc.seed)
        axes = np.asarray(cfg.wheels.axes_body, dtype=float)
        self.body = RigidBody(np.asarray(cfg.inertia_kgm2, dtype=float), [
            Wheel(axis_body=a, inertia_kgm2=1.5e-5, max_torque_nm=2e-3, max_speed_rad_s=600.0)
            for a in axes])
        self.body.q_body_eci = sc.q0_body_eci
        self.body.w_body_rad_s = sc.w0_body_rad_s
        self.adcs = AdcsCycle(cfg, sc.mode)
        self.inertia = np.asarray(cfg.inertia_kgm2, dtype=float)
        # Orbit plane tilted so the sun sits beta_deg above it.
        s = env.sun_vector_eci(JD_EPOCH)
        perp = np.cross(s, [0.0, 0.0, 1.0])
        perp /= np.linalg.norm(perp)
        b = math.radians(sc.beta_deg)
        n = math.sin(b) * s + math.cos(b) * perp
        self.p_hat = np.cross(n, s)
        self.p_hat /= np.linalg.norm(self.p_hat)
        self.q_hat = np.cross(n, self.p_hat)
        self.a_km = R_EARTH_KM + sc.alt_km
        self.n_rad_s = math.sqrt(MU_KM3_S2 / self.a_km ** 3)
        self.period_s = 2.0 * math.pi / self.n_rad_s
        self.t = 0.0
        self.last = None

    def orbit(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        u = self.n_rad_s * t
        r = self.a_km * (math.cos(u) * self.p_hat + math.sin(u) * self.q_hat)
        v = self.a_km * self.n_rad_s * (-math.sin(u) * self.p_hat + math.cos(u) * self.q_hat)
        return r, v

    def step(self) -> None:
        sc = self.sc
        rng = self.rng
        t = self.t
        jd = JD_EPOCH + t / 86400.0
        gmst = math.radians(280.46061837 + 360.98564736629 * (jd - 2451545.0))
        year = 2027.0 + (jd - 2461406.5 + 365.0) / 365.0
        r, v = self.orbit(t)
        q = self.body.q_body_eci
        w = self.body.w_body_rad_s
        b_eci = env.igrf_field_eci(r, gmst, year)
        r_sun = env.sun_position_eci(jd)
        lit = env.eclipse_fraction(r, r_sun) < 0.5
        s_eci = r_sun - r
        s_eci /= np.linalg.norm(s_eci)
        gyro_sigma = sc.gyro_arw / math.sqrt(self.dt)
        gyro = w + np.asarray(sc.gyro_bias_rad_s) + rng.normal(0.0, gyro_sigma, 3)
        mag = quat_apply_inverse(q, b_eci) + rng.normal(0.0, sc.mag_noise_t, 3)
        sun = small_rotation(quat_apply_inverse(q, s_eci), sc.sun_noise_rad, rng) if lit else None
        cmd = self.adcs.step(AdcsSensors(
            gyro_rad_s=gyro, mag_body_t=mag, sun_body=sun, r_eci_km=r, v_eci_km_s=v,
            jd_tt=jd, gmst_rad=gmst, decimal_year=year,
            wheel_speed_rad_s=self.body.wheel_speed_rad_s))
        tau = env.gravity_gradient_torque(self.inertia, q, r)
        v_rel = (v - np.cross([0.0, 0.0, 7.292115e-5], r)) * 1e3
        tau = tau + env.drag_torque(q, v_rel, env.atmosphere_density(sc.alt_km), 2.2, 0.03,
                                    [0.01, 0.005, 0.02])
        self.body.step(self.dt, b_eci_t=b_eci, mtq_dipole_am2=cmd.mtq_dipole_am2,
                       wheel_torque_nm=cmd.wheel_torque_nm, ext_torque_body_nm=tau)
        self.t += self.dt
        self.last = (cmd, s_eci)

    def true_sun_error_rad(self) -> float:
        """Angle between the configured sun axis and the true sun direction."""
        _, s_eci = self.last
        s_body = quat_apply_inverse(self.body.q_body_eci, s_eci)
        axis = np.asarray(self.sc.config.sun_axis_body, dtype=float)
        return math.acos(max(-1.0, min(1.0, float(np.dot(axis, s_body)))))

    def true_estimation_error_rad(self) -> float:
        cmd, _ = self.last
        d = float(abs(np.dot(cmd.q_body_eci, self.body.q_body_eci)))
        return 2.0 * math.acos(min(1.0, d))


@pytest.fixture
def closed_loop():
    return ClosedLoop, Scenario
