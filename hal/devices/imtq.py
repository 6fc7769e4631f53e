"""Driver for the ISIS iMTQ magnetorquer board (three torquers, I2C 0x10).

Protocol facts (ISIS iMTQ interface control document, issue 1.5, as
implemented by the public KubOS `isis-imtq-api` and the PW-Sat2 flight
software's iMTQ driver):

- A command is one I2C write: command code, then little-endian parameters.
  The reply is read in a separate transfer and begins with the command
  code echoed and a status byte: bit 7 "new data", bits 6-4 invalid X/Y/Z
  axis data, and the low nibble the result: 0 accepted, 1 rejected,
  2 invalid command code, 3 parameter missing, 4 parameter invalid,
  5 unavailable in the current mode, 7 internal error.
- 0x02 NOOP, 0x03 cancel operation, 0x06 start actuation by dipole:
  x, y, z dipole as int16 in units of 1e-4 A m^2, then the duration as
  u16 in milliseconds.
- 0x46 get commanded dipole: x, y, z int16 in 1e-4 A m^2.

Assumed, not verified against the ISIS manual here: the dipole limit is
0.2 A m^2 per axis (nominal for the part); a duration of 0 ms means
"until cancelled" on the part (this driver never sends 0).
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

from hal import CommandRejectedError, DataError, DeviceIdError, HalError
from hal.busio import I2C
from hal.counts import finite, nearest
from hal.devices.base import I2CDevice

__all__ = ["IMTQ"]

CMD_NOOP: Final = 0x02
CMD_CANCEL: Final = 0x03
CMD_START_DIPOLE: Final = 0x06
GET_DIPOLE: Final = 0x46
DIPOLE_LSB_AM2: Final = 1e-4
MAX_DURATION_S: Final = 0xFFFF / 1000.0
DEFAULT_ADDRESS: Final = 0x10
_CODE_BYTES: Final = [bytes([code]) for code in range(256)]



def _counts(dipole_am2: float) -> int:
    """One axis's dipole as the int16 wire value (clipped), two's complement."""
    counts = nearest(dipole_am2 / DIPOLE_LSB_AM2)
    return (-32768 if counts < -32768 else 32767 if counts > 32767 else counts) & 0xFFFF


STATUS_TEXT: Final = {
    1: "rejected",
    2: "invalid command code",
    3: "parameter missing",
    4: "parameter invalid",
    5: "unavailable in the current mode",
    7: "internal error",
}


class IMTQ(I2CDevice):
    """ISIS iMTQ: command dipoles on three magnetorquers for a bounded time."""

    part = "ISIS iMTQ"

    def __init__(self, i2c: I2C, address: int = DEFAULT_ADDRESS, *, retries: int = 2,
                 budget_s: float = 0.02) -> None:
        super().__init__(i2c, address, retries=retries, budget_s=budget_s)
        with i2c:
            try:
                self._command(CMD_NOOP, b"")
            except HalError as exc:
                raise DeviceIdError(f"no iMTQ answer to NOOP ({exc.reason})",
                                    bus=i2c.name, address=self.address,
                                    device=self.part) from exc

    def start_dipole(self, m_am2, duration_s: float) -> None:
        """Actuate dipole `m_am2` (A m^2, body-mounted torquer axes, shape (3,))
        for `duration_s` seconds (0.001-65.535 s). The part saturates each
        axis at its limit; values beyond the int16 wire range are clipped."""
        if m_am2.__class__ is np.ndarray and m_am2.dtype == np.float64 and m_am2.shape == (3,):
            x, y, z = m_am2.tolist()  # the ADCS cycle's own output: no conversion needed
        else:
            x, y, z = np.asarray(m_am2, dtype=float).reshape(3).tolist()
        if not (finite(x) and finite(y) and finite(z)):
            raise ValueError("dipole must be finite")
        if not (finite(duration_s) and 0.001 <= duration_s <= MAX_DURATION_S):
            raise ValueError(f"duration_s must be within 0.001..{MAX_DURATION_S} s")
        ms = nearest(duration_s * 1000.0)
        # int16 x, y, z and uint16 milliseconds, little-endian, as one integer's
        # bytes (compiled, native arithmetic where `struct` and a comprehension
        # over the axes are generic calls).
        params = (_counts(x) | _counts(y) << 16 | _counts(z) << 32 | ms << 48).to_bytes(
            8, "little")
        with self.i2c:
            self._command(CMD_START_DIPOLE, params)

    def cancel(self) -> None:
        """Stop any actuation now."""
        with self.i2c:
            self._command(CMD_CANCEL, b"")

    def commanded_dipole_am2(self) -> np.ndarray:
        """The dipole the board reports it is commanding, A m^2, shape (3,)."""
        with self.i2c:
            reply = self._command(GET_DIPOLE, b"", 6)
        return np.array(struct.unpack("<hhh", reply), dtype=float) * DIPOLE_LSB_AM2

    def _command(self, code: int, params: bytes, n_payload: int = 0) -> bytes:
        self._xfer(_CODE_BYTES[code] + params)
        reply = self._xfer(b"", 2 + n_payload)
        if reply[0] != code:
            raise self._fail(DataError(
                f"reply echoes command 0x{reply[0]:02X}, sent 0x{code:02X}"))
        result = reply[1] & 0x0F
        if result:
            text = STATUS_TEXT.get(result, f"status code {result}")
            raise self._fail(CommandRejectedError(f"command 0x{code:02X}: {text}"))
        return reply[2:]
