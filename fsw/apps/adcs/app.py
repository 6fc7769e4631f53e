"""The ADCS flight app: sensors in, one C cycle, actuators out.

Every cycle (10 Hz) the app reads its sensors through the HAL (magnetometer;
and, when fitted, the gyro, the coarse sun sensors and the wheel speeds),
propagates its own orbit with SGP4 from the uplinked mean elements, and
hands everything to one call of the C ADCS cycle (`fsw.gnc.adcs.AdcsCycle`):
IGRF-14 and sun references, the MEKF, and the mode's control law (B-dot in
DETUMBLE; quaternion feedback on the wheels with magnetorquer desaturation
in SUN, NADIR, INERTIAL and TARGET). It then commands the magnetorquers and
wheels and publishes its state.

Faults never stop the app. A sensor that fails (any `hal.HalError`) is
passed to the cycle as invalid for that cycle and counted; an event names
it, squelched to one every ten seconds (see `EV_SENSOR_FAULT`). Torquers are commanded for
1.5 cycles at a time, so they switch themselves off if the app stops.

With `detumble_exit_rate_deg_s` > 0 the app leaves DETUMBLE for SUN pointing
by itself once the estimated rate has stayed below that threshold for
`detumble_exit_hold_s`.

Configuration (`[apps.config]`): `rate_hz`, `initial_mode`, `orbit` (mean
elements as `ground.sim.orbit.MeanElements` fields, epoch in TAI seconds)
or `tle = [line1, line2]`, optional `inertia_kgm2` and `wheels`
(`axes_body`, three or four; `inertia_kgm2`, `max_torque_nm` and
`max_speed_rad_s`, by default the reference wheel's 1.5e-5 kg m^2, 1 mN m and
628.3 rad/s (6000 rpm)) and `parameters`.

Gains are the `adcs_gains` table (`fsw.core.tables`): B-dot gain, filter
weight and torquer limit, the pointing loop's bandwidth and damping and the
desaturation gain, validated as a whole and taken between two cycles (the
cycle is rebuilt with the new gains in the same mode). Its default is built
from the `parameters` of the configuration and `pointing`.

Wheel check: a wheel commanded to torque in one direction for
`WHEEL_CHECK_CYCLES` cycles, enough to change its speed by at least
`WHEEL_CHECK_MIN_RAD_S` (torque / wheel inertia x time), whose measured
speed moved by less than a quarter of that, away from its speed limit, is
declared failed (`wheels_failed` in
housekeeping) for the FDIR monitors to act on. `s_without_sun` counts the
time in sunlight (by the orbit model) without a usable sun measurement.

Every housekeeping cycle the app also publishes one `DEVICE_HEALTH` report
(transactions, retries, failures and errors by kind) per driver it owns.

Devices: ``magnetometer`` (`read_field_t()`) and ``magnetorquer``
(`start_dipole(m, duration_s)`, `cancel()`) are required; ``gyro``
(`read_rate_rad_s()`), ``sun_sensors`` (`read().sun_body`) and ``wheels``
(`set_torques(t)`, `speeds_rad_s()`) are used when configured.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

from fsw.core import App, CommandError, Field, MessageType, Parameter, Reason, Severity, command
from fsw.core.device_health import device_health_message, pack_device_health
from fsw.core.events import EventDef
from fsw.core.ids import ADCS_APID, ADCS_DEVICE_HEALTH_APID, ADCS_STATE_APID
from fsw.core.message import tm_msg_id
from fsw.core.tables import check_keys, check_number
from fsw.core.time import decimal_year, jd_tt, jd_utc_split
from fsw.gnc._core import lib
from fsw.gnc.adcs import AdcsCommands, AdcsConfig, AdcsCycle, AdcsSensors, Mode, Status
from fsw.gnc.control import PdGains, WheelArray
from fsw.gnc.ephemeris import satellite_from_config
from fsw.gnc.frames import geodetic_to_ecef
from fsw.gnc.orbit import PropagationError
from hal import HalError

AdcsMode = Mode

SENSOR_BITS = {"magnetometer": 1, "gyro": 2, "sun_sensors": 4, "wheels": 8}
MODE_NAMES = tuple((int(m), m.name) for m in Mode)

ADCS_STATE = MessageType("AdcsState", tm_msg_id(ADCS_STATE_APID), [
    Field("time_s", "d", "s", "executive clock"),
    Field("mode", "B", doc="fsw.gnc.adcs.Mode", enum=MODE_NAMES),
    Field("status", "H", doc="fsw.gnc.adcs.Status bits"),
    Field("sensors_ok", "B", doc="bit 0 magnetometer, 1 gyro, 2 sun sensors, 3 wheels"),
    Field("b_body_t", "3f", "T", "measured field, body frame"),
    Field("gyro_rad_s", "3f", "rad/s", "measured rate, body frame"),
    Field("sun_body", "3f", doc="measured sun unit vector, body frame (zero when none)"),
    Field("q_body_eci", "4f", doc="estimated attitude, scalar first"),
    Field("w_body_rad_s", "3f", "rad/s", "estimated rate, bias removed"),
    Field("gyro_bias_rad_s", "3f", "rad/s", "estimated gyro bias"),
    Field("pointing_error_deg", "f", "deg", "estimated angle to the target attitude"),
    Field("dipole_cmd_am2", "3f", "A m^2", "commanded dipole, body frame"),
    Field("wheel_torque_cmd_nm", "4f", "N m"),
    Field("wheel_speed_rad_s", "4f", "rad/s", "measured, relative to the body"),
], doc="ADCS state every control cycle")

_GMST82: Final = lib.tsr_gmst82  # looked up in the C library once, called every cycle
# Compiled, module statics: no lookup of the message type's attributes per packet.
_STATE_ID: Final = ADCS_STATE.msg_id
_STATE_STRUCT: Final = ADCS_STATE.struct

# Health of every driver the app owns, one report per driver per housekeeping cycle;
# `device` is the index into AdcsApp.health_sources (magnetometer first).
DEVICE_HEALTH = device_health_message(ADCS_DEVICE_HEALTH_APID)

# A failing device fails every 0.1 s cycle: its first fault is reported, then one per ten
# seconds. Each sensor has an event of its own, so one dead sensor does not hide another.
EV_MODE = EventDef(10, "MODE", Severity.INFO, "mode {old} -> {new}: {why}")
EV_ACTUATOR_FAULT = EventDef(11, "ACTUATOR_FAULT", Severity.MEDIUM,
                             "actuator command failed ({count}): {why}", burst=1, rate_hz=0.1)
EV_ORBIT = EventDef(12, "ORBIT", Severity.MEDIUM, "{text} ({count})", burst=1, rate_hz=0.1,
                    doc="the on-board orbit could not be propagated")
EV_SENSOR_FAULT = {name: EventDef(13 + i, f"{name.upper()}_FAULT", Severity.MEDIUM,
                                  "{text} ({count})", burst=1, rate_hz=0.1,
                                  doc=f"a {name} read failed")
                   for i, name in enumerate(SENSOR_BITS)}

EV_WHEEL_FAILED = EventDef(17, "WHEEL_FAILED", Severity.HIGH,
                           "wheel {wheel} failed: {moved:+.2f} rad/s under torque that should "
                           "give {expected:+.2f} rad/s")

# Status bits as plain ints: a flag-enum membership test costs a microsecond, every cycle.
_DETUMBLE: Final = Mode.DETUMBLE  # the cycle's mode is always a Mode member: tested by identity
_ECLIPSE: Final = int(Status.ECLIPSE)
_EST_VALID: Final = int(Status.EST_VALID)
# SENSOR_BITS as constants: compiled, no dictionary lookup every cycle.
_MAG_OK: Final = SENSOR_BITS["magnetometer"]
_GYRO_OK: Final = SENSOR_BITS["gyro"]
_SUN_OK: Final = SENSOR_BITS["sun_sensors"]
_WHEELS_OK: Final = SENSOR_BITS["wheels"]

# Final: compiled, constants rather than module lookups in the per-cycle check.
WHEEL_CHECK_CYCLES: Final = 20
WHEEL_CHECK_MIN_RAD_S: Final = 1.0  # judge a wheel only when its commands should move it this much
# The adcs_gains table: key -> (low, high) of its value.
GAIN_LIMITS = {
    "bdot_gain": (0.0, 1e9),                 # A m^2 per T/s
    "filter_alpha": (0.01, 1.0),
    "dipole_limit_am2": (0.0, 1.0),          # A m^2 per axis
    "pointing_bandwidth_rad_s": (0.005, 1.0),
    "pointing_damping": (0.3, 2.0),
    "max_slew_rate_deg_s": (0.1, 10.0),
    "desat_gain_per_s": (0.0, 0.1),
}


def validate_gains(content: Any) -> list[str]:
    """Problems of an `adcs_gains` table (every key required, each within its limits)."""
    problems: list[str] = []
    if check_keys(content, set(GAIN_LIMITS), set(GAIN_LIMITS), problems):
        for key, (low, high) in GAIN_LIMITS.items():
            check_number(content, key, low, high, problems)
    return problems


class AdcsApp(App):
    NAME = "adcs"
    APID = ADCS_APID
    HK_FIELDS = (
        Field("mode", "B", enum=MODE_NAMES),
        Field("status", "H"),
        Field("cycles", "I"),
        Field("sensor_faults", "I", doc="failed sensor reads, all sensors"),
        Field("actuator_faults", "I", doc="failed actuator commands"),
        # LEO field magnitudes lie between about 18 000 and 65 000 nT (IGRF).
        Field("b_norm_nt", "f", "nT", "field magnitude at the last good read",
              warn=(15000.0, 70000.0), crit=(5000.0, 100000.0)),
        Field("pointing_error_deg", "f", "deg"),
        Field("wheels_failed", "B", doc="bit n: wheel n failed the wheel check"),
        Field("s_without_sun", "f", "s", "in sunlight without a sun measurement"),
    )
    TELEMETRY = (ADCS_STATE, DEVICE_HEALTH)
    EVENTS = (EV_MODE, EV_ACTUATOR_FAULT, EV_ORBIT, *EV_SENSOR_FAULT.values(), EV_WHEEL_FAILED)
    PARAMETERS = (
        Parameter("bdot_gain", "d", default=2e5, low=0.0, high=1e9, unit="A m^2 s/T",
                  doc="B-dot gain k in m = -k dB/dt"),
        Parameter("dipole_limit_am2", "f", default=0.2, low=0.0, high=1.0, unit="A m^2",
                  doc="per-axis magnetorquer limit"),
        Parameter("filter_alpha", "f", default=0.5, low=0.01, high=1.0,
                  doc="low-pass weight of the newest dB/dt sample"),
        Parameter("detumble_exit_rate_deg_s", "f", default=0.0, low=0.0, high=10.0,
                  unit="deg/s", doc="leave DETUMBLE for SUN below this rate; 0 never"),
        Parameter("detumble_exit_hold_s", "f", default=60.0, low=0.0, high=3600.0, unit="s",
                  doc="how long the rate must stay low first"),
    )

    # The concrete class: compiled, its `step` is called natively every cycle.
    # Built by the first `adcs_gains` table (`init`), rebuilt by later ones.
    cycle: AdcsCycle

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.rate_hz = float(self.config.get("rate_hz", 10.0))
        self.initial_mode = Mode[str(self.config.get("initial_mode", "DETUMBLE")).upper()]
        self.satellite = satellite_from_config(self.config)
        self._epoch_jd = self.satellite.epoch_jd
        self.cycles = 0
        self.sensor_faults = {name: 0 for name in SENSOR_BITS}
        self.actuator_faults = 0
        self.b_body_t: list[float] = [0.0, 0.0, 0.0]  # the last field measured, T, body
        self.last: AdcsCommands | None = None
        self._slow_since_s: float | None = None
        self.wheels_failed = 0
        # (torque commanded, speeds measured) per good cycle, plain lists: the
        # check runs every cycle. One more than the check spans: the oldest
        # leaves as the newest comes.
        self._wheel_window: deque[tuple[list[float], list[float]]] = deque(
            maxlen=WHEEL_CHECK_CYCLES + 1)
        self._torque_runs = [0, 0, 0, 0]  # signed count of same-sign commands in a row
        self._torque_cmd = [0.0, 0.0, 0.0, 0.0]  # as last commanded, four wheels
        # The wheel check's limits, from the configuration, which does not change.
        wheels = self.config.get("wheels") or {}
        self._wheel_inertia_kgm2 = float(wheels.get("inertia_kgm2", 1.5e-5))
        self._wheel_max_speed_rad_s = float(wheels.get("max_speed_rad_s", 628.3))
        self.s_without_sun = 0.0
        self.gains: dict[str, float] = {}

    # -- init -----------------------------------------------------------------
    def init(self) -> None:
        self.magnetometer = self.device("magnetometer")
        self.magnetorquer = self.device("magnetorquer")
        self.gyro = self.ctx.devices.get("gyro")
        self.sun_sensors = self.ctx.devices.get("sun_sensors")
        self.wheels = self.ctx.devices.get("wheels")
        pointing = dict(self.config.get("pointing", {}))
        default = {name: float(self.params[name]) for name in
                   ("bdot_gain", "filter_alpha", "dipole_limit_am2")}
        default.update(pointing_bandwidth_rad_s=float(pointing.get("bandwidth_rad_s", 0.1)),
                       pointing_damping=float(pointing.get("damping", 0.9)),
                       max_slew_rate_deg_s=float(pointing.get("max_slew_rate_deg_s", 1.5)),
                       desat_gain_per_s=float(pointing.get("desat_gain_per_s", 0.005)))
        self._cycle_built = False
        self.register_table("adcs_gains", default, validate_gains, self._take_gains)
        self.health_sources = self._health_sources()

    def _take_gains(self, gains: Mapping[str, Any]) -> None:
        """A new `adcs_gains` table, at the safe point: rebuild the cycle in its mode."""
        self.gains = {k: float(v) for k, v in gains.items()}
        for name in ("bdot_gain", "filter_alpha", "dipole_limit_am2"):
            self.params[name] = self.gains[name]
        mode = self.cycle.mode if self._cycle_built else self.initial_mode
        self.cycle = AdcsCycle(self._cycle_config(), mode)
        self._cycle_built = True

    def _health_sources(self) -> list[tuple[str, Any]]:
        """(label, Health) for every driver, in report order; sets of parts are flattened."""
        sources = []
        for name in ("magnetometer", "magnetorquer", "gyro", "sun_sensors", "wheels"):
            device = self.ctx.devices.get(name)
            health = getattr(device, "health", None)
            if isinstance(health, list):
                sources += [(f"{name}[{i}]", h) for i, h in enumerate(health)]
            elif health is not None:
                sources.append((name, health))
        return sources

    def _cycle_config(self) -> AdcsConfig:
        base = AdcsConfig()
        wheels = self.config.get("wheels")
        wheel_array = base.wheels if wheels is None else WheelArray(
            axes_body=wheels["axes_body"], inertia_kgm2=wheels.get("inertia_kgm2", 1.5e-5),
            max_torque_nm=wheels.get("max_torque_nm", 1e-3))
        limit = float(self.params["dipole_limit_am2"])
        g = self.gains
        return AdcsConfig(
            dt_s=1.0 / self.rate_hz,
            inertia_kgm2=self.config.get("inertia_kgm2", base.inertia_kgm2),
            wheels=wheel_array, max_dipole_am2=(limit, limit, limit),
            bdot_gain_am2_per_t_s=float(self.params["bdot_gain"]),
            bdot_filter_alpha=float(self.params["filter_alpha"]),
            gains=PdGains.from_bandwidth(
                g["pointing_bandwidth_rad_s"], g["pointing_damping"],
                max_slew_rate_rad_s=math.radians(g["max_slew_rate_deg_s"])),
            desat_gain_per_s=g["desat_gain_per_s"])

    def parameter_changed(self, name: str, value: Any) -> None:
        if name in ("bdot_gain", "dipole_limit_am2", "filter_alpha"):
            self.gains[name] = float(value)
            mode = self.cycle.mode
            self.cycle = AdcsCycle(self._cycle_config(), mode)

    # -- main loop --------------------------------------------------------------
    def execute(self) -> None:
        self.cycles += 1
        t_s = self.now()
        tai_s = self.ctx.clock.epoch_tai_s + t_s
        whole, frac = jd_utc_split(tai_s)
        try:
            minutes = ((whole - self._epoch_jd[0]) + (frac - self._epoch_jd[1])) * 1440.0
            code, r_km, v_km_s = self.satellite.sgp4_tsince(minutes)
            if code:
                raise PropagationError(code, minutes)
        except PropagationError as exc:
            self._fault(EV_ORBIT, "orbit", f"orbit propagation failed: {exc}")
            self._command(np.zeros(3), None)
            return

        # Each sensor read as plain floats once: the cycle and the state packet
        # take them so, with no array operation per vector.
        ok = 0
        mag: list[float] | None = None
        field = self._read("magnetometer", self.magnetometer.read_field_t)
        if field is not None:
            mag = self.b_body_t = field.tolist()
            ok |= _MAG_OK
        gyro: list[float] | None = None
        if self.gyro:
            rate = self._read("gyro", self.gyro.read_rate_rad_s)
            if rate is not None:
                gyro = rate.tolist()
                ok |= _GYRO_OK
        sun: list[float] | None = None
        if self.sun_sensors is not None:
            reading = self._read("sun_sensors", self.sun_sensors.read)
            if reading is not None:
                ok |= _SUN_OK
                sun_body = reading.sun_body  # None in eclipse: the cycle then uses the field only
                if sun_body is not None:
                    sun = sun_body.tolist()
        # Any, here and below: compiled, the values go to the cycle and the
        # packet as the float objects they are, not unboxed and boxed again.
        speeds: list[Any] = [0.0, 0.0, 0.0, 0.0]
        if self.wheels is not None:
            measured = self._read("wheels", self.wheels.speeds_rad_s)
            if measured is not None:
                values: list[Any] = measured.tolist()
                if not _all_finite(values):
                    self._fault(EV_SENSOR_FAULT["wheels"], "wheels",
                                "a wheel did not report its speed")
                    values = np.nan_to_num(measured).tolist()
                else:
                    ok |= _WHEELS_OK
                for i in range(len(values)):
                    speeds[i] = values[i]

        out = self.cycle.step(AdcsSensors(
            gyro_rad_s=gyro, mag_body_t=mag, sun_body=sun,
            r_eci_km=r_km, v_eci_km_s=v_km_s, jd_tt=jd_tt(tai_s),
            gmst_rad=_GMST82(whole, frac), decimal_year=decimal_year(tai_s),
            wheel_speed_rad_s=speeds))
        self.last = out
        status = int(out.status)
        if sun is not None or status & _ECLIPSE:
            self.s_without_sun = 0.0
        else:
            self.s_without_sun += 1.0 / self.rate_hz
        if ok & _WHEELS_OK:
            self._check_wheels(speeds)
        torques: list[Any] = _four(out.wheel_torque_nm)
        self._command(out.mtq_dipole_am2, out.wheel_torque_nm, torques)
        self._maybe_leave_detumble(out, t_s)
        # One struct call in field order: this packet goes out every cycle.
        # The values written out, not starred: a starred call builds a list and
        # a tuple of them first.
        b: list[Any] = self.b_body_t
        g: list[Any] = gyro if gyro is not None else [0.0, 0.0, 0.0]
        s: list[Any] = sun if sun is not None else [0.0, 0.0, 0.0]
        q: tuple[Any, ...] = out.q_body_eci
        w: tuple[Any, ...] = out.w_body_rad_s
        bias: tuple[Any, ...] = out.gyro_bias_rad_s
        dipole: list[Any] = out.mtq_dipole_am2.tolist()
        self.bus.publish(_STATE_ID, _STATE_STRUCT.pack(
            t_s, int(self.cycle.mode), status, ok, b[0], b[1], b[2], g[0], g[1], g[2],
            s[0], s[1], s[2], q[0], q[1], q[2], q[3], w[0], w[1], w[2], bias[0], bias[1], bias[2],
            math.degrees(out.pointing_error_rad), dipole[0], dipole[1], dipole[2],
            torques[0], torques[1], torques[2], torques[3],
            speeds[0], speeds[1], speeds[2], speeds[3]))

    def _check_wheels(self, speeds: list[float]) -> None:
        """Declare failed a wheel that does not speed up under a steady torque command.

        The window spans WHEEL_CHECK_CYCLES good cycles: the speed change from
        its first to its last, under the torques commanded in between, all of
        one sign (`_torque_runs` counts them as they come, so the sign test
        costs nothing per cycle).
        """
        window = self._wheel_window
        # Both lists are new every cycle and never changed: kept as they are.
        torques = self._torque_cmd
        window.append((torques, speeds))
        n = self.cycle.n_wheels
        runs = self._torque_runs
        for i in range(n):
            tau, run = torques[i], runs[i]
            runs[i] = (max(run, 0) + 1 if tau > 0.0 else min(run, 0) - 1 if tau < 0.0 else 0)
        if len(window) <= WHEEL_CHECK_CYCLES:
            return
        j_kgm2 = self._wheel_inertia_kgm2
        max_speed = self._wheel_max_speed_rad_s
        first, last = window[1][1], window[-1][1]
        for i in range(n):
            bit = 1 << i
            if self.wheels_failed & bit or abs(last[i]) > 0.9 * max_speed:
                continue
            if abs(runs[i]) < WHEEL_CHECK_CYCLES - 1:
                continue  # not one sign over the window
            torque_sum = sum(window[k][0][i] for k in range(2, WHEEL_CHECK_CYCLES + 1))
            expected = torque_sum / j_kgm2 / self.rate_hz
            if abs(expected) < WHEEL_CHECK_MIN_RAD_S:
                continue  # too little commanded to tell a stuck wheel from noise
            moved = last[i] - first[i]
            if abs(moved) < 0.25 * abs(expected):
                self.wheels_failed |= bit
                self.event(EV_WHEEL_FAILED, wheel=i + 1, moved=moved, expected=expected)

    def _read(self, name: str, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except HalError as exc:
            self._fault(EV_SENSOR_FAULT[name], name, f"{name} read failed: {exc}")
            return None

    def _fault(self, event: EventDef, name: str, text: str) -> None:
        count = self.sensor_faults.get(name, 0) + 1
        self.sensor_faults[name] = count
        self.event(event, text=text, count=count)

    def _command(self, dipole_am2: np.ndarray, wheel_torque_nm: np.ndarray | None,
                 torques_four: list[float] | None = None) -> None:
        """Command the torquers and, given, the wheels; `torques_four` is
        `wheel_torque_nm` as four floats (zeros for absent wheels), a new list."""
        try:
            self.magnetorquer.start_dipole(dipole_am2, 1.5 / self.rate_hz)
            if self.wheels is not None and wheel_torque_nm is not None:
                self.wheels.set_torques(wheel_torque_nm)
                self._torque_cmd = (_four(wheel_torque_nm) if torques_four is None
                                    else torques_four)
        except HalError as exc:
            self.actuator_faults += 1
            self.event(EV_ACTUATOR_FAULT, count=self.actuator_faults, why=exc)

    def _maybe_leave_detumble(self, out: AdcsCommands, t_s: float) -> None:
        threshold = float(self.params["detumble_exit_rate_deg_s"])
        if self.cycle.mode is not _DETUMBLE or threshold <= 0.0:
            self._slow_since_s = None
            return
        slow = False
        if int(out.status) & _EST_VALID:
            w: tuple[float, ...] = out.w_body_rad_s
            wx, wy, wz = w[0], w[1], w[2]
            slow = math.degrees(math.sqrt(wx * wx + wy * wy + wz * wz)) < threshold
        if not slow:
            self._slow_since_s = None
        elif self._slow_since_s is None:
            self._slow_since_s = t_s
        elif t_s - self._slow_since_s >= float(self.params["detumble_exit_hold_s"]):
            self._switch(Mode.SUN, "rates low: detumble complete")

    def _switch(self, mode: Mode, why: str) -> None:
        self.event(EV_MODE, old=self.cycle.mode.name, new=mode.name, why=why)
        self.cycle.mode = mode
        self._slow_since_s = None

    def stop(self) -> None:
        try:
            self.magnetorquer.cancel()
        except HalError:
            pass
        if self.wheels is not None:
            try:
                self.wheels.set_torques(np.zeros(self.cycle.n_wheels))
            except HalError:
                pass

    # -- command handler -----------------------------------------------------------
    @command(10, Field("mode", "B", low=0, high=max(Mode), enum=MODE_NAMES), critical=True)
    def set_mode(self, mode: int) -> None:
        """Switch the control mode (0 idle, 1 detumble, 2 sun, 3 nadir, 4 inertial, 5 target)."""
        new = Mode(mode)
        if new == self.cycle.mode:
            raise CommandError(Reason.NOT_ALLOWED_NOW, f"already in {new.name}")
        self._switch(new, "commanded")

    @command(11, Field("q_target_eci", "4d"))
    def set_inertial_target(self, q_target_eci: tuple[float, ...]) -> None:
        """Attitude to hold in INERTIAL mode (scalar-first quaternion, normalised here)."""
        self.cycle.set_inertial_target(q_target_eci)

    @command(12, Field("lat_deg", "d", "deg", low=-90.0, high=90.0),
             Field("lon_deg", "d", "deg", low=-180.0, high=360.0),
             Field("alt_km", "d", "km", low=-1.0, high=10.0))
    def set_ground_target(self, lat_deg: float, lon_deg: float, alt_km: float) -> None:
        """Ground point (WGS-84 geodetic) to track in TARGET mode."""
        self.cycle.set_ground_target(geodetic_to_ecef(lat_deg, lon_deg, alt_km))

    @command(13)
    def reset_wheel_check(self) -> None:
        """Clear the wheels declared failed (after the operator has dealt with them)."""
        self.wheels_failed = 0
        self._wheel_window.clear()
        self._torque_runs = [0, 0, 0, 0]

    # -- housekeeping ------------------------------------------------------------------
    def report_housekeeping(self) -> None:
        super().report_housekeeping()
        for index, (_, health) in enumerate(self.health_sources):
            self.bus.publish(DEVICE_HEALTH.msg_id, pack_device_health(DEVICE_HEALTH, index, health))

    def housekeeping_values(self) -> Mapping[str, Any]:
        last = self.last
        return {"mode": int(self.cycle.mode), "status": int(last.status) if last else 0,
                "cycles": self.cycles, "sensor_faults": sum(self.sensor_faults.values()),
                "actuator_faults": self.actuator_faults,
                "b_norm_nt": float(np.linalg.norm(self.b_body_t) * 1e9),
                "pointing_error_deg": math.degrees(last.pointing_error_rad) if last else 0.0,
                "wheels_failed": self.wheels_failed, "s_without_sun": self.s_without_sun}


def _four(values: np.ndarray) -> list[float]:
    """Wheel values as a new list of four floats, zeros for absent wheels."""
    out: list[float] = (values.tolist() if isinstance(values, np.ndarray)
                        else [float(v) for v in values])
    while len(out) < 4:
        out.append(0.0)
    return out


def _all_finite(values: list[float]) -> bool:
    for value in values:
        # x - x is 0 for every finite x and NaN for an infinity or NaN:
        # compiled, native arithmetic where math.isfinite is a generic call.
        if not value - value == 0.0:
            return False
    return True
