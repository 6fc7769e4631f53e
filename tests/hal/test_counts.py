"""`hal.counts.nearest`, which the drivers and emulators quantise with in
place of `round`, gives Python's own `round` for every float (the reference
is the language's built-in, ties to even as IEEE 754 roundTiesToEven);
`signed`, which they decode registers with, gives `int.from_bytes`'s
two's-complement value."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hal.counts import nearest, signed


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_nearest_is_round_for_any_finite_float(x):
    assert nearest(x) == round(x)


@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_halves_go_to_the_even_neighbour(n):
    x = n + 0.5
    assert nearest(x) == round(x)
    assert nearest(x) % 2 == 0


@pytest.mark.parametrize(("x", "expected"), [
    (0.5, 0), (1.5, 2), (2.5, 2), (-0.5, 0), (-1.5, -2), (-2.5, -2),
    (0.49999999999999994, 0), (4503599627370495.5, 4503599627370496), (-0.0, 0),
    (1e300, round(1e300)),
])
def test_known_values(x, expected):
    assert nearest(x) == expected


def test_non_finite_values_raise_as_round_does():
    with pytest.raises(ValueError):
        nearest(math.nan)
    with pytest.raises(OverflowError):
        nearest(math.inf)
    with pytest.raises(OverflowError):
        nearest(-math.inf)


@given(st.sampled_from([1, 2, 3, 4]).flatmap(
    lambda n: st.binary(min_size=n, max_size=n)))
def test_signed_is_the_twos_complement_of_the_register_bytes(raw):
    unsigned = int.from_bytes(raw, "big")
    assert signed(unsigned, 8 * len(raw)) == int.from_bytes(raw, "big", signed=True)


@pytest.mark.parametrize(("raw", "bits", "expected"), [
    (0x7FFF, 16, 32767), (0x8000, 16, -32768), (0xFFFF, 16, -1), (0, 16, 0),
    (0x7FFFFF, 24, 8388607), (0x800000, 24, -8388608), (0xFFFFFFFF, 32, -1),
])
def test_signed_edges(raw, bits, expected):
    assert signed(raw, bits) == expected
