"""Helpers for the space-link tests: a key file with the bus operator
and two partners, and a ground/flight pair wired to it."""

from __future__ import annotations

from pathlib import Path

from fsw.protocol.sdls import SecurityEngine, SecuritySender, load_key_file
from fsw.protocol.store import ArsnStore
from fsw.protocol.uplink import TcReceiver, TcSender, VcConfig

SCID = 0x2AB
OPERATOR_SPI, PARTNER_A_SPI, PARTNER_B_SPI = 1, 10, 11
KEK = bytes(range(32))

KEY_DOC = {
    "version": 1,
    "kek": KEK.hex(),
    "security_associations": [
        {"spi": OPERATOR_SPI, "owner": "operator", "key": "11" * 32, "apids": "all",
         "vcids": [0, 1], "management": True, "arsn_window": 16},
        {"spi": PARTNER_A_SPI, "owner": "uni-a", "key": "22" * 32, "apids": [256, 257],
         "vcids": [0]},
        {"spi": PARTNER_B_SPI, "owner": "uni-b", "key": "33" * 32, "apids": [300],
         "vcids": [0]},
    ],
}


def vc_table() -> dict[int, VcConfig]:
    return {0: VcConfig(0, segment_header=True, authenticated=True),
            1: VcConfig(1, segment_header=True, authenticated=True)}


class Link:
    """Ground sender and flight receiver sharing a key file, each with its own store."""

    def __init__(self, key_file: Path, flight_db: Path | str, ground_db: Path | str) -> None:
        self.flight_store = ArsnStore(flight_db)
        self.engine = SecurityEngine.from_key_file(key_file, self.flight_store)
        self.rx = TcReceiver(SCID, vc_table(), self.engine)
        sas, _ = load_key_file(key_file)
        self.ground_store = ArsnStore(ground_db)
        self.tx = TcSender(SCID, vc_table(),
                           {sa.spi: SecuritySender(sa, self.ground_store) for sa in sas})
