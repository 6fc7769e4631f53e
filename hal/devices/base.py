"""What every register/command device driver shares: bounded retries, a time
budget and health counters, over any bus with `transfer(address, out, n_in)`
(I2C: address; SPI: chip select)."""

from __future__ import annotations

import time
from collections.abc import Callable

from hal import BusTimeoutError, ChecksumError, HalError, NackError
from hal._compiled import mypyc_attr
from hal.busio import I2C, SPI, RegisterBus, check_address
from hal.health import Health

__all__ = ["Device", "I2CDevice"]

# Transient failures worth repeating: a NACK during a device's busy window,
# a timed-out transfer, a byte corrupted on the wire.
TRANSIENT = (NackError, BusTimeoutError, ChecksumError)


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class Device:
    """Base of the register and command drivers on I2C or SPI.

    retries:  extra attempts after a transient failure (NACK, timeout, checksum).
    budget_s: wall-time budget for one transaction including its retries; once
              spent, the driver stops retrying and raises, so a rate group is
              never held beyond it by this device.
    """

    #: Name of the real part the driver is written for.
    part = "device"

    def __init__(self, bus: I2C | SPI, address: int, *, retries: int = 2,
                 budget_s: float = 0.02) -> None:
        # Typed as the buses' common class: compiled, `with self.bus:` and
        # `self.bus.transfer` are then direct calls, not generic ones.
        self.bus: RegisterBus = bus
        self.i2c: RegisterBus = bus  # the name drivers written for I2C use
        self.address = check_address(address) if isinstance(bus, I2C) else address
        self.retries = retries
        self.budget_s = budget_s
        self.health = Health()

    def _xfer(self, out: bytes, n_in: int = 0,
              check: Callable[[bytes], None] | None = None) -> bytes:
        """One transaction with the device, `check`ed, retried on transient failure.

        `check(reply)` raises a `HalError` when the reply is bad; a
        `ChecksumError` there is retried like a NACK, a `DataError` is not.
        """
        attempt = 0
        start = 0.0
        health = self.health
        while True:
            health.transactions += 1
            try:
                data = self.bus.transfer(self.address, out, n_in)
                if check is not None:
                    check(data)
                return data
            except HalError as exc:
                exc.located(bus=self.bus.name, address=self.address, device=self.part)
                health.record(exc)
                if attempt == 0:
                    start = time.perf_counter()
                if (not isinstance(exc, TRANSIENT) or attempt >= self.retries
                        or time.perf_counter() - start > self.budget_s):
                    health.failures += 1
                    raise
                attempt += 1
                health.retries += 1

    def _fail(self, exc: HalError) -> HalError:
        """Locate and count an error found after the transfer; returns it to raise."""
        exc.located(bus=self.bus.name, address=self.address, device=self.part)
        self.health.record(exc)
        self.health.failures += 1
        return exc


I2CDevice = Device
