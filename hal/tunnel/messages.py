"""Payloads of the bench link messages (protocol version 2), both directions.

Each `pack_*` builds a payload; each `unpack_*` parses one and raises only
`FrameError` (a payload from the other end is outside input). Layouts are
tabled in docs/hil.md; integers are big-endian, times are IEEE 754 doubles
in seconds of the flight computer's clock.
"""

from __future__ import annotations

import functools
import json
import math
import struct
from collections.abc import Callable
from typing import Any, Final

from hal.busio import CanMessage
from hal.tunnel.protocol import FrameError, Status

__all__ = [
    "BATCH_ITEM",
    "TELEMETRY_ROOM",
    "pack_batch",
    "pack_batch_reply",
    "pack_bus_request",
    "pack_can_frames",
    "pack_json",
    "pack_reply",
    "pack_stamp",
    "pack_telemetry",
    "pack_tick",
    "pack_time_reply",
    "request_target",
    "unpack_batch",
    "unpack_batch_reply",
    "unpack_bus_request",
    "unpack_can_frames",
    "unpack_json",
    "unpack_reply",
    "unpack_stamp",
    "unpack_telemetry",
    "unpack_tick",
    "unpack_time_reply",
]

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_TICK = struct.Struct(">dd")
_STAMP = struct.Struct(">Iddd")
_TIME = struct.Struct(">d")
_TM = struct.Struct(">HH")
_CAN = struct.Struct(">IB")
CAN_EXTENDED: Final = 0x8000_0000
BATCH_ITEM: Final = struct.Struct(">BH")    # request type, payload length
_REPLY_ITEM: Final = struct.Struct(">H")    # reply payload length
# Telemetry riding on one TICK or STAMP at most (the rest of a frame carries
# the batch around it); records beyond it are dropped and counted.
TELEMETRY_ROOM: Final = 2048
# The transaction types a batch may carry (HELLO, CONTROL and BATCH itself may not).
_BATCHABLE: Final = frozenset(range(0x10, 0x17)) | {0x20, 0x21}

# Bus request layouts after the bus name: (struct of fixed fields, rest is bytes).
_BUS_FIELDS: Final = {
    "i2c": struct.Struct(">BH"),        # address, bytes to read
    "i2c_probe": struct.Struct(">B"),   # address
    "spi": struct.Struct(">B"),         # chip select
    "uart_write": struct.Struct(">"),
    "uart_read": struct.Struct(">H"),   # at most this many bytes
    "can_send": struct.Struct(">I"),    # identifier, bit 31 = extended
    "can_recv": struct.Struct(">B"),    # at most this many frames
}


@functools.lru_cache(maxsize=64)
def _name(name: str) -> bytes:
    raw = name.encode("ascii")
    if not 0 < len(raw) < 64:
        raise ValueError(f"bus name {name!r} must be 1-63 ASCII characters")
    return _U8.pack(len(raw)) + raw


def pack_bus_request(shape: str, bus: str, *fields: int, data: bytes = b"") -> bytes:
    """`shape` is a key of the bus layouts ("i2c", "spi", ...)."""
    return _name(bus) + _BUS_FIELDS[shape].pack(*fields) + data


def unpack_bus_request(shape: str, payload: bytes) -> tuple[str, tuple[int, ...], bytes]:
    """(bus name, fixed fields, trailing bytes)."""
    return _unpack_bus_request(shape, bytes(payload))


# Drivers ask the same few hundred requests over and over: their parse is remembered.
@functools.lru_cache(maxsize=1024)
def _unpack_bus_request(shape: str, payload: bytes) -> tuple[str, tuple[int, ...], bytes]:
    if not payload:
        raise FrameError("bus request without a bus name")
    n = payload[0]
    fixed = _BUS_FIELDS[shape]
    if n == 0 or len(payload) < 1 + n + fixed.size:
        raise FrameError(f"{shape} request of {len(payload)} bytes is truncated")
    try:
        name = payload[1:1 + n].decode("ascii")
    except UnicodeDecodeError:
        raise FrameError("bus name is not ASCII") from None
    return name, fixed.unpack_from(payload, 1 + n), payload[1 + n + fixed.size:]


# The part a transaction addresses, as the bench tells parts apart in a batch
# (a failed request makes later ones to the same part SKIPPED): I2C and SPI
# name bus and address or chip select, CAN bus and identifier, a UART its bus.
_TARGET_FIELD: Final = {0x10: "i2c", 0x11: "i2c_probe", 0x12: "spi", 0x15: "can_send"}


def request_target(type_: int, payload: bytes) -> tuple[str, int | None] | None:
    """(bus, address) of a bus transaction, None for time requests (TICK, STAMP)."""
    if type_ in (0x20, 0x21):
        return None
    shape = _TARGET_FIELD.get(type_)
    if shape is None:  # a UART, or a CAN receive: the whole bus
        return unpack_bus_request("uart_write", payload)[0], None
    name, fields, _ = unpack_bus_request(shape, payload)
    return name, fields[0]


def pack_batch(items: list[tuple[int, bytes]]) -> bytes:
    """Requests (type, payload) the bench does in order, each answered in the reply."""
    return b"".join(BATCH_ITEM.pack(t, len(p)) + p for t, p in items)


def _length_prefixed(data: bytes, header: struct.Struct, what: str,
                     check: Callable[[int], None] | None = None) -> list[tuple[int, bytes]]:
    """Records of `header` (a key, then the body's length; or the length
    alone, which then also stands as the key) each followed by its body;
    `check` sees each key before its body is taken."""
    out, i = [], 0
    while i < len(data):
        if len(data) - i < header.size:
            raise FrameError(f"truncated {what} header")
        fields = header.unpack_from(data, i)
        key, n = fields[0], fields[-1]
        i += header.size
        if check is not None:
            check(key)
        if len(data) - i < n:
            raise FrameError(f"{what} of {n} bytes is truncated")
        out.append((key, bytes(data[i:i + n])))
        i += n
    return out


