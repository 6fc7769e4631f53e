"""Register-level emulator of the ST L3GD20H gyroscope, on I2C or SPI (see
`hal.devices.l3gd20h` for the register facts)."""

from __future__ import annotations

import math
from typing import ClassVar, Final

import numpy as np

from hal.counts import nearest
from hal.devices.l3gd20h import (
    FULL_SCALE,
    REG_CTRL1,
    REG_CTRL4,
    REG_OUT_X_L,
    REG_STATUS,
    REG_WHO_AM_I,
    STATUS_ZYXDA,
    WHO_AM_I,
)
from hal.sim.emulator import RegisterTarget, plain3

__all__ = ["L3GD20HEmulator"]

_FS_BY_BITS: Final = {0x00: 245, 0x10: 500, 0x20: 2000, 0x30: 2000}
_RAD_S_PER_LSB: Final = {bits: math.radians(FULL_SCALE[dps][1])
                          for bits, dps in _FS_BY_BITS.items()}


class L3GD20HEmulator(RegisterTarget):
    """The L3GD20H as its register map.

    Truth in: `set_rate(w_sensor_rad_s)`; each call is one new output sample
    (truth + bias + Gaussian noise, seeded), quantised at the full scale
    programmed in CTRL4 and saturated at the int16 output limits. In
    power-down (CTRL1 PD = 0, the power-on state) outputs do not update.
    Reading OUT_Z_H clears ZYXDA. Multi-byte access increments the address
    only when asked (I2C: register bit 7; SPI: bit 6), as on the part.
    """

    part = "ST L3GD20H"
    POWER_ON: ClassVar[dict[int, int]] = {REG_WHO_AM_I: WHO_AM_I, REG_CTRL1: 0x07}
    WRITABLE: ClassVar[frozenset[int]] = frozenset(
        {REG_CTRL1, 0x21, 0x22, REG_CTRL4, 0x24, 0x2E, 0x39})

    def __init__(self, *, noise_rad_s: float = 0.0, bias_rad_s=(0.0, 0.0, 0.0),
                 seed: int = 0) -> None:
        self.noise_rad_s = float(noise_rad_s)
        self.bias_rad_s = bias_rad_s
        self._inc = True
        super().__init__(seed=seed)

    @property
    def bias_rad_s(self) -> np.ndarray:
        """Offset added to every axis, rad/s, sensor frame, shape (3,)."""
        return np.array(self._bias_rad_s)

    @bias_rad_s.setter
    def bias_rad_s(self, value) -> None:
        self._bias_rad_s = plain3(value)

    def set_rate(self, w_sensor_rad_s) -> None:
        """Truth angular rate at the sensor, rad/s, sensor frame."""
        regs = self.regs
        ctrl1 = regs[REG_CTRL1]
        if self.stuck or not ctrl1 & 0x08:
            return
        rad_s_per_lsb = _RAD_S_PER_LSB[regs[REG_CTRL4] & 0x30]
        wx, wy, wz = w_sensor_rad_s
        bx, by, bz = self._bias_rad_s
        # Axis by axis with plain floats (compiled, native arithmetic where a
        # loop over the input and the bias tuple is generic calls).
        if ctrl1 & 0x01:
            self._sample(REG_OUT_X_L, float(wx) + bx, rad_s_per_lsb)
        if ctrl1 & 0x02:
            self._sample(REG_OUT_X_L + 2, float(wy) + by, rad_s_per_lsb)
        if ctrl1 & 0x04:
            self._sample(REG_OUT_X_L + 4, float(wz) + bz, rad_s_per_lsb)
        regs[REG_STATUS] = STATUS_ZYXDA

    def _sample(self, at: int, w: float, rad_s_per_lsb: float) -> None:
        """One axis's output register pair at `at` from its rate `w` (rad/s,
        bias included): noise, quantisation, int16 saturation."""
        noise = self.noise_rad_s
        if noise:
            w += noise * self.noise.draw()
        counts = nearest(w / rad_s_per_lsb)
        counts = -32768 if counts < -32768 else 32767 if counts > 32767 else counts
        # 16-bit two's complement, little-endian, one byte at a time (compiled, a
        # slice assignment makes a slice object and a bytes object per axis).
        counts &= 0xFFFF
        regs = self.regs
        regs[at] = counts & 0xFF
        regs[at + 1] = counts >> 8

    def on_write(self, out: bytes) -> None:
        self._inc = bool(out[0] & 0x80)
        ptr = out[0] & 0x7F
        for value in out[1:]:
            self.write_reg(ptr, value)
            if self._inc:
                ptr = (ptr + 1) & 0x7F
        self.ptr = out[0] & 0x7F if len(out) == 1 else ptr

    def on_read(self, n: int) -> bytes:
        return self._read_regs(self.ptr, n, self._inc)

    def _read_regs(self, ptr: int, n: int, inc: bool) -> bytes:
        if not inc:
            data = bytes([self.regs[ptr]]) * n
            self._after_read(ptr, 1)
            return data
        end = ptr + n
        if end <= 0x80:
            data = b"" + self.regs[ptr:end]  # bytes, as `RegisterTarget.on_read` makes them
        else:
            data = bytes(self.regs[(ptr + i) & 0x7F] for i in range(n))
        self._after_read(ptr, n)
        return data

    # SPI: byte 0 is R/W (bit 7), MS (bit 6) and the address; MISO carries
    # the data from byte 1 on.
    def on_spi(self, tx: bytes) -> bytes:
        cmd = tx[0]
        reg = cmd & 0x3F
        inc = bool(cmd & 0x40)
        n = len(tx) - 1
        if cmd & 0x80:
            return b"\xff" + self._read_regs(reg, n, inc)
        for i, value in enumerate(tx[1:]):
            self.write_reg((reg + i) & 0x3F if inc else reg, value)
        return b"\xff" * len(tx)

    def _after_read(self, reg: int, n: int) -> None:
        # Reading OUT_Z_H ends the sample: ZYXDA clears for the next read.
        if reg <= REG_OUT_X_L + 5 < reg + n:
            self.regs[REG_STATUS] = 0
