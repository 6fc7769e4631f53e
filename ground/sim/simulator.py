"""The simulator: integrates the truth between flight-software cycles.

It runs as a listener of the executive's `VirtualClock`: each time the
flight software waits for its next minor frame, the simulator integrates
the attitude and wheels from t0 to t1 with what the actuator emulators are
applying (the magnetorquer dipole, each wheel's motor torque), moves every
emulator to t1 and writes the new truth into the sensor emulators'
registers: field, body rate, sun direction and illumination, wheel speeds.
The flight software then reads those registers through its ordinary
drivers, exactly as it would read hardware. Once a second it also gives the
GPS receiver its Earth-fixed state, and the power model (`ground.sim.power`)
the sun in the body frame and the eclipse, from which it sets the EPS's
solar-array current.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fsw.gnc._core import ffi, lib
from fsw.gnc.dynamics import RigidBody
from ground.sim.environment import Environment
from ground.sim.orbit import Sgp4Orbit
from ground.sim.spacecraft import SpacecraftModel
from hal._compiled import mypyc_attr
from hal.sim.ads1115 import ADS1115Emulator, SunSensorHeads
from hal.sim.gps import GpsEmulator
from hal.sim.imtq import IMTQEmulator
from hal.sim.l3gd20h import L3GD20HEmulator
from hal.sim.p31u import P31uEmulator
from hal.sim.radio import UhfRadioEmulator
from hal.sim.reference import ReferenceEmulators
from hal.sim.rm3100 import RM3100Emulator
from hal.sim.wheel import ReactionWheelEmulator


@mypyc_attr(native_class=False)  # rows reached as attributes (`log.t_s`), a dict's view
@dataclass
class TruthLog:
    """Truth sampled every `every_s` seconds of simulated time."""

    every_s: float
    rows: dict[str, list[Any]] = field(default_factory=lambda: {
        "t_s": [], "w_body_rad_s": [], "q_body_eci": [], "b_body_t": [], "sun_body": [],
        "lit_fraction": [], "dipole_am2": [], "wheel_speed_rad_s": []})

    def add(self, **values: Any) -> None:
        for key, value in values.items():
            self.rows[key].append(value)

    def arrays(self) -> dict[str, np.ndarray]:
        return {key: np.array(values) for key, values in self.rows.items()}

    def __getattr__(self, name: str) -> list[Any]:
        try:
            return self.__dict__["rows"][name]
        except KeyError:
            raise AttributeError(name) from None


class Simulator:
    """Orbit, environment and attitude truth driving the device emulators."""

    def __init__(self, orbit: Any, environment: Environment, model: SpacecraftModel,
                 emulators: ReferenceEmulators, *, q0_body_eci: np.ndarray | None = None,
                 w0_body_rad_s: np.ndarray | None = None,
                 substeps: int = 1, log_every_s: float = 1.0) -> None:
        self.orbit = orbit
        self.environment = environment
        self.model = model
        self.emulators = emulators
        self.body = RigidBody(model.inertia_kgm2, model.wheels)
        self._wheels: list[ReactionWheelEmulator] = emulators.wheels[:len(model.wheels)]
        if q0_body_eci is not None:
            self.body.q_body_eci = q0_body_eci
        if w0_body_rad_s is not None:
            self.body.w_body_rad_s = w0_body_rad_s
        emulators.gyro.bias_rad_s = np.asarray(model.gyro_bias_rad_s, dtype=float)
        # Every step reaches the parts and the model's flags through these, typed
        # with the concrete classes: compiled, each call is native, with no
        # lookup in the (interpreted) containers. Only the parts this
        # spacecraft carries keep time and are read (the others are not wired).
        self._magnetometer: RM3100Emulator = emulators.magnetometer
        self._magnetorquer: IMTQEmulator = emulators.magnetorquer
        self._gyro: L3GD20HEmulator = emulators.gyro
        self._sun_heads: SunSensorHeads = emulators.sun
        self._sun_adcs: list[ADS1115Emulator] = (
            [emulators.sun_adc_a, emulators.sun_adc_b] if model.has_sun_sensors else [])
        self._eps: P31uEmulator = emulators.eps
        self._gps: GpsEmulator = emulators.gps
        self._radio: UhfRadioEmulator = emulators.radio
        self._has_gyro: bool = model.has_gyro
        self._has_sun_sensors: bool = model.has_sun_sensors
        self._has_power_gps_radio: bool = model.has_power_gps_radio
        # An SGP4 orbit's per-step tuples are called natively; any other orbit
        # through `_state_eci`, its `state_eci_tuples` when it has them.
        self._sgp4: Sgp4Orbit | None = orbit if isinstance(orbit, Sgp4Orbit) else None
        tuples = getattr(orbit, "state_eci_tuples", None)
        self._state_eci: Callable[[float], tuple[tuple[float, ...], tuple[float, ...]]] = (
            tuples if tuples is not None else self._state_eci_from_arrays)
        self.substeps = substeps
        self.log = TruthLog(log_every_s)
        self._next_log_s = 0.0
        # Per-step truth as plain tuples: numpy on three-element vectors costs
        # more than the arithmetic, and this runs every flight cycle.
        self._b_eci_t: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._r_eci_km: tuple[float, ...] = (0.0, 0.0, 0.0)
        self._sun_eci_km: tuple[float, ...] = (0.0, 0.0, 0.0)
        self._sun_body: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.lit_fraction = 1.0
        self._next_slow_s = 0.0
        self._r_teme = ffi.new("double[3]")
        self._v_teme = ffi.new("double[3]")
        self._r_ecef = ffi.new("double[3]")
        self._v_ecef = ffi.new("double[3]")

    @property
    def r_eci_km(self) -> np.ndarray:
        """Position at the last update, km, inertial frame (TEME for SGP4)."""
        return np.array(self._r_eci_km)

    @property
    def sun_body(self) -> np.ndarray:
        """Unit vector to the sun at the last update, body frame."""
        return np.array(self._sun_body)

    def start(self, t_s: float = 0.0) -> None:
        """Put the initial truth into the sensors before the first flight cycle."""
        if self.model.has_power_gps_radio:
            self.model.power.attach(self.emulators.eps)
        self._update_sensors(t_s)

    def advance(self, t0_s: float, t1_s: float) -> None:
        """Integrate from t0 to t1 (a VirtualClock listener).

        The field in ECI is held at its t0 value over the step: in 0.1 s of
        LEO flight its direction moves by well under a milliradian.
        """
        torques = [w.commanded_torque_nm for w in self._wheels]
        self.body.step(t1_s - t0_s, b_eci_t=self._b_eci_t,
                       mtq_dipole_am2=self.emulators.magnetorquer.applied_dipole_am2(),
                       wheel_torque_nm=torques, substeps=self.substeps)
        self._update_sensors(t1_s)

    def _state_eci_from_arrays(self, t_s: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
        r_eci_km, v_eci_km_s = self.orbit.state_eci(t_s)
        return tuple(r_eci_km.tolist()), tuple(v_eci_km_s.tolist())

    def _update_sensors(self, t_s: float) -> None:
        # In the order the emulators have always been moved: the magnetometer,
        # the magnetorquer, the wheels, then the fitted gyro, sun ADCs, EPS,
        # GPS and radio.
        self._magnetometer.advance(t_s)
        self._magnetorquer.advance(t_s)
        wheels = self._wheels
        for wheel in wheels:
            wheel.advance(t_s)
        if self._has_gyro:
            self._gyro.advance(t_s)
        for adc in self._sun_adcs:
            adc.advance(t_s)
        if self._has_power_gps_radio:
            self._eps.advance(t_s)
            self._gps.advance(t_s)
            self._radio.advance(t_s)
        sgp4 = self._sgp4
        if sgp4 is not None:
            r_km, v_km_s = sgp4.state_eci_tuples(t_s)
            r: tuple[float, ...] = r_km
            v_eci_km_s: tuple[float, ...] = v_km_s
        else:
            r, v_eci_km_s = self._state_eci(t_s)
        self._r_eci_km = r
        b_eci = self._b_eci_t = self.environment.field_eci_t(r, t_s)
        q_body_eci, w_body, speeds = self.body.state_tuples()
        b_body = _to_body(q_body_eci, b_eci)
        self._magnetometer.set_field(b_body)
        if self._has_gyro:
            self._gyro.set_rate(w_body)
        slow = t_s >= self._next_slow_s - 1e-9
        if self._has_sun_sensors or slow:
            self._update_sun(t_s, slow, q_body_eci)
        if self._has_sun_sensors:
            self._sun_heads.set_sun(self._sun_body, self.lit_fraction)
        if len(speeds) != len(wheels):
            raise ValueError(f"{len(speeds)} wheel speeds for {len(wheels)} wheels")
        for i in range(len(wheels)):
            wheels[i].set_speed(speeds[i])
        if slow:
            self._next_slow_s += 1.0
            if self._has_power_gps_radio:
                self._update_gps_and_power(t_s, v_eci_km_s)
        if t_s >= self._next_log_s - 1e-9:
            self._next_log_s += self.log.every_s
            self.log.add(t_s=t_s, w_body_rad_s=np.array(w_body), q_body_eci=np.array(q_body_eci),
                         b_body_t=np.array(b_body), sun_body=np.array(self._sun_body),
                         lit_fraction=self.lit_fraction,
                         dipole_am2=np.array(self._magnetorquer.applied_dipole_am2()),
                         wheel_speed_rad_s=np.array(speeds))

    def _update_sun(self, t_s: float, slow: bool, q_body_eci: tuple[float, ...]) -> None:
        """Sun direction and illumination at the spacecraft.

        The sun's geocentric position is recomputed once a second (it moves
        about 0.04 arcsec in that time); the direction from the spacecraft
        and the shadow are recomputed every step from the current position.
        """
        if slow or self._sun_eci_km == (0.0, 0.0, 0.0):
            self._sun_eci_km = tuple(self.environment.sun_eci_km(t_s).tolist())
        sun, r = self._sun_eci_km, self._r_eci_km
        self.lit_fraction = self.environment.lit_fraction(r, sun)
        dx, dy, dz = sun[0] - r[0], sun[1] - r[1], sun[2] - r[2]
        n = math.sqrt(dx * dx + dy * dy + dz * dz)
        self._sun_body = _to_body(q_body_eci, (dx / n, dy / n, dz / n))

    def _update_gps_and_power(self, t_s: float, v_eci_km_s: Sequence[float]) -> None:
        """Once a second: the GPS receiver's Earth-fixed fix and the solar-array current."""
        self._r_teme[0:3] = self._r_eci_km
        self._v_teme[0:3] = [float(x) for x in v_eci_km_s]
        lib.tsr_teme_to_ecef(self._r_teme, self._v_teme, self.environment.gmst_rad(t_s), 0.0, 0.0,
                             self._r_ecef, self._v_ecef)
        self.emulators.gps.set_state_ecef([x * 1e3 for x in self._r_ecef],
                                          [x * 1e3 for x in self._v_ecef])
        self.model.power.update(self.emulators.eps, self.sun_body, self.lit_fraction)


def _to_body(q_body_eci: tuple[float, ...], v: tuple[float, float, float]
             ) -> tuple[float, float, float]:
    """v_body = A(q) v_eci for a scalar-first Hamilton quaternion of the body
    relative to ECI (Markley & Crassidis 2014, eq. 2.129).

    The same rotation as `RigidBody.to_body`, in plain floats: compiled, the
    matrix is formed in native doubles for each of the two vectors the
    sensors need a step, cheaper than building it once as an object."""
    w, x, y, z = q_body_eci[0], q_body_eci[1], q_body_eci[2], q_body_eci[3]
    a11, a12, a13 = w * w + x * x - y * y - z * z, 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)
    a21, a22, a23 = 2.0 * (x * y - w * z), w * w - x * x + y * y - z * z, 2.0 * (y * z + w * x)
    a31, a32, a33 = 2.0 * (x * z + w * y), 2.0 * (y * z - w * x), w * w - x * x - y * y + z * z
    vx, vy, vz = v
    return (a11 * vx + a12 * vy + a13 * vz, a21 * vx + a22 * vy + a23 * vz,
            a31 * vx + a32 * vy + a33 * vz)
