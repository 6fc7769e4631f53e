"""Base classes for register- and byte-level device emulators.

An emulator stands in for a part behind the HAL: it receives the bytes a
driver writes and answers reads exactly as the part's register map or
command protocol says. The simulator drives it with truth (field, rate,
sun vector...) and, for parts that keep time, calls `advance(t_s)` every
step with simulation time in seconds.

Faults a test or the simulator can inject on any emulator:

- `nack`: the target stops acknowledging (unpowered, dead, wrong address).
- `timeout`: the target holds the bus (clock stretching) past the timeout.
- `bit_flip`: each byte read has probability `rate` of one flipped bit.
- `stuck`: measurement outputs freeze at their present value.
- `brownout`: power-on reset now (registers to defaults, actuation stops),
  no acknowledge for `duration_s` of simulation time.

Randomness (noise, bit flips) comes from a seeded generator so a simulation
run is reproducible.
"""

from __future__ import annotations

from typing import ClassVar, Final

import numpy as np

from hal import BusTimeoutError, NackError
from hal._compiled import mypyc_attr

__all__ = ["GaussianNoise", "I2CTarget", "RegisterTarget", "ScriptedTarget", "plain3"]

FAULT_KINDS: Final = ("nack", "timeout", "bit_flip", "stuck", "brownout")


def plain3(value) -> tuple[float, float, float]:
    """Three floats from any length-3 sequence or array (a bias, an offset):
    emulators keep such values as plain tuples for the per-sample
    arithmetic, where numpy on three elements costs more than the sums."""
    x, y, z = np.asarray(value, dtype=float).reshape(3).tolist()
    return (x, y, z)


