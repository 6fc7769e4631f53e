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
import time

from hal import BusBusyError, DataError
from hal._compiled import mypyc_attr

__all__ = ["CAN", "I2C", "SPI", "UART", "CanMessage", "Listener", "Lockable", "Match",
           "RegisterBus"]

_Buffer = bytes | bytearray | memoryview


@mypyc_attr(allow_interpreted_subclasses=True)  # backends subclass it outside the compiled modules
class Lockable:
    """The busio locking protocol: `try_lock()`/`unlock()`, or `with bus:`.

    The lock serialises whole device operations (a driver takes it once
    for a register read sequence), not single bytes. `with bus:` waits at most
    `lock_timeout_s` and raises `BusBusyError` rather than blocking a rate group.

    The lock is one token in a list: taking it is `pop()`, releasing it
    `append()`, each atomic under the interpreter lock whether compiled or
    not, and a fraction of the cost of `threading.Lock.acquire`, which every
    device operation pays. Only a caller that finds the bus taken waits, on
    a condition the holder notifies when it unlocks.
    """

    name: str
    lock_timeout_s: float = 0.05

    def __init__(self, name: str) -> None:
        self.name = name
        self._token: list[bool] = [True]
        self._waiters = 0
        self._freed = threading.Condition(threading.Lock())

    def try_lock(self) -> bool:
        """Take the bus lock if free; True when taken (busio semantics)."""
        token = self._token
        if not token:
            return False
        try:
            token.pop()  # another thread may have taken it since the test
        except IndexError:
            return False
        return True

    def unlock(self) -> None:
        """Release the bus lock taken by `try_lock`."""
        if self._token:
            raise RuntimeError(f"{self.name}: unlock of a bus lock not held")
        self._token.append(True)
        if self._waiters:
            with self._freed:
                self._freed.notify()

    def __enter__(self):
        if self.try_lock():
            return self
        deadline = time.monotonic() + self.lock_timeout_s
        with self._freed:
            # Counted before testing again: a holder that unlocks from here on
            # sees the waiter and notifies; one that unlocked before, the test sees.
            self._waiters += 1
            try:
                while not self.try_lock():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0.0:
                        raise BusBusyError(
                            f"lock not free within {self.lock_timeout_s * 1e3:.0f} ms",
                            bus=self.name)
                    self._freed.wait(remaining)
            finally:
                self._waiters -= 1
        return self

    def __exit__(self, *exc_info) -> None:
        self.unlock()

    def deinit(self) -> None:
        """Release backend resources (file descriptors); default: nothing to do."""


@mypyc_attr(allow_interpreted_subclasses=True)  # backends subclass it outside the compiled modules
class RegisterBus(Lockable):
    """What I2C and SPI share for register drivers: the lock, and
    `transfer(address, out, n_in)` (I2C: address; SPI: chip select).

    Drivers hold their bus as this one class rather than `I2C | SPI`:
    compiled, a call on a union is a generic Python call (`with bus:`
    included), on a class a direct one.
    """

    def transfer(self, address: int, out: bytes, n_in: int = 0) -> bytes:  # pragma: no cover
        """Write `out` then read `n_in` bytes in one transaction; exactly `n_in` back."""
        raise NotImplementedError


@mypyc_attr(allow_interpreted_subclasses=True)  # backends subclass it outside the compiled modules
class I2C(RegisterBus):
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



