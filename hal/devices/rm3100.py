"""Driver for the PNI RM3100 3-axis magneto-inductive magnetometer (I2C).

Register facts (PNI RM3100 datasheet, as used by the Zephyr `pni,rm3100`
driver and other public drivers):

    POLL 0x00   write PMX|PMY|PMZ (bits 4-6) to start one measurement
    CMM  0x01   continuous mode (bit 0 START, bits 4-6 axes)
    CCX/CCY/CCZ 0x04/0x06/0x08  cycle counts, u16 big-endian, default 200
    MX/MY/MZ    0x24/0x27/0x2A  24-bit two's complement, big-endian
    STATUS 0x34 bit 7 DRDY; cleared when the results are read
    REVID  0x36 = 0x22

The register pointer of a read has bit 7 set (the part's read bit; the
Zephyr driver sets it on every read). Gain is about 0.3671*CC + 1.5 LSB/uT,
75 LSB/uT at CC=200. Linear range +-800 uT.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from hal import BusTimeoutError, DataError, DeviceIdError, HalError
from hal.busio import I2C
from hal.counts import signed
from hal.devices.base import I2CDevice

__all__ = ["RM3100", "gain_lsb_per_ut"]

REG_POLL: Final = 0x00
REG_CMM: Final = 0x01
REG_CCX: Final = 0x04
REG_TMRC: Final = 0x0B
REG_MX: Final = 0x24
REG_STATUS: Final = 0x34
REG_REVID: Final = 0x36
READ: Final = 0x80
REVID: Final = 0x22
POLL_XYZ: Final = 0x70
CMM_ALL_AXES: Final = 0x71  # START + CMX, CMY, CMZ (the Zephyr driver's value)
STATUS_DRDY: Final = 0x80
RANGE_UT: Final = 800.0
DEFAULT_ADDRESS: Final = 0x20


def gain_lsb_per_ut(cycle_count: int) -> float:
    """Counts per microtesla at a cycle count (datasheet linear fit)."""
    return 0.3671 * cycle_count + 1.5


class RM3100(I2CDevice):
    """PNI RM3100 on I2C (addresses 0x20-0x23).

    mode "cmm" (default): continuous measurement of all axes at the TMRC
    rate (power-on 0x96, as the Zephyr driver leaves it); `read_field_t()`
    reads STATUS and the latest results, and `data_was_new` says whether
    DRDY was set (a new conversion since the last read). A conversion at
    CC=200 takes milliseconds, so flight never waits for one.
    mode "poll": `read_field_t()` starts one measurement and waits for DRDY
    for at most `drdy_polls` status reads (bounded), then reads it; only
    useful where the conversion is fast compared with a status read.
    Returns the field in tesla, sensor frame.
    """

    part = "PNI RM3100"

    def __init__(self, i2c: I2C, address: int = DEFAULT_ADDRESS, *,
                 cycle_count: int = 200, mode: str = "cmm", drdy_polls: int = 4,
                 stale_limit: int = 2, retries: int = 2, budget_s: float = 0.02) -> None:
        super().__init__(i2c, address, retries=retries, budget_s=budget_s)
        if mode not in ("cmm", "poll"):
            raise ValueError('mode is "cmm" or "poll"')
        self.mode = mode
        self.data_was_new = False
        self.stale_limit = stale_limit
        self._stale = 0
        if not 1 <= cycle_count <= 0xFFFF:
            raise ValueError("cycle_count must be 1..65535")
        self.cycle_count = cycle_count
        self.drdy_polls = drdy_polls
        self.t_per_lsb = 1e-6 / gain_lsb_per_ut(cycle_count)
        # Readings beyond the linear range by this much cannot be real: the
        # bytes were corrupted (see datasheet range, +-800 uT).
        self._max_counts = int(1.25 * RANGE_UT * gain_lsb_per_ut(cycle_count))
        self._poll = bytes([REG_POLL, POLL_XYZ])
        self._status = bytes([REG_STATUS | READ])
        self._results = bytes([REG_MX | READ])
        self._cmm = CMM_ALL_AXES if mode == "cmm" else 0x00
        with i2c:
            self._check_id()
            self._configure()

    def _configure(self) -> None:
        self._xfer(bytes([REG_CCX]) + self.cycle_count.to_bytes(2, "big") * 3)
        self._xfer(bytes([REG_CMM, self._cmm]))

    def _restore_if_lost(self) -> bool:
        """In continuous mode, data that stays stale may mean the part reset
        (brown-out) and dropped out of CMM: read CMM back and reconfigure if
        so. Returns True when it had to."""
        self._stale = 0
        if self._xfer(bytes([REG_CMM | READ]), 1)[0] == self._cmm:
            return False
        self._configure()
        self.health.recoveries += 1
        return True

    def _check_id(self) -> None:
        try:
            revid = self._xfer(bytes([REG_REVID | READ]), 1)[0]
        except HalError as exc:
            raise DeviceIdError(f"no answer to REVID read ({exc.reason})", bus=self.i2c.name,
                                address=self.address, device=self.part) from exc
        if revid != REVID:
            raise self._fail(DeviceIdError(
                f"REVID reads 0x{revid:02X}, expected 0x{REVID:02X}"))

    def read_field_t(self) -> np.ndarray:
        """Magnetic field, tesla, sensor frame, shape (3,)."""
        with self.i2c:
            if self.mode == "cmm":
                new = bool(self._xfer(self._status, 1)[0] & STATUS_DRDY)
                if new:
                    self._stale = 0
                else:
                    self._stale += 1
                    if self._stale >= self.stale_limit and self._restore_if_lost():
                        new = bool(self._xfer(self._status, 1)[0] & STATUS_DRDY)
                self.data_was_new = new
            else:
                self._xfer(self._poll)
                for _ in range(self.drdy_polls):
                    if self._xfer(self._status, 1)[0] & STATUS_DRDY:
                        break
                else:
                    raise self._fail(BusTimeoutError(
                        f"DRDY not set after {self.drdy_polls} status reads"))
                self.data_was_new = True
            raw = self._xfer(self._results, 9)
        # 24-bit two's complement, big-endian, decoded by shifts (compiled,
        # native integer operations; `int.from_bytes` on a slice is a generic
        # call and a new bytes object per axis).
        x = signed(raw[0] << 16 | raw[1] << 8 | raw[2], 24)
        y = signed(raw[3] << 16 | raw[4] << 8 | raw[5], 24)
        z = signed(raw[6] << 16 | raw[7] << 8 | raw[8], 24)
        m = self._max_counts
        if not (-m <= x <= m and -m <= y <= m and -m <= z <= m):
            raise self._fail(DataError(
                f"reading ({x}, {y}, {z}) counts beyond the part's range"))
        # Scaled in floats, then one array: the same doubles as scaling the array.
        lsb = self.t_per_lsb
        return np.array((x * lsb, y * lsb, z * lsb))
