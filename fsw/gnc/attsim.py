"""Fast-time closed-loop attitude simulation in the C core (Monte Carlo ready).

:class:`FastAttitudeSim` owns the structs of ``csrc/tsr_attsim.c``; one
:meth:`FastAttitudeSim.run` is one C call that flies any number of ADCS
cycles. Each cycle (period ``AdcsConfig.dt_s``):

1. truth environment: SGP4 position and velocity, GMST (IAU-82, UT1), the
   sun (Astronomical Almanac) and its conical shadow, the IGRF-14 field;
2. sensors with seeded noise (:class:`SensorErrors`): gyro = rate + bias
   (a random walk) + white noise, magnetometer = body field + bias + white
   noise per axis, sun sensor = body sun direction turned by a small random
   rotation and absent in shadow; wheel tachometers exact;
3. one flight ADCS cycle (``tsr_adcs_step``, the code ``AdcsCycle`` runs):
   MEKF, then B-dot or quaternion feedback with desaturation;
4. the commands held for one period on the RK4 rigid body with wheels,
   magnetorquers in the truth field, gravity-gradient and (optionally)
   aerodynamic torque (:class:`Disturbances`).

Frames and units: the simulation's inertial frame ("ECI" below) is the TEME
frame of SGP4, which GMST turns into the Earth-fixed frame; ``q_body_eci``
is scalar-first Hamilton with ``v_body = A(q) v_eci``; rates rad/s in the
body frame, positions km, field tesla, torques N m, dipoles A m^2; times are
seconds since the start epoch. A run is repeatable bit for bit from the seed,
whether flown at once or in pieces. The C call releases the GIL, so separate
simulators run in parallel on threads (:func:`run_batch`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from fsw.core.time import TAI_MINUS_UTC_S, TT_MINUS_TAI_S, jd_utc_split
from fsw.gnc import _ffi
from fsw.gnc._core import ffi, lib
from fsw.gnc.adcs import AdcsConfig, Mode, Status
from fsw.gnc.ephemeris import MeanElements
from fsw.gnc.orbit import ERROR_MESSAGES, Satellite

__all__ = [
    "AttSimLog",
    "Disturbances",
    "FastAttitudeSim",
    "SensorErrors",
    "run_batch",
]

LOG_COLS = lib.TSR_ATTSIM_LOG_COLS
_ERRORS = {
    lib.TSR_ATTSIM_EARGS: "bad arguments",
    lib.TSR_ATTSIM_EPARAMS: "a simulation parameter is out of range or not finite",
    lib.TSR_ATTSIM_EORBIT: "SGP4 could not propagate the orbit",
    lib.TSR_ATTSIM_ESTATE: "the truth state became non-finite",
    lib.TSR_ATTSIM_EADCS: "the ADCS cycle rejected its inputs",
}


@dataclass(frozen=True)
class SensorErrors:
    """The simulated sensors' errors; defaults are those of the closed-loop tests."""

    gyro_bias_rad_s: Sequence[float] = tuple(math.radians(x) for x in (0.1, -0.08, 0.06))
    gyro_arw_rad_s_sqrt_hz: float = 1.7e-4        # white rate noise: sigma = arw / sqrt(dt)
    gyro_bias_rw_rad_s2_sqrt_hz: float = 0.0      # bias random walk
    mag_noise_t: float = 100e-9                   # 1 sigma per axis
    mag_bias_t: Sequence[float] = (0.0, 0.0, 0.0)
    sun_noise_rad: float = math.radians(0.5)      # 1 sigma per axis of a small rotation
    sun_shadow_threshold: float = 0.5             # no sun reading above this shadow fraction


@dataclass(frozen=True)
class Disturbances:
    """Torques on the truth body besides the actuators."""

    gravity_gradient: bool = True
    drag_cd: float = 2.2
    drag_area_m2: float = 0.0                     # 0: no aerodynamic torque
    drag_cp_body_m: Sequence[float] = (0.0, 0.0, 0.0)  # centre of pressure from the CoM
    residual_dipole_am2: Sequence[float] = (0.0, 0.0, 0.0)  # body frame


