"""Physical values to a device's integer counts, the finiteness check
before them, and a register's two's-complement counts back to an integer.

`round(x)` and `math.isfinite(x)` are generic calls when compiled (the
compiler has no primitive for them); the drivers and emulators quantise
about thirty values every control cycle, so they call `nearest` and
`finite` instead, which give the same results from native float operations.
"""

from __future__ import annotations

import math

__all__ = ["finite", "nearest", "signed"]


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


def signed(raw: int, bits: int) -> int:
    """The `bits`-wide two's-complement value of the unsigned `raw` (0 <=
    raw < 2**bits), as a register's bytes put together by shifts hold it:
    `int.from_bytes(..., signed=True)` without the bytes object."""
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw
