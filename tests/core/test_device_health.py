"""A driver's health as the ground reads it: the DEVICE_HEALTH payload read
octet by octet (big-endian, no padding, in the order the docstring of
`fsw.core.device_health` declares), not with the message's own decoder."""

from __future__ import annotations

import struct

from fsw.core.device_health import device_health_message, pack_device_health
from fsw.core.message import tm_msg_id
from hal.health import Health

KINDS = ("nack", "timeout", "busy", "device_id", "checksum", "data", "rejected", "hal")


def test_counters_saturate_and_the_last_error_is_cut_to_48_octets():
    msg = device_health_message(0x020)
    assert msg.msg_id == tm_msg_id(0x020) and msg.name == "DEVICE_HEALTH"
    h = Health(transactions=2**32 + 5, retries=7, failures=2**32, recoveries=1)
    h.errors.update(nack=3, hal=2**33)
    h.last_error = "é" * 30  # 60 UTF-8 octets
    raw = pack_device_health(msg, 0x105, h)
    assert len(raw) == 1 + 4 * (4 + len(KINDS)) + 48
    device, *counters = struct.unpack(">B12I", raw[:49])
    assert device == 0x05  # the index within the app, one octet
    assert counters[:4] == [0xFFFFFFFF, 7, 0xFFFFFFFF, 1]
    assert dict(zip(KINDS, counters[4:], strict=True)) == {
        **dict.fromkeys(KINDS, 0), "nack": 3, "hal": 0xFFFFFFFF}
    assert raw[49:] == ("é" * 24).encode()  # 48 octets, cut on a character boundary
    short = pack_device_health(msg, 1, Health(last_error="bus gps: timed out"))
    assert short[49:] == b"bus gps: timed out".ljust(48, b"\0")


def test_the_fields_are_the_ones_docs_hal_md_lists():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "hal.md").read_text()
    table = doc[doc.index("| `device` |"):].split("\n\n")[0]
    rows = [[c.strip().strip("`") for c in line.strip("|").split("|")]
            for line in table.splitlines()]
    sizes = {"u8": "B", "u32": "I", "48 octets": "48s"}
    msg = device_health_message(0x020)
    assert [(f.name, f.fmt, f.doc) for f in msg.fields] == [
        (name, sizes[kind], meaning) for name, kind, meaning in rows]
