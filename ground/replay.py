"""Replay: archived raw TM frames through a fresh decoder, back into the archive.

Frames are stored exactly as received, so a pass can be decoded again (after
a dictionary fix, or into a new archive). Samples are keyed by parameter and
on-board time, so replaying into the archive they came from adds only what
was missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fsw.protocol.errors import ProtocolError
from fsw.protocol.tm import TmReceiver
from ground.archive import Archive
from ground.dictionary import Dictionary
from ground.telemetry import TelemetryDecoder, TelemetryError


@dataclass
class ReplayStats:
    frames: int = 0
    frames_refused: int = 0
    packets: int = 0
    packets_refused: int = 0
    samples: int = 0
    lost_packets: int = 0

    def __str__(self) -> str:
        return (f"replayed {self.frames} frames ({self.frames_refused} refused): "
                f"{self.packets} packets ({self.packets_refused} refused, {self.lost_packets} "
                f"lost by sequence count), {self.samples} samples")


def replay(archive: Archive, scid: int, dictionary: Dictionary, frame_len: int,
           t0: float = float("-inf"), t1: float = float("inf"),
           into: Archive | None = None) -> ReplayStats:
    """Decode the frames of `scid` received in [t0, t1) (ground time) into `into`
    (default: the same archive)."""
    out = into or archive
    rx = TmReceiver(scid, frame_len)
    decoder = TelemetryDecoder(dictionary)
    stats = ReplayStats()
    for raw in archive.frames(scid, t0, t1):
        stats.frames += 1
        try:
            packets = rx.add(raw)
        except ProtocolError:
            stats.frames_refused += 1
            continue
        for _vc, pkt in packets:
            try:
                p = decoder.decode(pkt)
            except TelemetryError:
                stats.packets_refused += 1
                continue
            stats.packets += 1
            if p.names:
                out.add_samples(scid, p.time_s, p.names, p.raw, p.eng)
                stats.samples += len(p.names)
    stats.lost_packets = decoder.lost_packets
    out.flush()
    return stats
