"""CRC-16/CCITT-FALSE, the checksum of the TC and TM FECF (CCSDS 232.0-B 4.1.4,
132.0-B 4.1.6) and of the PUS packet error control field (ECSS-E-ST-70-41C 7.4.3.1).

Polynomial 0x1021, initial value 0xFFFF, not reflected, no final XOR;
check value of b"123456789" is 0x29B1.
"""

from __future__ import annotations

import crcmod.predefined

crc16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
"""crc16(data: bytes, crc: int = 0xFFFF) -> int"""
