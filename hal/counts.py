"""Physical values to a device's integer counts, and the finiteness check
before them.

`round(x)` and `math.isfinite(x)` are generic calls when compiled (the
compiler has no primitive for them); the drivers and emulators quantise
about thirty values every control cycle, so they call `nearest` and
`finite` instead, which give the same results from native float operations.
"""

from __future__ import annotations

import math

__all__ = ["finite", "nearest"]


def nearest(x: float) -> int:
    """The integer nearest `x`, halves to even: exactly `round(x)` for a float
    (ValueError for NaN, OverflowError for an infinity, as `round` raises).

    `x - floor(x)` is exact for every finite double, so the tie test is too.
    """
    below = math.floor(x)
    fraction = x - below
    if fraction > 0.5 or (fraction == 0.5 and below & 1):
        return below + 1
    return below


def finite(x: float) -> bool:
    """`math.isfinite(x)`: neither NaN nor an infinity."""
    return not (math.isnan(x) or math.isinf(x))