@dataclass
class AttSimLog:
    """Rows of a run, one per logged cycle: truth at ``t_s`` and the cycle's outputs.

    Angles in rad. ``pointing_error_rad`` is the true angle between the body
    and the ADCS target attitude (NaN where there is no target: IDLE,
    DETUMBLE, no estimate yet); ``estimation_error_rad`` the true angle
    between the MEKF estimate and the body (NaN before the filter starts);
    ``sun_axis_error_rad`` the true angle from the configured sun axis to the
    sun. ``raw`` holds the full rows in the C layout (``csrc/tsr_attsim.h``).
    """

    t_s: np.ndarray
    q_body_eci: np.ndarray             # (n, 4) truth
    w_body_rad_s: np.ndarray           # (n, 3) truth
    wheel_speed_rad_s: np.ndarray      # (n, wheels) truth, relative to the body
    q_est_body_eci: np.ndarray         # (n, 4) MEKF
    gyro_bias_est_rad_s: np.ndarray    # (n, 3) MEKF
    gyro_bias_true_rad_s: np.ndarray   # (n, 3) simulated
    pointing_error_rad: np.ndarray
    estimation_error_rad: np.ndarray
    sun_axis_error_rad: np.ndarray
    pointing_error_est_rad: np.ndarray  # what the ADCS believes
    att_sigma_rad: np.ndarray          # (n, 3) MEKF 1 sigma per body axis
    shadow_fraction: np.ndarray
    status: np.ndarray                 # Status bits, int
    wheel_torque_cmd_nm: np.ndarray    # (n, wheels)
    mtq_dipole_am2: np.ndarray         # (n, 3) body frame
    r_eci_km: np.ndarray               # (n, 3)
    raw: np.ndarray = field(repr=False)

    @classmethod
    def from_rows(cls, rows: np.ndarray, n_wheels: int) -> AttSimLog:
        def cols(start: int, n: int = 1) -> np.ndarray:
            return rows[:, start] if n == 1 else rows[:, start:start + n]

        return cls(
            t_s=cols(lib.TSR_ATTSIM_COL_T),
            q_body_eci=cols(lib.TSR_ATTSIM_COL_Q, 4),
            w_body_rad_s=cols(lib.TSR_ATTSIM_COL_W, 3),
            wheel_speed_rad_s=cols(lib.TSR_ATTSIM_COL_WHEEL, 4)[:, :n_wheels],
            q_est_body_eci=cols(lib.TSR_ATTSIM_COL_Q_EST, 4),
            gyro_bias_est_rad_s=cols(lib.TSR_ATTSIM_COL_BIAS_EST, 3),
            gyro_bias_true_rad_s=cols(lib.TSR_ATTSIM_COL_BIAS_TRUE, 3),
            pointing_error_rad=cols(lib.TSR_ATTSIM_COL_POINT_ERR),
            estimation_error_rad=cols(lib.TSR_ATTSIM_COL_EST_ERR),
            sun_axis_error_rad=cols(lib.TSR_ATTSIM_COL_SUN_ERR),
            pointing_error_est_rad=cols(lib.TSR_ATTSIM_COL_POINT_EST),
            att_sigma_rad=cols(lib.TSR_ATTSIM_COL_SIGMA, 3),
            shadow_fraction=cols(lib.TSR_ATTSIM_COL_SHADOW),
            status=cols(lib.TSR_ATTSIM_COL_STATUS).astype(np.int64),
            wheel_torque_cmd_nm=cols(lib.TSR_ATTSIM_COL_WHEEL_CMD, 4)[:, :n_wheels],
            mtq_dipole_am2=cols(lib.TSR_ATTSIM_COL_DIPOLE, 3),
            r_eci_km=cols(lib.TSR_ATTSIM_COL_R, 3),
            raw=rows,
        )

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


def _finite_vec(x: Sequence[float], n: int, name: str) -> list[float]:
    a = _ffi.vec(x, n, name)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return [float(v) for v in a]


