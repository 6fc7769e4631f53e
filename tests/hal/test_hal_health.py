"""Health counters and their software-bus message."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import hal
from fsw.core.device_health import device_health_message, pack_device_health
from hal.health import ERROR_KINDS, Health


@given(st.lists(st.sampled_from([hal.NackError, hal.BusTimeoutError, hal.ChecksumError,
                                 hal.DataError, hal.DeviceIdError]), max_size=50),
       st.integers(0, 2**40))
def test_health_message_round_trips_counters(errors, transactions):
    h = Health(transactions=transactions)
    for cls in errors:
        h.record(cls("went wrong " * 10, bus="i2c0", address=0x20))
    msg = device_health_message(0x020)
    payload = pack_device_health(msg, 3, h)
    assert len(payload) == msg.size
    back = msg.unpack(payload)
    assert back["device"] == 3
    assert back["transactions"] == min(transactions, 0xFFFFFFFF)
    for kind in ERROR_KINDS:
        assert back[f"err_{kind}"] == sum(1 for c in errors if c.kind == kind)
    if errors:
        assert back["last_error"].rstrip(b"\0").decode() == h.last_error[:48]
    assert msg.msg_id == 0x0820
