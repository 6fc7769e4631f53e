"""Byte-level emulator of the GomSpace NanoPower P31u EPS, with a simple
battery model (protocol facts in `hal.devices.p31u`)."""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

from hal.counts import nearest
from hal.devices.p31u import (
    CMD_GET_HK,
    CMD_PING,
    CMD_REBOOT,
    CMD_RESET_WDT,
    CMD_SET_SINGLE_OUTPUT,
    HK_FORMAT,
    N_LATCHED,
    N_OUTPUTS,
    WDT_MAGIC,
    cell_v_from_soc,
)
from hal.sim.emulator import I2CTarget

__all__ = ["P31uEmulator"]

ST_OK, ST_ERROR = 0, 1
# The emulator's code in the boot_cause field after a ground-watchdog reset
# (the value is this emulator's choice; a real P31u's codes are its own).
BOOT_CAUSE_WDT_GND: Final = 4
# Compiled once: `struct.pack` with the format string looks it up in
# struct's cache on every call.
_HK: Final = struct.Struct(HK_FORMAT)


class P31uEmulator(I2CTarget):
    """The P31u as its command protocol, over a battery model.

    Truth in: `set_solar_current(a)` (panel current into the EPS),
    `set_load(channel, a)` (current each switchable output would draw when
    on), `set_system_load(a)` (always-on consumers), `advance(t_s)`
    integrates the battery. State of charge drives the battery voltage
    through the Li-ion open-circuit curve, less an internal-resistance drop.

    Ground watchdog: unless `reset_ground_watchdog` (RESET_WDT) arrives
    within `wdt_gnd_timeout_s` (the P31u's is 48 h; a simulation may set it
    shorter), the EPS power-cycles the satellite: every output goes off, the
    watchdog reset counter and boot counter count up, `boot_cause` records
    it and `power_cycles` counts it for a harness that restarts the flight
    software.

    Over-current: an output whose load exceeds `limit_a[channel]` while on
    switches itself off and counts a latch-up, as the P31u's latch-up
    protection does; switching it on again clears the latch (and latches
    again if the load is still too high).
    """

    part = "GomSpace NanoPower P31u"

    def __init__(self, *, capacity_ah: float = 5.2, cells_in_series: int = 2,
                 soc: float = 0.8, internal_ohm: float = 0.1, limit_a=(1.0,) * 6,
                 wdt_gnd_timeout_s: float = 48 * 3600.0, seed: int = 0) -> None:
        self.capacity_ah = capacity_ah
        self.cells_in_series = cells_in_series
        self.soc = soc
        self.internal_ohm = internal_ohm
        self.limit_a = np.asarray(limit_a, dtype=float).reshape(N_LATCHED)
        self.solar_a = 0.0
        self.system_a = 0.1
        self.loads_a = np.zeros(N_LATCHED)
        self.temps_c = np.full(6, 20.0)
        self.latchups = [0] * N_LATCHED
        self.boot_count = 0
        self.wdt_kicks = 0
        self.wdt_gnd_timeout_s = wdt_gnd_timeout_s
        self.wdt_gnd_resets = 0
        self.power_cycles = 0
        self.boot_cause = 0
        self._last_kick_s = 0.0
        self._last_t_s = 0.0
        super().__init__(seed=seed)
        self.power_on_reset()

    def power_on_reset(self) -> None:
        self.outputs = [0] * N_OUTPUTS
        self._reply = b""
        self.boot_count += 1

    # Truth -------------------------------------------------------------
    def set_solar_current(self, current_a: float) -> None:
        self.solar_a = max(0.0, float(current_a))

    def set_system_load(self, current_a: float) -> None:
        self.system_a = max(0.0, float(current_a))

    def set_load(self, channel: int, current_a: float) -> None:
        self.loads_a[channel] = max(0.0, float(current_a))
        self._check_latch()

    @property
    def output_currents_a(self) -> np.ndarray:
        on = np.array(self.outputs[:N_LATCHED], dtype=float)
        return self.loads_a * on

    @property
    def battery_current_a(self) -> float:
        """Out of the battery to the system, A."""
        # A plain loop: the simulator integrates the battery every step.
        total, loads, outputs = self.system_a, self.loads_a, self.outputs
        for ch in range(N_LATCHED):
            if outputs[ch]:
                total += float(loads[ch])
        return total

    @property
    def vbatt_v(self) -> float:
        net = self.solar_a - self.battery_current_a
        v = cell_v_from_soc(self.soc) * self.cells_in_series + net * self.internal_ohm
        return max(v, 0.0)

    def advance(self, t_s: float) -> None:
        dt = max(0.0, t_s - self._last_t_s)
        self._last_t_s = t_s
        net_a = self.solar_a - self.battery_current_a
        self.soc = min(1.0, max(0.0, self.soc + net_a * dt / 3600.0 / self.capacity_ah))
        if t_s - self._last_kick_s > self.wdt_gnd_timeout_s:
            self._last_kick_s = t_s
            self.wdt_gnd_resets += 1
            self.power_cycles += 1
            self.boot_cause = BOOT_CAUSE_WDT_GND
            self.power_on_reset()
        super().advance(t_s)

    @property
    def wdt_gnd_time_left_s(self) -> int:
        return max(0, round(self._last_kick_s + self.wdt_gnd_timeout_s - self._last_t_s))

    def _check_latch(self) -> None:
        for ch in range(N_LATCHED):
            if self.outputs[ch] and self.loads_a[ch] > self.limit_a[ch]:
                self.outputs[ch] = 0
                self.latchups[ch] += 1

    def batt_mode(self) -> int:
        if self.soc < 0.05:
            return 1
        if self.soc < 0.3:
            return 2
        return 4 if self.soc > 0.98 else 3

    # Protocol ------------------------------------------------------------
    def on_write(self, out: bytes) -> None:
        code = out[0]
        if code == CMD_PING and len(out) == 2:
            self._reply = bytes([code, ST_OK, out[1]])
        elif code == CMD_GET_HK and len(out) in (1, 2):
            self._reply = bytes([code, ST_OK]) + self._housekeeping()
        elif code == CMD_SET_SINGLE_OUTPUT and len(out) == 5:
            channel, value = out[1], out[2]
            if channel >= N_OUTPUTS or value > 1:
                self._reply = bytes([code, ST_ERROR])
                return
            self.outputs[channel] = value
            self._check_latch()
            self._reply = bytes([code, ST_OK])
        elif code == CMD_RESET_WDT and len(out) == 2 and out[1] == WDT_MAGIC:
            self.wdt_kicks += 1
            self._last_kick_s = self._last_t_s
            self._reply = bytes([code, ST_OK])
        elif code == CMD_REBOOT and bytes(out) == bytes([4, 0x80, 0x07, 0x80, 0x07]):
            self.power_on_reset()
        else:
            self._reply = bytes([code, ST_ERROR])

    def _housekeeping(self) -> bytes:
        # `round` on a numpy scalar goes through numpy's own rounding (about
        # 1 us each); on the same doubles `nearest` gives the same integers.
        vbatt_mv = nearest(self.vbatt_v * 1000)
        vboost = (min(vbatt_mv + 500, 0xFFFF),) * 3
        cursun = nearest(self.solar_a * 1000)
        curin = (cursun // 3,) * 3
        cursys = nearest(self.battery_current_a * 1000)
        curout = [nearest(a * 1000) for a in self.output_currents_a.tolist()]
        temps = [nearest(t) for t in self.temps_c.tolist()]
        return _HK.pack(
            *vboost, min(vbatt_mv, 0xFFFF), *curin, min(cursun, 0xFFFF),
            min(cursys, 0xFFFF), 0, *curout, *self.outputs, *([0] * 8), *([0] * 8),
            *self.latchups, 0, min(self.wdt_gnd_time_left_s, 0xFFFFFFFF), 0, 0, 0,
            self.wdt_gnd_resets, 0, 0, self.boot_count, *temps,
            self.boot_cause, self.batt_mode(), 1, 0)

    def on_read(self, n: int) -> bytes:
        reply = self._reply[:n]
        return reply + b"\xff" * (n - len(reply))
