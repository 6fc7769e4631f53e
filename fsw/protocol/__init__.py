"""CCSDS space link and PUS-style services, shared by the flight and ground sides.

Modules: `spp` (Space Packets, 133.0-B-2), `cuc` (CUC time, 301.0-B-4),
`tc` (TC frames, 232.0-B), `tm` (TM frames and CLCW, 132.0-B), `cop1`
(FARM-1 / FOP-1, 232.1-B), `sdls` and `store` (authentication and durable
anti-replay, 355.0-B), `uplink` (the TC chain end to end), `pus` and
`services` (ECSS-E-ST-70-41C). Every decoder raises `ProtocolError` (or a
subclass) with a `reason` for bad input, and nothing else.
"""

from fsw.protocol.errors import (
    CopError,
    FrameError,
    PacketError,
    ProtocolError,
    Reason,
    SecurityError,
)

__all__ = ["CopError", "FrameError", "PacketError", "ProtocolError", "Reason", "SecurityError"]
