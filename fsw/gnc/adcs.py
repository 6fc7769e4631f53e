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
from typing import Any, Final

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
    """One cycle's outputs: actuator commands and the estimate behind them.

    The actuator commands are float64 arrays, the form the HAL drivers take;
    the estimate is plain tuples of floats, read from the C outputs in one
    call with no array built per vector."""

    wheel_torque_nm: np.ndarray          # motor torque per wheel, N m
    mtq_dipole_am2: np.ndarray           # body frame
    q_body_eci: tuple[float, ...]        # estimate
    w_body_rad_s: tuple[float, ...]      # bias-corrected rate
    gyro_bias_rad_s: tuple[float, ...]
    att_sigma_rad: tuple[float, ...]     # 1-sigma attitude uncertainty per body axis
    q_target_eci: tuple[float, ...]
    pointing_error_rad: float            # estimated angle to the target
    sun_eci: tuple[float, ...]           # unit vector from the satellite
    b_eci_t: tuple[float, ...]           # IGRF-14 model field
    shadow_fraction: float               # 0 full sun .. 1 umbra
    wheel_momentum_body_nms: tuple[float, ...]
    status: Status

    def __init__(self, wheel_torque_nm: np.ndarray, mtq_dipole_am2: np.ndarray,
                 q_body_eci: tuple[float, ...], w_body_rad_s: tuple[float, ...],
                 gyro_bias_rad_s: tuple[float, ...], att_sigma_rad: tuple[float, ...],
                 q_target_eci: tuple[float, ...], pointing_error_rad: float,
                 sun_eci: tuple[float, ...], b_eci_t: tuple[float, ...], shadow_fraction: float,
                 wheel_momentum_body_nms: tuple[float, ...], status: Status) -> None:
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


# The inputs, consecutive doubles in the C struct (tsr_adcs_inputs) up to
# decimal_year and then the three validity flags: one struct call writes them
# all per cycle.
_IN_LAYOUT = _ffi.consecutive_doubles(
    "tsr_adcs_inputs", [("gyro_rad_s", 3), ("mag_body_t", 3), ("sun_body", 3),
                        ("wheel_speed_rad_s", 4), ("r_eci_km", 3), ("v_eci_km_s", 3),
                        ("jd_tt", 1), ("gmst_rad", 1), ("decimal_year", 1)],
    ints=("gyro_valid", "mag_valid", "sun_valid"))
# Final: compiled, read from the module's statics every cycle rather than
# looked up in its namespace. `step` packs the values in the order declared.
_INPUTS: Final = _IN_LAYOUT[0]
# tsr_adcs_outputs: consecutive doubles, wheel_torque_cmd_nm first, then the
# status bits; checked against the compiled struct like the inputs. One
# struct call reads them all per cycle, as plain floats.
_OUT_LAYOUT = _ffi.consecutive_doubles(
    "tsr_adcs_outputs", [("wheel_torque_cmd_nm", 4), ("mtq_dipole_am2", 3), ("q_body_eci", 4),
                         ("w_body_rad_s", 3), ("gyro_bias_rad_s", 3), ("att_sigma_rad", 3),
                         ("q_target_eci", 4), ("pointing_error_rad", 1), ("sun_eci", 3),
                         ("b_eci_t", 3), ("shadow_fraction", 1),
                         ("wheel_momentum_body_nms", 3)], ints=("status",))
_OUTPUTS: Final = _OUT_LAYOUT[0]
_ADCS_STEP: Final = lib.tsr_adcs_step  # looked up in the library once, called every cycle
_STATUS: Final[dict[int, Status]] = {}  # IntFlag construction costs a microsecond: one per code

# Where each output starts in the unpacked values. Final ints: compiled, a
# tuple slice with them is one native call.
_AT: Final = _OUT_LAYOUT[1]
_Q_BODY: Final[int] = _AT["q_body_eci"]
_W_BODY: Final[int] = _AT["w_body_rad_s"]
_BIAS: Final[int] = _AT["gyro_bias_rad_s"]
_SIGMA: Final[int] = _AT["att_sigma_rad"]
_Q_TARGET: Final[int] = _AT["q_target_eci"]
_POINTING: Final[int] = _AT["pointing_error_rad"]
_SUN_ECI: Final[int] = _AT["sun_eci"]
_B_ECI: Final[int] = _AT["b_eci_t"]
_SHADOW: Final[int] = _AT["shadow_fraction"]
_MOMENTUM: Final[int] = _AT["wheel_momentum_body_nms"]
_STATUS_AT: Final[int] = _OUTPUTS.size // 8  # the int after the doubles: its index


