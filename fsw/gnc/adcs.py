"""One ADCS cycle (estimate and control) as one C call.

:class:`AdcsCycle` owns the caller-side C structs of ``tsr_adcs_step``
(csrc/tsr_adcs.c): each :meth:`AdcsCycle.step` takes one set of sensor
readings and returns the actuator commands with the estimate behind them.
Inside the call: sun (Astronomical Almanac) and IGRF-14 field references at
the given position and time, MEKF propagation with the gyro and updates with
the sun sensor and magnetometer (TRIAD initialises it), then the mode's
controller: B-dot (DETUMBLE) or quaternion feedback on the wheels toward the
sun, nadir, an inertial attitude or a ground target, with magnetorquer
desaturation of the wheels. No heap, no I/O, deterministic.

Frames and units: ``q_body_eci`` scalar-first Hamilton (``v_body = A(q) v_eci``);
sensor vectors in the body frame; field in tesla; rates rad/s; positions km
and velocities km/s in ECI; ``gmst_rad`` is the Earth rotation angle from ECI
to ECEF (from ``fsw.gnc.frames``); ``jd_tt`` Julian date (TT).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from fsw.gnc import _ffi
from fsw.gnc._core import ffi, lib
from fsw.gnc.control import PdGains, WheelArray
from hal._compiled import mypyc_attr

__all__ = [
    "AdcsCommands",
    "AdcsConfig",
    "AdcsCycle",
    "AdcsSensors",
    "Mode",
    "Status",
    "default_wheels",
]


class Mode(enum.IntEnum):
    """Controller modes of the cycle."""

    IDLE = lib.TSR_ADCS_MODE_IDLE
    DETUMBLE = lib.TSR_ADCS_MODE_DETUMBLE
    SUN = lib.TSR_ADCS_MODE_SUN
    NADIR = lib.TSR_ADCS_MODE_NADIR
    INERTIAL = lib.TSR_ADCS_MODE_INERTIAL
    TARGET = lib.TSR_ADCS_MODE_TARGET


class Status(enum.IntFlag):
    """Status bits of one cycle."""

    EST_VALID = lib.TSR_ADCS_EST_VALID
    DESAT_ACTIVE = lib.TSR_ADCS_DESAT_ACTIVE
    WHEELS_SATURATED = lib.TSR_ADCS_WHEELS_SATURATED
    ECLIPSE = lib.TSR_ADCS_ECLIPSE
    MAG_REJECTED = lib.TSR_ADCS_MAG_REJECTED
    SUN_REJECTED = lib.TSR_ADCS_SUN_REJECTED
    NO_CONTROL = lib.TSR_ADCS_NO_CONTROL


def default_wheels() -> WheelArray:
    """Four wheels: one on each body axis and one skewed along (1, 1, 1)/sqrt(3)."""
    s = 1.0 / math.sqrt(3.0)
    return WheelArray(axes_body=[[1, 0, 0], [0, 1, 0], [0, 0, 1], [s, s, s]],
                      inertia_kgm2=1.5e-5, max_torque_nm=2e-3)


@mypyc_attr(native_class=False)  # as `fsw.gnc.dynamics.Wheel`
@dataclass(frozen=True)
class AdcsConfig:
    """Parameters of the cycle; the defaults describe a 3U CubeSat at 10 Hz."""

    dt_s: float = 0.1
    inertia_kgm2: Sequence[Sequence[float]] = ((0.033, 0.0, 0.0), (0.0, 0.034, 0.0),
                                               (0.0, 0.0, 0.0067))
    wheels: WheelArray = field(default_factory=default_wheels)
    gains: PdGains = field(default_factory=lambda: PdGains.from_bandwidth(
        0.1, 0.9, max_slew_rate_rad_s=math.radians(1.5)))
    max_dipole_am2: Sequence[float] = (0.2, 0.2, 0.2)
    bdot_gain_am2_per_t_s: float = 2.0e5
    bdot_filter_alpha: float = 0.5
    gyro_arw_rad_s_sqrt_hz: float = 1.7e-4
    gyro_bias_rw_rad_s2_sqrt_hz: float = 2e-6
    mekf_init_sigma_att_rad: float = math.radians(10.0)
    mekf_init_sigma_bias_rad_s: float = math.radians(0.5)
    sun_sigma_rad: float = math.radians(0.5)
    mag_sigma_rad: float = math.radians(1.5)
    innovation_gate_rad: float = math.radians(30.0)
    igrf_nmax: int = 13
    desat_gain_per_s: float = 0.005
    desat_h_on_nms: float = 2.0e-3
    desat_h_off_nms: float = 0.5e-3
    sun_axis_body: Sequence[float] = (1.0, 0.0, 0.0)
    sun_secondary_body: Sequence[float] = (0.0, 0.0, 1.0)
    nadir_axis_body: Sequence[float] = (0.0, 0.0, 1.0)
    nadir_secondary_body: Sequence[float] = (0.0, 1.0, 0.0)

    def to_c(self):
        """A filled ``tsr_adcs_params`` struct."""
        p = ffi.new("tsr_adcs_params *")
        p.dt_s = self.dt_s
        p.igrf_nmax = self.igrf_nmax
        p.bdot.gain_am2_per_t_s = self.bdot_gain_am2_per_t_s
        p.bdot.max_dipole_am2 = [float(x) for x in self.max_dipole_am2]
        p.bdot.filter_alpha = self.bdot_filter_alpha
        p.mekf.gyro_arw_rad_s_sqrt_hz = self.gyro_arw_rad_s_sqrt_hz
        p.mekf.gyro_bias_rw_rad_s2_sqrt_hz = self.gyro_bias_rw_rad_s2_sqrt_hz
        p.mekf_init_sigma_att_rad = self.mekf_init_sigma_att_rad
        p.mekf_init_sigma_bias_rad_s = self.mekf_init_sigma_bias_rad_s
        p.sun_sigma_rad = self.sun_sigma_rad
        p.mag_sigma_rad = self.mag_sigma_rad
        p.innovation_gate_rad = self.innovation_gate_rad
        p.pd.inertia_kgm2 = list(np.asarray(self.inertia_kgm2, dtype=float).reshape(9))
        self.wheels.fill(p.pd)
        self.gains.fill(p.pd)
        p.desat.gain_per_s = self.desat_gain_per_s
        p.desat.h_on_nms = self.desat_h_on_nms
        p.desat.h_off_nms = self.desat_h_off_nms
        p.desat.max_dipole_am2 = [float(x) for x in self.max_dipole_am2]
        for name in ("sun_axis_body", "sun_secondary_body", "nadir_axis_body",
                     "nadir_secondary_body"):
            setattr(p, name, [float(x) for x in getattr(self, name)])
        return p


# Both made once a cycle: their `__init__` is written out (init=False) so that,
# compiled, it is native code rather than the one the dataclasses module
# generates at import; repr and equality stay the dataclass's.
@dataclass(init=False)
class AdcsSensors:
    """One cycle's inputs. A sensor set to None is treated as invalid."""

    gyro_rad_s: np.ndarray | Sequence[float] | None
    mag_body_t: np.ndarray | Sequence[float] | None
    sun_body: np.ndarray | Sequence[float] | None
    r_eci_km: np.ndarray | Sequence[float]
    v_eci_km_s: np.ndarray | Sequence[float]
    jd_tt: float
    gmst_rad: float
    decimal_year: float
    wheel_speed_rad_s: np.ndarray | Sequence[float]

    def __init__(self, gyro_rad_s: np.ndarray | Sequence[float] | None,
                 mag_body_t: np.ndarray | Sequence[float] | None,
                 sun_body: np.ndarray | Sequence[float] | None,
                 r_eci_km: np.ndarray | Sequence[float], v_eci_km_s: np.ndarray | Sequence[float],
                 jd_tt: float, gmst_rad: float, decimal_year: float,
                 wheel_speed_rad_s: np.ndarray | Sequence[float] = (0.0, 0.0, 0.0, 0.0)) -> None:
        self.gyro_rad_s = gyro_rad_s
        self.mag_body_t = mag_body_t
        self.sun_body = sun_body
        self.r_eci_km = r_eci_km
        self.v_eci_km_s = v_eci_km_s
        self.jd_tt = jd_tt
        self.gmst_rad = gmst_rad
        self.decimal_year = decimal_year
        self.wheel_speed_rad_s = wheel_speed_rad_s


