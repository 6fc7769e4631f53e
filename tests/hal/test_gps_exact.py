"""The GPS emulator's sentences and the driver's records, held to the plain
ways of producing them: the emulator formats its fields by table and integer
arithmetic and the driver builds its records natively, so each is checked
against Python's own formatter, datetime and dataclasses."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import pickle
import re
from functools import reduce

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hal
from hal.devices.gps import GGA, RMC, GpsFix, _is_decimal, parse_nmea
from hal.sim.gps import GpsEmulator, _fixed, _zero_padded, nmea_sentence

KNOT_M_S = 1852.0 / 3600.0  # NMEA 0183: RMC speed in knots


# --- the emulator's text -------------------------------------------------------------

def _plain_sentence(body: str) -> bytes:
    checksum = reduce(lambda a, b: a ^ b, body.encode("ascii"), 0)
    return f"${body}*{checksum:02X}\r\n".encode("ascii")


def _plain_degrees_minutes(angle: float, digits: int) -> str:
    a = abs(angle)
    d = int(a)
    minutes = f"{(a - d) * 60.0:07.4f}"
    if minutes == "60.0000":  # rounds up to a whole degree
        d, minutes = d + 1, "00.0000"
    return f"{d:0{digits}d}{minutes}"


class PlainReceiver:
    """What the NovAtel-style emulator sends, restated with strftime and
    format specs, drawing its position noise as `normal(0, noise, 3)`."""

    def __init__(self, epoch: dt.datetime, noise_m: float, seed: int) -> None:
        self.epoch, self.noise_m = epoch, noise_m
        self.rng = np.random.default_rng(seed)

    def pair(self, t_s: float, emu: GpsEmulator, fixed: bool) -> bytes:
        utc = self.epoch + dt.timedelta(seconds=t_s)
        hms = utc.strftime("%H%M%S") + f".{utc.microsecond // 10000:02d}"
        date = utc.strftime("%d%m%y")
        tk = emu.talker
        if not fixed:
            return (_plain_sentence(f"{tk}GGA,{hms},,,,,0,00,99.99,,M,,M,,")
                    + _plain_sentence(f"{tk}RMC,{hms},V,,,,,,,{date},,,N"))
        lat, lon, alt, speed, course = emu.fix
        if self.noise_m:
            dn, de, du = self.rng.normal(0.0, self.noise_m, 3)
            lat += math.degrees(dn / 6378137.0)
            lon += math.degrees(de / (6378137.0 * max(math.cos(math.radians(lat)), 1e-6)))
            alt += du
            lat = max(-90.0, min(90.0, lat))
            lon = (lon + 180.0) % 360.0 - 180.0
        la = "9512.0000" if emu.lie else _plain_degrees_minutes(lat, 2)
        lo = _plain_degrees_minutes(lon, 3)
        ns, ew = "N" if lat >= 0 else "S", "E" if lon >= 0 else "W"
        return (_plain_sentence(f"{tk}GGA,{hms},{la},{ns},{lo},{ew},1,{emu.satellites:02d},"
                                f"{emu.hdop:.1f},{alt:.1f},M,0.0,M,,")
                + _plain_sentence(f"{tk}RMC,{hms},A,{la},{ns},{lo},{ew},"
                                  f"{speed / KNOT_M_S:.2f},{course:.2f},{date},,,A"))


def _awkward_fix(rng: np.random.Generator) -> tuple[float, float, float, float, float]:
    """Positions whose text carries at the minute or the degree, sits on a
    rounding tie of the fourth decimal, or sits at the poles, the equator,
    the antimeridian, and plain random ones."""
    kind = int(rng.integers(6))
    sign = float(rng.choice([-1.0, 1.0]))
    if kind == 0:  # 59.99996 minutes: printed as the next whole degree
        lat = sign * (int(rng.integers(0, 89)) + (59.99996 + rng.uniform(-3e-6, 3e-6)) / 60.0)
        lon = sign * (int(rng.integers(0, 179)) + 59.999951 / 60.0)
    elif kind == 1:  # whole 1/32 minutes: ties of the fourth decimal, exactly
        lat = sign * (int(rng.integers(0, 89)) + int(rng.integers(0, 60 * 32)) / (60 * 32))
        lon = -sign * (int(rng.integers(0, 179)) + int(rng.integers(0, 60 * 32)) / (60 * 32))
    elif kind == 2:
        lat = float(rng.choice([90.0, -90.0, 0.0, -0.0, 89.99999999]))
        lon = float(rng.choice([180.0, -180.0, 0.0, -0.0, 179.999999999, 359.5]))
    else:
        lat, lon = float(rng.uniform(-90.0, 90.0)), float(rng.uniform(-180.0, 180.0))
    alt = float(rng.choice([rng.uniform(-400.0, 2.0e6), 0.05, -0.05, 0.25, -0.0, 0.0]))
    speed = float(rng.choice([rng.uniform(0.0, 9000.0), 0.0, 0.125 * KNOT_M_S, 1.0e-9]))
    course = float(rng.choice([rng.uniform(0.0, 360.0), 359.999, 359.995, 0.005, 0.015]))
    return lat, lon, alt, speed, course


@pytest.mark.parametrize(("epoch", "rate_hz", "noise_m", "seed"), [
    # 1 Hz across a year's end and a leap day, the epoch with hundredths
    (dt.datetime(2025, 12, 31, 23, 58, 0, 120000, tzinfo=dt.timezone.utc), 1.0, 5.0, 1),
    (dt.datetime(2028, 2, 28, 23, 59, 0, tzinfo=dt.timezone.utc), 1.0, 0.0, 2),
    # a local-time epoch and a 10 Hz log (times that are not whole seconds)
    (dt.datetime(2026, 6, 30, 23, 59, 50, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
     10.0, 100.0, 3),
])
def test_emulator_text_matches_the_plain_formatting(epoch, rate_hz, noise_m, seed):
    # 115200 baud: the line keeps up with a pair of sentences every 0.1 s.
    emu = GpsEmulator(baudrate=115200, epoch_utc=epoch, noise_m=noise_m, seed=seed,
                      rate_hz=rate_hz, cold_start_s=3.0, talker="GN" if seed == 2 else "GP")
    plain = PlainReceiver(epoch, noise_m, seed)
    rng = np.random.default_rng(seed)
    cold_until, t = -1.0, 0.0
    expected, sent = bytearray(), bytearray()
    for _ in range(500):
        step = int(rng.integers(10))
        if step == 0:
            emu.set_no_fix()
        elif step == 1:
            emu.lie = not emu.lie
        elif step == 2:
            emu.satellites = int(rng.choice([0, 4, 9, 12, 99, 100]))
            emu.hdop = float(rng.choice([0.9, 0.25, 0.35, 0.05, 99.99, 0.0, 1.15]))
        elif step == 3:
            emu.power_on_reset()  # no fix until the cold start is over
            cold_until = emu.t_s + emu.cold_start_s
        else:
            lat, lon, alt, speed, course = _awkward_fix(rng)
            emu.set_fix(lat, lon, alt, speed_m_s=speed, course_deg=course)
        expected += plain.pair(t, emu, emu.fix is not None and t >= cold_until)
        emu.advance(t)  # the report stamped t
        sent += emu.take(1 << 16)
        t += emu.period_s
    assert emu.sentences == 1000 and len(sent) > len(expected) - 200
    assert bytes(expected).startswith(bytes(sent))


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                 st.floats(-2.0e6, 2.0e6),
                 st.integers(-10**7, 10**7).map(lambda k: k / 20000.0),  # ties, exactly
                 st.integers(0, 2**20).map(lambda k: k / 1024.0)),
       st.sampled_from([1, 2, 3, 4]))
def test_fixed_point_text_is_the_formatters(x, decimals):
    assert _fixed(x, decimals) == format(x, f".{decimals}f")


@given(st.integers(-10**6, 10**9), st.integers(1, 8))
def test_zero_padded_text_is_the_formatters(n, width):
    assert _zero_padded(n, width) == f"{n:0{width}d}"


# --- the driver's records ---------------------------------------------------------------

# The fields of each record, in order, as the driver has always had them.
RECORDS = {
    GGA: ("talker", "time_s", "lat_deg", "lon_deg", "quality", "satellites", "hdop", "alt_m",
          "geoid_sep_m"),
    RMC: ("talker", "time_s", "valid", "lat_deg", "lon_deg", "speed_m_s", "course_deg", "date"),
    GpsFix: ("utc", "valid", "lat_deg", "lon_deg", "alt_m", "geoid_sep_m", "speed_m_s",
             "course_deg", "satellites", "hdop"),
}
SAMPLE_VALUES = {
    GGA: ("GP", 45319.0, 48.1173, -11.5166, 1, 8, 0.9, 545.4, None),
    RMC: ("GN", 45319.5, True, -48.1173, 11.5166, 11.52, 84.4, dt.date(1994, 3, 23)),
    GpsFix: (dt.datetime(1994, 3, 23, 12, 35, 19, tzinfo=dt.timezone.utc), True, 48.1173,
             11.5166, 545.4, 46.9, 11.52, 84.4, 8, 0.9),
}


@pytest.mark.parametrize("cls", list(RECORDS))
def test_records_behave_as_frozen_dataclasses(cls):
    names, values = RECORDS[cls], SAMPLE_VALUES[cls]
    # The oracle: the standard library's frozen dataclass with the same fields.
    plain = dataclasses.make_dataclass(cls.__name__, names, frozen=True)(*values)
    record = cls(*values)
    assert repr(record) == repr(plain)
    assert hash(record) == hash(plain)
    assert tuple(getattr(record, n) for n in names) == values
    assert cls(**dict(zip(names, values, strict=True))) == record
    assert record.__match_args__ == names
    changed = cls(*values[:-1], None if values[-1] is not None else 1.5)
    assert record != changed and not record == changed
    assert record != plain and record != values  # other classes are never equal
    assert len({record, cls(*values), changed}) == 2
    for name in (*names, "unknown"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, name, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(record, names[0])
    assert tuple(getattr(record, n) for n in names) == values  # nothing changed
    for twin in (copy.copy(record), copy.deepcopy(record), pickle.loads(pickle.dumps(record))):
        assert type(twin) is cls and twin == record


# --- the driver's checks, byte by byte ------------------------------------------------

@given(st.binary(max_size=12) | st.lists(st.sampled_from(list(b"+-.0123456789e ")),
                                          max_size=12).map(bytes))
def test_numeric_fields_are_what_the_nmea_pattern_accepts(field):
    assert _is_decimal(field) == bool(re.fullmatch(rb"[+-]?[0-9]+(\.[0-9]+)?", field))


def test_the_checksum_may_be_written_in_either_case():
    body = "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"  # *6A
    upper = nmea_sentence(body)
    lower = upper[:-4] + upper[-4:-2].lower() + b"\r\n"
    assert lower != upper
    assert parse_nmea(lower) == parse_nmea(upper)


@pytest.mark.parametrize("bad", [b"!", b"$", b"\x7f", b"\x80", b"\x1f", b"\xff"])
def test_a_byte_nmea_forbids_in_the_body_is_refused_even_with_its_checksum(bad):
    body = b"GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,," + bad
    checksum = reduce(lambda a, b: a ^ b, body, 0)
    with pytest.raises(hal.DataError) as info:
        parse_nmea(b"$" + body + f"*{checksum:02X}".encode() + b"\r\n")
    assert "does not allow" in info.value.reason


@pytest.mark.parametrize("address", ["GPGGa", "GP1GA", "gpgga", "GPGG", "GPGGAX", "GP GA"])
def test_an_address_that_is_not_five_capitals_is_refused(address):
    with pytest.raises(hal.DataError) as info:
        parse_nmea(nmea_sentence(f"{address},123519,,,,,0,00,99.99,,M,,M,,"))
    assert "address" in info.value.reason
