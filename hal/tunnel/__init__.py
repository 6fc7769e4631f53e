"""The `tunnel` HAL backend: the flight computer's buses carried to a bench.

Each bus primitive (I2C transfer, SPI exchange, UART read/write, CAN
send/receive) becomes one request over a serial bench link (protocol in
`hal.tunnel.protocol`, docs/hil.md); the bench's emulators answer. Buses
select it in the device configuration with `backend = "tunnel"` and
`port = URL` (any pyserial URL); one link per URL is shared by every bus
on it, opened with `open_link(url)` (the `tessera fsw --port` option does
this and performs the handshake before the drivers are built).

Importing this module registers the backend with `hal.config.register_backend`.
"""

from __future__ import annotations

from typing import Any

import hal.config
from hal.tunnel.buses import TunnelCAN, TunnelI2C, TunnelSPI, TunnelUART
from hal.tunnel.link import BenchLink, LinkError, LinkLostError

__all__ = ["BenchLink", "LinkError", "LinkLostError", "TunnelCAN", "TunnelI2C", "TunnelSPI",
           "TunnelUART", "close_links", "open_link"]

_LINKS: dict[str, BenchLink] = {}


def open_link(url: str, **options: Any) -> BenchLink:
    """The bench link on `url`, opened on first use and shared afterwards."""
    link = _LINKS.get(url)
    if link is None:
        link = _LINKS[url] = BenchLink(url, **options)
    return link


def close_links() -> None:
    """Close every open bench link (end of a run)."""
    for link in _LINKS.values():
        link.close()
    _LINKS.clear()


def _link(spec: hal.config.BusSpec) -> BenchLink:
    url = spec.options.get("port")
    if not isinstance(url, str) or not url:
        raise hal.ConfigError(f"buses.{spec.name}: a tunnel bus needs port = URL "
                              "(the bench link)", device="device configuration")
    return open_link(url)


def _i2c(spec):
    return TunnelI2C(spec.name, _link(spec))


def _spi(spec):
    bus = TunnelSPI(spec.name, _link(spec))
    mode = int(spec.options.get("mode", 0))
    bus.configure(baudrate=int(spec.options.get("baudrate", 1_000_000)),
                  polarity=mode >> 1 & 1, phase=mode & 1)
    return bus


def _uart(spec):
    return TunnelUART(spec.name, _link(spec), baudrate=int(spec.options.get("baudrate", 9600)))


def _can(spec):
    return TunnelCAN(spec.name, _link(spec))


for _kind, _factory in (("i2c", _i2c), ("spi", _spi), ("uart", _uart), ("can", _can)):
    hal.config.register_backend(_kind, "tunnel", _factory)
