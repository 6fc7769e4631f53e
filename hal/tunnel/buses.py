"""The `tunnel` backend's buses: each primitive is one request over the bench link.

The bench's emulator answers with the bytes a real part would have put on
the wire, or with the failure it had (no acknowledge, timeout), which is
raised here as the same `hal` error the `sim` and `linux` backends raise.

Posted writes (the HAL contract, docs/hal.md): a transaction that returns
no data (an I2C write, a UART write, a CAN send) returns at once; it goes
to the bench with the next request that needs an answer, or before the
next transaction addressed to the same part (bus and address), whichever
comes first. If it failed, the driver's next transaction with that part
raises the error the write would have raised (same class, same reason),
without being done. In lockstep, transactions the bench did ahead
(`hal.tunnel.readahead`) are answered without a round trip.
"""

from __future__ import annotations

from collections import deque

from hal import (
    BusBusyError,
    BusTimeoutError,
    ChecksumError,
    ConfigError,
    DataError,
    HalError,
    NackError,
)
from hal.busio import CAN, I2C, SPI, UART, CanMessage
from hal.tunnel.link import BenchLink
from hal.tunnel.messages import (
    pack_bus_request,
    unpack_can_frames,
    unpack_reply,
)
from hal.tunnel.protocol import MsgType, Status
from hal.tunnel.readahead import Target

__all__ = ["TunnelCAN", "TunnelI2C", "TunnelSPI", "TunnelUART"]

_ERRORS: dict[Status, type[HalError]] = {
    Status.NACK: NackError, Status.TIMEOUT: BusTimeoutError, Status.BUSY: BusBusyError,
    Status.DATA: DataError, Status.CHECKSUM: ChecksumError, Status.NO_BUS: ConfigError,
    Status.BAD_REQUEST: DataError, Status.SKIPPED: DataError,
}


class _Tunnelled:
    """Shared request path: one transaction, its status turned into a `hal` error."""

    name: str
    link: BenchLink

    def _call(self, type_: MsgType, payload: bytes, address: int | None, *,
              post: bool = False) -> bytes:
        link = self.link
        target: Target = (self.name, address)
        failed = link.posted_failures.pop(target, None)
        if failed is not None:
            raise self._error(failed, address)
        ahead = link.read_ahead
        reply = None
        if ahead is not None:
            ahead.record(type_, payload, target)
            reply = ahead.take(type_, payload, target)
        if reply is None:
            if post and target not in link.posted_targets:
                link.post(type_, payload, target, self._posted_reply)
                return b""
            patient = link.session.get("mode", "lockstep") == "lockstep"
            try:
                reply = link.exchange([(type_, payload)], patient=patient)[0]
            except HalError as exc:
                raise exc.located(bus=self.name, address=address) from None
            failed = link.posted_failures.pop(target, None)
            if failed is not None:  # an earlier posted write to this part failed
                raise self._error(failed, address)
        try:
            status, data = unpack_reply(reply)
        except HalError as exc:
            raise exc.located(bus=self.name, address=address) from None
        if status is not Status.OK:
            raise self._error(reply, address)
        return data

    def _error(self, reply: bytes, address: int | None) -> HalError:
        status, data = unpack_reply(reply)
        reason = data.decode("utf-8", "replace") or status.name.lower()
        return _ERRORS[status](f"bench: {reason}", bus=self.name, address=address)

    def _posted_reply(self, reply: bytes) -> None:
        """A posted request's answer (OK): nothing to keep unless it carries data."""


class TunnelI2C(_Tunnelled, I2C):
    """An I2C bus whose targets are the bench's emulators."""

    def __init__(self, name: str, link: BenchLink) -> None:
        I2C.__init__(self, name)
        self.link = link

    def _transfer(self, address: int, out: bytes, n_in: int) -> bytes:
        return self._call(MsgType.I2C, pack_bus_request("i2c", self.name, address, n_in,
                                                        data=out), address, post=not n_in)

    def _probe(self, address: int) -> bool:
        try:
            self._call(MsgType.I2C_PROBE, pack_bus_request("i2c_probe", self.name, address),
                       address)
        except NackError:
            return False
        return True


class TunnelSPI(_Tunnelled, SPI):
    """An SPI bus whose chip selects are wired to the bench's emulators."""

    def __init__(self, name: str, link: BenchLink) -> None:
        SPI.__init__(self, name)
        self.link = link

    def _exchange(self, cs: int, tx: bytes) -> bytes:
        return self._call(MsgType.SPI, pack_bus_request("spi", self.name, cs, data=tx), cs)


class TunnelUART(_Tunnelled, UART):
    """A UART whose far end is a bench emulator. Reads return what the part
    has finished sending by the bench's time (in lockstep, the flight's time)."""

    def __init__(self, name: str, link: BenchLink, *, baudrate: int = 9600,
                 timeout: float = 0.0) -> None:
        UART.__init__(self, name, baudrate=baudrate, timeout=timeout)
        self.link = link
        self._rx = bytearray()

    def _fetch(self, n: int) -> None:
        if len(self._rx) < min(n, 1024):
            self._rx += self._call(MsgType.UART_READ,
                                   pack_bus_request("uart_read", self.name, 1024), None)

    @property
    def in_waiting(self) -> int:
        self._fetch(4096)
        return len(self._rx)

    def reset_input_buffer(self) -> None:
        self._fetch(4096)
        self._rx.clear()

    def _read(self, n: int, timeout_s: float) -> bytes:
        self._fetch(n)
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def _readline(self, max_bytes: int, timeout_s: float) -> bytes:
        self._fetch(max_bytes)
        end = self._rx.find(b"\n", 0, max_bytes)
        n = max_bytes if end < 0 else end + 1
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def _write(self, data: bytes) -> int:
        self._call(MsgType.UART_WRITE, pack_bus_request("uart_write", self.name, data=data),
                   None, post=True)
        return len(data)


class TunnelCAN(_Tunnelled, CAN):
    """A CAN network whose other nodes are the bench's emulators. A send is
    posted; its reply carries the frames the network put on the bus
    meanwhile, so a command and its answer cost one round trip (the receive
    that waits for the answer sends the command)."""

    def __init__(self, name: str, link: BenchLink) -> None:
        CAN.__init__(self, name)
        self.link = link
        self._rx: deque[CanMessage] = deque(maxlen=256)

    def _send(self, message: CanMessage) -> None:
        ident = message.id | (0x8000_0000 if message.extended else 0)
        data = self._call(MsgType.CAN_SEND, pack_bus_request("can_send", self.name, ident,
                                                             data=message.data), message.id,
                          post=True)
        self._rx.extend(unpack_can_frames(data))

    def _posted_reply(self, reply: bytes) -> None:
        self._rx.extend(unpack_can_frames(reply[1:]))

    def _recv(self, timeout_s: float) -> CanMessage | None:
        if not self._rx:
            data = self._call(MsgType.CAN_RECV, pack_bus_request("can_recv", self.name, 64),
                              None)
            self._rx.extend(unpack_can_frames(data))
        return self._rx.popleft() if self._rx else None

