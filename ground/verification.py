"""Verification of every TC the ground sends, through the PUS service 1 stages.

A `TcRecord` follows one TC (ECSS-E-ST-70-41C 6.1): acceptance, start,
progress and completion reports, success or failure with the failure code;
a TC with no completion `timeout_s` after it was sent (or, for a
time-tagged TC, after its release time) is marked ``timeout``. Status moves
only forward: pending -> accepted -> started -> completed, or to failed or
timeout, which are final.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

STAGE_NAMES = {1: "acceptance", 2: "acceptance", 3: "start", 4: "start", 5: "progress",
               6: "progress", 7: "completion", 8: "completion"}
FINAL = ("completed", "failed", "timeout")


@dataclass
class TcRecord:
    request_id: int
    text: str
    sent_time: float
    """Wall clock, s since the Unix epoch."""
    timeout_s: float = 30.0
    release_s: float | None = None
    """On-board release time of a time-tagged TC (s of mission time)."""
    status: str = "pending"
    stages: dict[str, str] = field(default_factory=dict)
    """Stage name -> ``ok`` or ``failed: REASON``, in arrival order."""
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.status in FINAL

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v}" for k, v in self.stages.items()) or "no reports yet"
        return f"[{self.request_id:#010x}] {self.text}: {self.status.upper()} ({stages})"


class VerificationTracker:
    """All TCs in flight, by request ID; `on_change(record)` is told of every change."""

    def __init__(self, failure_codes: Mapping[int, str] | None = None,
                 on_change: Callable[[TcRecord], None] | None = None,
                 keep: int = 4096) -> None:
        self.failure_codes = dict(failure_codes or {})
        self.on_change = on_change
        self.records: dict[int, TcRecord] = {}
        self.keep = keep

    def sent(self, record: TcRecord) -> TcRecord:
        self.records.pop(record.request_id, None)
        self.records[record.request_id] = record
        while len(self.records) > self.keep:
            oldest = next(iter(self.records))
            del self.records[oldest]
        return record

    def report(self, subtype: int, request_id: int, code: int | None) -> TcRecord | None:
        """A TM[1,subtype] report; returns the record it changed (None: not ours)."""
        rec = self.records.get(request_id)
        if rec is None or subtype not in STAGE_NAMES or rec.status in ("failed", "timeout"):
            return None
        stage = STAGE_NAMES[subtype]
        if subtype % 2 == 0:
            why = self.failure_codes.get(code or 0, f"code {code}")
            rec.stages[stage] = f"failed: {why}"
            rec.status = "failed"
            rec.reason = f"{stage} failed: {why}"
        else:
            rec.stages[stage] = "ok"
            progression = {"acceptance": "accepted", "start": "started",
                           "progress": "started", "completion": "completed"}
            order = ("pending", "accepted", "started", "completed")
            new = progression[stage]
            if order.index(new) > order.index(rec.status):
                rec.status = new
        if self.on_change:
            self.on_change(rec)
        return rec

    def check_timeouts(self, now: float | None = None, onboard_s: float | None = None
                       ) -> list[TcRecord]:
        """Mark overdue TCs; a time-tagged one counts from its release (on-board time)."""
        now = time.time() if now is None else now
        out = []
        for rec in self.records.values():
            if rec.done:
                continue
            if rec.release_s is not None:
                if onboard_s is None or onboard_s < rec.release_s + rec.timeout_s:
                    continue
            elif now - rec.sent_time < rec.timeout_s:
                continue
            rec.status = "timeout"
            rec.reason = "no completion report in time"
            out.append(rec)
            if self.on_change:
                self.on_change(rec)
        return out
