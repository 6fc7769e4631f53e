"""Longer fuzz runs of every decoder of outside bytes in hal (marked slow;
the quick forms live beside each codec's tests)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hal
from hal.devices.gps import NmeaLineReader, parse_nmea
from hal.devices.radio import KissDecoder, ax25_check_fcs, ax25_decode, kiss_decode_frame

LONG = settings(max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck))
nmea_alphabet = st.sampled_from(list(b"$*,.-0123456789ABCDEFGNPRSWMV\r\n"))


@pytest.mark.slow
@LONG
@given(st.lists(nmea_alphabet, max_size=90).map(bytes))
def test_nmea_from_its_own_alphabet(data):
    try:
        parse_nmea(data)
    except hal.HalError as exc:
        assert exc.reason
    NmeaLineReader().feed(data)


@pytest.mark.slow
@LONG
@given(st.binary(max_size=1200))
def test_kiss_and_ax25(data):
    for decode in (kiss_decode_frame, ax25_decode, ax25_check_fcs):
        try:
            decode(data)
        except hal.HalError as exc:
            assert exc.reason
    KissDecoder().feed(data)
