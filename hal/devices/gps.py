"""GNSS receiver speaking NMEA 0183 over a UART: the GGA and RMC parser, a
line reader with bounded buffers, and the receiver driver.

Modelled part: NovAtel OEM719 in NMEA output mode (GPGGA and GPRMC logs at
1 Hz on a COM port; 9600 baud is assumed as the port setting).

Sentence facts (NMEA 0183): `$` + talker (2 letters) + type (3 letters),
comma-separated fields, `*HH` where HH is the XOR of every byte between `$`
and `*` in hex, then CR LF; at most 82 characters in all. Latitude is
ddmm.mmmm with N/S, longitude dddmm.mmmm with E/W, time hhmmss.ss UTC,
date ddmmyy; RMC speed is in knots and course in degrees true.

`parse_nmea` raises `ChecksumError` for a checksum mismatch and `DataError`
for anything malformed or impossible (a sentence that "lies": latitude
beyond 90 degrees, minute 61, 31 February ...); it never returns a
half-parsed value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import FrozenInstanceError
from typing import ClassVar, Final

import numpy as np

from hal import ChecksumError, DataError, HalError
from hal.busio import UART
from hal.health import Health

__all__ = ["GGA", "RMC", "GpsFix", "GpsReceiver", "NmeaLineReader", "nmea_checksum",
           "parse_nmea"]

MAX_SENTENCE: Final = 82
KNOT_M_S: Final = 1852.0 / 3600.0


def nmea_checksum(body: bytes) -> int:
    """XOR of the bytes between `$` and `*`."""
    checksum = 0
    # Compiled, indexing a bytes object is a native read of one byte; the
    # iterator protocol (or a reduce) would make a call per byte.
    for i in range(len(body)):
        checksum ^= body[i]
    return checksum


def _body_checksum(body: bytes) -> int:
    """`nmea_checksum(body)`, or -1 if the body holds a byte NMEA does not
    allow there: only printable ASCII less the delimiters `$`, `*` and the
    reserved `!`. One native loop does both when compiled."""
    checksum = 0
    for i in range(len(body)):
        c = body[i]
        if c < 0x20 or c > 0x7E or c == 0x24 or c == 0x2A or c == 0x21:
            return -1
        checksum ^= c
    return checksum


def _upper_letters(field: bytes) -> bool:
    """Every byte an ASCII capital (for a non-empty field, what isalpha()
    and isupper() together say), in a native loop."""
    for i in range(len(field)):
        if not 0x41 <= field[i] <= 0x5A:
            return False
    return True


def _hex_value(c: int) -> int:
    """The value of one ASCII hex digit (either case), or -1 if it is not one."""
    if 0x30 <= c <= 0x39:
        return c - 0x30
    if 0x41 <= c <= 0x46:
        return c - 0x37
    if 0x61 <= c <= 0x66:
        return c - 0x57
    return -1


def _digits_end(field: bytes, i: int) -> int:
    """Index of the first byte at or after `i` that is not an ASCII digit."""
    n = len(field)
    while i < n and 0x30 <= field[i] <= 0x39:
        i += 1
    return i


def _is_decimal(field: bytes) -> bool:
    """`[+-]?[0-9]+(\\.[0-9]+)?`, whole: an NMEA numeric field, scanned byte by
    byte (compiled, a native loop; a regular expression or bytes methods
    cost a generic call each)."""
    n = len(field)
    start = 1 if n and (field[0] == 0x2B or field[0] == 0x2D) else 0
    i = _digits_end(field, start)
    if i == start:
        return False
    if i == n:
        return True
    if field[i] != 0x2E:
        return False
    return i + 1 < n and _digits_end(field, i + 1) == n


def _digits_value(field: bytes, start: int, stop: int) -> int:
    """The number that the ASCII digits `field[start:stop]` (already checked
    to be digits) spell: int() of them, without its generic call."""
    value = 0
    for i in range(start, stop):
        value = value * 10 + field[i] - 0x30
    return value


class _Record:
    """An immutable record, as a frozen dataclass behaves: fields set once by
    the constructor, assigning or deleting one raises `FrozenInstanceError`,
    equal when of the same class with equal fields, hashed and shown as the
    tuple of its fields.

    Written out rather than generated: compiled, a dataclass's generated
    `__init__` is interpreted and sets each field through `object.__setattr__`
    (about 14 k instructions a record); here it is a native constructor.
    """

    __match_args__: ClassVar[tuple[str, ...]] = ()

    def _fields(self) -> tuple[object, ...]:
        """The field values, in `__match_args__` order (equality, hashing, repr
        and pickling read them; none is on a hot path)."""
        return tuple([getattr(self, name) for name in self.__match_args__])

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Record) and other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}"
                          for name, value in zip(self.__match_args__, self._fields(), strict=True))
        return f"{type(self).__qualname__}({shown})"

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return type(self), self._fields()


class GGA(_Record):
    """Fix data. Position fields are None when the receiver has no fix."""

    __match_args__: ClassVar[tuple[str, ...]] = (
        "talker", "time_s", "lat_deg", "lon_deg", "quality", "satellites", "hdop", "alt_m",
        "geoid_sep_m")
    talker: str
    time_s: float | None        # seconds since 00:00 UTC
    lat_deg: float | None
    lon_deg: float | None
    quality: int                # 0 no fix, 1 GPS, 2 DGPS, ... 6 estimated
    satellites: int | None
    hdop: float | None
    alt_m: float | None         # above mean sea level
    geoid_sep_m: float | None

    def __init__(self, talker: str, time_s: float | None, lat_deg: float | None,
                 lon_deg: float | None, quality: int, satellites: int | None,
                 hdop: float | None, alt_m: float | None, geoid_sep_m: float | None) -> None:
        # object.__setattr__ past the frozen __setattr__, as dataclasses do;
        # compiled, each is a native store.
        object.__setattr__(self, "talker", talker)
        object.__setattr__(self, "time_s", time_s)
        object.__setattr__(self, "lat_deg", lat_deg)
        object.__setattr__(self, "lon_deg", lon_deg)
        object.__setattr__(self, "quality", quality)
        object.__setattr__(self, "satellites", satellites)
        object.__setattr__(self, "hdop", hdop)
        object.__setattr__(self, "alt_m", alt_m)
        object.__setattr__(self, "geoid_sep_m", geoid_sep_m)


class RMC(_Record):
    """Recommended minimum data."""

    __match_args__: ClassVar[tuple[str, ...]] = (
        "talker", "time_s", "valid", "lat_deg", "lon_deg", "speed_m_s", "course_deg", "date")
    talker: str
    time_s: float | None
    valid: bool                 # status A (valid) or V (warning)
    lat_deg: float | None
    lon_deg: float | None
    speed_m_s: float | None
    course_deg: float | None
    date: dt.date | None

    def __init__(self, talker: str, time_s: float | None, valid: bool, lat_deg: float | None,
                 lon_deg: float | None, speed_m_s: float | None, course_deg: float | None,
                 date: dt.date | None) -> None:
        object.__setattr__(self, "talker", talker)
        object.__setattr__(self, "time_s", time_s)
        object.__setattr__(self, "valid", valid)
        object.__setattr__(self, "lat_deg", lat_deg)
        object.__setattr__(self, "lon_deg", lon_deg)
        object.__setattr__(self, "speed_m_s", speed_m_s)
        object.__setattr__(self, "course_deg", course_deg)
        object.__setattr__(self, "date", date)


def _err(reason: str) -> DataError:
    return DataError(reason, device="NMEA 0183")


def _num(field: bytes, name: str) -> float | None:
    if not field:
        return None
    if not _is_decimal(field):
        raise _err(f"{name} field {field!r} is not a number")
    return float(field)


def _uint(field: bytes, name: str, hi: int) -> int | None:
    if not field:
        return None
    if not field.isdigit() or len(field) > 3:
        raise _err(f"{name} field {field!r} is not an integer 0..{hi}")
    value = _digits_value(field, 0, len(field))
    if value > hi:
        raise _err(f"{name} field {field!r} is not an integer 0..{hi}")
    return value


def _time(field: bytes) -> float | None:
    if not field:
        return None
    if len(field) < 6 or not field[:6].isdigit() or not (
            len(field) == 6 or (field[6:7] == b"." and field[7:].isdigit() and len(field) > 7)):
        raise _err(f"time field {field!r} is not hhmmss[.ss]")
    h, m = _digits_value(field, 0, 2), _digits_value(field, 2, 4)
    s = float(_digits_value(field, 4, 6)) if len(field) == 6 else float(field[4:])
    if h > 23 or m > 59 or s >= 61.0:  # 60.x allowed for a leap second
        raise _err(f"time {field.decode()} does not exist")
    return h * 3600 + m * 60 + s


def _angle(value: bytes, hemi: bytes, deg_digits: int, limit: float, pos: bytes,
           neg: bytes, name: str) -> float | None:
    if not value and not hemi:
        return None
    if not value or hemi not in (pos, neg):
        raise _err(f"{name} {value!r},{hemi!r} is incomplete")
    if len(value) < deg_digits + 2 or not value[:deg_digits].isdigit() or not _is_decimal(
            value[deg_digits:]) or value[deg_digits:deg_digits + 1] in (b"+", b"-"):
        raise _err(f"{name} {value!r} is not {'d' * deg_digits}mm.mmmm")
    deg = _digits_value(value, 0, deg_digits)
    minutes = float(value[deg_digits:])
    if minutes >= 60.0:
        raise _err(f"{name} minutes {minutes} out of range")
    angle = deg + minutes / 60.0
    if angle > limit:
        raise _err(f"{name} {angle:.6f} deg beyond {limit:.0f}")
    return -angle if hemi == neg else angle


def _date(field: bytes) -> dt.date | None:
    if not field:
        return None
    if len(field) != 6 or not field.isdigit():
        raise _err(f"date field {field!r} is not ddmmyy")
    d, m, y = _digits_value(field, 0, 2), _digits_value(field, 2, 4), _digits_value(field, 4, 6)
    # NMEA carries two year digits: pivot at 80 (80-99 -> 19yy, else 20yy).
    try:
        return dt.date((1900 if y >= 80 else 2000) + y, m, d)
    except ValueError as exc:
        raise _err(f"date {field.decode()} does not exist") from exc


def parse_nmea(sentence: bytes) -> GGA | RMC:
    """Parse one GGA or RMC sentence (with or without the trailing CR LF)."""
    if not isinstance(sentence, (bytes, bytearray, memoryview)):
        raise _err("sentence must be bytes")
    s = bytes(sentence)
    if len(s) > MAX_SENTENCE:
        raise _err(f"sentence of {len(s)} bytes exceeds {MAX_SENTENCE}")
    if s.endswith(b"\r\n"):
        s = s[:-2]
    elif s.endswith(b"\n"):
        s = s[:-1]
    if not s.startswith(b"$"):
        raise _err("sentence does not start with '$'")
    star = s.rfind(b"*")
    if star < 0 or len(s) - star != 3:
        raise _err("sentence lacks the *HH checksum")
    body = s[1:star]
    high, low = _hex_value(s[star + 1]), _hex_value(s[star + 2])
    if high < 0 or low < 0:
        raise _err(f"checksum {s[star + 1:]!r} is not hex")
    checksum = _body_checksum(body)
    if checksum < 0:
        raise _err("sentence body holds characters NMEA does not allow")
    if checksum != high * 16 + low:
        raise ChecksumError(f"checksum {s[star + 1:].decode()} does not match "
                            f"{checksum:02X}", device="NMEA 0183")
    fields = body.split(b",")
    addr = fields[0]
    if len(addr) != 5 or not _upper_letters(addr):
        raise _err(f"address field {addr!r} is not talker + type")
    talker, kind = addr[:2].decode(), addr[2:]
    if kind == b"GGA":
        return _gga(talker, fields[1:])
    if kind == b"RMC":
        return _rmc(talker, fields[1:])
    raise _err(f"sentence type {kind.decode()} is not GGA or RMC")


def _gga(talker: str, f: list[bytes]) -> GGA:
    if len(f) != 14:
        raise _err(f"GGA has {len(f)} fields, expected 14")
    if f[9] not in (b"M", b"") or f[11] not in (b"M", b""):
        raise _err("GGA altitude units are not metres")
    quality = _uint(f[5], "fix quality", 8)
    if quality is None:
        raise _err("GGA fix quality is empty")
    lat = _angle(f[1], f[2], 2, 90.0, b"N", b"S", "latitude")
    lon = _angle(f[3], f[4], 3, 180.0, b"E", b"W", "longitude")
    hdop = _num(f[7], "HDOP")
    if hdop is not None and not 0.0 <= hdop <= 99.99:
        raise _err(f"HDOP {hdop} out of range")
    alt = _num(f[8], "altitude")
    if alt is not None and not -1.0e4 <= alt <= 1.0e8:
        raise _err(f"altitude {alt} m out of range")
    if quality > 0 and (lat is None or lon is None):
        raise _err("GGA claims a fix without a position")
    return GGA(talker, _time(f[0]), lat, lon, quality, _uint(f[6], "satellites", 99), hdop,
               alt, _num(f[10], "geoid separation"))


def _rmc(talker: str, f: list[bytes]) -> RMC:
    if not 11 <= len(f) <= 13:
        raise _err(f"RMC has {len(f)} fields, expected 11 to 13")
    if f[1] not in (b"A", b"V"):
        raise _err(f"RMC status {f[1]!r} is not A or V")
    lat = _angle(f[2], f[3], 2, 90.0, b"N", b"S", "latitude")
    lon = _angle(f[4], f[5], 3, 180.0, b"E", b"W", "longitude")
    speed_kn = _num(f[6], "speed")
    course = _num(f[7], "course")
    if speed_kn is not None and not 0.0 <= speed_kn <= 1.0e5:
        raise _err(f"speed {speed_kn} kn out of range")
    if course is not None and not 0.0 <= course < 360.0:
        raise _err(f"course {course} deg out of range")
    valid = f[1] == b"A"
    if valid and (lat is None or lon is None):
        raise _err("RMC claims a valid fix without a position")
    return RMC(talker, _time(f[0]), valid, lat, lon,
               None if speed_kn is None else speed_kn * KNOT_M_S, course, _date(f[8]))


class NmeaLineReader:
    """Splits a byte stream into sentences, each at most 82 bytes.

    Bytes before a `$` are dropped; a line that grows past the limit is
    dropped whole and counted, so memory stays bounded whatever arrives.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.overlong = 0
        self.noise_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Complete sentences (and sentences cut short by a new `$`) in arrival order.

        Works a run of bytes at a time, up to the next `$` or line feed,
        byte for byte equivalent to taking them singly: a byte that takes a
        sentence past the limit drops it, unless that byte is its line feed.
        """
        lines = []
        buf = self._buf
        data = bytes(data)
        i, n = 0, len(data)
        while i < n:
            if not buf:
                start = data.find(b"$", i)
                if start < 0:
                    self.noise_bytes += n - i
                    break
                self.noise_bytes += start - i
                buf.append(0x24)
                i = start + 1
                continue
            dollar = data.find(b"$", i)
            newline = data.find(b"\n", i)
            ends = newline >= 0 and (dollar < 0 or newline < dollar)
            end = newline + 1 if ends else dollar if dollar >= 0 else n
            room = MAX_SENTENCE - len(buf)
            if end - i > room and not (ends and end - i == room + 1):
                self.overlong += 1
                buf.clear()
                i += room + 1
                continue
            buf += data[i:end]
            i = end
            if ends or end == dollar:  # ended, or cut short by a new sentence
                lines.append(bytes(buf))
                buf.clear()
        return lines


class GpsFix(_Record):
    """Latest fix from a GGA and RMC pair."""

    __match_args__: ClassVar[tuple[str, ...]] = (
        "utc", "valid", "lat_deg", "lon_deg", "alt_m", "geoid_sep_m", "speed_m_s", "course_deg",
        "satellites", "hdop")
    utc: dt.datetime | None
    valid: bool
    lat_deg: float | None
    lon_deg: float | None
    alt_m: float | None          # above mean sea level
    geoid_sep_m: float | None
    speed_m_s: float | None
    course_deg: float | None
    satellites: int | None
    hdop: float | None

    def __init__(self, utc: dt.datetime | None, valid: bool, lat_deg: float | None,
                 lon_deg: float | None, alt_m: float | None, geoid_sep_m: float | None,
                 speed_m_s: float | None, course_deg: float | None, satellites: int | None,
                 hdop: float | None) -> None:
        object.__setattr__(self, "utc", utc)
        object.__setattr__(self, "valid", valid)
        object.__setattr__(self, "lat_deg", lat_deg)
        object.__setattr__(self, "lon_deg", lon_deg)
        object.__setattr__(self, "alt_m", alt_m)
        object.__setattr__(self, "geoid_sep_m", geoid_sep_m)
        object.__setattr__(self, "speed_m_s", speed_m_s)
        object.__setattr__(self, "course_deg", course_deg)
        object.__setattr__(self, "satellites", satellites)
        object.__setattr__(self, "hdop", hdop)

    def position_ecef_m(self) -> np.ndarray | None:
        """WGS-84 ECEF position, metres, from latitude, longitude and
        ellipsoidal height (MSL altitude + geoid separation)."""
        if self.lat_deg is None or self.lon_deg is None or self.alt_m is None:
            return None
        return geodetic_to_ecef_m(self.lat_deg, self.lon_deg,
                                  self.alt_m + (self.geoid_sep_m or 0.0))


WGS84_A_M: Final = 6378137.0
WGS84_F: Final = 1.0 / 298.257223563
WGS84_E2: Final = WGS84_F * (2.0 - WGS84_F)


def geodetic_to_ecef_m(lat_deg: float, lon_deg: float, h_m: float) -> np.ndarray:
    """WGS-84 geodetic to ECEF, metres (NIMA TR8350.2)."""
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    n = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * math.sin(lat) ** 2)
    return np.array([(n + h_m) * math.cos(lat) * math.cos(lon),
                     (n + h_m) * math.cos(lat) * math.sin(lon),
                     (n * (1.0 - WGS84_E2) + h_m) * math.sin(lat)])


# Beyond this latitude the height comes from z, not the distance from the axis.
_NEAR_POLE_RAD: Final = math.radians(89.0)


def ecef_to_geodetic(r_ecef_m) -> tuple[float, float, float]:
    """ECEF (m) to WGS-84 latitude, longitude (deg) and height (m), by
    Bowring's iteration (converges to mm in a few steps)."""
    x, y, z = (float(v) for v in r_ecef_m)
    lon = math.atan2(y, x)
    p = math.hypot(x, y)
    lat = math.atan2(z, p * (1.0 - WGS84_E2))
    h = 0.0
    for _ in range(6):
        n = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * math.sin(lat) ** 2)
        h = p / math.cos(lat) - n if abs(lat) < _NEAR_POLE_RAD else \
            z / math.sin(lat) - n * (1.0 - WGS84_E2)
        lat = math.atan2(z, p * (1.0 - WGS84_E2 * n / (n + h)))
    return math.degrees(lat), math.degrees(lon), h


