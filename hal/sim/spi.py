"""The `sim` SPI backend: each chip select drives an emulator in this process."""

from __future__ import annotations

from typing import Final, Protocol

from hal import DataError
from hal.busio import SPI
from hal.sim.emulator import I2CTarget

__all__ = ["SimSPI", "SpiPeer"]

# Clocked out after a register command while reading (sliced to length:
# compiled, a slice of a constant where `bytes(n)` is a generic call).
_ZEROS: Final = bytes(256)


class SpiPeer(Protocol):
    """What a chip select needs of a target: an `I2CTarget` (whose
    `spi_exchange` answers) or any object of this shape."""

    def spi_exchange(self, tx: bytes) -> bytes: ...


class SimSPI(SPI):
    """An SPI bus whose chip selects are wired to emulators.

    With nothing on a chip select, MISO floats high and every byte reads 0xFF
    (SPI has no acknowledge; drivers detect absence by their ID register).
    """

    def __init__(self, name: str = "spi0") -> None:
        super().__init__(name)
        self._targets: dict[int, SpiPeer] = {}

    def attach(self, cs: int, emulator: SpiPeer) -> None:
        """Wire `emulator` to chip select `cs`."""
        if cs in self._targets:
            raise ValueError(f"{self.name}: chip select {cs} already wired")
        self._targets[cs] = emulator

    def detach(self, cs: int) -> SpiPeer:
        return self._targets.pop(cs)

    def target(self, cs: int) -> SpiPeer:
        return self._targets[cs]

    def transfer(self, cs: int, out: bytes, n_in: int = 0) -> bytes:
        """`SPI.transfer` with the backend call inlined (the register-read
        shape drivers use every simulated step)."""
        target = self._targets.get(cs)
        if target is None:
            return b"\xff" * n_in
        if 0 < n_in <= 256:
            tx = out + _ZEROS[:n_in]
        else:
            tx = out + bytes(n_in) if n_in else out
        # The same call twice: compiled, to an `I2CTarget` (every emulator) it
        # is direct; any other object of the `SpiPeer` shape is reached through Python.
        if isinstance(target, I2CTarget):
            rx = target.spi_exchange(tx)
        else:
            rx = target.spi_exchange(tx)
        if len(rx) != len(out) + n_in:
            raise DataError(f"backend returned {len(rx)} bytes for a "
                            f"{len(out) + n_in}-byte frame", bus=self.name, address=cs)
        return rx[len(out):]

    def _exchange(self, cs: int, tx: bytes) -> bytes:
        target = self._targets.get(cs)
        if target is None:
            return b"\xff" * len(tx)
        return target.spi_exchange(tx)
