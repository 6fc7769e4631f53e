"""Two-line element set (TLE) parsing.

A TLE is two 69-column ASCII lines in the fixed format published by
NORAD/Space-Track (see the CelesTrak "NORAD Two-Line Element Set Format"
description; Vallado et al. 2006, AIAA 2006-6753, appendix). This module
checks every field's columns and characters, the line numbers, the matching
satellite numbers and each line's checksum, and raises :class:`TleError`
naming the field and its (1-based) columns when something is wrong. Nothing
else escapes: the parser is fuzzed with arbitrary text.

Values are returned in the units of the element set (degrees, revolutions
per day, ...); :class:`fsw.gnc.orbit.Satellite` converts them for SGP4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Tle", "TleError", "checksum", "parse_tle", "parse_tle_text"]

_ALPHA5 = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are skipped, as in Space-Track's Alpha-5


class TleError(ValueError):
    """A TLE line is malformed; the message names the line, field and columns."""


@dataclass(frozen=True)
class Tle:
    """One parsed element set; angles in degrees, times in UTC.

    ``ndot_rev_day2`` is the first time derivative of the mean motion divided
    by two and ``nddot_rev_day3`` the second divided by six, exactly as the
    element set carries them. ``bstar_per_er`` is the SGP4 drag term in
    1/earth radii. ``epoch_jd + epoch_jd_frac`` is the epoch Julian date (UTC).
    """

    satnum: int
    classification: str
    intl_designator: str
    epoch_year: int
    epoch_day: float
    epoch_jd: float
    epoch_jd_frac: float
    ndot_rev_day2: float
    nddot_rev_day3: float
    bstar_per_er: float
    ephemeris_type: int
    element_number: int
    inclination_deg: float
    raan_deg: float
    eccentricity: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    mean_motion_rev_day: float
    rev_number: int
    line1: str
    line2: str
    name: str = ""


def checksum(line: str) -> int:
    """Modulo-10 checksum of columns 1-68: digits count their value, '-' counts 1."""
    total = 0
    for ch in line[:68]:
        if "0" <= ch <= "9":
            total += ord(ch) - 48
        elif ch == "-":
            total += 1
    return total % 10


def _field(line: str, lineno: int, name: str, first: int, last: int, pattern: str) -> str:
    """Columns first..last (1-based, inclusive) of line, checked against pattern."""
    text = line[first - 1:last]
    if re.fullmatch(pattern, text) is None:
        raise TleError(
            f"line {lineno} {name} (columns {first}-{last}) is malformed: {text!r}"
            if first != last
            else f"line {lineno} {name} (column {first}) is malformed: {text!r}"
        )
    return text


def _blank(line: str, lineno: int, columns: tuple[int, ...]) -> None:
    for col in columns:
        if line[col - 1] != " ":
            raise TleError(f"line {lineno} column {col} must be blank, got {line[col - 1]!r}")


def _satnum(text: str, lineno: int) -> int:
    text = text.strip() if text[0] == " " else text
    if text[0].isdigit():
        return int(text)
    # Alpha-5: a letter for the ten-thousands, digits for the rest.
    return (_ALPHA5.index(text[0]) + 10) * 10000 + int(text[1:])


def _implied_decimal(text: str) -> float:
    """'-12345-6' means -0.12345e-6 (sign, five digits, exponent sign and digit)."""
    sign = -1.0 if text[0] == "-" else 1.0
    mantissa = float("0." + text[1:6].replace(" ", "0"))
    exponent = int(text[6:8].replace(" ", "+"))
    return sign * mantissa * 10.0 ** exponent


def _prepare(line: object, lineno: int) -> str:
    if not isinstance(line, str):
        raise TleError(f"line {lineno} must be text, got {type(line).__name__}")
    text = line.rstrip("\r\n")
    if not text.isascii() or not text.isprintable():
        raise TleError(f"line {lineno} holds non-printable or non-ASCII characters")
    text = text.rstrip(" ")
    if len(text) != 69:
        raise TleError(f"line {lineno} must be 69 columns long, got {len(text)}")
    if text[0] != str(lineno):
        raise TleError(f"line {lineno} column 1 (line number) must be '{lineno}', got {text[0]!r}")
    return text


def _check_sum(text: str, lineno: int) -> None:
    want = text[68]
    if not want.isdigit():
        raise TleError(f"line {lineno} checksum (column 69) must be a digit, got {want!r}")
    got = checksum(text)
    if got != int(want):
        raise TleError(f"line {lineno} checksum (column 69) is {want}, computed {got}")


_NUM = r" *[0-9]+\.[0-9]+"
_SATNUM = r"(?: {0,4}[0-9]{1,5}|[A-HJ-NP-Z][0-9]{4})"
_EXPFIELD = r"[ +-][0-9 ]{4}[0-9][ +-][0-9]"


def parse_tle(line1: str, line2: str, verify_checksum: bool = True, name: str = "") -> Tle:
    """Parse and check a two-line element set.

    Lines may end in a newline and trailing blanks; otherwise each must be
    exactly 69 columns. ``verify_checksum=False`` skips only the column-69
    checks (for hand-edited test sets). Raises TleError naming what is wrong.
    """
    l1 = _prepare(line1, 1)
    l2 = _prepare(line2, 2)
    if verify_checksum:
        _check_sum(l1, 1)
        _check_sum(l2, 2)

    _blank(l1, 1, (2, 9, 18, 33, 44, 53, 62, 64))
    _blank(l2, 2, (2, 8, 17, 26, 34, 43, 52))

    sat1 = _satnum(_field(l1, 1, "satellite number", 3, 7, _SATNUM), 1)
    classification = _field(l1, 1, "classification", 8, 8, r"[UCS ]")
    intl = _field(l1, 1, "international designator", 10, 17, r"[0-9A-Z ]{8}").strip()
    yy = int(_field(l1, 1, "epoch year", 19, 20, r"[0-9]{2}"))
    day_text = _field(l1, 1, "epoch day", 21, 32, r" {0,2}[0-9]{1,3}\.[0-9]{8}")
    ndot = float(_field(l1, 1, "mean motion first derivative", 34, 43,
                        r"[ +-](?:\.[0-9]{8}|[0-9]\.[0-9]{7})").replace(" ", ""))
    nddot = _implied_decimal(_field(l1, 1, "mean motion second derivative", 45, 52, _EXPFIELD))
    bstar = _implied_decimal(_field(l1, 1, "BSTAR drag term", 54, 61, _EXPFIELD))
    eph = _field(l1, 1, "ephemeris type", 63, 63, r"[0-9 ]")
    elnum = _field(l1, 1, "element set number", 65, 68, r" {0,3}[0-9]{1,4}| {4}")

    sat2 = _satnum(_field(l2, 2, "satellite number", 3, 7, _SATNUM), 2)
    incl = float(_field(l2, 2, "inclination", 9, 16, _NUM))
    raan = float(_field(l2, 2, "right ascension of ascending node", 18, 25, _NUM))
    ecc = float("0." + _field(l2, 2, "eccentricity", 27, 33, r"[0-9]{7}"))
    argp = float(_field(l2, 2, "argument of perigee", 35, 42, _NUM))
    mean_anom = float(_field(l2, 2, "mean anomaly", 44, 51, _NUM))
    n_rev_day = float(_field(l2, 2, "mean motion", 53, 63, _NUM))
    revs = _field(l2, 2, "revolution number", 64, 68, r" {0,4}[0-9]{1,5}| {5}")

    if sat1 != sat2:
        raise TleError(f"satellite numbers differ: line 1 has {sat1}, line 2 has {sat2}")
    day = float(day_text)
    whole_text, frac_text = day_text.split(".")
    if not 0.0 <= day < 367.0:
        raise TleError(f"line 1 epoch day (columns 21-32) out of range: {day_text!r}")
    for field, value, cols, high in (
        ("inclination", incl, "9-16", 180.0),
        ("right ascension of ascending node", raan, "18-25", 360.0),
        ("argument of perigee", argp, "35-42", 360.0),
        ("mean anomaly", mean_anom, "44-51", 360.0),
    ):
        if value > high:
            raise TleError(f"line 2 {field} (columns {cols}) exceeds {high:g} degrees: {value}")
    if n_rev_day <= 0.0:
        raise TleError(f"line 2 mean motion (columns 53-63) must be positive: {n_rev_day}")

    # Two-digit years 57-99 are 1957-1999, 00-56 are 2000-2056 (NORAD convention).
    year = 1900 + yy if yy >= 57 else 2000 + yy
    whole = int(whole_text)
    # Day 1.0 is 1 January 00:00, so the count starts at 'January 0'.
    jan0 = _julian_date_jan1(year) - 1.0
    return Tle(
        satnum=sat1,
        classification=classification,
        intl_designator=intl,
        epoch_year=year,
        epoch_day=day,
        epoch_jd=jan0 + whole,
        # the fraction straight from its digits, so it is the nearest double
        epoch_jd_frac=float("0." + frac_text),
        ndot_rev_day2=ndot,
        nddot_rev_day3=nddot,
        bstar_per_er=bstar,
        ephemeris_type=int(eph) if eph != " " else 0,
        element_number=int(elnum) if elnum.strip() else 0,
        inclination_deg=incl,
        raan_deg=raan,
        eccentricity=ecc,
        arg_perigee_deg=argp,
        mean_anomaly_deg=mean_anom,
        mean_motion_rev_day=n_rev_day,
        rev_number=int(revs) if revs.strip() else 0,
        line1=l1,
        line2=l2,
        name=name,
    )


def _julian_date_jan1(year: int) -> float:
    """Julian date of 00:00 UTC on 1 January of a Gregorian year (1901-2099 exact)."""
    # Fliegel & Van Flandern style day count, valid for all Gregorian dates.
    a = (14 - 1) // 12
    y = year + 4800 - a
    m = 1 + 12 * a - 3
    jdn = 1 + (153 * m + 2) // 5 + 365 * y + y // 4 - y // 100 + y // 400 - 32045
    return jdn - 0.5


def parse_tle_text(text: str, verify_checksum: bool = True) -> list[Tle]:
    """Parse a catalogue: two-line sets, each optionally after a name line.

    A name line is any line that does not start with '1 ' or '2 ' (a leading
    '0 ', as in the three-line format, is dropped). Blank lines are skipped.
    Raises TleError naming the catalogue line where a set is malformed.
    """
    if not isinstance(text, str):
        raise TleError(f"catalogue must be text, got {type(text).__name__}")
    lines = [line for line in text.splitlines() if line.strip()]
    out: list[Tle] = []
    name = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("1 "):
            if line.startswith("2 "):
                raise TleError(f"catalogue line {i + 1}: line 2 without a line 1")
            name = line[2:].strip() if line.startswith("0 ") else line.strip()
            i += 1
            continue
        if i + 1 >= len(lines):
            raise TleError(f"catalogue line {i + 1}: line 1 without a line 2")
        try:
            out.append(parse_tle(line, lines[i + 1], verify_checksum, name))
        except TleError as exc:
            raise TleError(f"catalogue line {i + 1}: {exc}") from None
        name = ""
        i += 2
    return out