def _batchable(type_: int) -> None:
    if type_ not in _BATCHABLE:
        raise FrameError(f"message type {type_:#04x} cannot ride in a batch")


def unpack_batch(payload: bytes) -> list[tuple[int, bytes]]:
    items = _length_prefixed(payload, BATCH_ITEM, "batch item", _batchable)
    if not items:
        raise FrameError("empty batch")
    return items


def pack_batch_reply(replies: list[bytes]) -> bytes:
    """One reply payload per batch item, in the items' order."""
    return b"".join(_REPLY_ITEM.pack(len(r)) + r for r in replies)


def unpack_batch_reply(payload: bytes, count: int) -> list[bytes]:
    """The `count` replies of a batch of `count` items."""
    replies = [body for _, body in _length_prefixed(payload, _REPLY_ITEM, "batch reply")]
    if len(replies) != count:
        raise FrameError(f"batch reply holds {len(replies)} replies for {count} requests")
    return replies


def pack_reply(status: Status, data: bytes = b"") -> bytes:
    """A transaction's outcome; with a non-OK status `data` is the reason text."""
    return _U8.pack(status) + data


def unpack_reply(payload: bytes) -> tuple[Status, bytes]:
    if payload[:1] == b"\x00":
        return Status.OK, payload[1:]
    if not payload:
        raise FrameError("empty reply")
    try:
        status = Status(payload[0])
    except ValueError:
        raise FrameError(f"unknown status {payload[0]}") from None
    return status, payload[1:]


def pack_can_frames(frames: list[CanMessage]) -> bytes:
    out = bytearray()
    for m in frames:
        out += _CAN.pack(m.id | (CAN_EXTENDED if m.extended else 0), len(m.data)) + m.data
    return bytes(out)


def unpack_can_frames(data: bytes) -> list[CanMessage]:
    frames, i = [], 0
    while i < len(data):
        if len(data) - i < _CAN.size:
            raise FrameError("truncated CAN frame header")
        ident, n = _CAN.unpack_from(data, i)
        i += _CAN.size
        if n > 8 or len(data) - i < n:
            raise FrameError(f"CAN frame of {n} data bytes is malformed or truncated")
        extended = bool(ident & CAN_EXTENDED)
        ident &= ~CAN_EXTENDED
        try:
            frames.append(CanMessage(ident, data[i:i + n], extended=extended))
        except ValueError as exc:
            raise FrameError(f"CAN frame: {exc}") from None
        i += n
    return frames


def pack_telemetry(records: list[tuple[int, bytes]]) -> bytes:
    """Software-bus messages (message id, payload) riding on a time message."""
    return b"".join(_TM.pack(mid, len(p)) + p for mid, p in records)


def unpack_telemetry(data: bytes) -> list[tuple[int, bytes]]:
    return _length_prefixed(data, _TM, "telemetry record")


def pack_tick(t_from_s: float, t_to_s: float, telemetry: bytes = b"") -> bytes:
    """Lockstep: the flight computer waits from t_from to t_to; carries its telemetry."""
    return _TICK.pack(t_from_s, t_to_s) + telemetry


def unpack_tick(payload: bytes) -> tuple[float, float, list[tuple[int, bytes]]]:
    if len(payload) < _TICK.size:
        raise FrameError("truncated tick")
    t0, t1 = _TICK.unpack_from(payload)
    if not (t0 == t0 and t1 == t1 and t1 >= t0):  # NaN or backwards
        raise FrameError(f"tick from {t0} to {t1} s is not forward in time")
    return t0, t1, unpack_telemetry(payload[_TICK.size:])


def pack_stamp(frame: int, start_s: float, done_s: float, deadline_s: float,
               telemetry: bytes = b"") -> bytes:
    """Real time: minor frame `frame` started at start_s, its work ended at done_s,
    the next frame is due at deadline_s (all flight clock)."""
    return _STAMP.pack(frame & 0xFFFFFFFF, start_s, done_s, deadline_s) + telemetry


def unpack_stamp(payload: bytes) -> tuple[int, float, float, float, list[tuple[int, bytes]]]:
    if len(payload) < _STAMP.size:
        raise FrameError("truncated stamp")
    frame, start, done, deadline = _STAMP.unpack_from(payload)
    if not all(math.isfinite(t) for t in (start, done, deadline)):
        raise FrameError(f"stamp times {start}, {done}, {deadline} s are not all finite")
    return frame, start, done, deadline, unpack_telemetry(payload[_STAMP.size:])


def pack_time_reply(t_s: float, directives: list[dict[str, Any]] | None = None) -> bytes:
    """The bench's time, and bench-control directives for the flight side."""
    return _TIME.pack(t_s) + (pack_json({"directives": directives}) if directives else b"")


def unpack_time_reply(payload: bytes) -> tuple[float, list[dict[str, Any]]]:
    if len(payload) < _TIME.size:
        raise FrameError("truncated time reply")
    (t_s,) = _TIME.unpack_from(payload)
    directives: list[dict[str, Any]] = []
    if len(payload) > _TIME.size:
        doc = unpack_json(payload[_TIME.size:])
        items = doc.get("directives")
        if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
            raise FrameError("directives must be a list of objects")
        directives = items
    return t_s, directives


def pack_json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def unpack_json(payload: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FrameError("payload is not JSON") from None
    if not isinstance(doc, dict):
        raise FrameError("JSON payload must be an object")
    return doc
