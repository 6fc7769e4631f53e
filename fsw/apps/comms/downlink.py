"""Downlink: PUS TM packets into fixed-length TM frames (CCSDS 132.0-B) on
TM virtual channel 0, with the CLCW of the TC virtual channels in turn in
the OCF, and a bounded frame queue (overflow drops the oldest, counted).
A frame's CLCW is the one current when the frame leaves (`take`), not when
it was built: frames queued between passes would otherwise report a FARM
state long gone.

With a store-and-forward queue (`fsw.core.tmqueue.TmQueue`), packets are
not framed as they are made: each cycle's packets go into the durable queue
with a priority (`priority(apid, service, subtype)`), and frames are built
when the link asks for them, most important packets first, so what was made
between passes, or before a power loss, goes down at the next pass.

TM generated in reply to a key holder's TCs (verification reports, replies)
is charged to that key holder: at most its `tm_bytes_per_cycle` quota in
one comms cycle; the rest is withheld and counted, so no key holder's TCs
can fill the downlink for everyone.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable

from fsw.core.tmqueue import TmQueue
from fsw.protocol import Reason as Why
from fsw.protocol import services as sv
from fsw.protocol.cuc import encode_seconds
from fsw.protocol.pus import (
    ACK_ACCEPTANCE,
    ACK_COMPLETION,
    ACK_PROGRESS,
    ACK_START,
    encode_tm,
)
from fsw.protocol.sdls import SecurityAssociation
from fsw.protocol.spp import SequenceCounter
from fsw.protocol.tm import Clcw, TmMasterChannel, with_ocf

# ST1 failure codes: the core's command Reason below this, fsw.protocol.Reason above.
LINK_FAILURE_BASE = 0x100
_STAGE_ACK = {1: ACK_ACCEPTANCE, 3: ACK_START, 5: ACK_PROGRESS, 7: ACK_COMPLETION}


class Downlink:
    """TM packets and frames, with a per-key-holder TM budget per cycle."""

    def __init__(self, scid: int, frame_len: int, queue_frames: int,
                 clcws: Callable[[], list[Clcw]], now: Callable[[], float], *,
                 queue: TmQueue | None = None,
                 priority: Callable[[int, int, int], int] | None = None) -> None:
        self.tm = TmMasterChannel(scid, frame_len, vcids=(0,))
        self.queue_frames = queue_frames
        self.frames: deque[bytes] = deque()
        self.seq = SequenceCounter()
        self.msg_counters: Counter[tuple[int, int]] = Counter()
        self.clcws = clcws
        self.now = now
        self.tm_packets = 0
        self.frames_dropped = 0
        self.withheld: Counter[str] = Counter()  # TM packets withheld, by key holder
        self._clcw_turn = 0
        self._spent: Counter[int] = Counter()
        self._payer: SecurityAssociation | None = None
        self._time_s = -1.0  # the time of `_time_field`, s (none yet)
        self._time_field = b""
        self.queue = queue
        self.priority = priority or (lambda apid, service, subtype: 0)
        self._held: list[tuple[int, bytes]] = []
        # Store-and-forward bookkeeping: a queued packet is acknowledged (forgotten by the
        # store) only once the last frame carrying it has been taken for the link, so a
        # power loss with frames built but not sent loses nothing.
        self._in_flight: set[str] = set()
        self._acks: deque[tuple[int, list[str]]] = deque()  # (frames built so far, keys)
        self._frames_built = 0  # with a queue, frames are built only from it

    # -- who pays ----------------------------------------------------------------
    def new_cycle(self) -> None:
        self._spent.clear()

    def charge_to(self, sa: SecurityAssociation | None) -> None:
        """TM sent from now on is in reply to `sa`'s TC (None: on board's own)."""
        self._payer = sa

    # -- packets -----------------------------------------------------------------
    def send(self, apid: int, service: int, subtype: int, data: bytes, dest: int = 0) -> bool:
        """Queue one TM packet; False if the paying key holder's budget withheld it."""
        key = (apid, service)
        payer = self._payer
        msg_counters = self.msg_counters
        count = msg_counters[key]
        seconds = max(self.now(), 0)
        if seconds != self._time_s:  # a cycle's packets share their time field
            self._time_field = encode_seconds(seconds)
            self._time_s = seconds
        raw = encode_tm(apid, service, subtype, data, seq_count=self.seq.peek(apid),
                        msg_counter=count & 0xFFFF, dest_id=dest,
                        time_field=self._time_field)
        if payer is not None:
            spent = self._spent[payer.spi] + len(raw)
            if spent > payer.rights.quotas.tm_bytes_per_cycle:
                self.withheld[payer.owner] += 1
                return False
            self._spent[payer.spi] = spent
        self.seq.next(apid)
        msg_counters[key] = count + 1
        if self.queue is not None:
            self._held.append((self.priority(apid, service, subtype), raw))
        else:
            self.tm.add_packet(0, raw)
        self.tm_packets += 1
        return True

    def verification(self, apid: int, rid: int, subtype: int, reason: int | None = None, *,
                     ack: int, dest: int = 0) -> None:
        """TM[1,subtype] for request `rid`. Successes only when the TC's ack
        flags ask for that stage; failures always, with the failure code."""
        success = subtype % 2 == 1
        if success and not ack & _STAGE_ACK.get(subtype, 0):
            return
        code = None
        if not success:
            code = int(reason or 0)
            if isinstance(reason, Why):
                code += LINK_FAILURE_BASE
        step = 0 if subtype in (sv.PROGRESS_OK, sv.PROGRESS_FAIL) else None
        self.send(apid, sv.ST_VERIFICATION, subtype,
                  sv.VerificationReport(subtype, rid, step, code).encode(), dest=dest)

    # -- frames --------------------------------------------------------------------
    def packetise(self) -> int:
        """Close the packets into frames; returns the frames dropped for room.
        With a store-and-forward queue: commit this cycle's packets to it instead."""
        if self.queue is not None:
            if self._held:
                self.queue.put_many(self._held)
                self._held = []
            return 0
        return self._frame_pending()

    def _frame_pending(self, *, bounded: bool = True) -> int:
        vc = self.tm.vcs[0]
        vc.flush()
        while vc.pending:
            self.frames.append(self.tm.frame(0))
        n = max(0, len(self.frames) - self.queue_frames) if bounded else 0
        for _ in range(n):
            self.frames.popleft()
        self.frames_dropped += n
        return n

    def take(self, max_frames: int | None = None) -> list[bytes]:
        if self.queue is not None:
            self._frames_from_queue(max_frames)
        n = len(self.frames) if max_frames is None else min(max_frames, len(self.frames))
        frames = [self.frames.popleft() for _ in range(n)]
        if self.queue is not None and n:
            self._acknowledge_sent()
        clcws = self.clcws() if self.tm.use_ocf else []
        if clcws:
            fecf = self.tm.use_fecf
            for i, frame in enumerate(frames):
                clcw = clcws[self._clcw_turn % len(clcws)]
                self._clcw_turn += 1
                frames[i] = with_ocf(frame, clcw.encode(), fecf=fecf)
        return frames

    def _frames_from_queue(self, max_frames: int | None) -> None:
        """Frame queued packets, most important first, until `max_frames` (at most
        `queue_frames`) are ready; the packets stay in the queue until their frames
        are taken (`_acknowledge_sent`)."""
        limit = self.queue_frames if max_frames is None else max_frames
        while len(self.frames) < limit:
            in_flight = self._in_flight
            batch = [(key, raw) for key, raw in self.queue.peek(16 + len(in_flight))  # type: ignore[union-attr]
                     if key not in in_flight][:16]
            if not batch:
                return
            for _, raw in batch:
                self.tm.add_packet(0, raw)
            before = len(self.frames)
            self._frame_pending(bounded=False)  # the queue bounds them; none is dropped
            self._frames_built += len(self.frames) - before
            keys = [key for key, _ in batch]
            in_flight.update(keys)
            self._acks.append((self._frames_built, keys))

    def _acknowledge_sent(self) -> None:
        """Frames have gone to the link: forget the packets whose last frame is among
        them (TM goes down at least once; CCSDS 132.0-B has no retransmission, so the
        store is the only copy until then)."""
        taken = self._frames_built - len(self.frames)
        sent: list[str] = []
        while self._acks and self._acks[0][0] <= taken:
            sent += self._acks.popleft()[1]
        if sent:
            self.queue.ack(sent)  # type: ignore[union-attr]
            self._in_flight.difference_update(sent)

    def idle_frame(self, clcw: Clcw) -> bytes:
        self.tm.clcw = clcw
        return self.tm.frame()
