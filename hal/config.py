"""Device configuration: which bus, address and backend each device uses.

A configuration is a TOML document (see `hal/reference.toml`) with a
`[buses.NAME]` table per bus and a `[devices.NAME]` table per device.
Moving a satellite between simulation, bench and flight changes only the
`backend` of its buses; the drivers built are the same.

    cfg = load_config(REFERENCE)                     # or a path / TOML text
    hw = build(cfg, sim_buses={"i2c0": i2c, ...})    # sim: caller's buses
    hw.devices["magnetometer"].read_field_t()
    hw.health()                                      # {name: counters}

Backends are looked up in a registry keyed by (bus kind, backend name):
`sim` and `linux` are built in; the bench issue adds `tunnel` with
`register_backend("i2c", "tunnel", factory)`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hal import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "REFERENCE",
    "BusSpec",
    "DeviceSpec",
    "HalConfig",
    "Hardware",
    "backend_names",
    "build",
    "build_buses",
    "build_devices",
    "load_config",
    "register_backend",
    "register_driver",
]

REFERENCE = Path(__file__).with_name("reference.toml")
BUS_KINDS = ("i2c", "spi", "uart", "can")


@dataclass(frozen=True)
class BusSpec:
    name: str
    kind: str
    backend: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    driver: str
    bus: str | None
    address: int | None
    options: Mapping[str, Any]
    # A backend for this device alone (a real part on a bench whose other
    # devices are tunnelled); None: the bus's own backend.
    backend: str | None = None


@dataclass(frozen=True)
class HalConfig:
    buses: dict[str, BusSpec]
    devices: dict[str, DeviceSpec]

    def with_backend(self, backend: str, *, buses: list[str] | None = None,
                     **options: Mapping[str, Any]) -> HalConfig:
        """A copy with `backend` on the named buses (all if None); `options`
        maps a bus name to backend keys to merge (device paths, URLs)."""
        new = {}
        for name, spec in self.buses.items():
            if buses is None or name in buses:
                merged = {**spec.options, **options.get(name, {})}
                spec = BusSpec(name, spec.kind, backend, merged)
            new[name] = spec
        return HalConfig(new, dict(self.devices))


def _fail(reason: str, where: str) -> ConfigError:
    return ConfigError(f"{where}: {reason}", device="device configuration")


def load_config(source: str | Path | Mapping[str, Any]) -> HalConfig:
    """Parse and check a configuration from a path, TOML text or a mapping."""
    if isinstance(source, Mapping):
        doc = dict(source)
    else:
        try:
            is_path = isinstance(source, Path) or (
                "\n" not in source and source.endswith(".toml"))
            text = Path(source).read_text() if is_path else source
            doc = tomllib.loads(text)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise _fail(str(exc), str(source)[:60]) from exc
    unknown = set(doc) - {"buses", "devices"}
    if unknown:
        raise _fail(f"unknown top-level tables {sorted(unknown)}", "config")
    buses = {}
    for name, table in dict(doc.get("buses", {})).items():
        where = f"buses.{name}"
        if not isinstance(table, Mapping):
            raise _fail("must be a table", where)
        kind, backend = table.get("kind"), table.get("backend")
        if kind not in BUS_KINDS:
            raise _fail(f"kind {kind!r} is not one of {BUS_KINDS}", where)
        if not isinstance(backend, str):
            raise _fail("backend missing", where)
        opts = {k: v for k, v in table.items() if k not in ("kind", "backend")}
        buses[name] = BusSpec(name, kind, backend, opts)
    devices = {}
    for name, table in dict(doc.get("devices", {})).items():
        where = f"devices.{name}"
        if not isinstance(table, Mapping):
            raise _fail("must be a table", where)
        drv = table.get("driver")
        if drv not in _DRIVERS:
            raise _fail(f"driver {drv!r} unknown; one of {sorted(_DRIVERS)}", where)
        bus = table.get("bus")
        if bus is not None and bus not in buses:
            raise _fail(f"bus {bus!r} is not declared", where)
        needs = _DRIVERS[drv].bus_kind
        if needs is not None and (bus is None or buses[bus].kind not in needs):
            raise _fail(f"driver {drv} needs a bus of kind {needs}", where)
        address = table.get("address")
        if address is not None and (not isinstance(address, int) or address < 0):
            raise _fail(f"address {address!r} is not a non-negative integer", where)
        backend = table.get("backend")
        if backend is not None and (not isinstance(backend, str) or bus is None):
            raise _fail(f"backend {backend!r} needs a bus and must be a backend name", where)
        opts = {k: v for k, v in table.items()
                if k not in ("driver", "bus", "address", "backend")}
        extra = set(opts) - set(_DRIVERS[drv].options)
        if extra:
            raise _fail(f"options {sorted(extra)} not understood by driver {drv} "
                        f"(accepts {sorted(_DRIVERS[drv].options)})", where)
        devices[name] = DeviceSpec(name, drv, bus, address, opts, backend)
    return HalConfig(buses, devices)


# Backends -----------------------------------------------------------------------
BusFactory = Callable[[BusSpec], Any]
_BACKENDS: dict[tuple[str, str], BusFactory] = {}


def register_backend(kind: str, backend: str, factory: BusFactory) -> None:
    """Make `backend` available for buses of `kind`; factory(spec) -> bus."""
    if kind not in BUS_KINDS:
        raise ValueError(f"bus kind one of {BUS_KINDS}")
    _BACKENDS[(kind, backend)] = factory


def backend_names() -> list[str]:
    """Every backend name registered for some bus kind, sorted."""
    return sorted({backend for _, backend in _BACKENDS})


def _opts(spec: BusSpec, allowed: set[str]) -> dict[str, Any]:
    extra = set(spec.options) - allowed
    if extra:
        raise _fail(f"keys {sorted(extra)} not understood by the {spec.backend} "
                    f"{spec.kind} backend", f"buses.{spec.name}")
    return dict(spec.options)


# Every backend tolerates the other backends' keys, so that switching backend
# is a one-word change; each reads only its own.
# `port` is the tunnel backend's bench link (hal.tunnel).
_I2C_KEYS = {"device", "timeout_s", "port"}
_SPI_KEYS = {"bus", "baudrate", "mode", "port"}
_CAN_KEYS = {"interface", "channel", "send_timeout_s", "port"}
_UART_KEYS = {"url", "baudrate", "timeout_s", "port"}


def _sim_i2c(spec):
    from hal.sim import SimI2C

    _opts(spec, _I2C_KEYS)
    return SimI2C(spec.name)


def _sim_spi(spec):
    from hal.sim.spi import SimSPI

    o = _opts(spec, _SPI_KEYS)
    bus = SimSPI(spec.name)
    _configure_spi(bus, o)
    return bus


def _sim_can(spec):
    from hal.sim.can import SimCAN

    _opts(spec, _CAN_KEYS)
    return SimCAN(spec.name)


def _sim_uart(spec):
    from hal.sim.uart import SimUART

    o = _opts(spec, _UART_KEYS)
    return SimUART(spec.name, baudrate=int(o.get("baudrate", 9600)))


def _configure_spi(bus, o):
    mode = int(o.get("mode", 0))
    bus.configure(baudrate=int(o.get("baudrate", 1_000_000)), polarity=mode >> 1 & 1,
                  phase=mode & 1)


def _linux_i2c(spec):
    from hal.linux import LinuxI2C

    o = _opts(spec, _I2C_KEYS)
    return LinuxI2C(spec.name, o.get("device", "/dev/i2c-1"),
                    timeout_s=float(o.get("timeout_s", 0.05)))


def _linux_spi(spec):
    from hal.linux import LinuxSPI

    o = _opts(spec, _SPI_KEYS)
    bus = LinuxSPI(spec.name, int(o.get("bus", 0)))
    _configure_spi(bus, o)
    return bus


def _linux_can(spec):
    from hal.linux import LinuxCAN

    o = _opts(spec, _CAN_KEYS)
    return LinuxCAN(spec.name, interface=o.get("interface", "socketcan"),
                    channel=o.get("channel", "can0"),
                    send_timeout_s=float(o.get("send_timeout_s", 0.01)))


def _linux_uart(spec):
    from hal.linux import SerialUART

    o = _opts(spec, _UART_KEYS)
    if "url" not in o:
        raise _fail("a linux UART needs url", f"buses.{spec.name}")
    return SerialUART(spec.name, o["url"], baudrate=int(o.get("baudrate", 9600)),
                      timeout=float(o.get("timeout_s", 0.1)))


for _kind, _sim, _lin in (("i2c", _sim_i2c, _linux_i2c), ("spi", _sim_spi, _linux_spi),
                          ("can", _sim_can, _linux_can), ("uart", _sim_uart, _linux_uart)):
    register_backend(_kind, "sim", _sim)
    register_backend(_kind, "linux", _lin)


# Drivers --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Driver:
    build: Callable[[DeviceSpec, dict[str, Any], dict[str, Any]], Any]
    bus_kind: tuple[str, ...] | None
    options: frozenset[str] = field(default_factory=frozenset)


_DRIVERS: dict[str, _Driver] = {}


def register_driver(name: str, build_fn, *, bus_kind: tuple[str, ...] | None,
                    options: tuple[str, ...] = ()) -> None:
    """Make a driver available to configurations:
    build_fn(spec, buses, devices_built_so_far) -> driver."""
    _DRIVERS[name] = _Driver(build_fn, bus_kind, frozenset(options))


def _addr(spec: DeviceSpec, default: int) -> int:
    return default if spec.address is None else spec.address


def _rm3100(spec, buses, _):
    from hal.devices.rm3100 import RM3100

    return RM3100(buses[spec.bus], _addr(spec, 0x20), **spec.options)


def _imtq(spec, buses, _):
    from hal.devices.imtq import IMTQ

    return IMTQ(buses[spec.bus], _addr(spec, 0x10), **spec.options)


def _l3gd20h(spec, buses, _):
    from hal.devices.l3gd20h import L3GD20H

    return L3GD20H(buses[spec.bus], _addr(spec, 0x6B), **spec.options)


def _ads1115(spec, buses, _):
    from hal.devices.ads1115 import ADS1115

    return ADS1115(buses[spec.bus], _addr(spec, 0x48), **spec.options)


def _css(spec, _, devices):
    from hal.devices.ads1115 import ADS1115, CoarseSunSensors

    pairs = []
    for item in spec.options.get("channels", []):
        if (not isinstance(item, list) or len(item) != 2
                or not isinstance(devices.get(item[0]), ADS1115)):
            raise _fail(f"channel {item!r} is not [ads1115 device declared earlier, input]",
                        f"devices.{spec.name}")
        pairs.append((devices[item[0]], int(item[1])))
    opts = {k: v for k, v in spec.options.items() if k != "channels"}
    try:
        return CoarseSunSensors(pairs, **opts)
    except ValueError as exc:
        raise _fail(str(exc), f"devices.{spec.name}") from exc


def _wheels(spec, buses, _):
    from hal.devices.wheel import ReactionWheel, ReactionWheels

    opts = dict(spec.options)
    nodes = opts.pop("nodes", [1, 2, 3, 4])
    return ReactionWheels([ReactionWheel(buses[spec.bus], int(n), **opts) for n in nodes])


def _p31u(spec, buses, _):
    from hal.devices.p31u import P31u

    return P31u(buses[spec.bus], _addr(spec, 0x02), **spec.options)


def _gps(spec, buses, _):
    from hal.devices.gps import GpsReceiver

    return GpsReceiver(buses[spec.bus], **spec.options)


def _radio(spec, buses, _):
    from hal.devices.radio import UhfRadio

    return UhfRadio(buses[spec.bus], **spec.options)


register_driver("rm3100", _rm3100, bus_kind=("i2c",),
                options=("cycle_count", "drdy_polls", "retries", "budget_s"))
register_driver("imtq", _imtq, bus_kind=("i2c",), options=("retries", "budget_s"))
register_driver("l3gd20h", _l3gd20h, bus_kind=("i2c", "spi"),
                options=("full_scale_dps", "odr_hz", "retries", "budget_s"))
register_driver("ads1115", _ads1115, bus_kind=("i2c",),
                options=("pga_v", "data_rate", "ready_timeout_s", "retries", "budget_s"))
register_driver("coarse_sun_sensors", _css, bus_kind=None,
                options=("channels", "full_sun_v", "min_total"))
register_driver("reaction_wheels", _wheels, bus_kind=("can",),
                options=("nodes", "reply_timeout_s", "retries"))
register_driver("p31u", _p31u, bus_kind=("i2c",),
                options=("cells_in_series", "retries", "budget_s"))
register_driver("gps_nmea", _gps, bus_kind=("uart",), options=("max_bytes_per_poll",))
register_driver("uhf_kiss", _radio, bus_kind=("uart",),
                options=("callsign", "dest", "port", "max_bytes_per_poll"))


# Building ---------------------------------------------------------------------
@dataclass
class Hardware:
    """What `build` returns: the buses and drivers, by configuration name."""

    buses: dict[str, Any]
    devices: dict[str, Any]

    def health(self) -> dict[str, Any]:
        """Health counters per device (a list for composite devices)."""
        out = {}
        for name, dev in self.devices.items():
            h = getattr(dev, "health", None)
            if isinstance(h, list):
                out[name] = [x.snapshot() for x in h]
            elif h is not None:
                out[name] = h.snapshot()
        return out

    def close(self) -> None:
        for bus in self.buses.values():
            bus.deinit()


def _own_bus(spec: DeviceSpec, config: HalConfig) -> BusSpec | None:
    """The bus a device with its own backend uses, named `bus@backend`."""
    if spec.backend is None or spec.bus is None:
        return None
    bus = config.buses[spec.bus]
    if spec.backend == bus.backend:
        return None
    return BusSpec(f"{bus.name}@{spec.backend}", bus.kind, spec.backend, bus.options)


def build_buses(config: HalConfig, *, sim_buses: Mapping[str, Any] | None = None
                ) -> dict[str, Any]:
    """Build every bus. For the sim backend the caller's bus object of that
    name is used (the simulator has attached its emulators to it); a sim bus
    the caller did not supply is created empty. A device with its own
    `backend` gets a bus of its own, `NAME@BACKEND`, from its bus's table."""
    sim_buses = dict(sim_buses or {})
    buses: dict[str, Any] = {}
    specs = dict(config.buses)
    for dev in config.devices.values():
        own = _own_bus(dev, config)
        if own is not None:
            specs[own.name] = own
    try:
        for name, spec in specs.items():
            if spec.backend == "sim" and name in sim_buses:
                buses[name] = sim_buses[name]
                continue
            if (spec.kind, spec.backend) not in _BACKENDS:
                _load_backend_plugin(spec.backend)
            factory = _BACKENDS.get((spec.kind, spec.backend))
            if factory is None:
                known = sorted(b for k, b in _BACKENDS if k == spec.kind)
                raise _fail(f"no {spec.backend!r} backend for {spec.kind} buses "
                            f"(available: {known})", f"buses.{name}")
            buses[name] = factory(spec)
    except BaseException:
        for bus in buses.values():
            if bus not in sim_buses.values():
                bus.deinit()
        raise
    return buses


