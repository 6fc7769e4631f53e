"""Authorisation: may this key holder have this TC dispatched?

Every TC is authorised against the key holder whose SA authenticated it,
at the moment it is dispatched, whichever way it came: straight off an
accepted frame, or released by the scheduler (then the activity's owner,
looked up in the key file in force now). What a TC may touch is read from
its declared type (`fsw.protocol.services.TC_TABLE`):

- SCOPE_APID: the TC's APID is one the key holder may command, or, for
  TC[8,1], the function is one the key file grants it on that APID;
- SCOPE_STRUCTURES: the same, and so is every housekeeping structure
  (SID = the APID of the app whose housekeeping it is) the TC names;
- SCOPE_SCHEDULE: ST11 requests go to the scheduler, which keeps each
  key holder's activities apart (`fsw.apps.scheduler`); every TC inside an
  insert, nested inserts included, must itself be authorised for the
  sender, now and again when it is released.

Per-key-holder TC rate quotas are token buckets (`TcRateLimiter`).
"""

from __future__ import annotations

from collections.abc import Callable

from fsw.core.ids import SCHEDULER_APID
from fsw.protocol import ProtocolError
from fsw.protocol import Reason as Why
from fsw.protocol import services as sv
from fsw.protocol.pus import PusTc
from fsw.protocol.sdls import SecurityAssociation

MAX_INSERT_NESTING = 3  # an insert inside an insert inside an insert, no deeper


def authorise(ttype: sv.TcType, tc: PusTc, data: object, who: SecurityAssociation,
              depth: int = 0) -> None:
    """Raise ProtocolError (NOT_AUTHORISED, or why the TC cannot be) unless
    `who` may have `tc` (decoded application data `data`) dispatched."""
    rights = who.rights
    if ttype.scope == sv.SCOPE_SCHEDULE:
        if tc.apid != SCHEDULER_APID:
            raise ProtocolError(Why.NO_SUCH_TARGET, f"ST11 requests go to APID "
                                f"{SCHEDULER_APID:#x}, not {tc.apid:#x}")
        if ttype.subtype == sv.SCHED_INSERT:
            if depth >= MAX_INSERT_NESTING:
                raise ProtocolError(Why.BAD_APP_DATA, "inserts nested too deep")
            for act in data:  # type: ignore[attr-defined]
                inner = sv.tc_type(act.tc.service, act.tc.subtype)
                authorise(inner, act.tc, inner.decode(act.tc.app_data), who, depth + 1)
        return
    if isinstance(data, sv.PerformFunction) and rights.may_perform(tc.apid, data.function_id):
        return
    if not rights.may_command(tc.apid):
        raise ProtocolError(Why.NOT_AUTHORISED, f"{who.owner} may not command APID {tc.apid:#x}")
    if ttype.scope == sv.SCOPE_STRUCTURES:
        sids = [data.sid] if isinstance(data, sv.HkStructure) else list(data)  # type: ignore
        for sid in sids:
            if not rights.may_command(sid):
                raise ProtocolError(Why.NOT_AUTHORISED,
                                    f"{who.owner} may not touch the housekeeping of {sid:#x}")


class TcRateLimiter:
    """Per key holder: at most `tcs_per_s` TCs a second, in bursts of at most
    one second's worth (a token bucket on the executive clock)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._buckets: dict[int, tuple[float, float]] = {}  # SPI -> (tokens, time)

    def take(self, who: SecurityAssociation) -> None:
        """Spend one TC of `who`'s quota; ProtocolError(QUOTA_EXCEEDED) if none is left."""
        rate = float(who.rights.quotas.tcs_per_s)
        cap = max(1.0, rate)
        t = self.now()
        tokens, last = self._buckets.get(who.spi, (cap, t))
        tokens = min(cap, tokens + max(0.0, t - last) * rate)
        if tokens < 1.0:
            self._buckets[who.spi] = (tokens, t)
            raise ProtocolError(Why.QUOTA_EXCEEDED, f"{who.owner}: over {rate:g} TCs per second")
        self._buckets[who.spi] = (tokens - 1.0, t)
