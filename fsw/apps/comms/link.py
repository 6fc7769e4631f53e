"""A byte-stream link for the comms app: TC frames in, TM frames out, over any
pyserial URL (a serial port, `socket://host:port`, `loop://` in tests).

Uplink framing: each TC frame is preceded by the CLTU start sequence 0xEB90
(CCSDS 231.0-B-4 5.2.2) and delimited by its own frame length field
(232.0-B 4.1.2.7); there is no BCH coding on this wired link. Downlink: each
fixed-length TM frame is preceded by the attached sync marker 0x1ACFFC1D
(CCSDS 131.0-B-4 9.3). A reader that loses step hunts for the next start
sequence, so garbage on the line costs only the frames it hits.
"""

from __future__ import annotations

from typing import Any

import serial

from fsw.protocol.tc import MAX_FRAME_LEN, PRIMARY_HEADER_LEN

START_SEQUENCE = b"\xeb\x90"
ASM = b"\x1a\xcf\xfc\x1d"


class TcStreamDecoder:
    """Splits a byte stream into candidate TC frames (bounded buffer)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out = []
        while True:
            i = self._buf.find(START_SEQUENCE)
            if i < 0:
                keep = 1 if self._buf[-1:] == START_SEQUENCE[:1] else 0
                self.discarded += len(self._buf) - keep
                del self._buf[:len(self._buf) - keep]
                return out
            if i:
                self.discarded += i
                del self._buf[:i]
            if len(self._buf) < 2 + PRIMARY_HEADER_LEN:
                return out
            n = ((self._buf[4] & 0x03) << 8 | self._buf[5]) + 1
            if n < PRIMARY_HEADER_LEN or n > MAX_FRAME_LEN:
                self.discarded += 2
                del self._buf[:2]
                continue
            if len(self._buf) < 2 + n:
                return out
            out.append(bytes(self._buf[2:2 + n]))
            del self._buf[:2 + n]


def encode_tc_stream(frame: bytes) -> bytes:
    """What the ground writes for one TC frame."""
    return START_SEQUENCE + frame


class SerialLink:
    """Connects a CommsApp to a pyserial URL: `poll()` moves bytes both ways."""

    def __init__(self, url: str, comms: Any, baudrate: int = 115200) -> None:
        self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0)
        self.comms = comms
        self.decoder = TcStreamDecoder()

    def poll(self, max_frames_out: int = 8) -> int:
        """Read what has arrived, hand frames to comms, write up to
        `max_frames_out` TM frames. Returns the number of TC frames received."""
        data = self.port.read(self.port.in_waiting or 1)
        frames = self.decoder.feed(data) if data else []
        for f in frames:
            self.comms.receive_frame(f)
        for f in self.comms.take_frames(max_frames_out):
            self.port.write(ASM + f)
        return len(frames)

    def close(self) -> None:
        self.port.close()
