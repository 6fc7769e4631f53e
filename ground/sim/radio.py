"""A simulated spacecraft's radio as a real byte link: a TCP port, optionally a pty.

The bytes are exactly those of the flight comms link (`fsw.apps.comms.link`):
TC frames after the CLTU start sequence 0xEB90 going up, fixed-length TM
frames after the attached sync marker 0x1ACFFC1D coming down. The channel
carries anything only while the spacecraft is in a pass (`in_pass`, set by
the fleet from pass prediction): outside a pass uplinked bytes are lost, as
they would be on air, and the downlink stays queued on board (the comms
app's store-and-forward queue). In a pass, queued frames go down first,
then an idle frame every poll, so the ground always has a current CLCW.

With a `bit_rate` (bit/s), `poll` is given the seconds since the last poll
and the downlink carries only the frames they pay for (ASM included); with
an `idle_period_s` too, an idle frame goes down only when nothing else did
for that long, so a ground at the far end decodes what the pass carries
rather than an idle frame in every slot.

Several ground connections at once (the control centres of the bus operator
and the partners behind one ground station): each connection's uplink is
decoded on its own, and every connection hears the whole downlink, as every
receiver in the footprint would; each ground session keeps only what its
key holder may see. A connection that fails is dropped; a ground station
that reconnects gets the link back.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tty
from typing import Any

from fsw.apps.comms.link import ASM, TcStreamDecoder


class RadioPort:
    """The radio of one simulated spacecraft; `poll()` moves bytes both ways."""

    def __init__(self, comms: Any, host: str = "127.0.0.1", port: int = 0,
                 pty: bool = False, frames_per_poll: int = 16,
                 bit_rate: float | None = None, idle_period_s: float = 0.0) -> None:
        self.comms = comms
        self.frames_per_poll = frames_per_poll
        self.bit_rate = bit_rate
        """Downlink rate, bit/s (None: `frames_per_poll` every poll); with it, `poll` is
        given the seconds since the last poll and sends only the frames they pay for."""
        self.idle_period_s = idle_period_s
        """With a bit rate: the longest the downlink stays silent (s) when nothing is
        queued (0: an idle frame in every slot the rate pays for)."""
        self._credit_octets = 0.0
        self._frame_octets: int | None = None
        self._silent_s = 0.0
        self.server = socket.create_server((host, port))
        self.server.setblocking(False)
        self.port: int = self.server.getsockname()[1]
        self.url = f"tcp://{host}:{self.port}"
        self.clients: dict[socket.socket, TcStreamDecoder] = {}
        self.in_pass = False
        self.tc_frames_in = 0
        self.tm_frames_out = 0
        self.bytes_lost = 0
        self.pty_path: str | None = None
        self._pty_fd: int | None = None
        self._pty_decoder = TcStreamDecoder()
        if pty:
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._pty_fd = master
            self._pty_slave = slave
            self.pty_path = os.ttyname(slave)

    def poll(self, elapsed_s: float = 0.0) -> None:
        """Move bytes both ways; `elapsed_s` (s since the last poll) pays for the downlink
        when the radio has a `bit_rate`."""
        self._accept()
        up = self._read_client() + self._read_pty()
        if self.in_pass:
            for frame in up:
                self.comms.receive_frame(frame)
            self.tc_frames_in += len(up)
            self._silent_s += elapsed_s
            budget = self.frames_per_poll
            if self.bit_rate is not None:
                if self._frame_octets is None:  # fixed for the mission (CCSDS 132.0-B)
                    self._frame_octets = len(ASM) + len(self.comms.idle_frame())
                frame_octets = self._frame_octets
                self._credit_octets = min(self._credit_octets + elapsed_s * self.bit_rate / 8,
                                          4.0 * frame_octets)
                budget = int(self._credit_octets // frame_octets)
                self._credit_octets -= budget * frame_octets
                if budget == 0:
                    return
            down = self.comms.take_frames(budget)
            if not down and (self.bit_rate is None or self._silent_s >= self.idle_period_s):
                down = [self.comms.idle_frame()]
            if down:
                self._silent_s = 0.0
                self.tm_frames_out += len(down)
                self._write(b"".join(ASM + f for f in down))
        elif up:
            self.bytes_lost += sum(len(f) for f in up)

    @property
    def connections(self) -> int:
        """Ground connections open now."""
        return len(self.clients)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.clients[conn] = TcStreamDecoder()

    def _read_client(self) -> list[bytes]:
        frames: list[bytes] = []
        for conn, decoder in list(self.clients.items()):
            chunks = []
            while True:
                try:
                    data = conn.recv(65536)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    self._drop_client(conn)
                    break
                chunks.append(data)
            if chunks:
                frames += decoder.feed(b"".join(chunks))
        return frames

    def _read_pty(self) -> list[bytes]:
        if self._pty_fd is None:
            return []
        try:
            data = os.read(self._pty_fd, 65536)
        except (BlockingIOError, OSError):
            return []
        return self._pty_decoder.feed(data)

    def _write(self, data: bytes) -> None:
        for conn in list(self.clients):
            try:
                conn.sendall(data)
            except (BlockingIOError, OSError):
                self._drop_client(conn)
        if self._pty_fd is not None:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._pty_fd, data)  # nobody reading: the pty buffer fills and drops

    def _drop_client(self, conn: socket.socket) -> None:
        self.clients.pop(conn, None)
        conn.close()

    def drop_connections(self) -> None:
        """Close every ground connection (a ground station losing its network)."""
        for conn in list(self.clients):
            self._drop_client(conn)

    def close(self) -> None:
        self.drop_connections()
        self.server.close()
        if self._pty_fd is not None:
            os.close(self._pty_fd)
            os.close(self._pty_slave)
