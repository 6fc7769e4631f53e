"""`tessera demo`: the constellation mission in simulation (or, with --single, one
spacecraft detumbling)."""

from __future__ import annotations

import argparse

from tessera.options import bounded_float, writable_dir

SINGLE_ONLY = ("orbits", "no_plot")


def run(args: argparse.Namespace) -> int:
    check(args.parser, args)
    if args.single:
        from ground.sim.demo import run_demo

        orbits = 1.0 if args.orbits is None else args.orbits
        result = run_demo(args.out, orbits=orbits, plot=not args.no_plot)
        return 0 if result.detumbled_at_s is not None and not result.failed_apps else 1
    from ground.sim.mission_demo import run_mission_demo

    return run_mission_demo(args.out, quick=args.quick)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Options of the single-spacecraft run need --single: one line and status 2 otherwise."""
    if not args.single:
        given = [f"--{name.replace('_', '-')}" for name in SINGLE_ONLY
                 if getattr(args, name) not in (None, False)]
        if given:
            parser.error(f"{given[0]} applies to the single-spacecraft run: add --single")


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="the constellation mission in simulation "
                          "(--single: one spacecraft detumbling)")
    demo.add_argument("--out", type=writable_dir, default="out",
                      help="folder for the report, plots and data (default out/)")
    kind = demo.add_mutually_exclusive_group()
    kind.add_argument("--quick", action="store_true",
                      help="the short mission (4,500 s of mission time, about a minute)")
    kind.add_argument("--single", action="store_true",
                      help="one spacecraft detumbling and acquiring the sun, as CSV and PNG")
    demo.add_argument("--orbits", type=bounded_float(0.0, 100.0, low_open=True), default=None,
                      help="with --single: orbits to simulate (default 1)")
    demo.add_argument("--no-plot", action="store_true", help="with --single: write the CSV only")
    demo.set_defaults(run=run, parser=demo)
