"""CAN through python-can: `socketcan` on a flight computer, `virtual` in tests."""

from __future__ import annotations

from hal import BusTimeoutError, ConfigError, HalError
from hal.busio import CAN, CanMessage, Listener, Match

__all__ = ["LinuxCAN"]


class LinuxCAN(CAN):
    """A python-can bus, e.g. `LinuxCAN("can0", interface="socketcan",
    channel="can0")` or `LinuxCAN("can0", interface="virtual", channel="t")`.

    Receive filters of the listeners are also handed to python-can
    (`set_filters`), so the kernel drops what nobody listens for.
    """

    def __init__(self, name: str, *, interface: str = "socketcan", channel: str = "can0",
                 send_timeout_s: float = 0.01, **kwargs) -> None:
        super().__init__(name)
        import can

        self.send_timeout_s = send_timeout_s
        self.error_frames = 0
        try:
            self._bus = can.Bus(interface=interface, channel=channel, **kwargs)
        except (can.CanError, OSError, ValueError, ImportError) as exc:
            raise ConfigError(f"cannot open {interface} channel {channel}: {exc}",
                              bus=name) from exc

    def listen(self, matches: list[Match] | None = None, *, timeout: float = 0.01,
               depth: int = 64) -> Listener:
        listener = super().listen(matches, timeout=timeout, depth=depth)
        self._update_filters()
        return listener

    def _update_filters(self) -> None:
        if any(not lst.matches for lst in self._listeners):
            self._bus.set_filters(None)
            return
        self._bus.set_filters([
            {"can_id": m.id, "can_mask": m.mask, "extended": m.extended}
            for lst in self._listeners for m in lst.matches])

    def _send(self, message: CanMessage) -> None:
        import can

        frame = can.Message(arbitration_id=message.id, data=message.data,
                            is_extended_id=message.extended)
        try:
            self._bus.send(frame, timeout=self.send_timeout_s)
        except can.CanOperationError as exc:
            raise BusTimeoutError(f"send not completed: {exc}", bus=self.name,
                                  address=message.id) from exc
        except can.CanError as exc:
            raise HalError(f"send failed: {exc}", bus=self.name, address=message.id) from exc

    def _recv(self, timeout_s: float) -> CanMessage | None:
        import can

        for _ in range(16):
            try:
                frame = self._bus.recv(timeout_s)
            except can.CanError as exc:
                raise HalError(f"receive failed: {exc}", bus=self.name) from exc
            if frame is None:
                return None
            if frame.is_error_frame or frame.is_remote_frame or len(frame.data) > 8:
                # Not for a classic-CAN driver: count and keep looking.
                self.error_frames += 1
                timeout_s = 0.0
                continue
            return CanMessage(frame.arbitration_id, bytes(frame.data),
                              extended=frame.is_extended_id)
        return None

    def deinit(self) -> None:
        self._bus.shutdown()
