"""Small helpers between numpy arrays and the C core's cffi structs.

Used by the attitude modules only; nothing here is public API.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from fsw.gnc._core import ffi


def vec(x: Sequence[float] | np.ndarray, n: int, name: str) -> np.ndarray:
    """`x` as a contiguous float64 array of shape (n,), or ValueError."""
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    return a


def ptr(a: np.ndarray):
    """A `double *` onto a contiguous float64 array (no copy)."""
    return ffi.cast("double *", ffi.from_buffer(a))


def view(cdata_array, n: int) -> np.ndarray:
    """A float64 numpy view of n doubles inside a cffi struct (writes go through)."""
    return np.frombuffer(ffi.buffer(cdata_array, 8 * n), dtype=np.float64)


def out(n: int) -> tuple[np.ndarray, object]:
    """A fresh float64 array of n zeros and a `double *` onto it."""
    a = np.zeros(n)
    return a, ptr(a)


def consecutive_doubles(struct_name: str, fields: Sequence[tuple[str, int]],
                        ints: Sequence[str] = ()) -> tuple[struct.Struct, dict[str, int]]:
    """A `struct` layout of `fields` (name, count of doubles) and where each
    starts, counted in doubles, when the C struct holds them as consecutive
    doubles from its start, followed by the C `int` fields named in `ints`;
    checked against the compiled struct, so the two cannot disagree
    (ImportError otherwise)."""
    at = 0
    index = {}
    for name, count in fields:
        if ffi.offsetof(struct_name, name) != 8 * at:
            raise ImportError(f"{struct_name}.{name} is not where its doubles are expected")
        index[name] = at
        at += count
    types = dict(ffi.typeof(struct_name).fields)
    for k, name in enumerate(ints):
        if (ffi.offsetof(struct_name, name) != 8 * at + ffi.sizeof("int") * k
                or types[name].type.cname != "int"):
            raise ImportError(f"{struct_name}.{name} is not the int expected after its doubles")
    return struct.Struct(f"@{at}d{len(ints)}i" if ints else f"@{at}d"), index
