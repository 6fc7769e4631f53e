"""Emulator of a reaction wheel on CAN (frame layout in `hal.devices.wheel`)."""

from __future__ import annotations

from typing import Final

from hal.busio import CanMessage
from hal.counts import nearest, signed
from hal.devices.wheel import (
    CMD_BASE,
    OP_GET_TELEMETRY,
    OP_RESET,
    OP_SET_TORQUE,
    REPLY_BASE,
    SPEED_LSB_RAD_S,
    STATUS_REFUSED,
    STATUS_SPEED_LIMIT,
    STATUS_TORQUE_LIMITED,
    TORQUE_LSB_NM,
)
from hal.sim.can import CanNode

__all__ = ["ReactionWheelEmulator"]

# Replies: opcode echo and status, then for telemetry the speed and torque.
# The opcode and status bytes are made once per status (0-3, the two limit
# bits): compiled, a table index where `struct` is a generic method call.
_TORQUE_REPLIES: Final = [bytes([OP_SET_TORQUE, status]) for status in range(4)]
_TELEMETRY_HEADS: Final = [bytes([OP_GET_TELEMETRY, status]) for status in range(4)]


class ReactionWheelEmulator(CanNode):
    """A wheel node on a `SimCAN` network.

    Truth in: `set_speed(w_rad_s)` (the simulator integrates wheel speed).
    Out: `commanded_torque_nm` (what the motor applies now: the last command
    clipped at `max_torque_nm`, zero once the wheel is at `max_speed_rad_s`
    in the commanded direction, after a reset or brown-out).
    Defaults after the CubeWheel medium class: 1 mN m, 6000 rpm [assumed].
    Faults: `inject_fault(kind, rate=..., duration_s=...)` with `nack` and
    `timeout` (the node stops answering), `stuck` (a seized wheel: the rotor
    neither turns nor gives torque, so its speed reading stays where it was),
    `bit_flip` (each reply is lost with probability `rate`: CAN's CRC makes
    a receiver discard a corrupted frame, so corruption shows as loss),
    `brownout` (torque command lost; silent for `duration_s`).
    """

    part = "CubeSpace CubeWheel (CAN)"

    def __init__(self, node: int, *, max_torque_nm: float = 1e-3,
                 max_speed_rad_s: float = 628.3, speed_noise_rad_s: float = 0.0,
                 seed: int = 0) -> None:
        super().__init__()
        import numpy as np

        self.node = node
        self.can_ids = (CMD_BASE + node,)
        self._cmd_id = CMD_BASE + node
        self._reply_id = REPLY_BASE + node
        self.max_torque_nm = max_torque_nm
        self.max_speed_rad_s = max_speed_rad_s
        self.speed_noise_rad_s = speed_noise_rad_s
        self.rng = np.random.default_rng(seed)
        self.speed_rad_s = 0.0
        self._torque_cmd_nm = 0.0
        self.stuck = False
        self.loss_rate = 0.0
        self._brownout_until_s = -1.0
        self.commands = 0

    def set_speed(self, w_rad_s: float) -> None:
        """Truth wheel speed, rad/s."""
        if not self.stuck:
            self.speed_rad_s = float(w_rad_s)

    @property
    def commanded_torque_nm(self) -> float:
        if self._brownout_until_s >= 0.0 or self.stuck:
            return 0.0
        tau, limit = self._torque_cmd_nm, self.max_torque_nm
        tau = limit if tau > limit else -limit if tau < -limit else tau
        speed = self.speed_rad_s
        if (speed >= self.max_speed_rad_s and tau > 0.0) or (
                speed <= -self.max_speed_rad_s and tau < 0.0):
            return 0.0
        return tau

    def _status(self) -> int:
        status = 0
        if abs(self._torque_cmd_nm) > self.max_torque_nm:
            status |= STATUS_TORQUE_LIMITED
        if abs(self.speed_rad_s) >= self.max_speed_rad_s:
            status |= STATUS_SPEED_LIMIT
        return status

    def advance(self, t_s: float) -> None:
        super().advance(t_s)
        if 0.0 <= self._brownout_until_s <= t_s:
            self._brownout_until_s = -1.0
            self.alive = True

    def inject_fault(self, kind: str, *, rate: float = 0.01, duration_s: float = 0.0) -> None:
        if kind in ("nack", "timeout"):
            self.alive = False
        elif kind == "bit_flip":
            if not 0.0 < rate <= 1.0:
                raise ValueError("bit_flip rate must be in (0, 1]")
            self.loss_rate = rate
        elif kind == "stuck":
            self.stuck = True
        elif kind == "brownout":
            self._torque_cmd_nm = 0.0
            if duration_s > 0:
                self.alive = False
                self._brownout_until_s = self.t_s + duration_s
        else:
            raise ValueError(f"unknown wheel fault {kind!r}")

    def clear_faults(self) -> None:
        self.alive = True
        self.stuck = False
        self.loss_rate = 0.0
        self._brownout_until_s = -1.0

    def can_receive(self, msg: CanMessage) -> list[CanMessage]:
        if msg.extended or msg.id != self._cmd_id or not msg.data:
            return []
        replies = self._handle(msg)
        if self.loss_rate and replies and self.rng.random() < self.loss_rate:
            return []
        return replies

    def _handle(self, msg: CanMessage) -> list[CanMessage]:
        data = msg.data
        op = data[0]
        self.commands += 1
        reply_id = self._reply_id
        # Replies are built from this node's own identifier and at most 8 bytes,
        # by name (compiled, a function kept in a local is a generic call).
        if op == OP_SET_TORQUE and len(data) == 3:
            counts = signed(data[1] | data[2] << 8, 16)  # int16, little-endian
            self._torque_cmd_nm = counts * TORQUE_LSB_NM
            return [CanMessage.checked_by_caller(reply_id, _TORQUE_REPLIES[self._status()])]
        if op == OP_GET_TELEMETRY and len(data) == 1:
            w = self.speed_rad_s
            if self.speed_noise_rad_s:
                w += float(self.rng.normal(0.0, self.speed_noise_rad_s))
            speed = nearest(w / SPEED_LSB_RAD_S)
            speed = -(2**31) if speed < -(2**31) else 2**31 - 1 if speed > 2**31 - 1 else speed
            torque = nearest(self.commanded_torque_nm / TORQUE_LSB_NM)
            torque = -32768 if torque < -32768 else 32767 if torque > 32767 else torque
            # int32 speed and int16 torque, little-endian, as one 48-bit
            # integer's bytes (native integer operations, compiled).
            payload = ((speed & 0xFFFFFFFF) | (torque & 0xFFFF) << 32).to_bytes(6, "little")
            return [CanMessage.checked_by_caller(
                reply_id, _TELEMETRY_HEADS[self._status()] + payload)]
        if op == OP_RESET and len(data) == 1:
            self._torque_cmd_nm = 0.0
            return []
        return [CanMessage(reply_id, bytes([op, STATUS_REFUSED]))]
