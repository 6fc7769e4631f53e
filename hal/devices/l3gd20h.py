"""Driver for the ST L3GD20H 3-axis MEMS gyroscope, on I2C or SPI.

Register facts (ST L3GD20H datasheet; also the public adafruit_l3gd20 driver):

    WHO_AM_I 0x0F = 0xD7 (the older L3GD20 reads 0xD4)
    CTRL1 0x20  DR[7:6] BW[5:4] PD[3] Zen Yen Xen[2:0]; power-on 0x07 (power-down)
    CTRL4 0x23  BDU[7] BLE[6] FS[5:4]: 00 245 dps, 01 500 dps, 1x 2000 dps
    STATUS 0x27 ZYXDA bit 3 (new data), ZYXOR bit 7 (overrun)
    OUT_X_L 0x28 .. OUT_Z_H 0x2D  int16 little-endian (BLE = 0)
    Sensitivity 8.75 / 17.5 / 70 mdps/LSB at 245 / 500 / 2000 dps.

Multi-byte access: on I2C bit 7 of the register address asks for
auto-increment (OUT_X_L read as 0xA8); on SPI bit 7 is the read bit and
bit 6 auto-increment (0x28 | 0x40 = 0x68, sent as 0xE8 with the read bit).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from hal import DataError, DeviceIdError, HalError
from hal.busio import SPI
from hal.counts import signed
from hal.devices.base import Device

__all__ = ["FULL_SCALE", "L3GD20H"]

REG_WHO_AM_I: Final = 0x0F
REG_CTRL1: Final = 0x20
REG_CTRL4: Final = 0x23
REG_STATUS: Final = 0x27
REG_OUT_X_L: Final = 0x28
WHO_AM_I: Final = 0xD7
CTRL4_BDU: Final = 0x80
STATUS_ZYXDA: Final = 0x08
I2C_AUTO_INC: Final = 0x80
SPI_READ: Final = 0x80
SPI_AUTO_INC: Final = 0x40
DEFAULT_ADDRESS: Final = 0x6B

#: Full scale (dps) -> (CTRL4 FS bits, sensitivity in dps per LSB).
FULL_SCALE: Final = {245: (0x00, 8.75e-3), 500: (0x10, 17.5e-3), 2000: (0x20, 70e-3)}
# CTRL1: normal mode, X/Y/Z enabled; DR field picks the output data rate
# (with LOW_ODR = 0: 00 100 Hz, 01 200 Hz, 10 400 Hz, 11 800 Hz).
ODR_BITS: Final = {100: 0x00, 200: 0x40, 400: 0x80, 800: 0xC0}
CTRL1_ON: Final = 0x0F


class L3GD20H(Device):
    """ST L3GD20H on I2C (address 0x6A/0x6B) or SPI (address = chip select).

    `read_rate_rad_s()` returns the angular rate in rad/s, sensor frame.
    """

    part = "ST L3GD20H"

    def __init__(self, bus, address: int = DEFAULT_ADDRESS, *, full_scale_dps: int = 245,
                 odr_hz: int = 100, retries: int = 2, budget_s: float = 0.02) -> None:
        super().__init__(bus, address, retries=retries, budget_s=budget_s)
        if full_scale_dps not in FULL_SCALE or odr_hz not in ODR_BITS:
            raise ValueError(f"full scale one of {sorted(FULL_SCALE)} dps, "
                             f"ODR one of {sorted(ODR_BITS)} Hz")
        fs_bits, dps_per_lsb = FULL_SCALE[full_scale_dps]
        self.full_scale_dps = full_scale_dps
        self.rad_s_per_lsb = float(np.deg2rad(dps_per_lsb))  # a float: native arithmetic compiled
        self._spi = isinstance(bus, SPI)
        self.last_status = 0
        # STATUS and the six output bytes in one burst: STATUS tells stale
        # data apart, and a part that is absent on SPI (MISO pulled high)
        # reads as all 0xFF, which no real STATUS + data combination is.
        self._read_out = self._read_cmd(REG_STATUS, 7)
        with bus:
            try:
                who = self._read(REG_WHO_AM_I, 1)[0]
            except HalError as exc:
                raise DeviceIdError(f"no answer to WHO_AM_I read ({exc.reason})",
                                    bus=bus.name, address=address, device=self.part) from exc
            if who != WHO_AM_I:
                raise self._fail(DeviceIdError(
                    f"WHO_AM_I reads 0x{who:02X}, expected 0x{WHO_AM_I:02X}"))
            self._write(REG_CTRL4, bytes([CTRL4_BDU | fs_bits]))
            self._write(REG_CTRL1, bytes([ODR_BITS[odr_hz] | CTRL1_ON]))
        self._ctrl = (ODR_BITS[odr_hz] | CTRL1_ON, CTRL4_BDU | fs_bits)

    def _read_cmd(self, reg: int, n: int) -> bytes:
        if self._spi:
            return bytes([reg | SPI_READ | (SPI_AUTO_INC if n > 1 else 0)])
        return bytes([reg | (I2C_AUTO_INC if n > 1 else 0)])

    def _read(self, reg: int, n: int) -> bytes:
        return self._xfer(self._read_cmd(reg, n), n)

    def _write(self, reg: int, data: bytes) -> None:
        inc = SPI_AUTO_INC if self._spi else I2C_AUTO_INC
        self._xfer(bytes([reg | (inc if len(data) > 1 else 0)]) + data)

    def read_rate_rad_s(self) -> np.ndarray:
        """Angular rate, rad/s, sensor frame, shape (3,)."""
        with self.bus:
            raw = self._xfer(self._read_out, 7)
        if raw == b"\xff" * 7:
            raise self._fail(DataError("STATUS and outputs read all 0xFF: part absent or "
                                       "its data line stuck high"))
        self.last_status = raw[0]
        # int16 little-endian per axis, decoded by shifts (compiled, native
        # integer operations instead of a generic call per axis).
        x = signed(raw[1] | raw[2] << 8, 16)
        y = signed(raw[3] | raw[4] << 8, 16)
        z = signed(raw[5] | raw[6] << 8, 16)
        # Scaled in floats, then one array: the same doubles as scaling the array.
        lsb = self.rad_s_per_lsb
        return np.array((x * lsb, y * lsb, z * lsb))

    @property
    def data_was_new(self) -> bool:
        """Whether the last read returned a fresh sample (STATUS ZYXDA)."""
        return bool(self.last_status & STATUS_ZYXDA)

    def check_configuration(self) -> bool:
        """Read CTRL1 and CTRL4 back; after a brown-out the part is in
        power-down with defaults. Rewrites them and returns False if they
        had been lost, True if intact."""
        with self.bus:
            ctrl1 = self._read(REG_CTRL1, 1)[0]
            ctrl4 = self._read(REG_CTRL4, 1)[0]
            if (ctrl1, ctrl4) == self._ctrl:
                return True
            self._write(REG_CTRL4, bytes([self._ctrl[1]]))
            self._write(REG_CTRL1, bytes([self._ctrl[0]]))
        self.health.recoveries += 1
        return False
