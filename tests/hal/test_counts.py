"""`hal.counts.nearest`, which the drivers and emulators quantise with in
place of `round`, gives Python's own `round` for every float (the reference
is the language's built-in, ties to even as IEEE 754 roundTiesToEven)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hal.counts import nearest


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