def _load_backend_plugin(backend: str) -> None:
    """Backends beyond sim and linux live in `hal.<backend>` and register on import."""
    import importlib

    if backend.isidentifier():
        try:
            importlib.import_module(f"hal.{backend}")
        except ModuleNotFoundError:
            pass


def build_devices(config: HalConfig, buses: Mapping[str, Any]) -> dict[str, Any]:
    """Build every driver in declaration order (so composites can refer to
    devices declared before them). Driver construction errors (absent or
    wrong parts) propagate as their `HalError`."""
    devices: dict[str, Any] = {}
    for name, spec in config.devices.items():
        own = _own_bus(spec, config)
        wired = dict(buses)
        if own is not None:
            wired[spec.bus] = buses[own.name]
        try:
            devices[name] = _DRIVERS[spec.driver].build(spec, wired, devices)
        except (TypeError, ValueError) as exc:
            raise _fail(str(exc), f"devices.{name}") from exc
    return devices


def build(config: HalConfig | str | Path, *, sim_buses: Mapping[str, Any] | None = None
          ) -> Hardware:
    """Buses and drivers for a configuration (see `build_buses`)."""
    cfg = config if isinstance(config, HalConfig) else load_config(config)
    buses = build_buses(cfg, sim_buses=sim_buses)
    try:
        return Hardware(buses, build_devices(cfg, buses))
    except BaseException:
        for name, bus in buses.items():
            if not sim_buses or name not in sim_buses:
                bus.deinit()
        raise
