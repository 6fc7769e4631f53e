"""The flight computer's end of the bench link: one request, one reply.

The flight side asks and the bench answers (stop and wait): a request is
sent with the next sequence number and resent, same number, until the reply
that acknowledges it arrives. A reply whose `ack` is not the number awaited
(a duplicate, a late reply to an earlier try, a reordered frame) is counted
and dropped; a frame that fails its CRC or COBS is counted and dropped; the
bench remembers its last reply per session, so a resent request is answered
again rather than done twice (an I2C write is not repeated).

When nothing valid has been heard for `lost_after_s`, or the port fails,
the bench is lost: that is reported through `on_event`, the port is
closed, and the link keeps reopening the same URL and sending HELLO until
a bench answers (the same bench after a cable drop, or a new one after a
restart); the pending request is then resent. `patient` requests (every
lockstep request: bench time cannot move without the bench) wait up to
`abandon_after_s`; impatient ones (bus transactions in real time, where
the flight software must not stall) raise `BusTimeoutError` after
`give_up_s` and leave the reconnecting to later requests.

Fewer round trips (protocol version 2): a request nobody waits on (a posted
write, `post`) is queued and goes out in one BATCH with the next request
that needs an answer; its reply comes back in that batch's reply and is
handed to the poster then. `exchange` sends several requests in one batch
(the lockstep TICK and the transactions read ahead for the next frame).
"""

from __future__ import annotations

import os
import random
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hal import BusTimeoutError, ConfigError, HalError
from hal.tunnel.messages import (
    BATCH_ITEM,
    pack_batch,
    pack_json,
    pack_reply,
    unpack_batch_reply,
    unpack_json,
)
from hal.tunnel.protocol import (
    MAX_PAYLOAD,
    REPLY,
    VERSION,
    FrameDecoder,
    MsgType,
    Status,
    encode_frame,
)
from hal.tunnel.readahead import ReadAhead, Target

__all__ = ["POSTED_ROOM", "BenchLink", "LinkError", "LinkLostError", "LinkStats"]

# Posted requests queued beyond this many bytes are sent on their own: with a
# TICK or STAMP's telemetry (at most TELEMETRY_ROOM) they still fit one frame.
POSTED_ROOM = MAX_PAYLOAD // 2 - 64


class LinkError(HalError):
    """The bench refused the link (version, session) or answered nonsense."""

    kind = "link"


class LinkLostError(LinkError):
    """No bench answered within `abandon_after_s`."""

    kind = "link_lost"


@dataclass
class LinkStats:
    """Counters of one link since it opened."""

    requests: int = 0
    frames_tx: int = 0
    frames_rx: int = 0
    bytes_tx: int = 0
    bytes_rx: int = 0
    retries: int = 0
    stale_replies: int = 0
    losses: int = 0
    lost_s: float = 0.0
    reconnects: int = 0
    write_waits: int = 0
    posted: int = 0
    batches: int = 0
    read_ahead: int = 0
    read_ahead_used: int = 0
    read_ahead_dropped: int = 0
    frame_errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "frame_errors": dict(self.frame_errors)}


