"""UART through pyserial: any port or URL `serial.serial_for_url` accepts."""

from __future__ import annotations

from hal import ConfigError, HalError
from hal.busio import UART

__all__ = ["SerialUART"]


class SerialUART(UART):
    """A serial port, e.g. `SerialUART("gps", "/dev/ttyS1", baudrate=9600)`,
    a pty path, `loop://` or `socket://host:port`.

    Every read waits at most `timeout` s; writes wait at most
    `write_timeout` s. A port that disappears raises `HalError`.
    """

    def __init__(self, name: str, url: str, *, baudrate: int = 9600, timeout: float = 0.1,
                 write_timeout: float = 0.5) -> None:
        super().__init__(name, baudrate=baudrate, timeout=timeout)
        import serial

        self.url = url
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout,
                                              write_timeout=write_timeout)
        except (serial.SerialException, ValueError) as exc:
            raise ConfigError(f"cannot open {url}: {exc}", bus=name) from exc

    def _failed(self, exc: Exception) -> HalError:
        return HalError(f"serial port {self.url} failed: {exc}", bus=self.name)

    @property
    def in_waiting(self) -> int:
        import serial

        try:
            return self.port.in_waiting
        except (serial.SerialException, OSError) as exc:
            raise self._failed(exc) from exc

    def reset_input_buffer(self) -> None:
        self.port.reset_input_buffer()

    def _read(self, n: int, timeout_s: float) -> bytes:
        import serial

        try:
            if self.port.timeout != timeout_s:
                self.port.timeout = timeout_s
            return self.port.read(n)
        except (serial.SerialException, OSError) as exc:
            raise self._failed(exc) from exc

    def _readline(self, max_bytes: int, timeout_s: float) -> bytes:
        import serial

        try:
            if self.port.timeout != timeout_s:
                self.port.timeout = timeout_s
            return self.port.read_until(b"\n", max_bytes)
        except (serial.SerialException, OSError) as exc:
            raise self._failed(exc) from exc

    def _write(self, data: bytes) -> int:
        import serial

        try:
            return self.port.write(data) or 0
        except serial.SerialTimeoutException as exc:
            from hal import BusTimeoutError

            raise BusTimeoutError(f"write to {self.url} timed out", bus=self.name) from exc
        except (serial.SerialException, OSError) as exc:
            raise self._failed(exc) from exc

    def deinit(self) -> None:
        self.port.close()
