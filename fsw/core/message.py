"""Message ids and declared binary layouts for the software bus.

A message id is the first 16 bits of a CCSDS Space Packet primary header
(CCSDS 133.0-B-2, sec. 4.1.3) with version 0 and the secondary-header flag
set, as cFS does: ``0x0800 | apid`` for telemetry, ``0x1800 | apid`` for
commands. Every message type declares its fields in order with a big-endian
struct code and a unit, so a telemetry payload is already a valid packet
user data field and the packetiser only adds headers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fsw.core.errors import MalformedMessageIdError, MessageSizeError

APID_MASK = 0x07FF
IDLE_APID = 0x07FF
TM_BASE = 0x0800  # packet type 0 (telemetry), secondary header present
CMD_BASE = 0x1800  # packet type 1 (telecommand), secondary header present
_VERSION_MASK = 0xE000
_SEC_HDR_FLAG = 0x0800

# Bytes of one element for each struct code a field may use.
_CODES = {"B": 1, "b": 1, "?": 1, "H": 2, "h": 2, "I": 4, "i": 4, "Q": 8, "q": 8,
          "f": 4, "d": 8, "s": 1}
Number = int | float
"""A declared number: an integer stays one."""
_INT_RANGES = {"B": (0, 0xFF), "b": (-0x80, 0x7F), "H": (0, 0xFFFF), "h": (-0x8000, 0x7FFF),
               "I": (0, 0xFFFFFFFF), "i": (-0x80000000, 0x7FFFFFFF),
               "Q": (0, 2**64 - 1), "q": (-(2**63), 2**63 - 1), "?": (0, 1)}


def tm_msg_id(apid: int) -> int:
    """Message id of telemetry from application process `apid`."""
    return TM_BASE | _check_apid(apid)


def cmd_msg_id(apid: int) -> int:
    """Message id of commands to application process `apid`."""
    return CMD_BASE | _check_apid(apid)


def apid_of(msg_id: int) -> int:
    """The APID carried in a message id."""
    return msg_id & APID_MASK


def is_command(msg_id: int) -> bool:
    """True for a telecommand message id (packet type bit set)."""
    return bool(msg_id & 0x1000)


def _check_apid(apid: int) -> int:
    if not isinstance(apid, int) or not 0 <= apid < IDLE_APID:
        raise MalformedMessageIdError(f"APID {apid!r} is outside 0..0x7FE (0x7FF is idle)")
    return apid


def check_msg_id(msg_id: object) -> int:
    """Return `msg_id` if it is a well-formed message id, else raise MalformedMessageIdError."""
    if not isinstance(msg_id, int) or isinstance(msg_id, bool):
        raise MalformedMessageIdError(f"message id {msg_id!r} is not an integer")
    if not 0 <= msg_id <= 0xFFFF:
        raise MalformedMessageIdError(f"message id {msg_id:#x} does not fit 16 bits")
    if msg_id & _VERSION_MASK:
        raise MalformedMessageIdError(f"message id {msg_id:#06x} has a non-zero version field")
    if not msg_id & _SEC_HDR_FLAG:
        raise MalformedMessageIdError(f"message id {msg_id:#06x} lacks the secondary-header flag")
    if msg_id & APID_MASK == IDLE_APID:
        raise MalformedMessageIdError(f"message id {msg_id:#06x} is the idle APID")
    return msg_id


@dataclass(frozen=True)
class Field:
    """One field of a message, command argument or parameter.

    ``fmt`` is a struct code with an optional count: ``"f"``, ``"3f"`` (an
    array of three), ``"16s"`` (16 raw bytes). ``low``/``high`` bound the value
    of a numeric field when it is a command argument or a parameter.

    What the ground needs to show a telemetry field is declared here too, and
    goes into the dictionary: ``enum`` names integer values (``((0, "IDLE"),
    (1, "DETUMBLE"))``); ``poly`` calibrates the raw value x to engineering
    units as ``poly[0] + poly[1]*x + poly[2]*x**2 ...`` (then ``unit`` is the
    engineering unit); ``warn`` and ``crit`` are (low, high) limits on the
    engineering value, either side None when open.
    """

    name: str
    fmt: str
    unit: str = ""
    doc: str = ""
    # Numbers as declared (`int | float`, not `float`): compiled, a `float`
    # attribute would turn a limit declared as 5 into 5.0, and the dictionary
    # and the ground's messages quote it back as declared.
    low: Number | None = None
    high: Number | None = None
    enum: tuple[tuple[int, str], ...] | None = None
    poly: tuple[Number, ...] | None = None
    warn: tuple[Number | None, Number | None] | None = None
    crit: tuple[Number | None, Number | None] | None = None

    def __post_init__(self) -> None:
        code = self.fmt[-1:]
        digits = self.fmt[:-1]
        if code not in _CODES or (digits and not digits.isdigit()):
            raise ValueError(f"field {self.name!r}: unsupported format {self.fmt!r}")

    @property
    def count(self) -> int:
        """Number of values the field holds (1 for scalars and byte strings)."""
        if self.code == "s":
            return 1
        return int(self.fmt[:-1] or 1)

    @property
    def code(self) -> str:
        return self.fmt[-1]

    @property
    def size(self) -> int:
        return struct.calcsize(">" + self.fmt)

    def check(self, value: Any) -> str | None:
        """Return why `value` does not fit this field, or None when it does."""
        values = value if self.count > 1 else (value,)
        if self.count > 1 and (not isinstance(value, Sequence) or len(value) != self.count):
            return f"{self.name} needs {self.count} values"
        for v in values:
            if self.code == "s":
                if not isinstance(v, (bytes, bytearray)):
                    return f"{self.name} must be bytes"
                continue
            if self.code in _INT_RANGES:
                if isinstance(v, bool) or not isinstance(v, int):
                    if not (isinstance(v, float) and v.is_integer()):
                        return f"{self.name} must be an integer"
                lo, hi = _INT_RANGES[self.code]
                if not lo <= v <= hi:
                    return f"{self.name}={v} does not fit a {self.code!r} field"
            elif v != v or v in (float("inf"), float("-inf")):
                return f"{self.name} must be finite"
            if self.low is not None and v < self.low:
                return f"{self.name}={v} is below its minimum {self.low}"
            if self.high is not None and v > self.high:
                return f"{self.name}={v} is above its maximum {self.high}"
        return None


class Layout:
    """An ordered set of fields packed big-endian with no padding."""

    def __init__(self, fields: Iterable[Field]) -> None:
        self.fields: tuple[Field, ...] = tuple(fields)
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate field names in {names}")
        self.struct = struct.Struct(">" + "".join(f.fmt for f in self.fields))
        self.size: int = self.struct.size
        self._names = tuple(f.name for f in self.fields)
        self._counts = tuple(f.count for f in self.fields)
        self._arrays = any(n > 1 for n in self._counts)

    def pack(self, **values: Any) -> bytes:
        """Pack named values (arrays as sequences) into bytes."""
        return self.pack_mapping(values)

    def pack_mapping(self, values: Mapping[str, Any]) -> bytes:
        """Pack the values a mapping holds by field name (arrays as sequences),
        as `pack` does; keys that name no field are ignored.

        For callers that hold the values in a dict already: compiled, a call
        with ``**values`` goes through the generic call path, which copies the
        dict and parses it back into keywords.
        """
        if not self._arrays:
            return self.struct.pack(*[values[name] for name in self._names])
        flat: list[Any] = []
        for name, n in zip(self._names, self._counts, strict=True):
            if n > 1:
                flat.extend(values[name])
            else:
                flat.append(values[name])
        return self.struct.pack(*flat)

    def unpack(self, payload: bytes) -> dict[str, Any]:
        """Unpack bytes into a dict of field name to value (tuples for arrays)."""
        return {name: v for name, v in zip(self._names, self.unpack_tuple(payload), strict=True)}

    def unpack_tuple(self, payload: bytes) -> tuple[Any, ...]:
        """Unpack bytes into the fields' values in declared order (tuples for
        arrays): `unpack` without a dict, for a reader that knows the order."""
        if len(payload) != self.size:
            raise MessageSizeError(f"payload of {len(payload)} bytes, layout needs {self.size}")
        flat = self.struct.unpack(payload)
        if not self._arrays:
            return flat
        values: list[Any] = []
        i = 0
        for n in self._counts:
            values.append(flat[i] if n == 1 else tuple(flat[i:i + n]))
            i += n
        return tuple(values)

    def check(self, values: Mapping[str, Any]) -> str | None:
        """Return the first reason the values do not fit, or None."""
        for f in self.fields:
            if f.name not in values:
                return f"missing {f.name}"
            why = f.check(values[f.name])
            if why:
                return why
        return None


class MessageType(Layout):
    """A named message with a fixed layout, published under one message id."""

    def __init__(self, name: str, msg_id: int, fields: Iterable[Field], doc: str = "") -> None:
        super().__init__(fields)
        self.name = name
        self.msg_id = check_msg_id(msg_id)
        self.doc = doc

    def __repr__(self) -> str:
        return f"MessageType({self.name!r}, {self.msg_id:#06x}, {self.size} bytes)"
