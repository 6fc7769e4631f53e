"""The store-and-forward telemetry queue: TM packets kept through power loss
until a pass downlinks them, most important first.

Between passes the downlink has nowhere to go: packets wait here, in the
store (`fsw.core.store`, SQLite with durable commits), ordered by priority
(0-255, higher first) and, within a priority, oldest first. At the next pass
the downlink takes them in that order and acknowledges each batch once its
frames are out; a power loss between the two sends that batch again (TM is
sent at least once, never lost once queued). When the queue holds
`max_packets`, a new packet displaces the oldest packet of the lowest
priority present, if that is not above its own; otherwise the new packet is
dropped. Either way the loss is counted.
"""

from __future__ import annotations

from collections.abc import Iterable

from fsw.core.store import Store

_NS = "tmq"
_SEQ = "~seq"


class TmQueue:
    """A durable priority queue of TM packets in one store namespace."""

    def __init__(self, store: Store, max_packets: int = 20000, ns: str = _NS) -> None:
        if max_packets < 1:
            raise ValueError("max_packets must be at least 1")
        self.store = store
        self.ns = ns
        self.max_packets = max_packets
        self.dropped = 0
        raw = store.get(ns, _SEQ)
        self._seq = 0 if raw is None else int(raw)
        self._count = store.count(ns) - (raw is not None)

    def __len__(self) -> int:
        return self._count

    def put_many(self, packets: Iterable[tuple[int, bytes]]) -> list[str]:
        """Queue `(priority, packet)` pairs in one durable transaction; returns the keys
        of those queued (a dropped packet has none)."""
        keys = []
        with self.store.transaction():
            for priority, packet in packets:
                if not 0 <= priority <= 255:
                    raise ValueError(f"priority {priority} is not 0-255")
                if self._count >= self.max_packets and not self._make_room(priority):
                    self.dropped += 1
                    continue
                key = f"{255 - priority:03d}.{self._seq:012d}"
                self.store.put(self.ns, key, packet)
                keys.append(key)
                self._seq += 1
                self._count += 1
            self.store.put(self.ns, _SEQ, str(self._seq).encode())
        return keys

    def put(self, priority: int, packet: bytes) -> str | None:
        keys = self.put_many([(priority, packet)])
        return keys[0] if keys else None

    def _make_room(self, priority: int) -> bool:
        lowest = self.store.last_key(self.ns, before=_SEQ)
        if lowest is None or 255 - int(lowest[:3]) > priority:
            return False
        victim = self.store.first_with_prefix(self.ns, lowest[:4])
        self.store.delete(self.ns, victim)
        self._count -= 1
        self.dropped += 1
        return True

    def peek(self, n: int) -> list[tuple[str, bytes]]:
        """The next `n` packets to send, as (key, packet), without removing them."""
        return [(k, v) for k, v in self.store.first(self.ns, n + 1) if k != _SEQ][:n]

    def ack(self, keys: Iterable[str]) -> None:
        """Forget packets that have been sent, in one transaction."""
        with self.store.transaction():
            for key in keys:
                if self.store.get(self.ns, key) is not None:
                    self.store.delete(self.ns, key)
                    self._count -= 1
