"""UART emulation: byte-stream devices, an in-process `sim` UART backend,
and a host that serves an emulator on a real pseudo-terminal.

A pty (like any in-process pipe) does not pace bytes at the baud rate, so
the emulator does: every byte it sends becomes available 10 bit times
(start + 8 data + stop) after the previous one, on the emulator's clock.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

from hal._compiled import mypyc_attr
from hal.busio import UART

__all__ = ["PtyHost", "SimUART", "StreamTarget"]


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class StreamTarget:
    """A device on the other end of a UART.

    Subclasses implement `on_receive(data)` and call `emit(data)` to send;
    `advance(t_s)` moves the emulator's clock, releasing paced bytes.
    Faults: `silent` (sends nothing, ignores input), `garble_rate`
    (per-byte probability of one flipped bit, seeded), `stuck` (the
    device's measurements freeze), or uniformly with the register
    emulators: `inject_fault(kind, rate=..., duration_s=...)`.
    """

    part = "UART device"
    #: Bytes the receiving side holds unread, like the kernel's 4 KiB tty
    #: buffer: what the device sends beyond that before it is read is lost.
    rx_buffer_bytes = 4096

    def __init__(self, *, baudrate: int = 9600, seed: int = 0) -> None:
        import numpy as np

        self.baudrate = baudrate
        self.rng = np.random.default_rng(seed)
        self.t_s = 0.0
        self.line_free_s = 0.0  # when the TX line finishes the queued bytes
        # Bursts sent, oldest first: [time its first byte has fully arrived,
        # byte time, bytes, how many of them were taken]. Byte i of a burst
        # has arrived at first + i * byte time.
        self._tx: deque[list] = deque()
        self._unread = 0  # bytes in _tx not yet taken
        self.silent = False
        self.garble_rate = 0.0
        self.stuck = False
        self._brownout_until_s = -1.0
        self.received = bytearray()
        self.overrun_bytes = 0

    @property
    def byte_time_s(self) -> float:
        return 10.0 / self.baudrate

    def advance(self, t_s: float) -> None:
        """Set the emulator clock (simulation time, s); subclasses emit here."""
        self.t_s = t_s
        if 0.0 <= self._brownout_until_s <= t_s:
            self._brownout_until_s = -1.0
            self.silent = False

    def inject_fault(self, kind: str, *, rate: float = 0.01, duration_s: float = 0.0) -> None:
        """`nack` and `timeout`: the device stops talking and listening;
        `bit_flip`: bytes it sends are garbled at `rate`; `stuck`: its
        measurements freeze; `brownout`: power-on reset, silent for
        `duration_s`."""
        if kind in ("nack", "timeout"):
            self.silent = True
        elif kind == "bit_flip":
            if not 0.0 < rate <= 1.0:
                raise ValueError("bit_flip rate must be in (0, 1]")
            self.garble_rate = rate
        elif kind == "stuck":
            self.stuck = True
        elif kind == "brownout":
            self._tx.clear()
            self._unread = 0
            self.line_free_s = self.t_s
            self.power_on_reset()
            if duration_s > 0.0:
                self.silent = True
                self._brownout_until_s = self.t_s + duration_s
        else:
            raise ValueError(f"unknown fault {kind!r}")

    def clear_faults(self) -> None:
        self.silent = self.stuck = False
        self.garble_rate = 0.0
        self._brownout_until_s = -1.0

    def power_on_reset(self) -> None:
        """Return to the power-on state; subclasses override."""

    def emit(self, data: bytes) -> None:
        """Send bytes, paced at the baud rate from now or when the line frees."""
        if self.silent:
            return
        if self.garble_rate:
            garbled = bytearray(data)
            for i in range(len(garbled)):
                if self.rng.random() < self.garble_rate:
                    garbled[i] ^= 1 << int(self.rng.integers(8))
            data = bytes(garbled)
        t = max(self.t_s, self.line_free_s)
        bt = self.byte_time_s
        room = max(self.rx_buffer_bytes - self._unread, 0)
        kept = bytes(data[:room])
        if kept:
            self._tx.append([t + bt, bt, kept, 0])
            self._unread += len(kept)
        if len(data) > len(kept):
            # Nobody is reading (a receiver no app polls): the rest overruns,
            # though it still took its time on the line.
            self.overrun_bytes += len(data) - len(kept)
        self.line_free_s = t + len(data) * bt

    def _arrived(self, burst: list) -> int:
        """Bytes of `burst` that have fully arrived by the emulator's time."""
        first_s, bt, data, _ = burst
        now = self.t_s + 1e-9  # a nanosecond of slack for float rounding
        if now < first_s:
            return 0
        return min(int((now - first_s) / bt) + 1, len(data))

    def take(self, n: int) -> bytes:
        """Up to n bytes that have finished arriving by the emulator's time."""
        out = bytearray()
        tx = self._tx
        while tx and len(out) < n:
            burst = tx[0]
            arrived = self._arrived(burst)
            taken = burst[3]
            k = min(arrived - taken, n - len(out))
            if k <= 0:
                break
            out += burst[2][taken:taken + k]
            burst[3] = taken = taken + k
            if taken < len(burst[2]):
                break  # the rest of this burst is still on the line, or not asked for
            tx.popleft()
        self._unread -= len(out)
        return bytes(out)

    def available(self) -> int:
        count = 0
        for burst in self._tx:
            arrived = self._arrived(burst)
            count += arrived - burst[3]
            if arrived < len(burst[2]):
                break
        return count

    def receive(self, data: bytes) -> None:
        """Bytes from the driver."""
        if self.silent:
            return
        self.received += data
        del self.received[:-4096]
        self.on_receive(data)

    def on_receive(self, data: bytes) -> None:
        """Handle bytes from the driver; default: ignore (a talker-only part)."""


class SimUART(UART):
    """In-process UART wired to a `StreamTarget`, in the emulator's time.

    Reads never wait: in virtual time there is nothing to wait for; they
    return what the emulator has finished sending by its current time.
    """

    def __init__(self, name: str = "uart0", target: StreamTarget | None = None, *,
                 baudrate: int = 9600, timeout: float = 0.0) -> None:
        super().__init__(name, baudrate=baudrate, timeout=timeout)
        self.target = target

    def attach(self, target: StreamTarget) -> None:
        self.target = target

    @property
    def in_waiting(self) -> int:
        return self.target.available() if self.target is not None else 0

    def reset_input_buffer(self) -> None:
        if self.target is not None:
            self.target.take(1 << 30)

    def _read(self, n: int, timeout_s: float) -> bytes:
        return self.target.take(n) if self.target is not None else b""

    def _readline(self, max_bytes: int, timeout_s: float) -> bytes:
        out = bytearray()
        while len(out) < max_bytes:
            b = self._read(1, 0.0)
            if not b:
                break
            out += b
            if b == b"\n":
                break
        return bytes(out)

    def _write(self, data: bytes) -> int:
        if self.target is not None and self.target.baudrate == self.baudrate:
            self.target.receive(data)
        # At a baud-rate mismatch the part sees framing errors: nothing useful.
        return len(data)


class PtyHost:
    """Serves a `StreamTarget` on a pseudo-terminal in real time.

    The emulator's clock follows the wall clock from `start()`, so its bytes
    reach the pty at the baud rate; bytes the driver writes are fed to the
    emulator. `port` is the path a driver opens (e.g. with pyserial).
    """

    def __init__(self, target: StreamTarget, *, poll_s: float = 0.002) -> None:
        import tty

        self.target = target
        self.poll_s = poll_s
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._reader_thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def start(self) -> PtyHost:
        self._t0 = time.monotonic()
        self._reader_thread.start()
        return self

    def _run(self) -> None:
        import select

        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], self.poll_s)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                self.target.receive(data)
            self.target.advance(time.monotonic() - self._t0)
            out = self.target.take(4096)
            if out:
                try:
                    os.write(self.master, out)
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        if self._reader_thread.is_alive():
            self._reader_thread.join(2.0)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> PtyHost:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()
