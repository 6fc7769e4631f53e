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


class AuditApp(App):
    NAME = "audit"
    APID = AUDIT_APID
    COMMAND_PIPE_DEPTH = 256
    HK_FIELDS = (Field("records", "I", doc="records in the log"),)
    TELEMETRY = (AUDIT_RECORD_MSG,)
    EVENTS = (EV_RECORD_FAILED,)

    def __init__(self, ctx: Any, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, config)
        self.log = AuditLog(self.config.get("path", "audit.log"))

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

    def housekeeping_values(self) -> Mapping[str, Any]:
        return {"records": self.log.seq}

    def stop(self) -> None:
        """Write the records submitted since the last cycle, then close the log:
        an orderly shutdown loses none of them."""
        self.handle_waiting_commands()
        self.log.close()
