"""Byte-level emulator of the ISIS iMTQ magnetorquer board (see
`hal.devices.imtq` for the protocol facts and assumptions)."""

from __future__ import annotations

import math
import struct
from typing import Final

import numpy as np

from hal.counts import nearest, signed
from hal.devices.imtq import CMD_CANCEL, CMD_NOOP, CMD_START_DIPOLE, DIPOLE_LSB_AM2, GET_DIPOLE
from hal.sim.emulator import I2CTarget

__all__ = ["IMTQEmulator"]

GET_SYSTEM_STATE: Final = 0x41
RESET: Final = (0xAA, 0xA5)
_ZERO = (0.0, 0.0, 0.0)
ST_OK, ST_INVALID_CMD, ST_PARAM_MISSING = 0, 2, 3
# The reply to an accepted command, per command code: made once (compiled, a
# list index instead of a list and a bytes object built per command).
_OK_REPLIES: Final = [bytes([code, ST_OK]) for code in range(256)]


def _saturate(value: float, limit: float) -> float:
    """`min(max(value, -limit), limit)` in native float comparisons (compiled)."""
    value = -limit if -limit > value else value
    return limit if limit < value else value


class IMTQEmulator(I2CTarget):
    """The iMTQ as its command protocol.

    `dipole_am2()` (or `dipole_now_am2`) is the dipole actually applied at
    the current simulation time: the last commanded dipole, each axis
    saturated at `max_dipole_am2`, zero once its duration has expired, after
    a cancel, or after a brown-out. The simulator calls `advance(t_s)` each
    step; a command's duration counts from the last `advance` time.
    """

    part = "ISIS iMTQ"

    def __init__(self, *, max_dipole_am2: float = 0.2, seed: int = 0) -> None:
        self.max_dipole_am2 = max_dipole_am2
        self._dipole_am2 = _ZERO
        self._start_s = 0.0
        self._until_s = -1.0  # <0: idle; inf: until cancelled
        self._reply = b""
        self.commands = 0
        super().__init__(seed=seed)

    def power_on_reset(self) -> None:
        self._dipole_am2 = _ZERO
        self._until_s = -1.0
        self._reply = b""

    def dipole_am2(self, t_s: float | None = None) -> np.ndarray:
        """Applied dipole at `t_s` (default: now), A m^2, torquer axes, shape (3,)."""
        return np.array(self.applied_dipole_am2(t_s))

    def applied_dipole_am2(self, t_s: float | None = None) -> tuple[float, float, float]:
        """`dipole_am2` as a plain (x, y, z) tuple, A m^2: what the simulator
        reads every step."""
        t = self.t_s if t_s is None else t_s
        if self._until_s < 0.0 or t >= self._until_s or t < self._start_s:
            return _ZERO
        return self._dipole_am2

    @property
    def dipole_now_am2(self) -> np.ndarray:
        """Applied dipole now, A m^2, torquer axes, shape (3,)."""
        return self.dipole_am2()

    @property
    def actuating(self) -> bool:
        return self._until_s >= 0.0 and self.t_s < self._until_s

    def on_write(self, out: bytes) -> None:
        code = out[0]
        self.commands += 1
        if len(out) == 2 and out[0] == RESET[0] and out[1] == RESET[1]:
            self.power_on_reset()
            return
        if code == CMD_NOOP:
            self._reply = _OK_REPLIES[code]
        elif code == CMD_CANCEL:
            self._until_s = -1.0
            self._dipole_am2 = _ZERO
            self._reply = _OK_REPLIES[code]
        elif code == CMD_START_DIPOLE:
            if len(out) != 9:
                self._reply = bytes([code, ST_PARAM_MISSING])
                return
            # int16 x, y, z and uint16 milliseconds, little-endian, decoded by
            # shifts (compiled, native integer and float operations).
            lim = self.max_dipole_am2
            self._dipole_am2 = (
                _saturate(signed(out[1] | out[2] << 8, 16) * DIPOLE_LSB_AM2, lim),
                _saturate(signed(out[3] | out[4] << 8, 16) * DIPOLE_LSB_AM2, lim),
                _saturate(signed(out[5] | out[6] << 8, 16) * DIPOLE_LSB_AM2, lim))
            ms = out[7] | out[8] << 8
            self._start_s = self.t_s
            self._until_s = math.inf if ms == 0 else self.t_s + ms / 1000.0
            self._reply = _OK_REPLIES[code]
        elif code == GET_DIPOLE:
            m = self.applied_dipole_am2()
            self._reply = bytes([code, ST_OK]) + struct.pack(
                "<hhh", *(nearest(c / DIPOLE_LSB_AM2) for c in m))
        elif code == GET_SYSTEM_STATE:
            mode = 0
            uptime_s = int(self.t_s)
            self._reply = bytes([code, ST_OK, mode, 0, 0]) + struct.pack("<I", uptime_s)
        else:
            self._reply = bytes([code, ST_INVALID_CMD])

    def on_read(self, n: int) -> bytes:
        reply = self._reply[:n]
        # Past the reply the board clocks out 0xFF (idle bus level).
        return reply + b"\xff" * (n - len(reply))
