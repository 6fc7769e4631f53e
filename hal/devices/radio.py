"""UHF radio with a KISS TNC interface over a UART, carrying AX.25 UI frames.

Protocol facts:

- KISS (Chepponis and Karn, 1987): a frame is FEND (0xC0), a type byte
  (port << 4 | command; command 0 = data), the data with FEND sent as
  FESC TFEND (0xDB 0xDC) and FESC as FESC TFESC (0xDB 0xDD), then FEND.
  Data frames carry the AX.25 frame without its FCS: the TNC adds the FCS
  on transmit and checks and strips it on receive.
- AX.25 2.2 UI frame: destination and source addresses (6 characters
  shifted left one bit, space-padded, then an SSID byte 0b CRR SSID E:
  C the command/response bit, RR reserved = 11, E = 1 on the last
  address), up to 8 digipeater addresses, control 0x03, PID 0xF0 (no
  layer 3), the information field (at most 256 bytes), and on air the
  FCS: CRC-16/X.25, sent low byte first.

Modelled part: a UHF transceiver with a KISS serial port, as the KISS and
AX.25 documents define the interface (the ISIS TRXVU wraps frames in the
same AX.25 UI framing on air).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

import crcmod.predefined  # type: ignore[import-untyped]  # (no type stubs)

from hal import ChecksumError, DataError, HalError
from hal.busio import UART
from hal.health import Health

__all__ = [
    "Ax25Frame",
    "KissDecoder",
    "UhfRadio",
    "ax25_check_fcs",
    "ax25_decode",
    "ax25_encode_ui",
    "ax25_fcs",
    "ax25_with_fcs",
    "kiss_decode_frame",
    "kiss_encode",
]

FEND, FESC, TFEND, TFESC = 0xC0, 0xDB, 0xDC, 0xDD
KISS_DATA = 0x00
MAX_INFO = 256
MAX_DIGIS = 8
MAX_AX25 = 7 * (2 + MAX_DIGIS) + 2 + MAX_INFO  # longest UI frame, no FCS
MAX_KISS_PAYLOAD = MAX_AX25 + 1
UI_CONTROL = 0x03
PID_NO_L3 = 0xF0
_CALL = re.compile(r"^[A-Z0-9]{1,6}$")
_x25 = crcmod.predefined.mkCrcFun("x-25")


def _err(reason: str) -> DataError:
    return DataError(reason, device="KISS/AX.25")


# KISS ---------------------------------------------------------------------
def kiss_encode(data: bytes, *, port: int = 0, command: int = KISS_DATA) -> bytes:
    """One KISS frame around `data`."""
    if not 0 <= port <= 15 or not 0 <= command <= 15:
        raise ValueError("KISS port and command are 4-bit values")
    # The type byte is escaped like the data: port 12, command 0 is 0xC0.
    body = bytes([(port << 4) | command]) + bytes(data)
    body = body.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")
    return bytes([FEND]) + body + bytes([FEND])


def kiss_decode_frame(frame: bytes) -> tuple[int, int, bytes]:
    """Decode the bytes between two FENDs: returns (port, command, data)."""
    if not frame:
        raise _err("empty KISS frame")
    if len(frame) > 2 * MAX_KISS_PAYLOAD:
        raise _err(f"KISS frame of {len(frame)} bytes exceeds the limit")
    if FEND in frame:
        raise _err("FEND inside a KISS frame")
    out = bytearray()
    it = iter(frame)
    for b in it:
        if b == FESC:
            nxt = next(it, None)
            if nxt == TFEND:
                out.append(FEND)
            elif nxt == TFESC:
                out.append(FESC)
            else:
                raise _err("FESC not followed by TFEND or TFESC")
        else:
            out.append(b)
    if not out:
        raise _err("KISS frame without a type byte")
    if len(out) > MAX_KISS_PAYLOAD + 1:
        raise _err(f"KISS payload of {len(out) - 1} bytes exceeds {MAX_KISS_PAYLOAD}")
    return out[0] >> 4, out[0] & 0x0F, bytes(out[1:])


class KissDecoder:
    """Splits a byte stream at FENDs. `feed()` returns decoded
    (port, command, data) frames and keeps the errors of bad ones in
    `errors`; a frame growing past the limit is dropped whole, so memory
    stays bounded."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._dropping = False
        self.errors: deque[HalError] = deque(maxlen=16)
        self.error_count = 0

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        frames = []
        for b in data:
            if b == FEND:
                if self._buf and not self._dropping:
                    try:
                        frames.append(kiss_decode_frame(bytes(self._buf)))
                    except HalError as exc:
                        self.errors.append(exc)
                        self.error_count += 1
                self._buf.clear()
                self._dropping = False
            elif not self._dropping:
                self._buf.append(b)
                if len(self._buf) > 2 * MAX_KISS_PAYLOAD:
                    self.errors.append(_err("KISS frame overran the buffer; dropped"))
                    self.error_count += 1
                    self._buf.clear()
                    self._dropping = True
        return frames


