"""Driver for reaction wheels on CAN.

Modelled part: CubeSpace CubeWheel (the CubeADCS wheel family, which offers
CAN and I2C). Its interface control document is not public, so the frame
layout below is Tessera's own stand-in, kept deliberately close to a
torque-command/speed-telemetry wheel; replace it with the vendor ICD when a
partner provides one (the emulator in `hal.sim.wheel` follows this module).

Frames (11-bit identifiers, little-endian payloads):

    command   0x200 + node   [opcode, payload...]
    reply     0x280 + node   [opcode echo, status, payload...]

    0x01 SET_TORQUE     payload int16 torque in 1e-7 N m    reply: no payload
    0x02 GET_TELEMETRY  no payload   reply: int32 speed in 1e-3 rad/s,
                                            int16 applied torque in 1e-7 N m
    0x03 RESET          no payload   reply: none (the wheel reboots)

    status bits: 0x01 torque limited, 0x02 at speed limit, 0x80 command refused
"""

from __future__ import annotations

import math
import struct
from typing import Final

import numpy as np

from hal import BusTimeoutError, CommandRejectedError, DataError, HalError, NackError
from hal.busio import CAN, CanMessage, Match
from hal.counts import finite, nearest, signed
from hal.health import Health

__all__ = ["ReactionWheel", "ReactionWheels"]

# Final: compiled, the constants are built into the code that uses them
# (here and in the emulator) instead of being looked up in a module's
# namespace on every frame.
CMD_BASE: Final = 0x200
REPLY_BASE: Final = 0x280
OP_SET_TORQUE: Final = 0x01
OP_GET_TELEMETRY: Final = 0x02
OP_RESET: Final = 0x03
TORQUE_LSB_NM: Final = 1e-7
SPEED_LSB_RAD_S: Final = 1e-3
STATUS_TORQUE_LIMITED: Final = 0x01
STATUS_SPEED_LIMIT: Final = 0x02
STATUS_REFUSED: Final = 0x80
_TELEMETRY: Final = struct.Struct("<ih")


