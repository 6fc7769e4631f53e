"""I2C on Linux i2c-dev through smbus2.

A `transfer(address, out, n_in)` becomes one `I2C_RDWR` ioctl with a write
message and a read message (repeated start, one STOP), as
`linux/i2c-dev.h` defines it; smbus2's `i2c_msg` builds the
`struct i2c_msg` array.
"""

from __future__ import annotations

import errno
import fcntl

from hal import BusBusyError, BusTimeoutError, ConfigError, HalError, NackError
from hal.busio import I2C

__all__ = ["I2C_TIMEOUT", "LinuxI2C", "build_messages", "error_from_errno"]

I2C_TIMEOUT = 0x0702  # linux/i2c-dev.h; argument in units of 10 ms
I2C_RDWR_MAX_MSGS = 42  # linux/i2c-dev.h I2C_RDWR_IOCTL_MAX_MSGS
I2C_MAX_LEN = 8192  # i2c-dev refuses longer messages


def build_messages(address: int, out: bytes, n_in: int) -> list:
    """The smbus2 `i2c_msg` list for one combined transaction."""
    from smbus2 import i2c_msg

    if len(out) > I2C_MAX_LEN or n_in > I2C_MAX_LEN:
        raise ValueError(f"i2c-dev messages are limited to {I2C_MAX_LEN} bytes")
    msgs = []
    if out:
        msgs.append(i2c_msg.write(address, out))
    if n_in:
        msgs.append(i2c_msg.read(address, n_in))
    return msgs


def error_from_errno(exc: OSError, *, bus: str, address: int) -> HalError:
    """Map an i2c-dev failure to its HalError (see the kernel's
    Documentation/i2c/fault-codes.rst)."""
    code = exc.errno
    text = f"{errno.errorcode.get(code or 0, code)}: {exc.strerror}"
    if code in (errno.ENXIO, errno.EREMOTEIO, errno.ENODEV):
        return NackError(f"no acknowledge ({text})", bus=bus, address=address)
    if code == errno.ETIMEDOUT:
        return BusTimeoutError(f"transfer timed out ({text})", bus=bus, address=address)
    if code == errno.EAGAIN:
        return BusBusyError(f"arbitration lost ({text})", bus=bus, address=address)
    return HalError(f"i2c-dev transfer failed ({text})", bus=bus, address=address)


class LinuxI2C(I2C):
    """An i2c-dev adapter, e.g. `LinuxI2C("i2c0", "/dev/i2c-1")`.

    timeout_s: kernel-side transfer timeout (I2C_TIMEOUT, 10 ms units), so a
    target holding SCL low cannot block the caller indefinitely.
    """

    def __init__(self, name: str, device: str = "/dev/i2c-1", *,
                 timeout_s: float = 0.05) -> None:
        super().__init__(name)
        from smbus2 import SMBus

        self.device = device
        try:
            self._smbus = SMBus(device)
        except OSError as exc:
            if exc.errno == errno.ENOTTY:
                raise ConfigError(f"{device} is not an i2c-dev adapter", bus=name) from exc
            raise ConfigError(f"cannot open {device}: {exc.strerror}", bus=name) from exc
        try:
            fcntl.ioctl(self._smbus.fd, I2C_TIMEOUT, max(1, round(timeout_s / 0.01)))
        except OSError as exc:
            self._smbus.close()
            raise ConfigError(f"{device} is not an i2c-dev adapter ({exc.strerror})",
                              bus=name) from exc

    def _transfer(self, address: int, out: bytes, n_in: int) -> bytes:
        msgs = build_messages(address, out, n_in)
        try:
            self._smbus.i2c_rdwr(*msgs)
        except OSError as exc:
            raise error_from_errno(exc, bus=self.name, address=address) from exc
        return bytes(msgs[-1]) if n_in else b""

    def _probe(self, address: int) -> bool:
        # A one-byte read, as i2cdetect -r does: no target sees a write.
        try:
            self._transfer(address, b"", 1)
        except NackError:
            return False
        return True

    def deinit(self) -> None:
        self._smbus.close()
