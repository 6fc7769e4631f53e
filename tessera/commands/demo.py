"""`tessera demo`: the demonstration in simulation."""

from __future__ import annotations

import argparse

from tessera.options import bounded_float, writable_dir


def run(args: argparse.Namespace) -> int:
    from ground.sim.demo import run_demo

    result = run_demo(args.out, orbits=args.orbits, plot=not args.no_plot)
    return 0 if result.detumbled_at_s is not None and not result.failed_apps else 1


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="detumble demonstration in simulation")
    demo.add_argument("--out", type=writable_dir, default="out",
                      help="folder for the CSV and PNG (default out/)")
    demo.add_argument("--orbits", type=bounded_float(0.0, 100.0, low_open=True), default=1.0,
                      help="orbits to simulate")
    demo.add_argument("--no-plot", action="store_true", help="write the CSV only")
    demo.set_defaults(run=run)
