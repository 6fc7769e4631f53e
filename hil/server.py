"""The bench's end of the link: decode, answer each request once, pace, impair.

`BenchServer.serve()` reads frames from the port, hands each request to
the `BenchWorld` and writes the reply. A repeated request (same sequence
number: the flight computer did not hear the reply) is answered from the
cache, never done twice. HELLO is the version handshake; a frame of an
unknown protocol version is refused with the bench's version in the reply.

In real time the server imposes the configured baud rate on both
directions (a pty has no byte timing): a frame is handled only once its
last byte would have arrived, and a reply is released only once its last
byte would have left; the time the line is busy gives the utilisation.
Impairment (bit errors, lost frames) is applied here, on the bench side,
to both directions.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hal.tunnel.messages import pack_json, unpack_json
from hal.tunnel.protocol import REPLY, VERSION, FrameDecoder, FrameError, MsgType, encode_frame
from hil.impair import Impairment
from hil.world import BenchWorld

__all__ = ["BenchPort", "BenchServer", "ServerStats", "linked_pty"]


def linked_pty(link: Path) -> tuple[int, int]:
    """A new raw pty (master, slave) whose slave is symlinked at `link`,
    replacing any old link at once (a restarted bench takes over the path)."""
    import tty

    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    tmp = link.with_name(link.name + ".new")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.ttyname(slave), tmp)
    os.replace(tmp, link)
    return master, slave


class BenchPort:
    """The bench's serial port: any pyserial URL, or a new pty whose other end
    is linked at `pty_link` for the flight computer to open."""

    def __init__(self, url: str | None = None, *, pty_link: str | Path | None = None,
                 baudrate: int = 921_600) -> None:
        self.link_path = Path(pty_link) if pty_link else None
        self._serial: Any = None
        self._keep: int | None = None
        if self.link_path is not None:
            # holding the slave keeps the pty up while no flight computer has it open
            self.fd, self._keep = linked_pty(self.link_path)
            self.name = f"{self.link_path} -> {os.ttyname(self._keep)}"
        else:
            import serial

            self._serial = serial.serial_for_url(url, baudrate=baudrate, timeout=0)
            try:
                self.fd = self._serial.fileno()
            except (AttributeError, OSError, ValueError, NotImplementedError):
                self.fd = None
            self.name = url

    def read(self, timeout_s: float) -> bytes:
        if self.fd is not None:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout_s))
            return os.read(self.fd, 65536) if ready else b""
        self._serial.timeout = max(0.0, timeout_s)
        return self._serial.read(max(1, self._serial.in_waiting))

    def write(self, data: bytes) -> None:
        if self.fd is not None:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
        else:
            self._serial.write(data)

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
        else:
            for fd in (self.fd, self._keep):
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                if self.link_path is not None and self.link_path.is_symlink():
                    self.link_path.unlink()
            except OSError:
                pass


@dataclass
class ServerStats:
    """Link statistics as the bench sees them (for the report)."""

    frames_rx: int = 0
    frames_tx: int = 0
    bytes_rx: int = 0
    bytes_tx: int = 0
    frame_errors: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    stale: int = 0
    hellos: int = 0
    sessions: int = 0
    flight_losses: int = 0
    impaired_bits: int = 0
    impaired_frames: int = 0
    busy_rx_s: float = 0.0
    busy_tx_s: float = 0.0
    elapsed_s: float = 0.0

    @property
    def crc_errors(self) -> int:
        return sum(self.frame_errors.values())

    def utilisation(self, baud: int) -> tuple[float, float]:
        """Fraction of the time each direction (flight->bench, bench->flight)
        was busy at `baud` (10 bits a byte: start, 8 data, stop)."""
        if self.elapsed_s <= 0:
            return 0.0, 0.0
        return (self.bytes_rx * 10 / baud / self.elapsed_s,
                self.bytes_tx * 10 / baud / self.elapsed_s)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "frame_errors": dict(self.frame_errors),
                "crc_errors": self.crc_errors}


class BenchServer:
    """Serves one world over one port until the scenario ends."""

    def __init__(self, port: BenchPort, world: BenchWorld, *, pace_baud: int | None = None,
                 impairment: Impairment | None = None, lost_after_s: float = 2.0,
                 checkpoint: Path | None = None,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.port = port
        self.world = world
        self.pace_baud = pace_baud
        self.impairment = impairment
        self.lost_after_s = lost_after_s
        self.checkpoint = checkpoint
        self.on_event = on_event or (lambda text: None)
        self.stats = ServerStats()
        self.decoder = FrameDecoder()
        self.session: int | None = None
        self._last: tuple[int, int, bytes] | None = None   # (type, seq, reply frame)
        self._rx_free = 0.0
        self._tx_free = 0.0
        self._heard = 0.0
        self._lost = False
        self._silent_until = 0.0
        self._t0_wall: float | None = None
        self._rt_offset = 0.0  # scenario time when the wall clock started (a resumed run)
        self.said_bye = False
        self.flight_stats: dict[str, float] = {}  # the flight side's link counters, at its bye
        self._stop = False
        self._saver: int | None = None  # a forked child writing the checkpoint
        self._save_started = 0.0
        self._save_s = 0.0               # how long the last checkpoint took to write

    def stop(self) -> None:
        """Make `serve` return at its next turn (from another thread)."""
        self._stop = True

    # -- pacing -------------------------------------------------------------------
    def _byte_s(self) -> float:
        return 10.0 / self.pace_baud if self.pace_baud else 0.0

    def _write(self, frame: bytes) -> None:
        if self.impairment is not None:
            if self.impairment.lose_frame():
                self.stats.impaired_frames += 1
                return
            frame, flips = self.impairment.corrupt(frame)
            self.stats.impaired_bits += flips
        if self.pace_baud:
            now = time.perf_counter()
            busy = len(frame) * self._byte_s()
            self._tx_free = max(now, self._tx_free) + busy
            self.stats.busy_tx_s += busy
            _sleep_until(self._tx_free)
        self.port.write(frame)
        self.stats.frames_tx += 1
        self.stats.bytes_tx += len(frame)

    def _reply(self, type_: int, seq: int, payload: bytes) -> None:
        frame = encode_frame(type_ | REPLY, 0, payload, ack=seq)
        self._last = (type_, seq, frame)
        self._write(frame)

    # -- serving -------------------------------------------------------------------
    def serve(self, *, connect_timeout_s: float = 60.0, linger_s: float = 1.0) -> None:
        """Answer requests until the scenario has ended and the flight side has
        heard so (or `linger_s` later), or no flight computer came in time."""
        start = time.perf_counter()
        ended_at: float | None = None
        next_save = start
        while not self._stop:
            now = time.perf_counter()
            if self.session is None and now - start > connect_timeout_s and not self._heard:
                raise TimeoutError(f"no flight computer on {self.port.name} within "
                                   f"{connect_timeout_s:g} s")
            if self.world.finished and ended_at is None and not self.world.directives_pending:
                ended_at = now
            if ended_at is not None and (self.said_bye or now - ended_at > linger_s):
                break
            self._follow_wall(now)
            data = self.port.read(0.02)
            now = time.perf_counter()
            if now < self._silent_until:
                continue
            if data:
                self._receive(data, now)
            elif self._heard and not self._lost and now - self._heard > self.lost_after_s \
                    and not self.world.finished:
                self._lost = True
                self.stats.flight_losses += 1
                self.on_event(f"flight computer lost: nothing heard for "
                              f"{now - self._heard:.1f} s; waiting for it")
            if self._saver is not None:
                self._saved()  # reaped at once, so its time is the writing's
            if self.checkpoint is not None and now >= next_save and self._saved():
                self._save()
                # The checkpoint grows with the run: keep its cost (the last one's
                # time) under ~5 % of the time.
                next_save = time.perf_counter() + max(0.5, 20.0 * self._save_s)
            if self.world.link_drop_s:
                self._silent_until = time.perf_counter() + self.world.link_drop_s
                self.world.link_drop_s = 0.0
        if self._t0_wall is not None:
            self.stats.elapsed_s = time.perf_counter() - self._t0_wall
        if self.checkpoint is not None:
            while not self._saved():
                time.sleep(0.01)
            self.world.save(self.checkpoint)

    def _save(self) -> None:
        """Write the checkpoint. It grows with the run (seconds of JSON after an
        orbit), and a bench that stops answering for that long stalls the flight
        software's transactions: a forked child writes it from a copy of the
        world while this process goes on serving. Forked only from the main
        thread of a process (a child of a threaded process inherits locks held
        by other threads); otherwise written here."""
        self._save_started = time.perf_counter()
        if threading.current_thread() is not threading.main_thread() or \
                not hasattr(os, "fork"):
            self.world.save(self.checkpoint)
            self._save_s = time.perf_counter() - self._save_started
            return
        pid = os.fork()
        if pid == 0:  # the child: write, and leave without running the parent's exit code
            code = 1
            try:
                self.world.save(self.checkpoint)
                code = 0
            finally:
                os._exit(code)
        self._saver = pid

    def _saved(self) -> bool:
        """True when no checkpoint is being written (a finished writer is reaped)."""
        if self._saver is None:
            return True
        pid, _ = os.waitpid(self._saver, os.WNOHANG)
        if pid == 0:
            return False
        self._saver = None
        self._save_s = time.perf_counter() - self._save_started
        return True

    def _follow_wall(self, now: float) -> None:
        if self.world.scenario.mode == "realtime" and self._t0_wall is not None:
            self.world.follow_wall(now - self._t0_wall + self._rt_offset)

    def _receive(self, data: bytes, now: float) -> None:
        self.stats.bytes_rx += len(data)
        if self.impairment is not None:
            data, flips = self.impairment.corrupt(data)
            self.stats.impaired_bits += flips
        if self.pace_baud:
            busy = len(data) * self._byte_s()
            self._rx_free = max(now, self._rx_free) + busy
            self.stats.busy_rx_s += busy
        before = self.decoder.error_count
        frames = self.decoder.feed(data)
        if self.decoder.error_count != before:
            self.stats.frame_errors = dict(self.decoder.errors)
            # Tell the flight side at once rather than let it wait out its retry time.
            self._write(encode_frame(MsgType.DAMAGED | REPLY, 0, b""))
        if not frames:
            return
        if self.pace_baud:
            _sleep_until(self._rx_free)
        for frame in frames:
            self.stats.frames_rx += 1
            if self.impairment is not None and self.impairment.lose_frame():
                self.stats.impaired_frames += 1
                continue
            self._heard = time.perf_counter()
            if self._lost:
                self._lost = False
                self.on_event("flight computer heard again")
            self._handle(frame)

    def _handle(self, frame) -> None:
        if frame.is_reply:
            self.stats.stale += 1
            return
        if frame.version != VERSION:
            self._reply(MsgType.HELLO, frame.seq, pack_json(
                {"version": VERSION, "error": f"protocol version {frame.version} is not "
                 f"supported; this bench speaks {VERSION}"}))
            return
        if self._last is not None and self._last[:2] == (frame.type, frame.seq):
            self.stats.duplicates += 1
            self._write(self._last[2])
            return
        if frame.type == MsgType.HELLO:
            self._hello(frame)
        elif frame.type == MsgType.CONTROL:
            self._control(frame)
        else:
            self._reply(frame.type, frame.seq, self.world.handle(frame.type, frame.payload))

    def _hello(self, frame) -> None:
        self.stats.hellos += 1
        try:
            doc = unpack_json(frame.payload)
        except FrameError as exc:
            self._reply(MsgType.HELLO, frame.seq, pack_json({"version": VERSION,
                                                             "error": exc.reason}))
            return
        if doc.get("version") != VERSION:
            self._reply(MsgType.HELLO, frame.seq, pack_json(
                {"version": VERSION, "error": f"protocol version {doc.get('version')} is not "
                 f"supported; this bench speaks {VERSION}"}))
            return
        session = doc.get("session")
        if session != self.session:
            self.session = session
            self.stats.sessions += 1
            self.on_event(f"flight computer connected (session {session}, "
                          f"its time {float(doc.get('t_s', 0.0)):.1f} s)")
            if self._t0_wall is None:
                self._t0_wall = time.perf_counter()
                self._rt_offset = self.world.t_s
        self._reply(MsgType.HELLO, frame.seq,
                    pack_json({"version": VERSION, **self.world.session_doc()}))

    def _control(self, frame) -> None:
        try:
            doc = unpack_json(frame.payload)
        except FrameError:
            doc = {}
        if doc.get("op") == "bye" and not self.said_bye:  # sent three times: log it once
            self.said_bye = True
            stats = doc.get("stats")
            if isinstance(stats, dict):
                self.flight_stats = {k: v for k, v in stats.items()
                                     if isinstance(v, (int, float)) and not isinstance(v, bool)}
            self.on_event("flight computer said goodbye")
        self._reply(MsgType.CONTROL, frame.seq, pack_json({"ok": True}))


def _sleep_until(t_perf: float) -> None:
    delay = t_perf - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
