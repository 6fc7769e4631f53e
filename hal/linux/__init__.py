"""The `linux` backend: buses on the libraries Linux users already trust.

- I2C: smbus2 over i2c-dev, register reads as one combined I2C_RDWR transfer.
- SPI: spidev (`xfer2`, chip select held for the whole frame).
- UART: pyserial, any URL `serial_for_url` accepts (/dev/ttyS1, a pty,
  `loop://`, `socket://host:port`, `rfc2217://...`).
- CAN: python-can (`socketcan` in flight, `virtual` in tests).

These libraries come with the optional `linux` extra; each module imports
its library only when a bus is built, so flight images without a bus type
do not need its library.
"""

from hal.linux.can import LinuxCAN
from hal.linux.i2c import LinuxI2C
from hal.linux.spi import LinuxSPI
from hal.linux.uart import SerialUART

__all__ = ["LinuxCAN", "LinuxI2C", "LinuxSPI", "SerialUART"]
