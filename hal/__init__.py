"""Hardware abstraction: bus interfaces, backends, device drivers, emulators.

Every failure that comes from a bus or a device raises a subclass of
`HalError`. The message names the bus, the address and the device where they
are known, so an operator reading an event can find the part on the harness.

    try:
        mag.read_field_t()
    except hal.HalError as exc:
        exc.kind     # "nack", "timeout", "device_id", "checksum", "data", ...
        exc.bus      # "i2c0"
        exc.address  # 0x20
        exc.device   # "PNI RM3100"
        exc.reason   # human-readable detail
"""

from __future__ import annotations

__all__ = [
    "BusBusyError",
    "BusTimeoutError",
    "ChecksumError",
    "CommandRejectedError",
    "ConfigError",
    "DataError",
    "DeviceIdError",
    "HalError",
    "NackError",
]


class HalError(Exception):
    """Base of every hardware-abstraction error.

    `reason` says what went wrong; `bus`, `address` and `device` locate it
    (any of them may be None when not known at the point of failure).
    """

    kind = "hal"

    def __init__(self, reason: str, *, bus: str | None = None,
                 address: int | None = None, device: str | None = None) -> None:
        self.reason = reason
        self.bus = bus
        self.address = address
        self.device = device
        super().__init__(self._text())

    def _text(self) -> str:
        where = []
        if self.device is not None:
            where.append(self.device)
        if self.bus is not None:
            where.append(f"bus {self.bus}")
        if self.address is not None:
            where.append(f"address 0x{self.address:02X}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def located(self, *, bus: str | None = None, address: int | None = None,
                device: str | None = None) -> HalError:
        """Fill in whatever location is still unknown; returns self."""
        if self.bus is None:
            self.bus = bus
        if self.address is None:
            self.address = address
        if self.device is None:
            self.device = device
        self.args = (self._text(),)
        return self


class NackError(HalError):
    """The addressed target did not acknowledge (absent, unpowered, or resetting)."""

    kind = "nack"


class BusTimeoutError(HalError):
    """A transfer did not complete within its bounded timeout."""

    kind = "timeout"


class BusBusyError(HalError):
    """The bus lock could not be taken within the allowed time."""

    kind = "busy"


class DeviceIdError(HalError):
    """The device at the address is not the part the driver was built for."""

    kind = "device_id"


class ChecksumError(HalError):
    """Bytes from a device failed their checksum or CRC."""

    kind = "checksum"


class DataError(HalError):
    """Bytes from a device are malformed, truncated or out of range."""

    kind = "data"


class CommandRejectedError(HalError):
    """The device answered but refused a command (its status byte says why)."""

    kind = "rejected"


class ConfigError(HalError):
    """A device configuration (TOML) is inconsistent or names an unknown backend."""

    kind = "config"


# Before any compiled module can be imported: run mypyc's build of them only
# when it is complete and current (hal/_compiled.py).
from hal._compiled import use_source as _use_source  # noqa: E402

_use_source()