def _floats(x: np.ndarray | Sequence[float], n: int, name: str) -> tuple[float, ...]:
    """The `n` values of one sensor vector as a tuple of floats, or ValueError.

    A tuple: the cycle keeps a sensor's last values, which the caller cannot
    then change behind it; and compiled, its items are read natively."""
    if type(x) is tuple:
        values: tuple[float, ...] = x  # the orbit's own tuples: nothing to copy
    elif type(x) is list:
        values = tuple(x)
    elif type(x) is np.ndarray:
        values = tuple(x.tolist())
    else:
        values = tuple(x)
    if len(values) != n:
        raise ValueError(f"{name} needs {n} values, got {len(values)}")
    if not _all_floats(values):
        values = tuple([float(e) for e in values])
    return values


def _all_floats(values: tuple) -> bool:
    for value in values:  # a loop: compiled, native type tests
        if type(value) is not float:
            return False
    return True


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
        self._gyro: tuple[float, ...] = (0.0, 0.0, 0.0)
        self._mag: tuple[float, ...] = (0.0, 0.0, 0.0)
        self._sun: tuple[float, ...] = (0.0, 0.0, 0.0)
        self._in_buffer = ffi.buffer(self._in, _INPUTS.size)
        self._out_buffer = ffi.buffer(self._out, _OUTPUTS.size)
        # The actuator commands stay float64 arrays, the form the HAL drivers
        # take: each a copy of a view made once onto the C outputs.
        self._torque_view = _ffi.view(self._out.wheel_torque_cmd_nm, self.n_wheels)
        self._dipole_view = _ffi.view(self._out.mtq_dipole_am2, 3)

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

    def set_inertial_target(self, q_target_eci: Sequence[float] | np.ndarray) -> None:
        """Attitude to hold in INERTIAL mode (normalised here)."""
        q = _ffi.vec(q_target_eci, 4, "q_target_eci")
        n = float(np.linalg.norm(q))
        if not n > 0.0 or not math.isfinite(n):
            raise ValueError("q_target_eci must be a finite, non-zero quaternion")
        self._s.q_inertial_target = list(q / n)

    def set_ground_target(self, r_ecef_km: Sequence[float] | np.ndarray) -> None:
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
        gyro, mag, sun = sensors.gyro_rad_s, sensors.mag_body_t, sensors.sun_body
        if gyro is not None:
            self._gyro = _floats(gyro, 3, "gyro_rad_s")
        if mag is not None:
            self._mag = _floats(mag, 3, "mag_body_t")
        if sun is not None:
            self._sun = _floats(sun, 3, "sun_body")
        n = self.n_wheels
        wheels = sensors.wheel_speed_rad_s
        if len(wheels) > n:  # values beyond the wheels fitted are not read
            wheels = wheels[:n]
        # Any, here and below: compiled, the items go to the struct call as
        # the float objects they are, not unboxed and boxed again.
        speeds: tuple[Any, ...] = _floats(wheels, n, "wheel_speed_rad_s")
        if n < 4:
            speeds = speeds + (0.0,) * (4 - n)
        g: tuple[Any, ...] = self._gyro
        m: tuple[Any, ...] = self._mag
        s: tuple[Any, ...] = self._sun
        r: tuple[Any, ...] = _floats(sensors.r_eci_km, 3, "r_eci_km")
        v: tuple[Any, ...] = _floats(sensors.v_eci_km_s, 3, "v_eci_km_s")
        # One struct call in field order, the arguments written out: a call
        # with starred arguments would build a list and a tuple of them first.
        _INPUTS.pack_into(
            self._in_buffer, 0, g[0], g[1], g[2], m[0], m[1], m[2], s[0], s[1], s[2],
            speeds[0], speeds[1], speeds[2], speeds[3], r[0], r[1], r[2], v[0], v[1], v[2],
            float(sensors.jd_tt), float(sensors.gmst_rad), float(sensors.decimal_year),
            gyro is not None, mag is not None, sun is not None)
        if _ADCS_STEP(self._p, self._s, self._in, self._out) != 0:
            raise ValueError("ADCS cycle rejected its inputs (non-finite orbit or time)")
        o: tuple[Any, ...] = _OUTPUTS.unpack_from(self._out_buffer)
        code: int = o[_STATUS_AT]
        status = _STATUS.get(code)
        if status is None:
            status = _STATUS[code] = Status(code)
        # In field order (keywords would build a dict every cycle): wheel torque,
        # dipole, q_body_eci, w_body, gyro bias, attitude sigma, q_target,
        # pointing error, sun, field, shadow fraction, wheel momentum, status.
        return AdcsCommands(
            self._torque_view.copy(), self._dipole_view.copy(), o[_Q_BODY:_Q_BODY + 4],
            o[_W_BODY:_W_BODY + 3], o[_BIAS:_BIAS + 3], o[_SIGMA:_SIGMA + 3],
            o[_Q_TARGET:_Q_TARGET + 4], o[_POINTING], o[_SUN_ECI:_SUN_ECI + 3],
            o[_B_ECI:_B_ECI + 3], o[_SHADOW], o[_MOMENTUM:_MOMENTUM + 3], status)
