"""A byte-stream link for the comms app: TC frames in, TM frames out, over any
pyserial URL (a serial port, `socket://host:port`, `loop://` in tests).

Uplink framing: each TC frame is preceded by the CLTU start sequence 0xEB90
(CCSDS 231.0-B-4 5.2.2) and delimited by its own frame length field
(232.0-B 4.1.2.7); there is no BCH coding on this wired link. Downlink: each
fixed-length TM frame is preceded by the attached sync marker 0x1ACFFC1D
(CCSDS 131.0-B-4 9.3). A reader that loses step hunts for the next start
sequence, so garbage on the line costs only the frames it hits. A candidate
frame is kept only if its primary header and FECF check out; otherwise the
start sequence was false (noise that happened to read 0xEB90) and the hunt
resumes two octets on, so a real frame behind it is still found.
"""

from __future__ import annotations

from typing import Any

import serial

from fsw.protocol.errors import FrameError
from fsw.protocol.tc import MAX_FRAME_LEN, PRIMARY_HEADER_LEN, check_tc_frame

START_SEQUENCE = b"\xeb\x90"
ASM = b"\x1a\xcf\xfc\x1d"


class TcStreamDecoder:
    """Splits a byte stream into TC frames whose header and FECF check out
    (bounded buffer: at most one frame's worth is held)."""

    def __init__(self, fecf: bool = True) -> None:
        self._buf = bytearray()
        self.fecf = fecf

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out = []
        while True:
            i = self._buf.find(START_SEQUENCE)
            if i < 0:
                keep = 1 if self._buf[-1:] == START_SEQUENCE[:1] else 0
                del self._buf[:len(self._buf) - keep]
                return out
            if i:
                del self._buf[:i]
            if len(self._buf) < 2 + PRIMARY_HEADER_LEN:
                return out
            n = self._frame_len_at(0)
            if n is None:
                self._skip_false_start()
                continue
            if len(self._buf) < 2 + n:
                # Wait for the rest, unless a complete valid frame already
                # follows: then this start sequence was noise.
                later = self._next_valid_start()
                if later is None:
                    return out
                del self._buf[:later]
                continue
            frame = bytes(self._buf[2:2 + n])
            if not self._valid(frame):
                self._skip_false_start()
                continue
            out.append(frame)
            del self._buf[:2 + n]

    def _frame_len_at(self, at: int) -> int | None:
        """Frame length from the header after the start sequence at `at`, or
        None if that header cannot be a TC frame's (CCSDS 232.0-B 4.1.2:
        version 00, spare bits 00, length within the limits)."""
        hdr = self._buf[at + 2:at + 2 + PRIMARY_HEADER_LEN]
        if len(hdr) < PRIMARY_HEADER_LEN or hdr[0] & 0xCC:
            return None
        n = ((hdr[2] & 0x03) << 8 | hdr[3]) + 1
        return n if PRIMARY_HEADER_LEN <= n <= MAX_FRAME_LEN else None

    def _valid(self, frame: bytes) -> bool:
        try:
            check_tc_frame(frame, fecf=self.fecf)
        except FrameError:
            return False
        return True

    def _next_valid_start(self) -> int | None:
        """Offset of a later start sequence followed by a complete valid frame."""
        j = self._buf.find(START_SEQUENCE, 1)
        while j > 0:
            n = self._frame_len_at(j)
            if n is not None and len(self._buf) >= j + 2 + n \
                    and self._valid(bytes(self._buf[j + 2:j + 2 + n])):
                return j
            j = self._buf.find(START_SEQUENCE, j + 1)
        return None

    def _skip_false_start(self) -> None:
        # a false start sequence: hunt on from the next octet
        del self._buf[:2]


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
