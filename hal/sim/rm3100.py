"""Register-level emulator of the PNI RM3100 magnetometer (see
`hal.devices.rm3100` for the register facts)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hal.counts import nearest
from hal.devices.rm3100 import (
    RANGE_UT,
    REG_CMM,
    REG_MX,
    REG_POLL,
    REG_REVID,
    REG_STATUS,
    REG_TMRC,
    REVID,
    STATUS_DRDY,
    gain_lsb_per_ut,
)
from hal.sim.emulator import RegisterTarget, plain3

__all__ = ["RM3100Emulator"]


class RM3100Emulator(RegisterTarget):
    """The RM3100 as its register map: POLL and CMM measurements, DRDY,
    cycle-count-dependent gain, 24-bit results.

    Truth in: `set_field(b_sensor_t)` (tesla, sensor frame). The reading is
    truth + bias + Gaussian noise (seeded), saturated at +-800 uT and
    quantised to whole counts at the programmed cycle count. A measurement
    completes at once (the conversion time, ~13 ms for three axes at CC=200,
    is not modelled).
    """

    part = "PNI RM3100"
    pointer_mask = 0x7F  # bit 7 of the pointer is the read bit
    # Cycle counts default to 200 (0x00C8) on every axis.
    POWER_ON: ClassVar[dict[int, int]] = {
        0x04: 0x00, 0x05: 0xC8, 0x06: 0x00, 0x07: 0xC8, 0x08: 0x00, 0x09: 0xC8,
        REG_TMRC: 0x96, REG_REVID: REVID}
    WRITABLE: ClassVar[frozenset[int]] = frozenset(
        {REG_POLL, REG_CMM, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, REG_TMRC})

    def __init__(self, *, noise_t: float = 0.0, bias_t=(0.0, 0.0, 0.0), seed: int = 0) -> None:
        self.noise_t = float(noise_t)
        self.bias_t = bias_t
        self._b_t = (0.0, 0.0, 0.0)
        super().__init__(seed=seed)

    @property
    def bias_t(self) -> np.ndarray:
        """Offset added to every axis, tesla, sensor frame, shape (3,)."""
        return np.array(self._bias_t)

    @bias_t.setter
    def bias_t(self, value) -> None:
        self._bias_t = plain3(value)

    def set_field(self, b_sensor_t) -> None:
        """Truth field at the sensor, tesla, sensor frame. Ignored while stuck."""
        if self.stuck:
            return
        x, y, z = b_sensor_t
        self._b_t = (float(x), float(y), float(z))
        cmm = self.regs[REG_CMM]
        if cmm & 0x01:
            self._measure(cmm & 0x70)

    def write_reg(self, reg: int, value: int) -> None:
        super().write_reg(reg, value)
        if reg == REG_POLL and value & 0x70:
            self._measure(value & 0x70)
        elif reg == REG_CMM and value & 0x01:
            self._measure(value & 0x70)

    def _measure(self, axes: int) -> None:
        regs = self.regs
        if self.stuck:
            regs[REG_STATUS] = STATUS_DRDY
            return
        bx, by, bz = self._bias_t
        x, y, z = self._b_t
        # Axis by axis with plain floats (compiled, native arithmetic where
        # indexing the tuples by a loop variable boxes them).
        if axes & 0x10:
            self._axis(0, (x + bx) * 1e6)
        if axes & 0x20:
            self._axis(1, (y + by) * 1e6)
        if axes & 0x40:
            self._axis(2, (z + bz) * 1e6)
        regs[REG_STATUS] = STATUS_DRDY

    def _axis(self, i: int, b: float) -> None:
        """Axis `i`'s result registers from its field `b` (uT, bias included):
        noise, saturation, quantisation at the axis's cycle count."""
        noise_ut = self.noise_t * 1e6
        if noise_ut:
            b += noise_ut * self.noise.draw()
        b = -RANGE_UT if b < -RANGE_UT else RANGE_UT if b > RANGE_UT else b
        regs = self.regs
        gain = gain_lsb_per_ut((regs[0x04 + 2 * i] << 8) | regs[0x05 + 2 * i])
        at = REG_MX + 3 * i
        # 24-bit two's complement, big-endian, one byte at a time (compiled, a
        # slice assignment makes a slice object and a bytes object per axis).
        counts = nearest(b * gain) & 0xFFFFFF
        regs[at] = counts >> 16
        regs[at + 1] = (counts >> 8) & 0xFF
        regs[at + 2] = counts & 0xFF

    def before_read(self, reg: int, n: int) -> None:
        if reg <= REG_MX + 8 and reg + n > REG_MX:
            # DRDY clears when the results are read (the next read sees 0).
            self.regs[REG_STATUS] = 0