@dataclass(init=False)
class AdcsCommands:
    """One cycle's outputs: actuator commands and the estimate behind them."""

    wheel_torque_nm: np.ndarray          # motor torque per wheel, N m
    mtq_dipole_am2: np.ndarray           # body frame
    q_body_eci: np.ndarray               # estimate
    w_body_rad_s: np.ndarray             # bias-corrected rate
    gyro_bias_rad_s: np.ndarray
    att_sigma_rad: np.ndarray            # 1-sigma attitude uncertainty per body axis
    q_target_eci: np.ndarray
    pointing_error_rad: float            # estimated angle to the target
    sun_eci: np.ndarray                  # unit vector from the satellite
    b_eci_t: np.ndarray                  # IGRF-14 model field
    shadow_fraction: float               # 0 full sun .. 1 umbra
    wheel_momentum_body_nms: np.ndarray
    status: Status

    def __init__(self, wheel_torque_nm: np.ndarray, mtq_dipole_am2: np.ndarray,
                 q_body_eci: np.ndarray, w_body_rad_s: np.ndarray, gyro_bias_rad_s: np.ndarray,
                 att_sigma_rad: np.ndarray, q_target_eci: np.ndarray, pointing_error_rad: float,
                 sun_eci: np.ndarray, b_eci_t: np.ndarray, shadow_fraction: float,
                 wheel_momentum_body_nms: np.ndarray, status: Status) -> None:
        self.wheel_torque_nm = wheel_torque_nm
        self.mtq_dipole_am2 = mtq_dipole_am2
        self.q_body_eci = q_body_eci
        self.w_body_rad_s = w_body_rad_s
        self.gyro_bias_rad_s = gyro_bias_rad_s
        self.att_sigma_rad = att_sigma_rad
        self.q_target_eci = q_target_eci
        self.pointing_error_rad = pointing_error_rad
        self.sun_eci = sun_eci
        self.b_eci_t = b_eci_t
        self.shadow_fraction = shadow_fraction
        self.wheel_momentum_body_nms = wheel_momentum_body_nms
        self.status = status