@mypyc_attr(allow_interpreted_subclasses=True)  # backends subclass it outside the compiled modules
class SPI(RegisterBus):
    """SPI controller (busio.SPI shape) with numbered chip selects.

    CircuitPython drives chip select from a separate pin; here the bus owns
    its chip selects (as Linux spidev does: /dev/spidevB.C), and every call is
    one frame with chip select asserted for its duration. `select(cs)` picks
    the device the busio calls address.

    Backends implement `_exchange(cs, tx) -> rx`: one full-duplex frame,
    len(rx) == len(tx).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.cs = 0
        self.baudrate = 100_000
        self.polarity = 0
        self.phase = 0
        self.bits = 8

    def configure(self, *, baudrate: int = 100_000, polarity: int = 0, phase: int = 0,
                  bits: int = 8) -> None:
        """Clock rate (Hz), mode (CPOL, CPHA) and word size for following frames."""
        if polarity not in (0, 1) or phase not in (0, 1) or bits != 8:
            raise ValueError("SPI mode needs polarity and phase in {0, 1} and 8-bit words")
        self.baudrate, self.polarity, self.phase, self.bits = baudrate, polarity, phase, bits

    def select(self, cs: int) -> None:
        """Address following busio calls to chip select `cs`."""
        self.cs = cs

    def write(self, buffer: _Buffer, *, start: int = 0, end: int | None = None) -> None:
        """Clock out buffer[start:end], discarding what comes back."""
        self._exchange(self.cs, bytes(buffer[start:end]))

    def readinto(self, buffer: bytearray | memoryview, *, start: int = 0,
                 end: int | None = None, write_value: int = 0) -> None:
        """Clock in len(buffer[start:end]) bytes while sending `write_value`."""
        end = len(buffer) if end is None else end
        buffer[start:end] = self._checked(bytes([write_value]) * (end - start))

    def write_readinto(self, out_buffer: _Buffer, in_buffer: bytearray | memoryview, *,
                       out_start: int = 0, out_end: int | None = None, in_start: int = 0,
                       in_end: int | None = None) -> None:
        """Full duplex: send out_buffer[out_start:out_end] while reading the
        same number of bytes into in_buffer[in_start:in_end]."""
        out = bytes(out_buffer[out_start:out_end])
        in_end = len(in_buffer) if in_end is None else in_end
        if len(out) != in_end - in_start:
            raise ValueError("write_readinto needs equal out and in lengths")
        in_buffer[in_start:in_end] = self._checked(out)

    def transfer(self, cs: int, out: bytes, n_in: int = 0) -> bytes:
        """One frame on chip select `cs`: send `out`, then clock in `n_in`
        bytes (sending zeros); returns those `n_in` bytes. The register-read
        shape drivers use."""
        rx = self._exchange(cs, out + bytes(n_in))
        if len(rx) != len(out) + n_in:
            raise DataError(f"backend returned {len(rx)} bytes for a "
                            f"{len(out) + n_in}-byte frame", bus=self.name, address=cs)
        return rx[len(out):]

    def _checked(self, tx: bytes) -> bytes:
        rx = self._exchange(self.cs, tx)
        if len(rx) != len(tx):
            raise DataError(f"backend returned {len(rx)} bytes for {len(tx)} sent",
                            bus=self.name, address=self.cs)
        return rx

    def _exchange(self, cs: int, tx: bytes) -> bytes:  # pragma: no cover
        raise NotImplementedError


@mypyc_attr(allow_interpreted_subclasses=True)  # backends subclass it outside the compiled modules
class UART:
    """Serial port (busio.UART shape). Reads wait at most `timeout` seconds
    and return what arrived (possibly nothing), never block longer.

    Backends implement `_read(n, timeout_s) -> bytes`, `_write(data) -> int`,
    `in_waiting` and `reset_input_buffer()`.
    """

    def __init__(self, name: str, *, baudrate: int = 9600, timeout: float = 1.0) -> None:
        self.name = name
        self.baudrate = baudrate
        self.timeout = timeout

    def read(self, nbytes: int | None = None) -> bytes | None:
        """Up to `nbytes` bytes (default: what is waiting, at least one
        awaited), or None if none arrived within the timeout (busio semantics)."""
        n = nbytes if nbytes is not None else max(1, self.in_waiting)
        data = self._read(n, self.timeout)
        return data or None

    def readinto(self, buf: bytearray | memoryview) -> int | None:
        """Read into buf; returns the count, or None on timeout with nothing read."""
        data = self._read(len(buf), self.timeout)
        if not data:
            return None
        buf[:len(data)] = data
        return len(data)

    def readline(self, max_bytes: int = 256) -> bytes | None:
        """Bytes up to and including b"\\n", at most `max_bytes`, within the timeout."""
        data = self._readline(max_bytes, self.timeout)
        return data or None

    def write(self, buf: _Buffer) -> int:
        """Queue bytes for sending; returns the count written."""
        return self._write(bytes(buf))

    @property
    def in_waiting(self) -> int:  # pragma: no cover
        raise NotImplementedError

    def reset_input_buffer(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def deinit(self) -> None:
        """Close the port."""

    def _read(self, n: int, timeout_s: float) -> bytes:  # pragma: no cover
        raise NotImplementedError

    def _readline(self, max_bytes: int, timeout_s: float) -> bytes:  # pragma: no cover
        raise NotImplementedError

    def _write(self, data: bytes) -> int:  # pragma: no cover
        raise NotImplementedError


class CanMessage:
    """One CAN frame (canio.Message shape): `id`, `data` (0-8 bytes), `extended`."""

    __slots__ = ("data", "extended", "id")

    def __init__(self, id: int, data: bytes = b"", *, extended: bool = False) -> None:
        limit = 0x1FFFFFFF if extended else 0x7FF
        if not 0 <= id <= limit:
            raise ValueError(f"CAN id 0x{id:X} out of range for a "
                             f"{'29' if extended else '11'}-bit identifier")
        if len(data) > 8:
            raise ValueError("classic CAN carries at most 8 data bytes")
        self.id = id
        # A `bytes` payload (drivers' and emulators' frames) is immutable and
        # kept as it is; anything else is copied.
        self.data = data if type(data) is bytes else bytes(data)
        self.extended = extended

    @classmethod
    def checked_by_caller(cls, id: int, data: bytes, extended: bool = False) -> CanMessage:
        """A frame whose identifier range and `bytes` payload of at most 8
        the caller has already ensured (a driver's or emulator's own fixed
        frames). It is made by the constructor all the same: a compiled class
        is only made through it, and compiled its checks cost next to nothing.
        Named, not called through `cls`: compiled, that is a direct call rather
        than a generic one with keywords (CanMessage has no subclasses)."""
        return CanMessage(id, data, extended=extended)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CanMessage) and self.id == other.id
                and self.data == other.data and self.extended == other.extended)

    def __hash__(self) -> int:
        return hash((self.id, self.data, self.extended))

    def __repr__(self) -> str:
        return f"CanMessage(0x{self.id:X}, {self.data.hex()}, extended={self.extended})"


class Match:
    """A receive filter (canio.Match shape): a frame passes when
    `frame.id & mask == id & mask` and the identifier kinds agree."""

    __slots__ = ("extended", "id", "mask")

    def __init__(self, id: int, *, mask: int | None = None, extended: bool = False) -> None:
        self.id = id
        self.mask = mask if mask is not None else (0x1FFFFFFF if extended else 0x7FF)
        self.extended = extended

    def matches(self, msg: CanMessage) -> bool:
        return msg.extended == self.extended and (msg.id & self.mask) == (self.id & self.mask)


class Listener:
    """Frames that passed this listener's filters, in arrival order (bounded:
    when full, the oldest is dropped and counted in `dropped`)."""

    def __init__(self, can: CAN, matches: list[Match] | None, timeout: float,
                 depth: int = 64) -> None:
        from collections import deque

        self.can = can
        self.matches = list(matches or [])
        self.timeout = timeout
        self.queue: deque[CanMessage] = deque(maxlen=depth)
        self.depth = depth
        self.dropped = 0
        # Filters on exact identifiers (the usual case) reduce to a set lookup:
        # every frame on the bus passes through here, for every listener.
        full = {False: 0x7FF, True: 0x1FFFFFFF}
        exact = all(m.mask == full[m.extended] for m in self.matches)
        self._exact = ({(m.id, m.extended) for m in self.matches}
                       if self.matches and exact else None)

    def accepts(self, msg: CanMessage) -> bool:
        if self._exact is not None:
            return (msg.id, msg.extended) in self._exact
        return not self.matches or any(m.matches(msg) for m in self.matches)

    def offer(self, msg: CanMessage) -> None:
        if len(self.queue) == self.depth:
            self.dropped += 1
        self.queue.append(msg)

    def receive(self) -> CanMessage | None:
        """Next matching frame, waiting at most `timeout` s; None if none came."""
        if not self.queue:
            self.can._pump(self.timeout, self)
        return self.queue.popleft() if self.queue else None

    def in_waiting(self) -> int:
        """Matching frames already queued (after draining the backend)."""
        self.can._pump(0.0, None)
        return len(self.queue)

    def deinit(self) -> None:
        self.can._listeners.remove(self)
        self.can._listeners_changed()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info) -> None:
        self.deinit()


@mypyc_attr(allow_interpreted_subclasses=True)  # backends subclass it outside the compiled modules
class CAN(Lockable):
    """CAN controller (canio.CAN shape): `send(message)` and
    `listen(matches, timeout) -> Listener`.

    Backends implement `_send(msg)` and `_recv(timeout_s) -> CanMessage | None`.
    Received frames are dispatched to every listener whose filters pass them.
    """

    max_pump = 256

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._listeners: list[Listener] = []

    def send(self, message: CanMessage) -> None:
        """Queue one frame for transmission."""
        self._send(message)

    def listen(self, matches: list[Match] | None = None, *, timeout: float = 0.01,
               depth: int = 64) -> Listener:
        """A new listener for frames passing any of `matches` (all if none)."""
        listener = Listener(self, matches, timeout, depth)
        self._listeners.append(listener)
        self._listeners_changed()
        return listener

    def _listeners_changed(self) -> None:
        """A listener came or went (a backend that routes frames re-indexes here)."""

    def _pump(self, timeout_s: float, waiting: Listener | None) -> None:
        """Move frames from the backend to listeners until `waiting` has one
        or `timeout_s` passes (0: only what is already there)."""
        deadline = time.monotonic() + timeout_s
        # Bounded: a flooded bus cannot hold the caller beyond max_pump frames.
        for _ in range(self.max_pump):
            remaining = max(0.0, deadline - time.monotonic())
            msg = self._recv(remaining)
            if msg is None:
                return
            for listener in self._listeners:
                if listener.accepts(msg):
                    listener.offer(msg)
            if waiting is not None and waiting.queue:
                return

    def _send(self, message: CanMessage) -> None:  # pragma: no cover
        raise NotImplementedError

    def _recv(self, timeout_s: float) -> CanMessage | None:  # pragma: no cover
        raise NotImplementedError
