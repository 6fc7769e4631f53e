"""Helpers for the space-link tests: a key file with the bus operator
and two partners, and a ground/flight pair wired to it."""

from __future__ import annotations

from pathlib import Path

from fsw.protocol.keyfile import load_key_file
from fsw.protocol.sdls import SecuritySender
from fsw.protocol.store import ArsnStore
from fsw.protocol.uplink import TcReceiver, TcSender, VcConfig

SCID = 0x2AB
OPERATOR_SPI, PARTNER_A_SPI, PARTNER_B_SPI = 1, 10, 11
KEK = bytes(range(32))

KEY_DOC = {
    "version": 2,
    "kek": KEK.hex(),
    "key_holders": [
        {"name": "operator", "spi": OPERATOR_SPI, "key": "11" * 32, "arsn_window": 16,
         "rights": {"apids": "all", "vcids": [0], "maps": "all", "farm_control": "all",
                    "whole_schedule": True, "key_management": True}},
        {"name": "uni-a", "spi": PARTNER_A_SPI, "key": "22" * 32,
         "rights": {"apids": [256, 257], "vcids": [1], "maps": [0], "farm_control": [1],
                    "whole_schedule": False, "key_management": False}},
        {"name": "uni-b", "spi": PARTNER_B_SPI, "key": "33" * 32,
         "rights": {"apids": [300], "vcids": [2], "maps": [0], "farm_control": [2],
                    "whole_schedule": False, "key_management": False}},
    ],
}


def vc_table() -> dict[int, VcConfig]:
    return {v: VcConfig(v, segment_header=True, authenticated=True) for v in (0, 1, 2)}


class Link:
    """Ground sender and flight receiver sharing a key file, each with its own store."""

    def __init__(self, key_file: Path, flight_db: Path | str, ground_db: Path | str) -> None:
        self.flight_store = ArsnStore(flight_db)
        self.keys = load_key_file(key_file)
        self.engine = self.keys.engine(self.flight_store)
        self.rx = TcReceiver(SCID, vc_table(), self.engine)
        sas = load_key_file(key_file).sas  # the ground's own copy
        self.ground_store = ArsnStore(ground_db)
        self.tx = TcSender(SCID, vc_table(),
                           {sa.spi: SecuritySender(sa, self.ground_store) for sa in sas})
