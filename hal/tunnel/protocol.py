"""The bench link protocol, version 2: frames between a flight computer and a bench.

One frame on the wire (docs/hil.md has the full table):

    COBS( version u8 | type u8 | seq u16 | ack u16 | payload | CRC-32C u32 ) 0x00

Integers are big-endian. COBS (Cheshire and Baker, "Consistent Overhead Byte
Stuffing", IEEE/ACM Trans. Networking 7(2), 1999) removes every zero byte,
so 0x00 only ever ends a frame: a receiver that starts mid-stream or sees
garbage drops bytes up to the next zero and is in step again. The CRC is
CRC-32C (Castagnoli, RFC 3720 appendix B.4: check value 0xE3069283 for
"123456789"), over every byte before it.

`seq` numbers the sender's frames (mod 2^16); a reply carries the request's
`seq` in `ack`, so duplicated, late and reordered replies are told apart
from the awaited one. Requests go flight -> bench (the flight computer
drives its buses); replies have the request type with bit 7 set.

This module holds only the codec: `encode_frame`, `decode_frame` and the
stream `FrameDecoder`. Every malformed input raises `FrameError` (a
`hal.DataError`) with a reason, and the stream decoder keeps going.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import crcmod.predefined

from hal import DataError

__all__ = [
    "MAX_ENCODED",
    "MAX_PAYLOAD",
    "VERSION",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "MsgType",
    "Status",
    "crc32c",
    "decode_frame",
    "encode_frame",
]

VERSION: Final = 2
HEADER: Final = struct.Struct(">BBHH")
CRC: Final = struct.Struct(">I")
MAX_PAYLOAD: Final = 4096
# COBS adds one byte per 254 and one at the start; the delimiter is not counted.
MAX_RAW: Final = HEADER.size + MAX_PAYLOAD + CRC.size
MAX_ENCODED: Final = MAX_RAW + MAX_RAW // 254 + 2
REPLY: Final = 0x80

crc32c = crcmod.predefined.mkCrcFun("crc-32c")


class MsgType(IntEnum):
    """Request types; a reply is `type | 0x80`."""

    HELLO = 0x01        # version handshake and scenario start (JSON both ways)
    CONTROL = 0x02      # flight notices to the bench (JSON: {"op": "bye"})
    DAMAGED = 0x03      # sent as a reply only: "a damaged frame arrived", resend now
    I2C = 0x10          # bus, address, n_in, bytes out -> status, bytes in
    I2C_PROBE = 0x11    # bus, address -> status (OK = acknowledged)
    SPI = 0x12          # bus, chip select, bytes out -> status, as many bytes in
    UART_WRITE = 0x13   # bus, bytes -> status
    UART_READ = 0x14    # bus, max bytes -> status, bytes arrived by bench time
    CAN_SEND = 0x15     # bus, one frame -> status, frames the network sent back
    CAN_RECV = 0x16     # bus, max frames -> status, frames
    TICK = 0x20         # lockstep: t_from, t_to, telemetry -> bench time, directives
    STAMP = 0x21        # real time: frame timing, telemetry -> bench time, directives
    BATCH = 0x30        # requests done in order -> one reply each (posted writes, read-ahead)


class Status(IntEnum):
    """Outcome of a tunnelled transaction; non-OK values map to `hal` errors."""

    OK = 0
    NACK = 1
    TIMEOUT = 2
    BUSY = 3
    DATA = 4
    CHECKSUM = 5
    NO_BUS = 6          # the bench has no bus of that name
    BAD_REQUEST = 7     # the request's payload did not parse
    SKIPPED = 8         # not done: an earlier request of the batch to the same part failed


class FrameError(DataError):
    """A frame that cannot be decoded; `reason` says why."""

    kind = "frame"


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. `type` is a request type, or one with bit 7 set (a reply)."""

    type: int
    seq: int
    ack: int
    payload: bytes
    version: int = VERSION

    @property
    def is_reply(self) -> bool:
        return bool(self.type & REPLY)


def _cobs():
    try:
        from cobs import cobs
    except ImportError as exc:  # pragma: no cover - declared in the hil/test extras
        raise ImportError("the bench link needs the 'cobs' package: "
                          "pip install 'tessera[hil]'") from exc
    return cobs


_COBS = _cobs()


def encode_frame(type_: int, seq: int, payload: bytes = b"", *, ack: int = 0,
                 version: int = VERSION) -> bytes:
    """The wire bytes of one frame, delimiter included."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    raw = HEADER.pack(version, type_, seq & 0xFFFF, ack & 0xFFFF) + payload
    return _COBS.encode(raw + CRC.pack(crc32c(raw))) + b"\x00"


def decode_frame(encoded: bytes) -> Frame:
    """Decode one frame's COBS bytes (without the 0x00 delimiter).

    Raises FrameError for anything but a whole, intact frame. A frame of
    another protocol version decodes (its `version` says so) so that the
    receiver can refuse it in words (the bench answers a HELLO with its own
    version); nothing else in it is interpreted.
    """
    if len(encoded) > MAX_ENCODED:
        raise FrameError(f"frame of {len(encoded)} bytes exceeds {MAX_ENCODED}")
    if b"\x00" in encoded:
        raise FrameError("zero byte inside a COBS frame")
    try:
        raw = _COBS.decode(encoded)
    except _COBS.DecodeError as exc:
        raise FrameError(f"COBS: {exc}") from None
    if len(raw) < HEADER.size + CRC.size:
        raise FrameError(f"truncated: {len(raw)} bytes, a frame has at least "
                         f"{HEADER.size + CRC.size}")
    body, (crc,) = raw[:-CRC.size], CRC.unpack_from(raw, len(raw) - CRC.size)
    if crc32c(body) != crc:
        raise FrameError("CRC-32C mismatch")
    version, type_, seq, ack = HEADER.unpack_from(body)
    return Frame(type_, seq, ack, bytes(body[HEADER.size:]), version)


class FrameDecoder:
    """Splits a byte stream at 0x00 delimiters and decodes each frame.

    `feed(data)` returns the good frames; bad ones are counted in `errors`
    (by reason kind) and the stream carries on at the next delimiter. A run
    of bytes longer than any frame is cut off, so memory stays bounded.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._discarding = False
        self.frames = 0
        self.errors: dict[str, int] = {}
        self.last_error: FrameError | None = None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def _count(self, exc: FrameError) -> None:
        key = exc.reason.split(":")[0].split(" ")[0].lower()
        self.errors[key] = self.errors.get(key, 0) + 1
        self.last_error = exc

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        start = 0
        while True:
            end = data.find(b"\x00", start)
            if end < 0:
                chunk = data[start:]
                if not self._discarding:
                    self._buf += chunk
                    if len(self._buf) > MAX_ENCODED:
                        self._count(FrameError(f"oversize: more than {MAX_ENCODED} bytes "
                                               "without a delimiter"))
                        self._buf.clear()
                        self._discarding = True
                return out
            if self._discarding:
                self._discarding = False
                self._buf.clear()
            else:
                self._buf += data[start:end]
                if self._buf:
                    try:
                        out.append(decode_frame(bytes(self._buf)))
                        self.frames += 1
                    except FrameError as exc:
                        self._count(exc)
                    self._buf.clear()
            start = end + 1

    def reset(self) -> None:
        """Forget a partial frame (after reopening the port)."""
        self._buf.clear()
        self._discarding = False
