"""The simulator: integrates the truth between flight-software cycles.

It runs as a listener of the executive's `VirtualClock`: each time the
flight software waits for its next minor frame, the simulator integrates the
attitude from t0 to t1 with the dipole the magnetorquer emulator is applying,
moves every emulator to t1 and writes the new truth into the sensor
emulators' registers. The flight software then reads those registers through
its ordinary drivers, exactly as it would read hardware.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fsw.gnc.dynamics import RigidBody
from ground.sim.environment import Environment
from ground.sim.orbit import KeplerOrbit
from ground.sim.spacecraft import SpacecraftModel


@dataclass
class TruthLog:
    """Truth sampled every `every_s` seconds of simulated time."""

    every_s: float
    t_s: list[float] = field(default_factory=list)
    w_body_rad_s: list[np.ndarray] = field(default_factory=list)
    b_body_t: list[np.ndarray] = field(default_factory=list)
    dipole_am2: list[np.ndarray] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"t_s": np.array(self.t_s), "w_body_rad_s": np.array(self.w_body_rad_s),
                "b_body_t": np.array(self.b_body_t), "dipole_am2": np.array(self.dipole_am2)}


class Simulator:
    """Orbit, environment and attitude truth driving the device emulators."""

    def __init__(self, orbit: KeplerOrbit, environment: Environment, model: SpacecraftModel,
                 *, magnetometer: object, magnetorquer: object,
                 q0_body_eci: np.ndarray | None = None,
                 w0_body_rad_s: np.ndarray | None = None,
                 substeps: int = 1, log_every_s: float = 1.0) -> None:
        self.orbit = orbit
        self.environment = environment
        self.model = model
        self.body = RigidBody(model.inertia_kgm2)
        if q0_body_eci is not None:
            self.body.q_body_eci = q0_body_eci
        if w0_body_rad_s is not None:
            self.body.w_body_rad_s = w0_body_rad_s
        self.magnetometer = magnetometer
        self.magnetorquer = magnetorquer
        self.emulators = [magnetometer, magnetorquer]
        self.substeps = substeps
        self.log = TruthLog(log_every_s)
        self._next_log_s = 0.0
        self._sensor_from_body = np.asarray(model.magnetometer_to_body).T
        self.steps = 0
        self._b_eci_t = np.zeros(3)

    def start(self, t_s: float = 0.0) -> None:
        """Put the initial truth into the sensors before the first flight cycle."""
        self._update_sensors(t_s)

    def advance(self, t0_s: float, t1_s: float) -> None:
        """Integrate from t0 to t1 (a VirtualClock listener).

        The field in ECI is held at its t0 value over the step: in 0.1 s of
        LEO flight its direction moves by well under a milliradian.
        """
        dipole = self.magnetorquer.dipole_now_am2
        self.body.step(t1_s - t0_s, b_eci_t=self._b_eci_t, mtq_dipole_am2=dipole,
                       substeps=self.substeps)
        self.steps += 1
        self._update_sensors(t1_s)

    def _update_sensors(self, t_s: float) -> None:
        for emulator in self.emulators:
            emulator.advance(t_s)
        r_km, _ = self.orbit.state_eci(t_s)
        self._b_eci_t = self.environment.b_eci_t(r_km, t_s)
        b_body = self.body.to_body(self._b_eci_t)
        self.magnetometer.set_field(self._sensor_from_body @ b_body)
        if t_s >= self._next_log_s - 1e-9:
            self._next_log_s += self.log.every_s
            self.log.t_s.append(t_s)
            self.log.w_body_rad_s.append(self.body.w_body_rad_s)
            self.log.b_body_t.append(b_body)
            self.log.dipole_am2.append(np.asarray(self.magnetorquer.dipole_now_am2, dtype=float))
