"""The simulator's environment (ground.sim.environment): the same answers
whichever order its per-step methods are asked in."""

from __future__ import annotations

import numpy as np

from ground.sim.environment import Environment


def test_shadow_and_field_do_not_depend_on_what_was_asked_before() -> None:
    env = Environment()
    sun_now = tuple(env.sun_eci_km(0.0).tolist())
    toward_sun = np.array(sun_now) / np.linalg.norm(sun_now)
    r_lit = tuple((7000.0 * toward_sun).tolist())
    r_shade = tuple((-7000.0 * toward_sun).tolist())  # behind the Earth
    expected = (Environment().lit_fraction(r_lit, sun_now),
                Environment().lit_fraction(r_shade, sun_now))
    assert expected == (1.0, 0.0)
    # the same tuples again, after other positions, another sun and a field
    # computed in between: each answer is that of a fresh environment
    assert env.lit_fraction(r_lit, sun_now) == expected[0]
    env.field_eci_t(r_shade, 10.0)
    env.sun_eci_km(86400.0 * 91)  # a quarter of a year later: another sun
    assert env.lit_fraction(r_shade, sun_now) == expected[1]
    assert env.lit_fraction(r_lit, sun_now) == expected[0]
    assert env.lit_fraction(list(r_lit), list(sun_now)) == expected[0]
    b = env.field_eci_t(r_lit, 10.0)
    env.lit_fraction(r_shade, sun_now)
    assert env.field_eci_t(r_lit, 10.0) == b == Environment().field_eci_t(r_lit, 10.0)
    assert np.array_equal(env.b_eci_t(r_lit, 10.0), np.array(b))
