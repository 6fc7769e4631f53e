"""Comms app: authenticated TC uplink in, PUS services, TM frames out.

Modules: `app` (the CommsApp: wiring, main loop, housekeeping), `uplink`
(frames in: screening and per-key-holder queues), `routing`
(authorisation at dispatch, TC rate quotas), `services` (the PUS service
handlers), `downlink` (TM packets and frames, per-key-holder TM budget),
`link` (a serial link).
"""

from fsw.apps.comms.app import CommsApp
from fsw.apps.comms.downlink import LINK_FAILURE_BASE

__all__ = ["LINK_FAILURE_BASE", "CommsApp"]
