"""`tessera sim`: a software-in-the-loop run with your own scenario."""

from __future__ import annotations

import argparse
import sys

from tessera.options import bounded_float, bounded_int, partner_project, writable_dir


def run(args: argparse.Namespace) -> int:
    if args.radio:
        return run_radio(args)
    if args.app is not None:
        from ground.payload import fly_app
        duration = None if args.duration_s is None else args.duration_s
        return fly_app(args.app, args.out, duration_s=duration)
    from ground.sim.demo import run_demo
    from ground.sim.sil import Scenario

    scenario = Scenario(alt_km=args.alt_km, inclination_deg=args.inclination_deg,
                        w0_body_deg_s=tuple(args.w0_deg_s), seed=args.seed)
    result = run_demo(args.out, orbits=args.orbits, plot=not args.no_plot, scenario=scenario,
                      name="sim")
    return 0 if not result.failed_apps else 1


def run_radio(args: argparse.Namespace) -> int:
    """Fly a fleet whose radios are TCP ports (see ground.sim.fleet)."""
    from ground.dictionary import DictionaryError
    from ground.sim.fleet import SpacecraftSpec, default_fleet, serve

    specs = [SpacecraftSpec(s.name, s.scid, args.alt_km, args.inclination_deg, s.raan_deg,
                            s.port) for s in default_fleet(args.spacecraft, args.radio_port)]
    try:
        return serve(specs, args.out, duration_s=args.duration_s,
                     compress_gaps=args.compress_gaps, pty=args.pty,
                     min_elevation_deg=args.min_elevation_deg,
                     say=lambda *a, **k: print(*a, **{"flush": True, **k}),
                     apps=[args.app] if args.app is not None else [])
    except (RuntimeError, DictionaryError) as exc:  # a refused app, an id that collides
        print(f"tessera sim: {exc}", file=sys.stderr)
        return 1


def register(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser("sim", help="software-in-the-loop run of the detumble scenario")
    sim.add_argument("--out", type=writable_dir, default="out")
    sim.add_argument("--orbits", type=bounded_float(0.0, 100.0, low_open=True), default=1.0)
    sim.add_argument("--alt-km", type=bounded_float(160.0, 2000.0), default=500.0,
                     help="circular orbit altitude, km (low Earth orbit)")
    sim.add_argument("--inclination-deg", type=bounded_float(0.0, 180.0), default=97.4)
    sim.add_argument("--w0-deg-s", type=bounded_float(-180.0, 180.0), nargs=3,
                     default=(10.0, 10.0, 10.0), metavar=("WX", "WY", "WZ"),
                     help="initial body rates, deg/s")
    sim.add_argument("--seed", type=bounded_int(0, 2**32 - 1), default=1,
                     help="sensor noise seed")
    sim.add_argument("--no-plot", action="store_true")
    radio = sim.add_argument_group("radio", "fly spacecraft whose radios are TCP ports, for "
                                   "tessera ground")
    radio.add_argument("--radio", action="store_true",
                       help="expose each spacecraft's radio (instead of the detumble run)")
    radio.add_argument("--spacecraft", type=bounded_int(1, 16), default=1,
                       help="how many spacecraft (SCIDs from 0x2AB)")
    radio.add_argument("--radio-port", type=bounded_int(0, 65535 - 16), default=0,
                       help="TCP port of the first radio (0: any free port)")
    radio.add_argument("--pty", action="store_true", help="also expose each radio as a pty")
    radio.add_argument("--compress-gaps", action="store_true",
                       help="run as fast as possible between passes")
    radio.add_argument("--min-elevation-deg", type=bounded_float(0.0, 89.0), default=5.0,
                       help="ground-station elevation mask, deg")
    sim.add_argument("--app", type=partner_project, metavar="PATH",
                     help="fly a partner app project beside the reference mission (with "
                     "--radio: installed on the spacecraft the ground connects to)")
    sim.add_argument("--duration-s", type=bounded_float(0.0, 86400.0, low_open=True),
                     help="with --app: mission seconds to fly (default: the scenario's); "
                     "with --radio: seconds of wall time to run (default: until Ctrl-C)")
    sim.set_defaults(run=run)
