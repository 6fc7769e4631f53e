"""The one exception type every space-link decoder raises, and its reason codes.

Reason codes are stable small integers: they are counted on board, reported
in events, and sent down as the failure code of PUS service 1 reports
(ECSS-E-ST-70-41C 6.1), so ground tools can rely on them.
"""

from __future__ import annotations

from enum import IntEnum


class Reason(IntEnum):
    """Why a packet, frame or command was rejected (also a PUS ST1 failure code)."""

    # Length and structure (1..19)
    TRUNCATED = 1
    LENGTH_MISMATCH = 2
    TOO_LONG = 3
    FIELD_RANGE = 4
    BAD_VERSION = 5
    SPARE_BITS_SET = 6
    QUEUE_FULL = 7
    # Checksums (20..29)
    BAD_FECF = 20
    BAD_PEC = 21
    # TC / TM frame configuration (30..49)
    WRONG_SCID = 30
    UNKNOWN_VCID = 31
    UNKNOWN_MAP = 32
    ILLEGAL_FRAME_TYPE = 33
    BAD_DIRECTIVE = 34
    SEGMENT_SEQUENCE = 35
    TM_FRAME_LENGTH = 36
    BAD_FHP = 37
    # COP-1 (50..59)
    FARM_LOCKOUT = 50
    FARM_OUT_OF_WINDOW = 51
    FARM_DUPLICATE = 52
    FARM_NO_BUFFER = 53
    # Security (60..79)
    UNKNOWN_SPI = 60
    SA_NOT_OPERATIONAL = 61
    SA_WRONG_VC = 62
    BAD_MAC = 63
    REPLAY = 64
    ARSN_OUT_OF_WINDOW = 65
    NOT_AUTHENTICATED = 66
    NOT_AUTHORISED = 67
    EP_WRONG_SA = 68
    BAD_KEY = 69
    STORE_FAILURE = 70
    KEY_FILE = 71
    # PUS (80..99)
    UNKNOWN_SERVICE = 80
    UNKNOWN_SUBTYPE = 81
    BAD_APP_DATA = 82
    BAD_ARGUMENT = 83
    NO_SUCH_TARGET = 84
    SCHEDULE_FULL = 85
    NO_SUCH_ACTIVITY = 86
    BAD_TIME = 87
    QUOTA_EXCEEDED = 88
    HANDLER_FAILED = 89


class ProtocolError(Exception):
    """Outside bytes were rejected. `reason` says why, `detail` adds context.

    Every decoder in `fsw.protocol` raises this (or a subclass) and nothing
    else for bad input.
    """

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.reason = Reason(reason)
        self.detail = detail
        text = self.reason.name.lower()
        super().__init__(f"{text}: {detail}" if detail else text)


class PacketError(ProtocolError):
    """A Space Packet or PUS packet is malformed."""


class FrameError(ProtocolError):
    """A TC or TM transfer frame is malformed or not for us."""


class CopError(ProtocolError):
    """FARM-1 discarded an AD frame."""


class SecurityError(ProtocolError):
    """SDLS-style processing rejected a frame (MAC, SPI, anti-replay, authorisation)."""
