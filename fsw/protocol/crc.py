"""CRC-16/CCITT-FALSE, the checksum of the TC and TM FECF (CCSDS 232.0-B 4.1.4,
132.0-B 4.1.6) and of the PUS packet error control field (ECSS-E-ST-70-41C 7.4.3.1).

Polynomial 0x1021, initial value 0xFFFF, not reflected, no final XOR;
check value of b"123456789" is 0x29B1.
"""

from __future__ import annotations

import crcmod.predefined

crc16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
"""crc16(data: bytes, crc: int = 0xFFFF) -> int"""

CRC16_INIT = 0xFFFF
# crcmod's table-driven function (its C extension where built) and its table,
# behind `crc16`: ``crc16_table_driven(data, crc, CRC16_TABLE)`` is
# ``crc16(data, crc)`` for any buffer (bytes, bytearray, memoryview). The
# downlink's compiled code calls it directly, since every call of `crc16`
# itself runs one interpreted frame.
_init, CRC16_TABLE, crc16_table_driven = crc16.__defaults__
if _init != CRC16_INIT or crc16_table_driven(b"123456789", CRC16_INIT, CRC16_TABLE) != 0x29B1:
    raise ImportError("crcmod's CRC-16/CCITT-FALSE is not the expected function")
