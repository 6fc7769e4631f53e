"""`tessera fsw`: the flight software on the real clock and real buses."""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files

from tessera.options import bounded_float


def run(args: argparse.Namespace) -> int:
    import hal.config
    from fsw.core import ConfigError, Executive, MonotonicClock, Store
    from hal import HalError

    try:
        devices = hal.config.load_config(args.devices)
        if args.backend:
            devices = devices.with_backend(args.backend)
        hardware = hal.config.build(devices)
    except HalError as exc:
        print(f"tessera fsw: devices: {exc}", file=sys.stderr)
        return 2
    store = Store(args.store) if args.store else None
    try:
        executive = Executive.from_config(args.config, MonotonicClock(), devices=hardware.devices,
                                          store=store)
    except ConfigError as exc:
        print(f"tessera fsw: {exc}", file=sys.stderr)
        return 2
    failed = executive.boot()
    for event in executive.events.recent:
        print(f"[{event.severity.name}] {event.text}")
    try:
        executive.run(args.duration_s)
    except KeyboardInterrupt:
        pass
    finally:
        executive.shutdown()
    overruns = sum(g.overruns for g in executive.groups)
    print(f"ran {executive.minor_frames} minor frames; {overruns} overruns, "
          f"{executive.late_frames} late frames; apps that failed to boot: "
          f"{', '.join(failed) or 'none'}")
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    fsw = sub.add_parser("fsw", help="run the flight software on the real clock")
    fsw.add_argument("--config", default=str(files("fsw").joinpath("configs", "reference.toml")),
                     help="flight configuration (apps and rate groups), TOML")
    fsw.add_argument("--devices", default=str(files("hal").joinpath("reference.toml")),
                     help="device configuration (buses and drivers), TOML")
    fsw.add_argument("--backend", help="put every bus on this backend (e.g. linux)")
    fsw.add_argument("--store", help="SQLite file for the persistent store")
    fsw.add_argument("--duration-s", type=bounded_float(0.0, low_open=True), default=None,
                     help="stop after this long (default: run until interrupted)")
    fsw.set_defaults(run=run)