# The input doubles, consecutive in the C struct (tsr_adcs_inputs) up to
# decimal_year: one struct call writes them all per cycle.
_IN_LAYOUT = _ffi.consecutive_doubles(
    "tsr_adcs_inputs", [("gyro_rad_s", 3), ("mag_body_t", 3), ("sun_body", 3),
                        ("wheel_speed_rad_s", 4), ("r_eci_km", 3), ("v_eci_km_s", 3),
                        ("jd_tt", 1), ("gmst_rad", 1), ("decimal_year", 1)])
# Final: compiled, read from the module's statics every cycle rather than
# looked up in its namespace. `step` packs the doubles in the order declared.
_IN_DOUBLES: Final = _IN_LAYOUT[0]
# tsr_adcs_outputs up to `status`: consecutive doubles, wheel_torque_cmd_nm
# first, checked against the compiled struct like the inputs.
_OUT_LAYOUT = _ffi.consecutive_doubles(
    "tsr_adcs_outputs", [("wheel_torque_cmd_nm", 4), ("mtq_dipole_am2", 3), ("q_body_eci", 4),
                         ("w_body_rad_s", 3), ("gyro_bias_rad_s", 3), ("att_sigma_rad", 3),
                         ("q_target_eci", 4), ("pointing_error_rad", 1), ("sun_eci", 3),
                         ("b_eci_t", 3), ("shadow_fraction", 1),
                         ("wheel_momentum_body_nms", 3)])
