"""Ground links to a spacecraft radio: TC frames up, TM frames down, over a byte stream.

`open_link(url, frame_len)` takes:

- ``tcp://HOST:PORT``: a TCP connection (the simulator's radio port);
- ``kiss+tcp://HOST:PORT`` or ``kiss+URL``: the same frames in KISS framing
  (one frame per KISS data frame, FEND/FESC escaping, port 0), as a KISS
  TNC speaks it;
- anything else is a pyserial URL (``/dev/ttyUSB0``, ``socket://h:p``,
  ``rfc2217://h:p``, ``loop://``), raw framing.

Raw framing is the flight comms link's (`fsw.apps.comms.link`): each TC frame
is sent after the CLTU start sequence 0xEB90 (CCSDS 231.0-B-4) and delimited
by its own length field; each fixed-length TM frame arrives after the
attached sync marker 0x1ACFFC1D (CCSDS 131.0-B-4). A receiver that loses
step hunts for the next marker, so line noise costs only the frames it hits.

A link that drops reconnects on the next use; `LinkError` says why in one line.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from fsw.apps.comms.link import ASM, START_SEQUENCE

FEND, FESC, TFEND, TFESC = 0xC0, 0xDB, 0xDC, 0xDD
KISS_DATA_PORT0 = 0x00
MAX_BUFFER = 1 << 20


class LinkError(OSError):
    """The link is down or cannot be opened; str() is a one-line reason."""


class AsmDecoder:
    """Splits a byte stream into fixed-length TM frames that follow the ASM."""

    def __init__(self, frame_len: int) -> None:
        self.frame_len = frame_len
        self._buf = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out = []
        while True:
            i = self._buf.find(ASM)
            if i < 0:
                keep = len(ASM) - 1
                self.discarded += max(0, len(self._buf) - keep)
                del self._buf[:max(0, len(self._buf) - keep)]
                return out
            if i:
                self.discarded += i
                del self._buf[:i]
            if len(self._buf) < len(ASM) + self.frame_len:
                return out
            out.append(bytes(self._buf[len(ASM):len(ASM) + self.frame_len]))
            del self._buf[:len(ASM) + self.frame_len]


class KissDecoder:
    """Splits a KISS byte stream into frames (data frames of port 0 only)."""

    def __init__(self, max_frame: int = 4096) -> None:
        self.max_frame = max_frame
        self._frame = bytearray()
        self._in_frame = False
        self._escape = False
        self.discarded = 0

    def feed(self, data: bytes) -> list[bytes]:
        out = []
        for b in data:
            if b == FEND:
                if self._in_frame and len(self._frame) > 1 and self._frame[0] == KISS_DATA_PORT0:
                    out.append(bytes(self._frame[1:]))
                self._frame.clear()
                self._in_frame = True
                self._escape = False
                continue
            if not self._in_frame:
                self.discarded += 1
                continue
            if self._escape:
                b = FEND if b == TFEND else FESC if b == TFESC else b
                self._escape = False
            elif b == FESC:
                self._escape = True
                continue
            if len(self._frame) >= self.max_frame:
                self.discarded += len(self._frame)
                self._frame.clear()
                self._in_frame = False
                continue
            self._frame.append(b)
        return out


def kiss_encode(frame: bytes) -> bytes:
    body = frame.replace(bytes((FESC,)), bytes((FESC, TFESC))).replace(
        bytes((FEND,)), bytes((FESC, TFEND)))
    return bytes((FEND, KISS_DATA_PORT0)) + body + bytes((FEND,))


class _TcpStream:
    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout_s)
        except OSError as exc:
            raise LinkError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def read(self, timeout_s: float) -> bytes:
        self.sock.settimeout(timeout_s)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise LinkError(f"link lost: {exc.strerror or exc}") from None
        if not data:
            raise LinkError("link closed by the other end")
        return data

    def write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise LinkError(f"link lost: {exc.strerror or exc}") from None

    def close(self) -> None:
        self.sock.close()


class _SerialStream:
    def __init__(self, url: str, baudrate: int) -> None:
        import serial
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.1)
        except (serial.SerialException, ValueError) as exc:
            raise LinkError(f"cannot open {url}: {exc}") from None
        self.error = serial.SerialException

    def read(self, timeout_s: float) -> bytes:
        try:
            self.port.timeout = timeout_s
            return self.port.read(max(1, self.port.in_waiting))
        except (self.error, OSError) as exc:
            raise LinkError(f"serial link lost: {exc}") from None

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except (self.error, OSError) as exc:
            raise LinkError(f"serial link lost: {exc}") from None

    def close(self) -> None:
        self.port.close()


class Link:
    """One spacecraft link: `send(tc_frame)`, `receive(timeout_s) -> [tm_frame]`.

    Opens lazily and reopens after a failure (at most every `retry_s`); every
    failure is a LinkError with a one-line reason.
    """

    def __init__(self, url: str, frame_len: int, *, baudrate: int = 115200,
                 retry_s: float = 1.0, connect_timeout_s: float = 2.0) -> None:
        self.url = url
        self.frame_len = frame_len
        self.kiss = url.startswith("kiss+")
        self._target = url[5:] if self.kiss else url
        self.baudrate = baudrate
        self.retry_s = retry_s
        self.connect_timeout_s = connect_timeout_s
        self._stream: _TcpStream | _SerialStream | None = None
        self._last_try = -1e9
        self._decoder: Callable[[bytes], list[bytes]] = self._new_decoder()
        self.connects = 0
        self.discarded_bytes = 0
        parse_link_url(url)  # refuse a malformed URL now, not at first use

    def _new_decoder(self) -> Callable[[bytes], list[bytes]]:
        return KissDecoder().feed if self.kiss else AsmDecoder(self.frame_len).feed

    @property
    def up(self) -> bool:
        return self._stream is not None

    def open(self) -> None:
        if self._stream is not None:
            return
        now = time.monotonic()
        if now - self._last_try < self.retry_s:
            raise LinkError(f"{self.url}: down, retrying")
        self._last_try = now
        kind, host, port = parse_link_url(self.url)
        if kind == "tcp":
            self._stream = _TcpStream(host, port, self.connect_timeout_s)
        else:
            self._stream = _SerialStream(self._target, self.baudrate)
        self._decoder = self._new_decoder()
        self.connects += 1

    def send(self, frame: bytes) -> None:
        self.open()
        data = kiss_encode(frame) if self.kiss else START_SEQUENCE + frame
        try:
            self._stream.write(data)  # type: ignore[union-attr]
        except LinkError:
            self.close()
            raise

    def receive(self, timeout_s: float = 0.1) -> list[bytes]:
        self.open()
        try:
            data = self._stream.read(timeout_s)  # type: ignore[union-attr]
        except LinkError:
            self.close()
            raise
        if not data:
            return []
        frames = self._decoder(data)
        if self.kiss:
            return [f for f in frames if len(f) == self.frame_len]
        return frames

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            finally:
                self._stream = None


def parse_link_url(url: str) -> tuple[str, str, int]:
    """("tcp", host, port) or ("serial", url, 0); ValueError with the reason."""
    target = url[5:] if url.startswith("kiss+") else url
    if target.startswith("tcp://"):
        parts = urlsplit(target)
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{url}: bad port") from None
        if not parts.hostname or port is None:
            raise ValueError(f"{url}: a TCP link needs tcp://HOST:PORT")
        return "tcp", parts.hostname, port
    if not target:
        raise ValueError("empty link URL")
    return "serial", target, 0
