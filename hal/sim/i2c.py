"""The `sim` I2C backend: targets are emulators in this process."""

from __future__ import annotations

from typing import Protocol

from hal import HalError, NackError
from hal.busio import I2C, check_address
from hal.sim.emulator import I2CTarget

__all__ = ["I2CPeer", "SimI2C"]


class I2CPeer(Protocol):
    """What the bus needs of a target: `I2CTarget` or any object of this shape."""

    def i2c_transfer(self, out: bytes, n_in: int) -> bytes: ...

    def probe(self) -> bool: ...


class SimI2C(I2C):
    """An I2C bus whose targets are emulators attached at addresses.

    The hot path is one list index and the emulator's register handlers.
    """

    def __init__(self, name: str = "i2c0") -> None:
        super().__init__(name)
        self._targets: dict[int, I2CTarget] = {}
        # Targets that answer transactions their own way (not I2CTarget's),
        # and those that are not I2CTargets at all.
        self._own_transfer: set[int] = set()
        self._peers: dict[int, I2CPeer] = {}
        # By 7-bit address, the I2CTargets that answer the default way (the
        # hot path: an index, where a dict and a set are a hash of a boxed
        # int each); None for nothing there or any other kind of target.
        self._plain: list[I2CTarget | None] = [None] * 0x80

    def _index(self) -> None:
        for address in range(0x80):
            target = self._targets.get(address)
            self._plain[address] = (target if target is not None
                                    and address not in self._own_transfer else None)

    def attach(self, address: int, emulator: I2CPeer) -> None:
        """Put `emulator` on the bus at a 7-bit `address`."""
        check_address(address)
        if address in self._targets or address in self._peers:
            raise ValueError(f"{self.name}: address 0x{address:02X} already taken")
        if not isinstance(emulator, I2CTarget):
            self._peers[address] = emulator
            return
        self._targets[address] = emulator
        if type(emulator).i2c_transfer is not I2CTarget.i2c_transfer:
            self._own_transfer.add(address)
        self._index()

    def detach(self, address: int) -> I2CPeer:
        """Take the emulator at `address` off the bus (it then NACKs)."""
        self._own_transfer.discard(address)
        if address in self._peers:
            return self._peers.pop(address)
        target = self._targets.pop(address)
        self._index()
        return target

    def target(self, address: int) -> I2CPeer:
        """The emulator attached at `address`."""
        if address in self._peers:
            return self._peers[address]
        return self._targets[address]

    def transfer(self, address: int, out: bytes, n_in: int = 0) -> bytes:
        """`I2C.transfer` with the backend call inlined: drivers make tens of
        these per simulated step, so the sim bus skips one call layer."""
        target = self._plain[address] if 0 <= address < 0x80 else None
        if target is None or target._fault_active:
            return self._other_transfer(address, out, n_in)
        # `I2CTarget.i2c_transfer` without faults, one call shallower.
        target.transfers += 1
        if len(out):
            target.on_write(out)
        if not n_in:
            return b""
        data = target.on_read(n_in)
        if len(data) != n_in:
            self._check_len(address, data, n_in)
        return data

    def _other_transfer(self, address: int, out: bytes, n_in: int) -> bytes:
        """`transfer` to anything but a fault-free target of the default kind."""
        target = self._targets.get(address)
        if target is None:  # nothing there, or a target of its own kind
            return I2C.transfer(self, address, out, n_in)
        try:
            data = target.i2c_transfer(out, n_in)
        except HalError as exc:
            raise exc.located(bus=self.name, address=address) from None
        if len(data) != n_in:
            self._check_len(address, data, n_in)
        return data

    def _transfer(self, address: int, out: bytes, n_in: int) -> bytes:
        target: I2CPeer | None = self._targets.get(address)
        if target is None:
            target = self._peers.get(address)
        if target is None:
            raise NackError("no acknowledge", bus=self.name, address=address)
        try:
            return target.i2c_transfer(out, n_in)
        except HalError as exc:
            raise exc.located(bus=self.name, address=address) from None

    def _probe(self, address: int) -> bool:
        target: I2CPeer | None = self._targets.get(address)
        if target is None:
            target = self._peers.get(address)
        return target is not None and target.probe()