_N_OUT_DOUBLES: Final = _OUT_LAYOUT[0].size // 8
_STATUS: Final[dict[int, Status]] = {}  # IntFlag construction costs a microsecond: one per code


def _floats(x: np.ndarray | Sequence[float], n: int, name: str) -> Sequence[float]:
    """The `n` values of one sensor vector as floats, or ValueError."""
    if isinstance(x, np.ndarray):
        values: Sequence[float] = x.tolist()
    elif type(x) is tuple and _all_floats(x):
        values = x  # the orbit's own tuples: nothing to convert
    else:
        values = [float(e) for e in x]
    if len(values) != n:
        raise ValueError(f"{name} needs {n} values, got {len(values)}")
    return values


def _all_floats(values: tuple) -> bool:
    for value in values:  # a loop: compiled, native type tests
        if type(value) is not float:
            return False
    return True


def _out_slice(name: str, count: int) -> slice:
    at = _OUT_LAYOUT[1][name]
    return slice(at, at + count)


# The output doubles' fields, as slices made once: compiled, a slice written
# in place is built anew on every call.
_DIPOLE: Final = _out_slice("mtq_dipole_am2", 3)
_Q_BODY: Final = _out_slice("q_body_eci", 4)
_W_BODY: Final = _out_slice("w_body_rad_s", 3)
_BIAS: Final = _out_slice("gyro_bias_rad_s", 3)
_SIGMA: Final = _out_slice("att_sigma_rad", 3)
_Q_TARGET: Final = _out_slice("q_target_eci", 4)
_SUN_ECI: Final = _out_slice("sun_eci", 3)
_B_ECI: Final = _out_slice("b_eci_t", 3)
_MOMENTUM: Final = _out_slice("wheel_momentum_body_nms", 3)


