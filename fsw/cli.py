"""`tessera`: the one command line of Tessera.

    tessera demo     detumble a tumbling CubeSat in simulation (CSV + PNG in out/)
    tessera sim      the same software-in-the-loop run with your own scenario
    tessera fsw      run the flight software in real time on real buses
"""

from __future__ import annotations

import argparse
import logging
import sys


def _demo(args: argparse.Namespace) -> int:
    from ground.sim.demo import run_demo

    result = run_demo(args.out, orbits=args.orbits, plot=not args.no_plot)
    return 0 if result.detumbled_at_s is not None and not result.failed_apps else 1


def _sim(args: argparse.Namespace) -> int:
    from ground.sim.demo import run_demo
    from ground.sim.sil import Scenario

    scenario = Scenario(alt_km=args.alt_km, inclination_deg=args.inclination_deg,
                        w0_body_deg_s=tuple(args.w0_deg_s), seed=args.seed)
    result = run_demo(args.out, orbits=args.orbits, plot=not args.no_plot, scenario=scenario)
    return 0 if not result.failed_apps else 1


def _fsw(args: argparse.Namespace) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tessera", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every event")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="detumble demonstration in simulation")
    demo.add_argument("--out", default="out", help="folder for the CSV and PNG (default out/)")
    demo.add_argument("--orbits", type=float, default=1.0, help="orbits to simulate")
    demo.add_argument("--no-plot", action="store_true", help="write the CSV only")
    demo.set_defaults(run=_demo)

    sim = sub.add_parser("sim", help="software-in-the-loop run of the detumble scenario")
    sim.add_argument("--out", default="out")
    sim.add_argument("--orbits", type=float, default=1.0)
    sim.add_argument("--alt-km", type=float, default=500.0)
    sim.add_argument("--inclination-deg", type=float, default=97.4)
    sim.add_argument("--w0-deg-s", type=float, nargs=3, default=(10.0, 10.0, 10.0),
                     metavar=("WX", "WY", "WZ"), help="initial body rates, deg/s")
    sim.add_argument("--seed", type=int, default=1, help="sensor noise seed")
    sim.add_argument("--no-plot", action="store_true")
    sim.set_defaults(run=_sim)

    fsw = sub.add_parser("fsw", help="run the flight software on the real clock")
    fsw.add_argument("--config", default=str(_package_file("fsw", "configs", "reference.toml")),
                     help="flight configuration (apps and rate groups), TOML")
    fsw.add_argument("--devices", default=str(_package_file("hal", "reference.toml")),
                     help="device configuration (buses and drivers), TOML")
    fsw.add_argument("--backend", help="put every bus on this backend (e.g. linux)")
    fsw.add_argument("--store", help="SQLite file for the persistent store")
    fsw.add_argument("--duration-s", type=float, default=None,
                     help="stop after this long (default: run until interrupted)")
    fsw.set_defaults(run=_fsw)
    return parser


def _package_file(package: str, *parts: str):
    from importlib.resources import files

    return files(package).joinpath(*parts)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
