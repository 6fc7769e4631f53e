"""TLE parsing: field checks, checksums, messages, and fuzzing (only TleError escapes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sgp4.api import Satrec

from fsw.gnc.orbit import Satellite
from fsw.gnc.tle import Tle, TleError, checksum, parse_tle

L1 = "1 00005U 58002B   00179.78495062  .00000023  00000-0  28098-4 0  4753"
L2 = "2 00005  34.2682 348.7242 1859667 331.7664  19.3264 10.82419157413667"


def _with_checksum(line: str) -> str:
    return line[:68] + str(checksum(line))


def _replace(line: str, col: int, text: str) -> str:
    """Put text at 1-based column col and fix the checksum."""
    return _with_checksum(line[: col - 1] + text + line[col - 1 + len(text):])


def test_parses_every_field() -> None:
    tle = parse_tle(L1, L2)
    assert tle.satnum == 5
    assert tle.classification == "U"
    assert tle.intl_designator == "58002B"
    assert tle.epoch_year == 2000
    assert tle.epoch_day == 179.78495062
    assert (tle.epoch_jd, tle.epoch_jd_frac) == (2451722.5, 0.78495062)
    assert tle.ndot_rev_day2 == 2.3e-7
    assert tle.nddot_rev_day3 == 0.0
    assert tle.bstar_per_er == pytest.approx(2.8098e-5, rel=1e-15)
    assert tle.ephemeris_type == 0
    assert tle.element_number == 475
    assert tle.inclination_deg == 34.2682
    assert tle.raan_deg == 348.7242
    assert tle.eccentricity == 0.1859667
    assert tle.arg_perigee_deg == 331.7664
    assert tle.mean_anomaly_deg == 19.3264
    assert tle.mean_motion_rev_day == 10.82419157
    assert tle.rev_number == 41366


def test_agrees_with_python_sgp4_fields() -> None:
    tle = parse_tle(L1, L2)
    ref = Satrec.twoline2rv(L1, L2)
    assert (tle.epoch_jd, tle.epoch_jd_frac) == (ref.jdsatepoch, ref.jdsatepochF)
    assert tle.bstar_per_er == ref.bstar
    assert math.radians(tle.inclination_deg) == pytest.approx(ref.inclo, rel=1e-15)
    assert tle.epoch_year % 100 == ref.epochyr


def test_negative_exponent_fields_and_alpha5() -> None:
    l1 = _replace(L1, 45, "-12345-6")
    l1 = _replace(l1, 54, "-54321-3")
    l1 = _replace(l1, 34, "-.00012345")
    l1 = _replace(l1, 3, "A0005")
    l2 = _replace(L2, 3, "A0005")
    tle = parse_tle(l1, l2)
    assert tle.nddot_rev_day3 == pytest.approx(-0.12345e-6, rel=1e-15)
    assert tle.bstar_per_er == pytest.approx(-0.54321e-3, rel=1e-15)
    assert tle.ndot_rev_day2 == -0.00012345
    assert tle.satnum == 100005


def test_two_digit_years() -> None:
    assert parse_tle(_replace(L1, 19, "57"), L2).epoch_year == 1957
    assert parse_tle(_replace(L1, 19, "56"), L2).epoch_year == 2056


def test_accepts_newlines_and_trailing_blanks() -> None:
    assert parse_tle(L1 + "\r\n", L2 + "   \n").satnum == 5


@pytest.mark.parametrize(
    "line1,line2,message",
    [
        (L1[:-1] + "0", L2, r"line 1 checksum \(column 69\) is 0, computed 3"),
        (L1, L2[:-1] + "9", r"line 2 checksum \(column 69\) is 9, computed 7"),
        (L1[:60], L2, r"line 1 must be 69 columns long, got 60"),
        (L2, L2, r"line 1 column 1 \(line number\) must be '1'"),
        (L1, L1, r"line 2 column 1 \(line number\) must be '2'"),
        (L1, _replace(L2, 3, "00006"), r"satellite numbers differ: line 1 has 5, line 2 has 6"),
        (_replace(L1, 8, "X"), L2, r"line 1 classification \(column 8\)"),
        (_replace(L1, 21, "179x78495062"), L2, r"line 1 epoch day \(columns 21-32\)"),
        (_replace(L1, 21, "400.00000000"), L2, r"epoch day \(columns 21-32\) out of range"),
        (_replace(L1, 34, " .0000a023"), L2, r"first derivative \(columns 34-43\)"),
        (_replace(L1, 45, " 000-0-0"), L2, r"second derivative \(columns 45-52\)"),
        (_replace(L1, 54, " 28098*4"), L2, r"BSTAR drag term \(columns 54-61\)"),
        (_replace(L1, 63, "x"), L2, r"ephemeris type \(column 63\)"),
        (_replace(L1, 33, "x"), L2, r"line 1 column 33 must be blank"),
        (L1, _replace(L2, 9, " 34x2682"), r"line 2 inclination \(columns 9-16\)"),
        (L1, _replace(L2, 9, "234.2682"), r"inclination \(columns 9-16\) exceeds 180"),
        (L1, _replace(L2, 27, "18596 7"), r"line 2 eccentricity \(columns 27-33\)"),
        (L1, _replace(L2, 53, " 0.00000000"), r"mean motion \(columns 53-63\) must be positive"),
        (L1, _replace(L2, 53, "10-82419157"), r"line 2 mean motion \(columns 53-63\)"),
        ("1 00005U 58002B   00179.78495062  .00000023  00000-0  28098-4 0  475é",
         L2, "non-printable or non-ASCII"),
    ],
)
def test_errors_name_the_field(line1: str, line2: str, message: str) -> None:
    with pytest.raises(TleError, match=message):
        parse_tle(line1, line2)


def test_not_text_is_tle_error() -> None:
    with pytest.raises(TleError):
        parse_tle(b"1 00005U", L2)  # type: ignore[arg-type]


def test_checksum_rule() -> None:
    assert checksum("1" + " " * 67) == 1
    assert checksum("-" * 68) == 8
    assert checksum("9" * 70) == (9 * 68) % 10


def test_tle_error_is_value_error() -> None:
    assert issubclass(TleError, ValueError)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=90), st.text(max_size=90))
def test_fuzz_arbitrary_text(line1: str, line2: str) -> None:
    try:
        parse_tle(line1, line2)
    except TleError:
        pass


# Field columns (1-based, inclusive) from the element-set format (CelesTrak,
# "NORAD Two-Line Element Set Format"). Each example rewrites whole fields of
# a valid pair with text of the field's width, keeping the line format (69
# columns, line number, checksum) valid, so every example reaches the field
# parsers and many parse.
FIELDS = (
    ((3, 7), (8, 8), (10, 17), (19, 32), (34, 43), (45, 52), (54, 61), (63, 63), (65, 68)),
    ((3, 7), (9, 16), (18, 25), (27, 33), (35, 42), (44, 51), (53, 63), (64, 68)),
)
field_text = (st.text(alphabet="0123456789", min_size=14, max_size=14)
              | st.text(alphabet="0123456789 .+-UCSA", min_size=14, max_size=14))
field_edits = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 8), field_text), max_size=3)


@given(field_edits)
def test_fuzz_fields_behind_a_valid_line_format(edits: list[tuple[int, int, str]]) -> None:
    lines = [L1, L2]
    for which, k, text in edits:
        first, last = FIELDS[which][k % len(FIELDS[which])]
        line = lines[which]
        lines[which] = line[: first - 1] + text[: last - first + 1] + line[last:]
    l1, l2 = (_with_checksum(x) for x in lines)
    try:
        tle = parse_tle(l1, l2)
    except TleError as exc:
        assert "69 columns" not in str(exc) and "checksum" not in str(exc)
        assert "line number" not in str(exc)
        return
    sat = Satellite.from_tle(l1, l2)
    r, _, err = sat.propagate_array(np.array([0.0, 60.0]))
    assert r.shape == (2, 3) and err.shape == (2,)
    # python-sgp4 reads the same element set to the same orbit
    ref = Satrec.twoline2rv(l1, l2)
    assert (tle.satnum, tle.epoch_jd + tle.epoch_jd_frac) == (
        ref.satnum, pytest.approx(ref.jdsatepoch + ref.jdsatepochF, abs=1e-8))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 68),
                  st.sampled_from(list("0123456789 .+-ABZxé\x00"))),
        min_size=1, max_size=4,
    ),
    st.booleans(),
)
def test_fuzz_mutations_of_a_valid_tle(edits: list[tuple[int, int, str]], fix: bool) -> None:
    lines = [list(L1), list(L2)]
    for which, col, ch in edits:
        lines[which][col] = ch
    l1, l2 = ("".join(x) for x in lines)
    if fix:
        l1, l2 = _with_checksum(l1), _with_checksum(l2)
    try:
        tle = parse_tle(l1, l2)
    except TleError:
        return
    # whatever parses must initialise and propagate without crashing
    sat = Satellite.from_tle(l1, l2)
    r, _, err = sat.propagate_array(np.array([-1440.0, 0.0, 1440.0]))
    assert r.shape == (3, 3) and err.shape == (3,)
    assert isinstance(tle, Tle)


def _format_tle(satnum: int, day: float, incl: float, raan: float, ecc: float,
                argp: float, ma: float, n: float, bstar: tuple[int, int]) -> tuple[str, str]:
    l1 = (f"1 {satnum:05d}U 20001A   20{day:012.8f} -.00000100  00000-0 "
          f"-{bstar[0]:05d}-{bstar[1]} 0  999")
    l2 = (f"2 {satnum:05d} {incl:8.4f} {raan:8.4f} {ecc:07d} {argp:8.4f} "
          f"{ma:8.4f} {n:11.8f}{1:5d}")
    return _with_checksum(l1 + "0"), _with_checksum(l2 + "0")


@settings(max_examples=150, deadline=None)
@given(
    satnum=st.integers(1, 99999),
    day=st.floats(1.0, 366.0),
    incl=st.floats(0.0, 180.0),
    raan=st.floats(0.0, 359.9999),
    ecc=st.integers(0, 9_000_000),
    argp=st.floats(0.0, 359.9999),
    ma=st.floats(0.0, 359.9999),
    n=st.floats(0.05, 17.0),
    bstar=st.tuples(st.integers(0, 99999), st.integers(0, 9)),
)
def test_generated_tles_round_trip_and_match_python_sgp4(
    satnum: int, day: float, incl: float, raan: float, ecc: int, argp: float, ma: float,
    n: float, bstar: tuple[int, int],
) -> None:
    l1, l2 = _format_tle(satnum, day, incl, raan, ecc, argp, ma, n, bstar)
    tle = parse_tle(l1, l2)
    assert tle.satnum == satnum
    assert tle.eccentricity == float(f"0.{ecc:07d}")
    assert tle.mean_motion_rev_day == float(f"{n:11.8f}")
    assert tle.bstar_per_er == pytest.approx(-float(f"0.{bstar[0]:05d}e-{bstar[1]}"), rel=1e-15)
    # the same propagated state as python-sgp4 for whatever elements come out
    sat = Satellite.from_tle(l1, l2)
    ref = Satrec.twoline2rv(l1, l2)
    minutes = np.array([0.0, 100.0, 1000.0])
    r, v, err = sat.propagate_array(minutes)
    for k, t in enumerate(minutes):
        e, rr, vv = ref.sgp4_tsince(float(t))
        assert err[k] == e
        if e == 0:
            # 1 mm, or a few ulp for the absurd states of wild elements
            assert np.max(np.abs(r[k] - rr)) < 1e-6 + 1e-14 * np.max(np.abs(rr))
            assert np.max(np.abs(v[k] - vv)) < 1e-9 + 1e-14 * np.max(np.abs(vv))