class ReactionWheel:
    """One wheel at CAN node `node` (1-127).

    Every command waits at most `reply_timeout_s` for the wheel's reply and
    is retried `retries` times (CAN delivery is acknowledged by any node, so
    only the reply proves the wheel acted).
    """

    part = "CubeSpace CubeWheel (CAN)"

    def __init__(self, can: CAN, node: int, *, reply_timeout_s: float = 0.005,
                 retries: int = 1) -> None:
        if not 1 <= node <= 0x7F:
            raise ValueError("wheel node id must be 1..127")
        self.can = can
        self.node = node
        self.retries = retries
        self.health = Health()
        self.last_status = 0
        self._listener = can.listen([Match(REPLY_BASE + node)], timeout=reply_timeout_s)
        self._cmd_id = CMD_BASE + node
        # Sent every cycle and never changed: built once.
        self._get_telemetry = CanMessage(self._cmd_id, bytes([OP_GET_TELEMETRY]))

    def _error(self, exc: HalError) -> HalError:
        exc.located(bus=self.can.name, address=self.node, device=self.part)
        self.health.record(exc)
        return exc

    def _request(self, opcode: int, payload: bytes, reply_len: int) -> bytes:
        return self._exchange(CanMessage(self._cmd_id, bytes([opcode]) + payload), reply_len)

    def _exchange(self, request: CanMessage, reply_len: int) -> bytes:
        """Send `request`, wait for the reply to it, retry on silence."""
        health = self.health
        listener = self._listener
        opcode = request.data[0]
        attempt = 0
        while True:
            health.transactions += 1
            try:
                # Stale replies (from a timed-out earlier request) are dropped.
                queue = listener.queue
                if queue:  # a method call only when there is something to drop
                    queue.clear()
                self.can.send(request)
                # A reply already queued (a sim node answers inside send) is taken
                # without the listener's wait.
                reply = queue.popleft() if queue else listener.receive()
                if reply is None:
                    raise BusTimeoutError("no reply from wheel")
                data = reply.data
                if (len(data) == 2 + reply_len and data[0] == opcode
                        and not data[1] & STATUS_REFUSED):
                    self.last_status = data[1]
                    return data[2:]
                return self._check(opcode, data, reply_len)
            except (NackError, BusTimeoutError) as exc:
                self._error(exc)
                if attempt >= self.retries:
                    health.failures += 1
                    raise
                attempt += 1
                health.retries += 1
            except HalError as exc:
                self._error(exc)
                health.failures += 1
                raise

    def _check(self, opcode: int, data: bytes, reply_len: int) -> bytes:
        if len(data) < 2 or data[0] != opcode:
            raise DataError(f"reply {data.hex()} does not answer opcode 0x{opcode:02X}")
        if len(data) != 2 + reply_len:
            raise DataError(f"reply to 0x{opcode:02X} has {len(data)} bytes, "
                            f"expected {2 + reply_len}")
        self.last_status = data[1]
        if data[1] & STATUS_REFUSED:
            raise CommandRejectedError(f"wheel refused opcode 0x{opcode:02X}")
        return data[2:]

    def set_torque(self, torque_nm: float) -> None:
        """Command motor torque, N m (positive spins the wheel up about its axis)."""
        if not finite(torque_nm):
            raise ValueError("torque must be finite")
        counts = nearest(torque_nm / TORQUE_LSB_NM)
        counts = -32768 if counts < -32768 else 32767 if counts > 32767 else counts
        # Opcode, then int16 little-endian, as one integer's bytes (compiled,
        # native integer operations where `struct` is a generic method call).
        self._exchange(CanMessage.checked_by_caller(
            self._cmd_id, (OP_SET_TORQUE | (counts & 0xFFFF) << 8).to_bytes(3, "little")), 0)

    def read_telemetry(self) -> tuple[float, float]:
        """(speed rad/s, applied torque N m) as the wheel reports them."""
        speed, torque = _TELEMETRY.unpack(self._exchange(self._get_telemetry, 6))
        return speed * SPEED_LSB_RAD_S, torque * TORQUE_LSB_NM

    def read_speed_rad_s(self) -> float:
        """Wheel speed about its spin axis, rad/s."""
        data = self._exchange(self._get_telemetry, 6)
        # The int32 speed (little-endian) decoded by shifts: compiled, native
        # integer operations where `struct` is a generic call.
        return signed(data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24, 32) \
            * SPEED_LSB_RAD_S

    def reset(self) -> None:
        """Reboot the wheel (it stops applying torque)."""
        self.health.transactions += 1
        self.can.send(CanMessage(self._cmd_id, bytes([OP_RESET])))


class ReactionWheels:
    """A set of wheels (four in the reference pyramid) driven together.

    A wheel that fails raises after the others were still commanded, so one
    dead wheel does not take the rest down with it.
    """

    def __init__(self, wheels: list[ReactionWheel]) -> None:
        self.wheels = list(wheels)

    @property
    def health(self) -> list[Health]:
        return [w.health for w in self.wheels]

    def set_torques(self, torques_nm) -> None:
        """Torque per wheel, N m, shape (n,)."""
        n = len(self.wheels)
        if (torques_nm.__class__ is np.ndarray and torques_nm.dtype == np.float64
                and torques_nm.shape == (n,)):
            t: list[float] = torques_nm.tolist()  # the ADCS cycle's own output
        else:
            t = np.asarray(torques_nm, dtype=float).reshape(n).tolist()
        first: HalError | None = None
        wheels = self.wheels
        # By index: compiled, `zip(..., strict=True)` is a generic call and iteration.
        for i in range(n):
            try:
                wheels[i].set_torque(t[i])
            except HalError as exc:
                first = first or exc
        if first is not None:
            raise first

    def speeds_rad_s(self) -> np.ndarray:
        """Speed per wheel, rad/s, shape (n,); NaN for a wheel that failed to
        answer (its health counters say why)."""
        out = []
        for wheel in self.wheels:
            try:
                out.append(wheel.read_speed_rad_s())
            except HalError:
                out.append(math.nan)
        return np.array(out)
