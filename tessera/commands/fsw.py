"""`tessera fsw`: the flight software on the real clock and real buses."""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files

from tessera.options import backend_name, bounded_float, existing_file, writable_file


def run(args: argparse.Namespace) -> int:
    import hal.config
    from fsw.core import ConfigError, Executive, MonotonicClock, Store
    from hal import HalError

    try:
        devices = hal.config.load_config(args.devices)
        if args.backend:
            devices = devices.with_backend(args.backend)
        unattached = [name for name, spec in devices.devices.items()
                      if spec.bus is not None and devices.buses[spec.bus].backend == "sim"]
        if unattached:
            # Outside a simulation nothing sits on a sim bus: every part would
            # fail its identity check, which names a part instead of the cause.
            print(f"tessera fsw: no hardware or emulators are attached: {len(unattached)} "
                  f"devices ({', '.join(unattached)}) are on sim buses, which hold emulators "
                  "only inside a simulation; use --backend linux on the flight computer, or "
                  "tessera sim to fly the simulated spacecraft", file=sys.stderr)
            return 2
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
    fsw.add_argument("--config", type=existing_file,
                     default=str(files("fsw").joinpath("configs", "reference.toml")),
                     help="flight configuration (apps and rate groups), TOML")
    fsw.add_argument("--devices", type=existing_file,
                     default=str(files("hal").joinpath("reference.toml")),
                     help="device configuration (buses and drivers), TOML")
    fsw.add_argument("--backend", type=backend_name,
                     help="put every bus on this backend (e.g. linux)")
    fsw.add_argument("--store", type=writable_file,
                     help="SQLite file for the persistent store")
    fsw.add_argument("--duration-s", type=bounded_float(0.0, low_open=True), default=None,
                     help="stop after this long (default: run until interrupted)")
    fsw.set_defaults(run=run)
