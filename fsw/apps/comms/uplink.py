"""Uplink intake: TC frames from the links into the comms cycle.

A frame is screened when it arrives (`TcReceiver.screen`: frame checks,
MAC, ARSN freshness and the sender's rights, changing nothing), so a frame
without a valid MAC, or a replay, never takes queue space: it is counted
by reason and reported in the next cycle's summary. Authentic frames wait
in one bounded queue per key holder (security association), and each cycle
takes at most `frames_per_cycle` of them, one key holder after another, so
that no sender, outsider or key holder, can push another holder's frames
out or take the whole cycle. A key holder that overfills its own queue
loses its own newest frames (counted as QUEUE_FULL), which its FOP-1
retransmits.
"""

from __future__ import annotations

import threading
from collections import Counter, deque

from fsw.protocol import ProtocolError
from fsw.protocol import Reason as Why
from fsw.protocol.uplink import TcReceiver

FRAMES_PER_HOLDER = 16
FRAMES_PER_CYCLE = 16
# What `rejections` returns when nothing was refused: shared, never added to.
_NOTHING_REJECTED: Counter[Why] = Counter()


class UplinkIntake:
    """Screened, per-key-holder, bounded queues of received TC frames."""

    def __init__(self, rx: TcReceiver, frames_per_holder: int = FRAMES_PER_HOLDER,
                 frames_per_cycle: int = FRAMES_PER_CYCLE) -> None:
        self.rx = rx
        self.frames_per_holder = frames_per_holder
        self.frames_per_cycle = frames_per_cycle
        self._queues: dict[int, deque[bytes]] = {}
        self._turn = 0
        self._lock = threading.Lock()
        self._rejected: Counter[Why] = Counter()
        self._last_rejection = ""

    def offer(self, raw: bytes) -> None:
        """Screen one frame and queue it if it may be accepted. Safe to call
        from a link thread."""
        try:
            spi = self.rx.screen(raw)
        except ProtocolError as exc:
            with self._lock:
                self._rejected[exc.reason] += 1
                self._last_rejection = str(exc)
            return
        key = -1 if spi is None else spi
        with self._lock:
            q = self._queues.setdefault(key, deque())
            if len(q) >= self.frames_per_holder:
                # the newest goes: dropping older ones would open a gap in the
                # holder's N(S) sequence, which FARM-1 answers with Lockout
                self._rejected[Why.QUEUE_FULL] += 1
                self._last_rejection = f"uplink queue of SPI {spi} full: frame dropped"
                return
            q.append(bytes(raw))

    def take(self) -> list[bytes]:
        """Up to `frames_per_cycle` frames, taken in turn from each key holder's
        queue (each holder's frames stay in their order)."""
        out: list[bytes] = []
        with self._lock:
            keys = sorted(k for k, q in self._queues.items() if q)
            if not keys:
                return out
            start = self._turn % len(keys)
            order = keys[start:] + keys[:start]
            self._turn += 1
            while len(out) < self.frames_per_cycle and any(self._queues[k] for k in order):
                for k in order:
                    q = self._queues[k]
                    if q and len(out) < self.frames_per_cycle:
                        out.append(q.popleft())
        return out

    def waiting(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues.values())

    def rejections(self) -> tuple[Counter[Why], str]:
        """Frames refused on arrival since the last call, by reason, and the
        text of the last one."""
        with self._lock:
            out = self._rejected
            if not out:  # most cycles: no new counter to build (the caller only reads it)
                return _NOTHING_REJECTED, self._last_rejection
            self._rejected = Counter()
            return out, self._last_rejection