class BenchLink:
    """A bench link on any pyserial URL (a serial device, a pty, `socket://`...).

    `hello()` performs the version handshake and returns the bench's session
    document (mode, epoch, orbit, timing); `request(type, payload)` returns
    the reply payload.
    """

    def __init__(self, url: str, *, baudrate: int = 921_600, retry_s: float = 0.02,
                 lost_after_s: float = 2.0, give_up_s: float = 0.1,
                 abandon_after_s: float = 120.0,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.url = url
        self.baudrate = baudrate
        self.retry_s = retry_s
        self.lost_after_s = lost_after_s
        self.give_up_s = give_up_s
        self.abandon_after_s = abandon_after_s
        self.on_event = on_event or (lambda text: None)
        self.session_id = random.getrandbits(32)
        self.flight_time: Callable[[], float] = lambda: 0.0
        self.session: dict[str, Any] = {}
        self.stats = LinkStats()
        self._decoder = FrameDecoder()
        self._seq = 0
        self._port: Any = None
        self._fd: int | None = None
        self._last_heard = time.monotonic()
        self._lost_since: float | None = None
        # Posted requests not yet sent: (type, payload, part, on_reply), and their size.
        self._posted: list[tuple[int, bytes, Target, Callable[[bytes], None] | None]] = []
        self._posted_size = 0
        self.posted_targets: dict[Target, int] = {}   # parts with posted requests unanswered
        self.posted_failures: dict[Target, bytes] = {}  # a failed posted request's reply, per
        # part, until the part's next transaction raises it
        self.read_ahead: ReadAhead | None = None       # lockstep: see hal.tunnel.readahead
        self._open()

    # -- port -------------------------------------------------------------------
    def _open(self) -> None:
        import serial

        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0,
                                               write_timeout=1.0)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise ConfigError(f"cannot open bench link {self.url}: {exc}",
                              bus="bench link") from None
        try:
            self._fd = self._port.fileno()
        except (AttributeError, OSError, ValueError, NotImplementedError):
            self._fd = None
        self._decoder.reset()

    def _close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:  # a dead port may fail to close; it is gone either way
                pass
        self._port = None
        self._fd = None

    def close(self) -> None:
        """Say goodbye to the bench (best effort) and close the port."""
        if self._posted and self._port is not None and self._lost_since is None:
            try:  # the last posted writes (an actuator command) still reach the bench
                self.exchange([], patient=False)
            except (OSError, HalError):
                pass
        if self._port is not None and self._lost_since is None:
            # The bench reports the link from both ends: give it this end's counts. Sent
            # three times: on a noisy link one copy may be corrupted, and the bench takes
            # the first that arrives.
            bye = pack_json({"op": "bye", "stats": self.counters()})
            for _ in range(3):
                try:
                    self._send(MsgType.CONTROL, bye)
                except (OSError, HalError):
                    break
        self._close()

    def counters(self) -> dict[str, Any]:
        """The link's counters (`LinkStats`), read-ahead ones included."""
        if self.read_ahead is not None:
            self.stats.read_ahead = self.read_ahead.planned
            self.stats.read_ahead_used = self.read_ahead.used
            self.stats.read_ahead_dropped = self.read_ahead.dropped
        return self.stats.as_dict()

    def _write(self, data: bytes) -> None:
        if self._fd is not None:
            view = memoryview(data)
            deadline = time.monotonic() + self.lost_after_s
            while view:
                try:
                    view = view[os.write(self._fd, view):]
                except BlockingIOError:
                    # The port's buffer is full (a busy bench reads later): wait for
                    # room, up to the time after which the bench counts as lost.
                    if time.monotonic() >= deadline:
                        raise OSError("the port has taken no data for "
                                      f"{self.lost_after_s:g} s") from None
                    self.stats.write_waits += 1
                    select.select([], [self._fd], [], 0.05)
        else:
            self._port.write(data)
        self.stats.bytes_tx += len(data)

    def _read(self, timeout_s: float) -> bytes:
        if self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout_s))
            if not ready:
                return b""
            data = os.read(self._fd, 65536)
            if not data:
                raise OSError("port closed by the other end")
        else:
            self._port.timeout = max(0.0, timeout_s)
            data = self._port.read(max(1, self._port.in_waiting))
        self.stats.bytes_rx += len(data)
        return data

    # -- requests -----------------------------------------------------------------
    def _send(self, type_: int, payload: bytes) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        self._pending_frame = encode_frame(type_, self._seq, payload)
        self._write(self._pending_frame)
        self.stats.frames_tx += 1
        return self._seq

    def hello(self) -> dict[str, Any]:
        """Version handshake: the bench's session document (see docs/hil.md)."""
        reply = self.request(MsgType.HELLO, self._hello_payload(), patient=True)
        return self._accept_hello(reply)

    def _hello_payload(self) -> bytes:
        return pack_json({"version": VERSION, "session": self.session_id,
                          "t_s": float(self.flight_time()), "role": "flight"})

    def _accept_hello(self, reply: bytes) -> dict[str, Any]:
        doc = unpack_json(reply)
        if "error" in doc:
            raise LinkError(f"bench refused the link: {doc['error']}", bus="bench link")
        if doc.get("version") != VERSION:
            raise LinkError(f"bench speaks protocol version {doc.get('version')}, "
                            f"this flight computer {VERSION}", bus="bench link")
        self.session = doc
        if doc.get("read_ahead", True):
            # Answers read ahead by a bench that has since restarted are not its own.
            if self.read_ahead is None:
                self.read_ahead = ReadAhead()
            self.read_ahead.forget()
        else:
            self.read_ahead = None
        return doc

    def post(self, type_: int, payload: bytes, target: Target,
             on_reply: Callable[[bytes], None] | None = None) -> None:
        """Queue a request whose answer nobody waits for (a posted write) to part
        `target`. It goes out with the next request that needs an answer. If it
        failed, its reply waits in `posted_failures[target]` (for the part's next
        transaction to raise); otherwise `on_reply(reply payload)` is called. If
        the request that carried it gives up (real time), it counts as failed
        with that request's error."""
        size = BATCH_ITEM.size + len(payload)
        if self._posted_size + size > POSTED_ROOM:
            self.exchange([], patient=self.session.get("mode", "lockstep") == "lockstep")
        self._posted.append((type_, payload, target, on_reply))
        self._posted_size += size
        self.posted_targets[target] = self.posted_targets.get(target, 0) + 1
        self.stats.posted += 1

    @property
    def posted_pending(self) -> int:
        """Posted requests queued and not yet sent."""
        return len(self._posted)

    @property
    def posted_bytes(self) -> int:
        """What the posted requests queued add to the next batch, bytes."""
        return self._posted_size

    def exchange(self, items: list[tuple[int, bytes]], *, patient: bool = True) -> list[bytes]:
        """Send the posted requests and `items` in one round trip; the replies to
        `items`, in order. One item and nothing posted goes as a plain request."""
        posted, self._posted, self._posted_size = self._posted, [], 0
        if not posted and len(items) <= 1:
            return [self.request(*items[0], patient=patient)] if items else []
        batch = [(t, p) for t, p, _, _ in posted] + items
        self.stats.batches += 1
        try:
            reply = self.request(MsgType.BATCH, pack_batch(batch), patient=patient)
            replies = unpack_batch_reply(reply, len(batch))
        except HalError as exc:
            # Nobody knows whether the posted requests were done: each part
            # hears the failure its own request would have met.
            why = pack_reply(Status.TIMEOUT if isinstance(exc, BusTimeoutError)
                             else Status.DATA, exc.reason.encode()[:200])
            replies = [why] * len(posted)
            self._answer_posted(posted, replies)
            raise
        self._answer_posted(posted, replies)
        return replies[len(posted):]

    def _answer_posted(self, posted: list, replies: list[bytes]) -> None:
        for (_, _, target, on_reply), answer in zip(posted, replies, strict=False):
            left = self.posted_targets.get(target, 1) - 1
            if left:
                self.posted_targets[target] = left
            else:
                self.posted_targets.pop(target, None)
            if answer[:1] != b"\x00":
                self.posted_failures.setdefault(target, answer or b"\x04")
            elif on_reply is not None:
                try:
                    on_reply(answer)
                except HalError as exc:  # a malformed answer fails that part, not the caller
                    self.posted_failures.setdefault(
                        target, pack_reply(Status.DATA, exc.reason.encode()[:200]))

    def request(self, type_: int, payload: bytes, *, patient: bool = True) -> bytes:
        """Send one request and return its reply's payload (see the module docstring).
        Requests posted before it are not sent: `exchange` sends those."""
        self.stats.requests += 1
        start = time.monotonic()
        while True:
            if self._port is None and not self._reconnect(start, patient):
                raise BusTimeoutError("bench link down", bus="bench link")
            try:
                seq = self._send(type_, payload)
                reply = self._await(type_ | REPLY, seq, start, patient)
            except OSError as exc:
                self._lose(f"port failed: {exc}")
                continue
            if reply is not None:
                return reply
            if not patient:
                raise BusTimeoutError(f"no reply within {self.give_up_s * 1e3:.0f} ms",
                                      bus="bench link")

    def _await(self, want_type: int, seq: int, start: float, patient: bool) -> bytes | None:
        """The awaited reply, retransmitting every retry_s; None when lost or given up."""
        sent = time.monotonic()
        retry_s = self.retry_s
        baud = self.session.get("baud") if self.session.get("mode") == "realtime" else None
        if isinstance(baud, int) and baud > 0:
            # The bench imposes the line's byte timing: a long request (a read-ahead
            # batch) and its reply take time on the wire before any answer can come.
            retry_s += 2 * len(self._pending_frame) * 10 / baud
        while True:
            now = time.monotonic()
            if not patient and now - start >= self.give_up_s:
                return None
            if now - self._last_heard >= self.lost_after_s and now - sent >= retry_s:
                self._lose(f"no reply for {now - self._last_heard:.1f} s")
                return None
            if now - sent >= retry_s:
                self._write(self._pending_frame)
                self.stats.frames_tx += 1
                self.stats.retries += 1
                sent = now
                # Back off: a bench that is slow rather than deaf must not be
                # buried under copies of the same request.
                retry_s = min(retry_s * 2, self.lost_after_s / 4)
            wait = sent + retry_s - now
            if not patient:
                wait = min(wait, start + self.give_up_s - now)
            data = self._read(wait)
            if not data:
                continue
            errors = self._decoder.error_count
            frames = self._decoder.feed(data)
            resend = self._decoder.error_count != errors
            if resend:
                self.stats.frame_errors = dict(self._decoder.errors)
            for frame in frames:
                self.stats.frames_rx += 1
                self._last_heard = time.monotonic()
                if frame.type == want_type and frame.ack == seq and (
                        frame.version == VERSION or want_type == MsgType.HELLO | REPLY):
                    # a duplicate of this reply, read with it, is stale from now on
                    self.stats.stale_replies += len(frames) - frames.index(frame) - 1
                    return frame.payload
                if frame.type == MsgType.DAMAGED | REPLY:
                    resend = True  # the bench got a damaged frame: likely this request
                else:
                    self.stats.stale_replies += 1
            if resend:
                # Waiting out the retry time for a reply that was damaged (ours or
                # its) only slows the link: resend at once, the bench's reply cache
                # makes that safe.
                sent = now - retry_s

    # `_await` resends the frame of the request in flight (one at a time).
    _pending_frame = b""

    def _lose(self, why: str) -> None:
        if self._lost_since is None:
            self._lost_since = time.monotonic()
            if self.session:
                self.stats.losses += 1
                self.on_event(f"bench link lost: {why}; reconnecting to {self.url}")
            else:
                self.on_event(f"no bench answers on {self.url} yet; still trying")
        self._close()

    def _reconnect(self, start: float, patient: bool) -> bool:
        """Reopen the port and redo the handshake; False if an impatient caller
        must give up first."""
        while True:
            now = time.monotonic()
            if not patient and now - start >= self.give_up_s:
                return False
            if now - start >= self.abandon_after_s:
                raise LinkLostError(f"no bench on {self.url} for {self.abandon_after_s:.0f} s",
                                    bus="bench link")
            try:
                self._open()
            except ConfigError:
                time.sleep(min(self.retry_s, 0.2))
                continue
            try:
                seq = self._send(MsgType.HELLO, self._hello_payload())
                reply = self._await_hello(seq)
            except OSError:
                self._close()
                time.sleep(min(self.retry_s, 0.2))
                continue
            if reply is None:
                self._close()
                continue
            was_up = bool(self.session)
            self._accept_hello(reply)
            lost_s = time.monotonic() - (self._lost_since or time.monotonic())
            self._lost_since = None
            self._last_heard = time.monotonic()
            if not was_up:
                return True
            self.stats.lost_s += lost_s
            self.stats.reconnects += 1
            self.on_event(f"bench link restored after {lost_s:.1f} s "
                          f"(bench time {self.session.get('t_s', 0.0):.1f} s)")
            return True

    def _await_hello(self, seq: int) -> bytes | None:
        deadline = time.monotonic() + max(self.retry_s, 0.2)
        while time.monotonic() < deadline:
            data = self._read(deadline - time.monotonic())
            for frame in self._decoder.feed(data):
                self.stats.frames_rx += 1
                if frame.type == MsgType.HELLO | REPLY and frame.ack == seq:
                    return frame.payload
        return None