# AX.25 --------------------------------------------------------------------
@dataclass(frozen=True)
class Ax25Frame:
    """A UI frame: addresses as "CALL-SSID" strings, information bytes."""

    dest: str
    src: str
    info: bytes
    digis: tuple[str, ...] = ()
    pid: int = PID_NO_L3
    command: bool = True


def _split_call(call: str) -> tuple[str, int]:
    name, _, ssid = call.upper().partition("-")
    if not _CALL.match(name):
        raise ValueError(f"callsign {call!r} is not 1-6 letters or digits")
    n = int(ssid) if ssid else 0
    if not 0 <= n <= 15:
        raise ValueError(f"SSID of {call!r} is not 0-15")
    return name, n


def _addr(call: str, c_bit: bool, last: bool) -> bytes:
    name, ssid = _split_call(call)
    return (bytes(ord(ch) << 1 for ch in name.ljust(6))
            + bytes([(0x80 if c_bit else 0) | 0x60 | (ssid << 1) | (1 if last else 0)]))


def ax25_encode_ui(frame: Ax25Frame) -> bytes:
    """The AX.25 UI frame (without FCS, as KISS carries it)."""
    if len(frame.info) > MAX_INFO:
        raise ValueError(f"information field is limited to {MAX_INFO} bytes")
    if len(frame.digis) > MAX_DIGIS:
        raise ValueError("at most 8 digipeaters")
    calls = [frame.dest, frame.src, *frame.digis]
    out = bytearray()
    for i, call in enumerate(calls):
        c_bit = (i == 0) == frame.command if i < 2 else False
        out += _addr(call, c_bit, i == len(calls) - 1)
    out += bytes([UI_CONTROL, frame.pid])
    return bytes(out + frame.info)


def _decode_addr(raw: bytes) -> str:
    if any(b & 1 for b in raw[:6]):
        raise _err("address character with the extension bit set")
    text = "".join(chr(b >> 1) for b in raw[:6])
    name = text.rstrip(" ")
    if not _CALL.match(name) or " " in name:
        raise _err(f"address {text!r} is not a callsign")
    ssid = (raw[6] >> 1) & 0x0F
    return f"{name}-{ssid}" if ssid else name


def ax25_decode(data: bytes) -> Ax25Frame:
    """Decode an AX.25 UI frame (no FCS); DataError for anything else."""
    if len(data) < 16:
        raise _err(f"AX.25 frame of {len(data)} bytes is shorter than 16")
    if len(data) > MAX_AX25:
        raise _err(f"AX.25 frame of {len(data)} bytes exceeds {MAX_AX25}")
    n_addr = 0
    while True:
        end = 7 * (n_addr + 1)
        if end > len(data) - 2:
            raise _err("address field does not end")
        n_addr += 1
        if data[end - 1] & 1:
            break
        if n_addr == 2 + MAX_DIGIS:
            raise _err("more than 8 digipeaters")
    if n_addr < 2:
        raise _err("address field ends after the destination")
    calls = [_decode_addr(data[7 * i:7 * i + 7]) for i in range(n_addr)]
    at = 7 * n_addr
    control, pid = data[at], data[at + 1]
    if control & 0xEF != UI_CONTROL:
        raise _err(f"control 0x{control:02X} is not a UI frame")
    info = data[at + 2:]
    if len(info) > MAX_INFO:
        raise _err(f"information field of {len(info)} bytes exceeds {MAX_INFO}")
    return Ax25Frame(calls[0], calls[1], bytes(info), tuple(calls[2:]), pid,
                     command=bool(data[6] & 0x80))


