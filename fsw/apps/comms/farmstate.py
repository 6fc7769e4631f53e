"""FARM-1 state of every TC virtual channel, kept in the store across reboots.

COP-1 (CCSDS 232.1-B-2) expects the receiving end to remember V(R), the
Lockout, Wait and Retransmit flags and the FARM-B counter: a spacecraft that
forgets them after a reset answers the ground's next frame with a CLCW that
contradicts what FOP-1 knows, and the ground must re-initialise the link.
The comms app saves the state of each virtual channel whose FARM changed
after every burst of frames, before acting on the frames' contents, and
restores it at boot.

The anti-replay numbers are committed (in their own store) before FARM-1
runs; a power loss in the instant between that commit and this one leaves
FARM-1 one frame behind a frame whose sequence number was already spent:
the ground's FOP-1 then sees the frame refused and recovers with its
standard Set V(R) or Unlock (232.1-B-2 sec. 5).
"""

from __future__ import annotations

import json

from fsw.core.store import Store
from fsw.protocol.cop1 import Farm1
from fsw.protocol.errors import FrameError

_NS = "farm"


class FarmState:
    """Saves and restores the FARM-1 of each TC virtual channel in `store`."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self._saved: dict[int, bytes] = {}

    def restore(self, farms: dict[int, Farm1]) -> list[int]:
        """Put the stored state into `farms` (by VCID); returns the VCIDs restored.
        A stored state that is not a valid FARM-1 of that channel is ignored."""
        restored = []
        if self.store is None:
            return restored
        for vcid, farm in farms.items():
            raw = self.store.get(_NS, str(vcid))
            if raw is None:
                continue
            try:
                saved = Farm1.from_dict(json.loads(raw))
            except (ValueError, FrameError):
                continue
            if saved.vcid != vcid or saved.window != farm.window:
                continue  # the channel was reconfigured: start it afresh
            farms[vcid] = saved
            self._saved[vcid] = raw
            restored.append(vcid)
        return restored

    def save(self, farms: dict[int, Farm1]) -> None:
        """Write the state of every channel that changed since it was last written,
        in one transaction."""
        if self.store is None:
            return
        changed = {}
        for vcid, farm in farms.items():
            raw = json.dumps(farm.to_dict(), sort_keys=True).encode()
            if self._saved.get(vcid) != raw:
                changed[vcid] = raw
        if not changed:
            return
        with self.store.transaction():
            for vcid, raw in changed.items():
                self.store.put(_NS, str(vcid), raw)
        self._saved.update(changed)
