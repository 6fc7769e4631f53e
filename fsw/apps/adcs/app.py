"""The ADCS flight app.

Every cycle (10 Hz) the app reads the magnetometer through the HAL, turns the
reading into the body frame, runs the control law of its mode and commands
the magnetorquers, then publishes its state. In DETUMBLE the law is B-dot.
Torquers are commanded for a little longer than one cycle, so that if the
app stops they switch themselves off instead of holding a stale dipole.

A device fault (any `hal.HalError`) never stops the app: the cycle is
counted as degraded, the torquers are commanded to zero, the B-dot filter
forgets its last sample, and an event says what failed (the first fault of
a run and then every 100th, so a dead sensor does not flood the downlink).

Devices (names in the executive's device map): ``magnetometer`` with
``read_field_t()``, and ``magnetorquer`` with ``start_dipole(m_am2,
duration_s)`` and ``cancel()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

import numpy as np

from fsw.core import App, CommandError, Field, MessageType, Parameter, Reason, Severity, command
from fsw.core.ids import ADCS_APID
from fsw.core.message import tm_msg_id
from fsw.gnc.bdot import BDot
from hal import HalError


class AdcsMode(IntEnum):
    IDLE = 0
    DETUMBLE = 1


ADCS_STATE = MessageType("AdcsState", tm_msg_id(ADCS_APID + 1), [
    Field("time_s", "d", "s", "executive clock"),
    Field("mode", "B", doc="AdcsMode"),
    Field("sensor_ok", "?", doc="false when this cycle's magnetometer read failed"),
    Field("b_body_t", "3f", "T", "measured field, body frame"),
    Field("bdot_t_s", "3f", "T/s", "filtered field rate, body frame"),
    Field("dipole_cmd_am2", "3f", "A m^2", "commanded dipole, body frame"),
], doc="ADCS state every control cycle")

# Event ids.
EV_MODE = 1
EV_SENSOR_FAULT = 2
EV_ACTUATOR_FAULT = 3
EV_RECOVERED = 4


class AdcsApp(App):
    NAME = "adcs"
    APID = ADCS_APID
    HK_FIELDS = (
        Field("mode", "B"),
        Field("cycles", "I"),
        Field("sensor_faults", "I", doc="failed magnetometer reads"),
        Field("actuator_faults", "I", doc="failed magnetorquer commands"),
        Field("b_norm_nt", "f", "nT", "field magnitude at the last good read"),
    )
    TELEMETRY = (ADCS_STATE,)
    PARAMETERS = (
        Parameter("bdot_gain", "d", default=2e5, low=0.0, high=1e9, unit="A m^2 s/T",
                  doc="B-dot gain k in m = -k dB/dt"),
        Parameter("dipole_limit_am2", "f", default=0.2, low=0.0, high=1.0, unit="A m^2",
                  doc="per-axis magnetorquer limit"),
        Parameter("filter_alpha", "f", default=0.5, low=0.01, high=1.0,
                  doc="low-pass weight of the newest dB/dt sample"),
    )

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.rate_hz = float(self.config.get("rate_hz", 10.0))
        self.mode = AdcsMode[str(self.config.get("initial_mode", "DETUMBLE")).upper()]
        mount = np.asarray(self.config.get("magnetometer_to_body", np.eye(3)), dtype=float)
        if mount.shape != (3, 3) or not np.allclose(mount @ mount.T, np.eye(3), atol=1e-6):
            raise ValueError("magnetometer_to_body must be a 3x3 rotation matrix")
        self.mag_to_body = mount
        self.cycles = 0
        self.sensor_faults = 0
        self.actuator_faults = 0
        self.b_body_t = np.zeros(3)
        self.dipole_cmd_am2 = np.zeros(3)

    # -- init ---------------------------------------------------------------
    def init(self) -> None:
        self.magnetometer = self.device("magnetometer")
        self.magnetorquer = self.device("magnetorquer")
        self.bdot = BDot(self.params["bdot_gain"], [self.params["dipole_limit_am2"]] * 3,
                         self.params["filter_alpha"])

    def parameter_changed(self, name: str, value: float) -> None:
        self.bdot = BDot(self.params["bdot_gain"], [self.params["dipole_limit_am2"]] * 3,
                         self.params["filter_alpha"])

    # -- main loop ------------------------------------------------------------
    def execute(self) -> None:
        self.cycles += 1
        sensor_ok = self._read_sensors()
        dipole = np.zeros(3)
        if sensor_ok and self.mode == AdcsMode.DETUMBLE:
            dipole = self.bdot.step(self.b_body_t, 1.0 / self.rate_hz)
        self._command_torquers(dipole)
        self.publish(ADCS_STATE, time_s=self.now(), mode=int(self.mode), sensor_ok=sensor_ok,
                     b_body_t=self.b_body_t, bdot_t_s=self.bdot.bdot_t_s,
                     dipole_cmd_am2=self.dipole_cmd_am2)

    def _read_sensors(self) -> bool:
        try:
            b_sensor = self.magnetometer.read_field_t()
        except HalError as exc:
            self.sensor_faults += 1
            self.bdot.reset()  # a gap would look like a huge dB/dt
            if self.sensor_faults % 100 == 1:
                self.event(EV_SENSOR_FAULT, Severity.MEDIUM,
                           f"magnetometer read failed ({self.sensor_faults}): {exc}")
            return False
        self.b_body_t = self.mag_to_body @ b_sensor
        return True

    def _command_torquers(self, dipole_am2: np.ndarray) -> None:
        # Held for 1.5 cycles: continuous while the app runs, off soon after it stops.
        try:
            self.magnetorquer.start_dipole(dipole_am2, 1.5 / self.rate_hz)
        except HalError as exc:
            self.actuator_faults += 1
            if self.actuator_faults % 100 == 1:
                self.event(EV_ACTUATOR_FAULT, Severity.MEDIUM,
                           f"magnetorquer command failed ({self.actuator_faults}): {exc}")
            return
        self.dipole_cmd_am2 = dipole_am2

    def stop(self) -> None:
        try:
            self.magnetorquer.cancel()
        except (HalError, AttributeError):
            pass

    # -- command handler ---------------------------------------------------------
    @command(10, Field("mode", "B", low=0, high=max(AdcsMode)))
    def set_mode(self, mode: int) -> None:
        """Switch the control mode (0 idle, 1 detumble)."""
        new = AdcsMode(mode)
        if new == self.mode:
            raise CommandError(Reason.NOT_ALLOWED_NOW, f"already in {new.name}")
        self.bdot.reset()
        self.event(EV_MODE, Severity.INFO, f"mode {self.mode.name} -> {new.name}")
        self.mode = new

    # -- housekeeping --------------------------------------------------------------
    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"mode": int(self.mode), "cycles": self.cycles,
                "sensor_faults": self.sensor_faults, "actuator_faults": self.actuator_faults,
                "b_norm_nt": float(np.linalg.norm(self.b_body_t) * 1e9)}
