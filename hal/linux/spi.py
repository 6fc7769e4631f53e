"""SPI on Linux spidev (/dev/spidevB.C) through the `spidev` module."""

from __future__ import annotations

import errno

from hal import ConfigError, HalError
from hal.busio import SPI

__all__ = ["SPIDEV_BUFSIZ", "LinuxSPI", "spidev_path"]

SPIDEV_BUFSIZ = 4096  # default spidev.bufsiz module parameter: largest frame


def spidev_path(bus: int, cs: int) -> str:
    return f"/dev/spidev{bus}.{cs}"


class LinuxSPI(SPI):
    """SPI bus `bus` of the kernel; chip select C is /dev/spidev{bus}.C,
    opened on first use and configured with the bus's mode and clock."""

    def __init__(self, name: str, bus: int = 0) -> None:
        super().__init__(name)
        self.bus = bus
        self._devs: dict[int, object] = {}

    def _dev(self, cs: int):
        dev = self._devs.get(cs)
        if dev is None:
            import spidev

            dev = spidev.SpiDev()
            try:
                dev.open(self.bus, cs)
            except OSError as exc:
                raise ConfigError(f"cannot open {spidev_path(self.bus, cs)}: "
                                  f"{exc.strerror}", bus=self.name, address=cs) from exc
            self._devs[cs] = dev
        dev.mode = (self.polarity << 1) | self.phase
        dev.max_speed_hz = int(self.baudrate)
        dev.bits_per_word = self.bits
        return dev

    def _exchange(self, cs: int, tx: bytes) -> bytes:
        if len(tx) > SPIDEV_BUFSIZ:
            raise ValueError(f"spidev frames are limited to {SPIDEV_BUFSIZ} bytes")
        dev = self._dev(cs)
        try:
            return bytes(dev.xfer2(list(tx)))
        except OSError as exc:
            raise HalError(f"spidev transfer failed "
                           f"({errno.errorcode.get(exc.errno or 0, exc.errno)})",
                           bus=self.name, address=cs) from exc

    def deinit(self) -> None:
        for dev in self._devs.values():
            dev.close()
        self._devs.clear()
