"""Bus interfaces shaped like CircuitPython's `busio`.

A driver holds one of these objects and never knows which backend is behind
it: `hal.sim` (register-level emulators in this process), `hal.linux`
(smbus2, spidev, pyserial, python-can) or, later, a `tunnel` backend that
carries the same transactions to a bench over a serial link.

Each interface reduces to one small primitive a backend implements:

- I2C: `_transfer(address, out, n_in) -> bytes`, a write of `out` followed
  (after a repeated start) by a read of `n_in` bytes, either part may be empty;
  and `_probe(address) -> bool` for `scan()`.

That primitive is also what a tunnel backend puts on the wire, so a bench
sees exactly the transactions flight would.
"""

from __future__ import annotations

import threading

from hal import BusBusyError, DataError

__all__ = ["I2C", "Lockable"]

_Buffer = bytes | bytearray | memoryview


class Lockable:
    """The busio locking protocol: `try_lock()`/`unlock()`, or `with bus:`.

    The lock serialises whole device operations (a driver takes it once
    for a register read sequence), not single bytes. `with bus:` waits at most
    `lock_timeout_s` and raises `BusBusyError` rather than blocking a rate group.
    """

    name: str
    lock_timeout_s: float = 0.05

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()

    def try_lock(self) -> bool:
        """Take the bus lock if free; True when taken (busio semantics)."""
        return self._lock.acquire(False)

    def unlock(self) -> None:
        """Release the bus lock taken by `try_lock`."""
        self._lock.release()

    def __enter__(self):
        if not self._lock.acquire(True, self.lock_timeout_s):
            raise BusBusyError(f"lock not free within {self.lock_timeout_s * 1e3:.0f} ms",
                               bus=self.name)
        return self

    def __exit__(self, *exc_info) -> None:
        self._lock.release()

    def deinit(self) -> None:
        """Release backend resources (file descriptors); default: nothing to do."""


class I2C(Lockable):
    """I2C controller (busio.I2C shape). Addresses are 7-bit (0x00-0x7F).

    Backends subclass this and implement `_transfer` and `_probe`. Failures
    raise `hal.NackError` (no acknowledge) or `hal.BusTimeoutError`, located
    with this bus's name and the address.
    """

    def scan(self) -> list[int]:
        """Addresses 0x08-0x77 that acknowledge, in ascending order."""
        return [a for a in range(0x08, 0x78) if self._probe(a)]

    def writeto(self, address: int, buffer: _Buffer, *, start: int = 0,
                end: int | None = None) -> None:
        """Write buffer[start:end] to the target at `address`, then STOP."""
        self._transfer(address, bytes(buffer[start:end]), 0)

    def readfrom_into(self, address: int, buffer: bytearray | memoryview, *,
                      start: int = 0, end: int | None = None) -> None:
        """Read len(buffer[start:end]) bytes from `address` into that slice."""
        end = len(buffer) if end is None else end
        n = end - start
        data = self._transfer(address, b"", n)
        self._check_len(address, data, n)
        buffer[start:end] = data

    def writeto_then_readfrom(self, address: int, out_buffer: _Buffer,
                              in_buffer: bytearray | memoryview, *, out_start: int = 0,
                              out_end: int | None = None, in_start: int = 0,
                              in_end: int | None = None) -> None:
        """Write out_buffer[out_start:out_end], repeated start, read into
        in_buffer[in_start:in_end]: one combined transaction, one STOP."""
        in_end = len(in_buffer) if in_end is None else in_end
        n = in_end - in_start
        data = self._transfer(address, bytes(out_buffer[out_start:out_end]), n)
        self._check_len(address, data, n)
        in_buffer[in_start:in_end] = data

    def transfer(self, address: int, out: bytes, n_in: int = 0) -> bytes:
        """Write `out` then read `n_in` bytes in one combined transaction.

        The allocation-light form drivers use on their hot path; returns
        exactly `n_in` bytes or raises a `HalError`.
        """
        data = self._transfer(address, out, n_in)
        if len(data) != n_in:
            self._check_len(address, data, n_in)
        return data

    def _check_len(self, address: int, data: bytes, n: int) -> None:
        if len(data) != n:
            raise DataError(f"backend returned {len(data)} bytes, {n} requested",
                            bus=self.name, address=address)

    # Backend primitives -------------------------------------------------
    def _transfer(self, address: int, out: bytes, n_in: int) -> bytes:  # pragma: no cover
        raise NotImplementedError

    def _probe(self, address: int) -> bool:  # pragma: no cover
        raise NotImplementedError


def check_address(address: int) -> int:
    """Validate a 7-bit I2C address (raises ValueError: a programming error)."""
    if not 0 <= address <= 0x7F:
        raise ValueError(f"I2C address 0x{address:X} is not a 7-bit address")
    return address