class AdcsCycle:
    """The ADCS cycle with its state; ``step(sensors) -> AdcsCommands``."""

    def __init__(self, config: AdcsConfig | None = None, mode: Mode = Mode.DETUMBLE) -> None:
        self.config = config or AdcsConfig()
        self._p = self.config.to_c()
        self.n_wheels = int(self._p.pd.n_wheels)
        self._s = ffi.new("tsr_adcs_state *")
        self._in = ffi.new("tsr_adcs_inputs *")
        self._out = ffi.new("tsr_adcs_outputs *")
        lib.tsr_adcs_init(self._s, int(mode))
        self._mode = Mode(mode)
        # Each sensor's last values, which `step` packs into the C inputs with the
        # rest: a sensor that gives nothing leaves its last values there, as the
        # C cycle may still read them (flagged invalid).
        self._gyro: Sequence[float] = (0.0, 0.0, 0.0)
        self._mag: Sequence[float] = (0.0, 0.0, 0.0)
        self._sun: Sequence[float] = (0.0, 0.0, 0.0)
        # The validity flags as last written: the C struct's fields are written
        # only when a sensor comes or goes (each write is a cffi attribute call).
        self._valid = (False, False, False)
        self._wheels_slice = slice(0, self.n_wheels)
        self._in_buffer = ffi.buffer(self._in, _IN_DOUBLES.size)
        # The outputs are consecutive doubles in the C struct (tsr_adcs_outputs):
        # one copy of them all per cycle, which the returned arrays slice.
        self._out_doubles = _ffi.view(self._out.wheel_torque_cmd_nm, _N_OUT_DOUBLES)

    # -- commands from the ground / mode manager -----------------------------
    @property
    def mode(self) -> Mode:
        # Kept beside the C state, which only the caller changes: an enum
        # lookup per read would cost a microsecond every cycle.
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self._mode = Mode(mode)
        self._s.mode = int(self._mode)

    def set_inertial_target(self, q_target_eci: Sequence[float]) -> None:
        """Attitude to hold in INERTIAL mode (normalised here)."""
        q = _ffi.vec(q_target_eci, 4, "q_target_eci")
        n = float(np.linalg.norm(q))
        if not n > 0.0 or not math.isfinite(n):
            raise ValueError("q_target_eci must be a finite, non-zero quaternion")
        self._s.q_inertial_target = list(q / n)

    def set_ground_target(self, r_ecef_km: Sequence[float]) -> None:
        """Ground point (Earth-fixed, km) to track in TARGET mode."""
        self._s.target_ecef_km = list(_ffi.vec(r_ecef_km, 3, "r_ecef_km"))

    def reset_estimator(self) -> None:
        """Forget the attitude estimate; the next cycle with sun and field re-initialises."""
        self._s.mekf.initialized = 0

    @property
    def estimator_initialized(self) -> bool:
        return bool(self._s.mekf.initialized)

    @property
    def covariance(self) -> np.ndarray:
        """MEKF covariance of [dtheta (rad), dbias (rad/s)], 6x6."""
        return np.array(list(self._s.mekf.p)).reshape(6, 6)

    # -- the cycle -------------------------------------------------------------
    def step(self, sensors: AdcsSensors) -> AdcsCommands:
        """Run one cycle on these readings and return the commands."""
        # Unrolled over the sensors: this runs every control cycle.
        c = self._in
        gyro, mag, sun = sensors.gyro_rad_s, sensors.mag_body_t, sensors.sun_body
        if gyro is not None:
            self._gyro = _floats(gyro, 3, "gyro_rad_s")
        if mag is not None:
            self._mag = _floats(mag, 3, "mag_body_t")
        if sun is not None:
            self._sun = _floats(sun, 3, "sun_body")
        valid = (gyro is not None, mag is not None, sun is not None)
        if valid != self._valid:
            c.gyro_valid, c.mag_valid, c.sun_valid = int(valid[0]), int(valid[1]), int(valid[2])
            self._valid = valid
        n = self.n_wheels
        wheels = sensors.wheel_speed_rad_s
        speeds = (wheels.tolist() if type(wheels) is np.ndarray and wheels.dtype == np.float64
                  and wheels.ndim == 1 else np.asarray(wheels, dtype=float).tolist())[:n]
        if len(speeds) != n:
            raise ValueError(f"wheel_speed_rad_s needs {n} values, got {len(speeds)}")
        if n < 4:
            speeds = speeds + [0.0] * (4 - n)
        _IN_DOUBLES.pack_into(
            self._in_buffer, 0, *self._gyro, *self._mag, *self._sun, *speeds,
            *_floats(sensors.r_eci_km, 3, "r_eci_km"),
            *_floats(sensors.v_eci_km_s, 3, "v_eci_km_s"), float(sensors.jd_tt),
            float(sensors.gmst_rad), float(sensors.decimal_year))
        if lib.tsr_adcs_step(self._p, self._s, c, self._out) != 0:
            raise ValueError("ADCS cycle rejected its inputs (non-finite orbit or time)")
        o = self._out
        a = self._out_doubles.copy()
        status = _STATUS.get(o.status)
        if status is None:
            status = _STATUS[o.status] = Status(o.status)
        # In field order (keywords would build a dict every cycle): wheel torque,
        # dipole, q_body_eci, w_body, gyro bias, attitude sigma, q_target,
        # pointing error, sun, field, shadow fraction, wheel momentum, status.
        return AdcsCommands(
            a[self._wheels_slice], a[_DIPOLE], a[_Q_BODY], a[_W_BODY], a[_BIAS], a[_SIGMA],
            a[_Q_TARGET], o.pointing_error_rad, a[_SUN_ECI], a[_B_ECI], o.shadow_fraction,
            a[_MOMENTUM], status)