def _nonneg(x: float, name: str) -> float:
    x = float(x)
    if not (math.isfinite(x) and x >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {x}")
    return x


class FastAttitudeSim:
    """Closed-loop attitude simulation: flight ADCS cycle against a truth model.

    ``config`` is the flight software's (``AdcsConfig``: gains, filter
    tuning, wheel geometry, its inertia); the truth body takes the same
    inertia and wheels unless ``truth_inertia_kgm2`` says otherwise (a Monte
    Carlo run perturbs it). ``orbit`` is ``MeanElements`` (the on-board
    ephemeris) or an initialised SGP4 ``Satellite``; ``start_tai_s`` (TAI
    seconds since 1958, the flight clock) defaults to the orbit's epoch.
    ``q0_body_eci`` (scalar first, normalised here) and ``w0_body_rad_s``
    (body frame) set the initial truth; wheels start at rest. ``seed``
    fixes every noise sample. Raises ValueError with the reason on bad input.
    """

    def __init__(self, config: AdcsConfig | None = None, *,
                 orbit: MeanElements | Satellite,
                 start_tai_s: float | None = None,
                 sensors: SensorErrors | None = None,
                 disturbances: Disturbances | None = None,
                 seed: int = 0,
                 q0_body_eci: Sequence[float] = (1.0, 0.0, 0.0, 0.0),
                 w0_body_rad_s: Sequence[float] = (0.0, 0.0, 0.0),
                 mode: Mode = Mode.DETUMBLE,
                 truth_inertia_kgm2: Sequence[Sequence[float]] | None = None,
                 wheel_max_speed_rad_s: float = 600.0,
                 igrf_nmax_truth: int = 13,
                 dyn_substeps: int = 1,
                 ut1_minus_utc_s: float = 0.0) -> None:
        self.config = config or AdcsConfig()
        self.sensors = sensors or SensorErrors()
        self.disturbances = disturbances or Disturbances()
        self.seed = int(seed)
        if not 0 <= self.seed < 2 ** 64:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}")
        if not (math.isfinite(self.config.dt_s) and self.config.dt_s > 0.0):
            raise ValueError(f"config.dt_s must be positive, got {self.config.dt_s}")
        if not 1 <= int(igrf_nmax_truth) <= lib.TSR_IGRF_NMAX:
            raise ValueError(f"igrf_nmax_truth must be 1..{lib.TSR_IGRF_NMAX}")
        if not 1 <= int(dyn_substeps) <= 1000:
            raise ValueError("dyn_substeps must be 1..1000")
        if not (math.isfinite(ut1_minus_utc_s) and abs(ut1_minus_utc_s) <= 1.0):
            raise ValueError("ut1_minus_utc_s must be within +-1 s")
        try:
            mode = Mode(mode)
        except ValueError:
            raise ValueError(f"unknown ADCS mode {mode!r}") from None

        p = ffi.new("tsr_attsim_params *")
        p.adcs = self.config.to_c()[0]
        self.n_wheels = int(p.adcs.pd.n_wheels)
        self._fill_body(p, truth_inertia_kgm2, wheel_max_speed_rad_s)
        self._fill_orbit(p, orbit, start_tai_s)
        p.tt_minus_utc_s = TAI_MINUS_UTC_S + TT_MINUS_TAI_S
        p.ut1_minus_utc_s = float(ut1_minus_utc_s)
        p.igrf_nmax_truth = int(igrf_nmax_truth)
        p.dyn_substeps = int(dyn_substeps)
        d = self.disturbances
        p.gravity_gradient = 1 if d.gravity_gradient else 0
        p.drag_cd = _nonneg(d.drag_cd, "drag_cd")
        p.drag_area_m2 = _nonneg(d.drag_area_m2, "drag_area_m2")
        p.drag_cp_body_m = _finite_vec(d.drag_cp_body_m, 3, "drag_cp_body_m")
        p.residual_dipole_am2 = _finite_vec(d.residual_dipole_am2, 3, "residual_dipole_am2")
        e = self.sensors
        p.gyro_bias_rad_s = _finite_vec(e.gyro_bias_rad_s, 3, "gyro_bias_rad_s")
        p.gyro_arw_rad_s_sqrt_hz = _nonneg(e.gyro_arw_rad_s_sqrt_hz, "gyro_arw_rad_s_sqrt_hz")
        p.gyro_bias_rw_rad_s2_sqrt_hz = _nonneg(e.gyro_bias_rw_rad_s2_sqrt_hz,
                                                "gyro_bias_rw_rad_s2_sqrt_hz")
        p.mag_noise_t = _nonneg(e.mag_noise_t, "mag_noise_t")
        p.mag_bias_t = _finite_vec(e.mag_bias_t, 3, "mag_bias_t")
        p.sun_noise_rad = _nonneg(e.sun_noise_rad, "sun_noise_rad")
        if not 0.0 <= float(e.sun_shadow_threshold) <= 1.0:
            raise ValueError("sun_shadow_threshold must be within 0..1")
        p.sun_shadow_threshold = float(e.sun_shadow_threshold)
        rc = lib.tsr_attsim_check(p)
        if rc != 0:
            raise ValueError(f"simulation parameters rejected: {_ERRORS.get(rc, rc)}")
        self._p = p
        self._s = ffi.new("tsr_attsim_state *")
        q0 = _finite_vec(q0_body_eci, 4, "q0_body_eci")
        if not np.linalg.norm(q0) > 0.0:
            raise ValueError("q0_body_eci must be a non-zero quaternion")
        w0 = _finite_vec(w0_body_rad_s, 3, "w0_body_rad_s")
        rc = lib.tsr_attsim_init(p, self._s, self.seed, q0, w0, int(mode))
        if rc != 0:
            raise ValueError(f"initial state rejected: {_ERRORS.get(rc, rc)}")

    def _fill_body(self, p, truth_inertia, max_speed: float) -> None:
        b, pd = p.body, p.adcs.pd
        inertia = np.asarray(self.config.inertia_kgm2 if truth_inertia is None else truth_inertia,
                             dtype=float)
        if inertia.shape != (3, 3) or not np.all(np.isfinite(inertia)) or \
                not np.allclose(inertia, inertia.T) or np.any(np.linalg.eigvalsh(inertia) <= 0):
            raise ValueError("truth inertia must be a symmetric positive-definite 3x3, kg m^2")
        b.inertia_kgm2 = list(inertia.ravel())
        b.n_wheels = pd.n_wheels
        b.wheel_axis_body = list(pd.wheel_axis_body)
        b.wheel_inertia_kgm2 = list(pd.wheel_inertia_kgm2)
        b.wheel_max_torque_nm = list(pd.wheel_max_torque_nm)
        b.wheel_max_speed_rad_s = [_nonneg(max_speed, "wheel_max_speed_rad_s")] * 4
        if lib.tsr_body_params_init(ffi.addressof(p, "body")) != 0:
            raise ValueError("truth body rejected: singular inertia or ill-defined wheel")

    @staticmethod
    def _fill_orbit(p, orbit: MeanElements | Satellite, start_tai_s: float | None) -> None:
        if isinstance(orbit, MeanElements):
            sat = orbit.satellite()
            if start_tai_s is None:
                start_tai_s = orbit.epoch_tai_s
        elif isinstance(orbit, Satellite):
            sat = orbit
        else:
            raise ValueError("orbit must be MeanElements or an SGP4 Satellite")
        if sat.init_error != 0:
            raise ValueError(f"orbit rejected by SGP4: "
                             f"{ERROR_MESSAGES.get(sat.init_error, sat.init_error)}")
        p.sat = sat._rec[0]
        if start_tai_s is None:
            p.start_jd_utc, p.start_jd_utc_frac = sat.epoch_jd
        else:
            if not math.isfinite(start_tai_s):
                raise ValueError("start_tai_s must be finite")
            p.start_jd_utc, p.start_jd_utc_frac = jd_utc_split(float(start_tai_s))

    # -- state ------------------------------------------------------------------
    @property
    def dt_s(self) -> float:
        return float(self._p.adcs.dt_s)

    @property
    def t_s(self) -> float:
        """Seconds since the start epoch."""
        return float(self._s.steps) * self.dt_s

    @property
    def q_body_eci(self) -> np.ndarray:
        return np.array(list(self._s.body.q_body_eci))

    @property
    def w_body_rad_s(self) -> np.ndarray:
        return np.array(list(self._s.body.w_body_rad_s))

    @property
    def wheel_speed_rad_s(self) -> np.ndarray:
        return np.array(list(self._s.body.wheel_speed_rad_s))[: self.n_wheels]

    @property
    def gyro_bias_estimate_rad_s(self) -> np.ndarray:
        return np.array(list(self._s.adcs.mekf.bias_rad_s))

    @property
    def status(self) -> Status:
        """Status bits of the latest cycle."""
        return Status(self._s.last.status)

    @property
    def mode(self) -> Mode:
        return Mode(self._s.adcs.mode)

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self._s.adcs.mode = int(Mode(mode))

    def set_inertial_target(self, q_target_eci: Sequence[float]) -> None:
        """Attitude to hold in INERTIAL mode (normalised here)."""
        q = np.asarray(_finite_vec(q_target_eci, 4, "q_target_eci"))
        n = float(np.linalg.norm(q))
        if not n > 0.0:
            raise ValueError("q_target_eci must be a non-zero quaternion")
        self._s.adcs.q_inertial_target = list(q / n)

    def set_ground_target(self, r_ecef_km: Sequence[float]) -> None:
        """Ground point (Earth-fixed, km) to track in TARGET mode."""
        self._s.adcs.target_ecef_km = _finite_vec(r_ecef_km, 3, "r_ecef_km")

    # -- running --------------------------------------------------------------
    def steps_for(self, duration_s: float) -> int:
        """Cycles in `duration_s` (rounded to the nearest whole cycle)."""
        duration_s = float(duration_s)
        if not (math.isfinite(duration_s) and duration_s >= 0.0):
            raise ValueError(f"duration_s must be finite and >= 0, got {duration_s}")
        n = round(duration_s / self.dt_s)
        if n > 2 ** 53:
            raise ValueError(f"duration_s too long: {duration_s} s")
        return n

    def run(self, duration_s: float, log_every_s: float | None = None) -> AttSimLog:
        """Fly `duration_s` from the current state; log a row every `log_every_s`.

        Rows fall on the cycles whose time since the start epoch is a
        multiple of ``log_every_s`` (rounded to whole cycles; None logs every
        cycle), so pieces of one run log the same rows as the whole.
        """
        n_steps = self.steps_for(duration_s)
        if log_every_s is None:
            every = 1
        else:
            log_every_s = float(log_every_s)
            if not (math.isfinite(log_every_s) and log_every_s > 0.0):
                raise ValueError(f"log_every_s must be positive, got {log_every_s}")
            every = max(1, round(log_every_s / self.dt_s))
        rows = int(lib.tsr_attsim_log_rows(self._s, n_steps, every))
        buf = np.empty((max(rows, 1), LOG_COLS))
        n_logged = ffi.new("long *")
        rc = lib.tsr_attsim_run(self._p, self._s, n_steps, every, _ffi.ptr(buf), rows, n_logged)
        if rc != 0:
            raise ValueError(f"simulation stopped at t = {self.t_s:.1f} s: "
                             f"{_ERRORS.get(rc, rc)}")
        return AttSimLog.from_rows(buf[: int(n_logged[0])], self.n_wheels)

    def run_quiet(self, duration_s: float) -> None:
        """Fly `duration_s` without logging (the state and `status` remain)."""
        rc = lib.tsr_attsim_run(self._p, self._s, self.steps_for(duration_s), 0, ffi.NULL, 0,
                                ffi.NULL)
        if rc != 0:
            raise ValueError(f"simulation stopped at t = {self.t_s:.1f} s: "
                             f"{_ERRORS.get(rc, rc)}")


def run_batch(make_sim: Callable[[int], FastAttitudeSim], seeds: Sequence[int],
              duration_s: float, log_every_s: float | None = None,
              threads: int = 1) -> list[AttSimLog]:
    """Monte Carlo: ``make_sim(seed).run(duration_s, log_every_s)`` for each seed.

    The logs come back in the order of `seeds`. With ``threads > 1`` the runs
    share a thread pool; the C call releases the GIL, so they run in parallel
    and each result is the same as run alone.
    """
    def one(seed: int) -> AttSimLog:
        return make_sim(seed).run(duration_s, log_every_s)

    if threads <= 1:
        return [one(s) for s in seeds]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, seeds))