class GaussianNoise:
    """Standard normal draws from a seeded generator, taken one at a time.

    Emulators add noise to every sample they produce, tens of times per
    simulated step; one numpy call per draw would cost more than the
    register work itself, so the draws are made `block` at a time and
    handed out singly. The sequence is the generator's own: reproducible
    from the seed.
    """

    __slots__ = ("_block", "_pool", "_rng")

    def __init__(self, rng: np.random.Generator, block: int = 1024) -> None:
        self._rng = rng
        self._block = block
        self._pool: list[float] = []

    def draw(self) -> float:
        """One draw from N(0, 1)."""
        pool = self._pool
        if not pool:
            # Reversed so that pop() hands them out in the generator's order.
            pool.extend(reversed(self._rng.standard_normal(self._block).tolist()))
        return pool.pop()


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class I2CTarget:
    """An I2C target: `i2c_transfer(out, n_in)` is all a sim bus calls."""

    #: Name of the part modelled, used in error messages.
    part = "I2C target"

    def __init__(self, *, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.noise = GaussianNoise(self.rng)
        self.t_s = 0.0
        self._fault_active = False
        self._nack = False
        self._timeout = False
        self._flip_rate = 0.0
        self.stuck = False
        self._brownout_until_s = -1.0
        self.transfers = 0

    # Time -------------------------------------------------------------
    def advance(self, t_s: float) -> None:
        """Set simulation time (seconds); called by the simulator each step."""
        self.t_s = t_s
        if self._brownout_until_s >= 0.0 and t_s >= self._brownout_until_s:
            self._brownout_until_s = -1.0
            self._refresh_fault_flag()

    # Faults -----------------------------------------------------------
    def inject_fault(self, kind: str, *, rate: float = 0.01, duration_s: float = 0.0) -> None:
        """Inject one of FAULT_KINDS (see module doc); faults accumulate."""
        if kind == "nack":
            self._nack = True
        elif kind == "timeout":
            self._timeout = True
        elif kind == "bit_flip":
            if not 0.0 < rate <= 1.0:
                raise ValueError("bit_flip rate must be in (0, 1]")
            self._flip_rate = rate
        elif kind == "stuck":
            self.stuck = True
        elif kind == "brownout":
            self.power_on_reset()
            if duration_s > 0.0:
                self._brownout_until_s = self.t_s + duration_s
        else:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        self._refresh_fault_flag()

    def clear_faults(self) -> None:
        """Remove every injected fault (a brown-out in progress ends now)."""
        self._nack = self._timeout = self.stuck = False
        self._flip_rate = 0.0
        self._brownout_until_s = -1.0
        self._refresh_fault_flag()

    def _refresh_fault_flag(self) -> None:
        self._fault_active = (self._nack or self._timeout or self._flip_rate > 0.0
                              or self._brownout_until_s >= 0.0)

    def power_on_reset(self) -> None:
        """Return to the power-on state; subclasses reset their registers."""

    # Bus side ---------------------------------------------------------
    def i2c_transfer(self, out: bytes, n_in: int) -> bytes:
        """One combined transaction: handle `out`, then return `n_in` bytes."""
        if self._fault_active:
            self._raise_faults()
        self.transfers += 1
        if out:
            self.on_write(out)
        if n_in:
            data = self.on_read(n_in)
            if self._flip_rate:
                data = self._flip(data)
            return data
        return b""

    def spi_exchange(self, tx: bytes) -> bytes:
        """One SPI frame (chip select asserted for all of `tx`); returns as
        many bytes as were sent. A dead or browned-out part leaves MISO
        pulled up: all 0xFF. Subclasses with an SPI interface override
        `on_spi`."""
        if self._fault_active:
            if self._nack or self._brownout_until_s >= 0.0 or self._timeout:
                return b"\xff" * len(tx)
        self.transfers += 1
        rx = self.on_spi(tx)
        if self._flip_rate:
            rx = rx[:1] + self._flip(rx[1:])
        return rx

    def on_spi(self, tx: bytes) -> bytes:
        raise NotImplementedError(f"{self.part} has no SPI interface")

    def probe(self) -> bool:
        """True when the target would acknowledge its address now."""
        return not (self._nack or self._brownout_until_s >= 0.0)

    def _raise_faults(self) -> None:
        if self._nack or self._brownout_until_s >= 0.0:
            raise NackError("no acknowledge", device=self.part)
        if self._timeout:
            raise BusTimeoutError("target held SCL low past the bus timeout", device=self.part)

    def _flip(self, data: bytes) -> bytes:
        hits = self.rng.random(len(data)) < self._flip_rate
        if not hits.any():
            return data
        out = bytearray(data)
        for i in np.flatnonzero(hits):
            out[i] ^= 1 << int(self.rng.integers(8))
        return bytes(out)

    def on_write(self, out: bytes) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def on_read(self, n: int) -> bytes:  # pragma: no cover - subclasses
        raise NotImplementedError


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class RegisterTarget(I2CTarget):
    """A part with a register pointer: write [reg, data...] stores data from reg
    on, write [reg] then read n returns n bytes from reg on (auto-increment,
    wrapping within the 256-byte map).

    Subclasses set `POWER_ON` (register -> value), `WRITABLE` (set of registers)
    and `pointer_mask` (bits of the pointer byte that address a register), and
    override `write_reg`/`before_read` for side effects.
    """

    POWER_ON: ClassVar[dict[int, int]] = {}
    WRITABLE: ClassVar[frozenset[int]] = frozenset()
    pointer_mask = 0xFF

    def __init__(self, *, seed: int = 0) -> None:
        self.regs = bytearray(256)
        self.ptr = 0
        super().__init__(seed=seed)
        self.power_on_reset()

    def power_on_reset(self) -> None:
        self.regs[:] = bytes(256)
        for reg, value in self.POWER_ON.items():
            self.regs[reg] = value
        self.ptr = 0

    def on_write(self, out: bytes) -> None:
        ptr = out[0] & self.pointer_mask
        for value in out[1:]:
            self.write_reg(ptr, value)
            ptr = (ptr + 1) & 0xFF
        self.ptr = ptr if len(out) > 1 else out[0] & self.pointer_mask

    def write_reg(self, reg: int, value: int) -> None:
        """Store a written byte; read-only registers ignore writes."""
        if reg in self.WRITABLE:
            self.regs[reg] = value

    def on_read(self, n: int) -> bytes:
        ptr = self.ptr
        self.before_read(ptr, n)
        end = ptr + n
        if end <= 256:
            # Joined to b"" rather than passed to bytes(): the same bytes, by
            # a compiled concatenation instead of a generic call of the type.
            data = b"" + self.regs[ptr:end]
        else:
            data = bytes((self.regs * ((end // 256) + 1))[ptr:end])
        self.ptr = end & 0xFF
        return data

    def before_read(self, reg: int, n: int) -> None:
        """Hook before a read from `reg` (update outputs, clear flags)."""


@mypyc_attr(allow_interpreted_subclasses=True)  # subclassed outside the compiled modules
class ScriptedTarget(I2CTarget):
    """A target that records writes and answers reads with scripted bytes.

    Used to feed drivers malformed or hostile replies at the byte level (fuzz
    tests, bench fault scripts). Each read pops the next reply, truncated or
    padded with `fill` to the length asked; with no reply left it reads `fill`.
    """

    part = "scripted target"

    def __init__(self, replies: list[bytes] | None = None, fill: int = 0xFF) -> None:
        super().__init__()
        self.replies = list(replies or [])
        self.fill = fill
        self.written: list[bytes] = []

    def on_write(self, out: bytes) -> None:
        self.written.append(bytes(out))

    def on_read(self, n: int) -> bytes:
        data = self.replies.pop(0)[:n] if self.replies else b""
        return data + bytes([self.fill]) * (n - len(data))
