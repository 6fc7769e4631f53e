"""The audit app (APID 0x017): appends submitted records to the audit log and downlinks them.

Other apps submit with command 20 RECORD (fsw.payload.audit.encode_submission);
the app appends durably, then publishes the record as AuditRecord
telemetry. The log file lives at the configured ``path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsw.core import App, CommandError, EventDef, Field, Reason, Severity, command
from fsw.core.ids import AUDIT_APID
from fsw.payload.audit import AUDIT_RECORD_MSG, FC_RECORD, AuditLog, decode_submission

EV_RECORD_FAILED = EventDef(10, "RECORD_FAILED", Severity.HIGH, "audit log write failed: {why}")
EV_RECORDS_LOST = EventDef(11, "RECORDS_LOST", Severity.HIGH,
                           "{count} audit records lost: the audit queue was full")

# Records held between two cycles of this 1 Hz app: one second of the payload host's
# worst case for six partner apps (each app's queue passes 64 commands per 10 Hz host
# cycle, each audited: 640 records a second) with room for the host's other records.
# A record that still finds the queue full is counted and reported (RECORDS_LOST).
QUEUE_DEPTH = 4096


class AuditApp(App):
    NAME = "audit"
    APID = AUDIT_APID
    COMMAND_PIPE_DEPTH = QUEUE_DEPTH
    HK_FIELDS = (Field("records", "I", doc="records in the log"),
                 Field("records_lost", "I", doc="records dropped by a full queue since boot"))
    TELEMETRY = (AUDIT_RECORD_MSG,)
    EVENTS = (EV_RECORD_FAILED, EV_RECORDS_LOST)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.log = AuditLog(self.config.get("path", "audit.log"))
        self.records_lost = 0

    @command(FC_RECORD, parse=decode_submission)
    def record(self, actor: str, action: str, app: str, detail: str) -> None:
        """Append one record (actor|action|app|detail) and downlink it."""
        try:
            rec, digest = self.log.append(self.now(), actor, action, app, detail)
        except OSError as exc:
            self.event(EV_RECORD_FAILED, why=exc)
            raise CommandError(Reason.EXECUTION_FAILED, str(exc)) from None
        self.publish(AUDIT_RECORD_MSG, seq=rec.seq, time_s=rec.time_s,
                     actor=actor.encode()[:16], action=action.encode()[:16],
                     app=app.encode()[:16], detail=detail.encode()[:80],
                     chain=bytes.fromhex(digest)[:8])

    def execute(self) -> None:
        self._record_losses()

    def _record_losses(self) -> None:
        """After the cycle's records: if the queue dropped any since the last cycle, say
        how many in the log itself, as an event and in housekeeping."""
        lost = self.command_pipe.dropped - self.records_lost
        if lost <= 0:
            return
        self.records_lost += lost
        self.event(EV_RECORDS_LOST, count=lost)
        try:
            self.record("onboard", "lost", self.NAME,
                        f"{lost} records lost: the audit queue was full")
        except CommandError:
            pass  # RECORD_FAILED reported it; the count stays in housekeeping

    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"records": self.log.seq, "records_lost": self.records_lost & 0xFFFFFFFF}

    def stop(self) -> None:
        """Write the records submitted since the last cycle, then close the log:
        an orderly shutdown loses none of them."""
        self.handle_waiting_commands()
        self._record_losses()
        self.log.close()