class GpsReceiver:
    """NMEA receiver on a UART (modelled part: NovAtel OEM719).

    `poll()` reads what the UART has (at most `max_bytes_per_poll`, so a
    chattering port cannot hold a rate group), parses complete sentences
    and returns the latest fix, or None if no new GGA/RMC arrived. A bad
    sentence is counted in `health` and kept in `rejected` (newest last);
    it never stops the sentences after it.
    """

    part = "NovAtel OEM719 (NMEA 0183)"

    def __init__(self, uart: UART, *, max_bytes_per_poll: int = 2048) -> None:
        self.uart = uart
        self.max_bytes_per_poll = max_bytes_per_poll
        self.reader = NmeaLineReader()
        self.health = Health()
        self.rejected: deque[HalError] = deque(maxlen=16)
        self._gga: GGA | None = None
        self._rmc: RMC | None = None
        self.fix: GpsFix | None = None
        # 00:00 UTC of the date the last RMC carried: worked out once a day.
        self._midnight_date: dt.date | None = None
        self._midnight = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

    def poll(self) -> GpsFix | None:
        """Process waiting bytes; returns the fix if it changed, else None."""
        try:
            waiting = self.uart.in_waiting
            data = (self.uart.read(min(waiting, self.max_bytes_per_poll)) or b"") if waiting \
                else b""
        except HalError as exc:
            exc.located(bus=self.uart.name, device=self.part)
            self.health.record(exc)
            self.health.failures += 1
            raise
        changed = False
        for line in self.reader.feed(data):
            self.health.transactions += 1
            try:
                msg = parse_nmea(line)
            except HalError as exc:
                exc.located(bus=self.uart.name, device=self.part)
                self.health.record(exc)
                self.rejected.append(exc)
                continue
            if isinstance(msg, GGA):
                self._gga = msg
            else:
                self._rmc = msg
            changed = True
        if changed:
            self.fix = self._combine()
            return self.fix
        return None

    def _combine(self) -> GpsFix:
        g, r = self._gga, self._rmc
        utc = None
        if r is not None and r.date is not None and r.time_s is not None:
            if r.date != self._midnight_date:
                self._midnight = dt.datetime.combine(r.date, dt.time(0), tzinfo=dt.timezone.utc)
                self._midnight_date = r.date
            utc = self._midnight + dt.timedelta(seconds=r.time_s)
        valid = bool(r is not None and r.valid and g is not None and g.quality > 0
                     and g.time_s == r.time_s)
        return GpsFix(
            utc=utc, valid=valid,
            lat_deg=(g.lat_deg if g is not None else r.lat_deg if r is not None else None),
            lon_deg=(g.lon_deg if g is not None else r.lon_deg if r is not None else None),
            alt_m=g.alt_m if g is not None else None,
            geoid_sep_m=g.geoid_sep_m if g is not None else None,
            speed_m_s=r.speed_m_s if r is not None else None,
            course_deg=r.course_deg if r is not None else None,
            satellites=g.satellites if g is not None else None,
            hdop=g.hdop if g is not None else None)