def ax25_fcs(frame: bytes) -> int:
    """CRC-16/X.25 of the frame (check value of b"123456789" is 0x906E)."""
    return _x25(frame)


def ax25_with_fcs(frame: bytes) -> bytes:
    """The frame as sent on air: FCS appended, low byte first."""
    return frame + ax25_fcs(frame).to_bytes(2, "little")


def ax25_check_fcs(air: bytes) -> bytes:
    """Check and strip the FCS of an on-air frame; ChecksumError if wrong."""
    if len(air) < 3:
        raise _err("frame too short to carry an FCS")
    body, fcs = air[:-2], int.from_bytes(air[-2:], "little")
    if ax25_fcs(body) != fcs:
        raise ChecksumError(f"FCS 0x{fcs:04X} does not match 0x{ax25_fcs(body):04X}",
                            device="KISS/AX.25")
    return body


# Driver ---------------------------------------------------------------------
class UhfRadio:
    """UHF radio behind a KISS TNC on a UART.

    `send(info)` queues one UI frame from `callsign` to `dest`; `poll()`
    returns the UI frames received since the last call. Bad KISS or AX.25
    frames are counted in `health` and kept in `rejected`; they never stop
    the frames after them. At most `max_bytes_per_poll` are read per poll.
    """

    part = "UHF radio (KISS TNC)"

    def __init__(self, uart: UART, *, callsign: str, dest: str = "CQ", port: int = 0,
                 max_bytes_per_poll: int = 4096) -> None:
        _split_call(callsign)
        _split_call(dest)
        self.uart = uart
        self.callsign = callsign
        self.dest = dest
        self.port = port
        self.max_bytes_per_poll = max_bytes_per_poll
        self.decoder = KissDecoder()
        self.health = Health()
        self.rejected: deque[HalError] = deque(maxlen=16)
        self.sent = 0

    def send(self, info: bytes) -> None:
        """Transmit `info` (<= 256 bytes) in one AX.25 UI frame."""
        frame = ax25_encode_ui(Ax25Frame(self.dest, self.callsign, bytes(info)))
        self.health.transactions += 1
        try:
            self.uart.write(kiss_encode(frame, port=self.port))
        except HalError as exc:
            exc.located(bus=self.uart.name, device=self.part)
            self.health.record(exc)
            self.health.failures += 1
            raise
        self.sent += 1

    def _reject(self, exc: HalError) -> None:
        exc.located(bus=self.uart.name, device=self.part)
        self.health.record(exc)
        self.rejected.append(exc)

    def poll(self) -> list[Ax25Frame]:
        """UI frames received since the last poll, oldest first."""
        try:
            waiting = self.uart.in_waiting
            data = (self.uart.read(min(waiting, self.max_bytes_per_poll)) or b"") \
                if waiting else b""
        except HalError as exc:
            exc.located(bus=self.uart.name, device=self.part)
            self.health.record(exc)
            self.health.failures += 1
            raise
        errors_before = self.decoder.error_count
        frames = []
        for port, command, payload in self.decoder.feed(data):
            self.health.transactions += 1
            if command != KISS_DATA or port != self.port:
                continue  # TNC parameter echoes or other ports: not for us
            try:
                frames.append(ax25_decode(payload))
            except HalError as exc:
                self._reject(exc)
        new_errors = self.decoder.error_count - errors_before
        for error in list(self.decoder.errors)[-new_errors:] if new_errors else []:
            self._reject(error)
        return frames
