"""The bus bridge wire format between the payload host and a sandboxed app.

One stream (a Unix socket pair) carries frames both ways::

    length: u32 (bytes after this field) | kind: u8 | msg_id: u16 | body

Host to app: MESSAGE (a bus message the app subscribed to), COMMAND (a
command to the app), TICK (run one cycle; body = mission time f64 and a
housekeeping flag), GRANTED (a subscription was granted; body = the
layout as JSON), REFUSED (a request was refused; body = the reason), STOP,
DEVICE_REPLY (the JSON result of a DEVICE call), STORAGE_REPLY (the answer to a
STORAGE request).

App to host: PUBLISH, SUBSCRIBE (body = topic name), RESULT (a command
verification stage), EVENT, PARAMETER (a parameter report), READY, DONE (a tick's cycle is over),
DEVICE (call one method of a granted device), STORAGE (one operation on the
app's private directory, which the host keeps: the app cannot write a file
itself).

STORAGE and STORAGE_REPLY bodies are ``header length: u16 | header (JSON) |
data``; a write or read moves at most `STORAGE_CHUNK` octets of data.

The host decides everything: it checks every PUBLISH against the app's own
message ids and every SUBSCRIBE against the topics its manifest was
granted, counts bytes and messages, and never blocks on the app.
`FrameReader` turns received bytes into frames with bounded memory: a
frame longer than `MAX_FRAME` is a `BridgeError`, and the host then stops
that app.
"""

from __future__ import annotations

import json
import struct
from enum import IntEnum

HEADER = struct.Struct(">IBH")
MAX_FRAME = 4096
TICK = struct.Struct(">dB")
RESULT = struct.Struct(">IBBBH")  # request id, function code, stage, ok, reason
EVENT = struct.Struct(">HB")  # event id, severity; then UTF-8 text
PARAMETER = struct.Struct(">Hd")
STORAGE_HEAD = struct.Struct(">H")
STORAGE_CHUNK = 3072  # octets of file data per STORAGE frame (frames are at most 4 KiB)


class Kind(IntEnum):
    # host -> app
    MESSAGE = 1
    COMMAND = 2
    TICK = 3
    GRANTED = 4
    REFUSED = 5
    STOP = 6
    DEVICE_REPLY = 7
    STORAGE_REPLY = 8
    # app -> host
    PUBLISH = 10
    SUBSCRIBE = 11
    RESULT = 12
    EVENT = 13
    PARAMETER = 14
    READY = 15
    DONE = 16  # a TICK's cycle is finished (the host waits for it in lockstep)
    DEVICE = 17  # call a granted device method; body JSON {device, method, args}
    STORAGE = 18  # an operation on the private directory (see the module docstring)


class BridgeError(Exception):
    """Bytes on the bridge that are not a well-formed frame."""


def encode(kind: int, msg_id: int, body: bytes = b"") -> bytes:
    """One frame."""
    if len(body) + 3 > MAX_FRAME:
        raise BridgeError(f"frame body of {len(body)} bytes is over {MAX_FRAME - 3}")
    return HEADER.pack(len(body) + 3, kind, msg_id) + body


def encode_storage(header: dict, data: bytes = b"") -> bytes:
    """The body of a STORAGE or STORAGE_REPLY frame."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return STORAGE_HEAD.pack(len(head)) + head + data


def decode_storage(body: bytes) -> tuple[dict, bytes]:
    """(header, data) of a STORAGE or STORAGE_REPLY body; BridgeError if malformed."""
    try:
        (n,) = STORAGE_HEAD.unpack_from(body)
        header = json.loads(body[STORAGE_HEAD.size:STORAGE_HEAD.size + n])
    except (struct.error, ValueError) as exc:
        raise BridgeError(f"malformed storage frame: {exc}") from None
    if not isinstance(header, dict) or len(body) < STORAGE_HEAD.size + n:
        raise BridgeError("malformed storage frame: no header")
    return header, body[STORAGE_HEAD.size + n:]


class FrameReader:
    """Reassembles frames from a byte stream; memory stays under one frame plus one read."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        """Add received bytes; return the complete frames as (kind, msg_id, body)."""
        buf = self._buf
        buf += data
        out = []
        pos = 0
        n = len(buf)
        unpack = HEADER.unpack_from
        while n - pos >= 7:
            length, kind, msg_id = unpack(buf, pos)
            if not 3 <= length <= MAX_FRAME:
                raise BridgeError(f"frame length {length} outside 3..{MAX_FRAME}")
            end = pos + 4 + length
            if end > n:
                break
            out.append((kind, msg_id, bytes(buf[pos + 7:end])))
            pos = end
        if pos:
            del buf[:pos]
        return out

    def __len__(self) -> int:
        return len(self._buf)
