"""`tessera hil`: the hardware-in-the-loop bench (docs/hil.md).

    tessera hil bench --port URL --scenario FILE [--out DIR]
    tessera hil bench --pty PATH --scenario FILE          # a new pty, linked at PATH
    tessera hil device gps --pty PATH --scenario FILE     # a "real" part on its own pty
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tessera.options import (
    bounded_float,
    existing_file,
    serial_url,
    writable_dir,
    writable_file,
)


def _say(text: str) -> None:
    print(text, flush=True)


def _load(path: Path):
    from hil.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        print(f"tessera hil: {path}: {exc}", file=sys.stderr)
        return None


def _port(args: argparse.Namespace, baud: int):
    from hil.server import BenchPort

    if bool(args.port) == bool(args.pty):
        print("tessera hil: give exactly one of --port URL and --pty PATH", file=sys.stderr)
        return None
    try:
        return BenchPort(args.port, pty_link=args.pty, baudrate=baud)
    except (OSError, ValueError) as exc:  # serial.SerialException is an OSError
        print(f"tessera hil: cannot open {args.port or args.pty}: {exc}", file=sys.stderr)
        return None


def run_bench(args: argparse.Namespace) -> int:
    from hil.impair import Impairment
    from hil.report import write_report
    from hil.server import BenchServer
    from hil.world import BenchWorld

    scenario = _load(args.scenario)
    if scenario is None:
        return 2
    if args.duration_s is not None:
        scenario.duration_s = args.duration_s
    world = BenchWorld(scenario, flight_config=args.config, on_event=_say)
    checkpoint = args.out / "checkpoint.json"
    if args.resume and checkpoint.is_file():
        world.resume(json.loads(checkpoint.read_text()))
        _say(f"resumed {scenario.name!r} at t = {world.t_s:.1f} s from {checkpoint}")
    port = _port(args, scenario.baud)
    if port is None:
        return 2
    impairment = None
    if scenario.ber or scenario.frame_loss:
        impairment = Impairment(ber=scenario.ber, frame_loss=scenario.frame_loss,
                                seed=world.sil.seed)
    server = BenchServer(port, world, impairment=impairment, checkpoint=checkpoint,
                         pace_baud=scenario.baud if scenario.mode == "realtime" else None,
                         on_event=_say)
    _say(f"bench: {scenario.name!r}, {scenario.mode}, {scenario.duration_s:g} s, "
         f"waiting for the flight computer on {port.name}")
    try:
        server.serve(connect_timeout_s=args.connect_timeout_s)
    except TimeoutError as exc:
        print(f"tessera hil: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _say("bench: interrupted; writing the report of the run so far")
    finally:
        port.close()
    stats = server.stats.as_dict()
    stats["utilisation"] = server.stats.utilisation(scenario.baud)
    stats.update({f"flight_{k}": v for k, v in server.flight_stats.items()})
    verdicts = write_report(args.out, scenario, world.recorder, stats,
                            elapsed_s=server.stats.elapsed_s, baud=scenario.baud)
    for v in verdicts:
        _say(f"{'PASS' if v.passed else 'FAIL'} {v.criterion.name}: {v.text}")
    _say(f"link: {stats['frames_rx']} frames in, {stats['frames_tx']} out, "
         f"{stats['crc_errors']} bad frames, {stats['duplicates']} repeated requests, "
         f"{stats['impaired_bits']} bits flipped, {stats['impaired_frames']} frames lost"
         + (f"; flight side: {stats['flight_retries']:.0f} retries, "
            f"{stats['flight_losses']:.0f} losses" if "flight_retries" in stats else ""))
    _say(f"report: {args.out / 'report.html'}, {args.out / 'junit.xml'}")
    return 0 if all(v.passed for v in verdicts) else 1


def run_device(args: argparse.Namespace) -> int:
    from hil.device import serve_gps

    scenario = _load(args.scenario)
    if scenario is None:
        return 2
    try:
        return serve_gps(scenario, args.pty, duration_s=args.duration_s,
                         rate_hz=args.rate_hz, on_event=_say)
    except OSError as exc:
        print(f"tessera hil: cannot serve on {args.pty}: {exc}", file=sys.stderr)
        return 2


def register(sub: argparse._SubParsersAction) -> None:
    hil = sub.add_parser("hil", help="hardware-in-the-loop bench")
    inner = hil.add_subparsers(dest="hil_command", required=True, parser_class=type(hil))
    bench = inner.add_parser("bench", help="run a scenario against a flight computer")
    bench.add_argument("--port", type=serial_url,
                       help="the bench's serial port: any pyserial URL")
    bench.add_argument("--pty", type=writable_file,
                       help="make a pty and link its flight end at this path")
    bench.add_argument("--scenario", type=existing_file, required=True,
                       help="scenario TOML (initial state, faults, criteria)")
    bench.add_argument("--out", type=writable_dir, default=Path("hil-report"),
                       help="folder for report.html, plots, junit.xml, checkpoint")
    bench.add_argument("--config", type=existing_file, default=None,
                       help="the flight configuration, for decoding telemetry")
    bench.add_argument("--duration-s", type=bounded_float(0.0, low_open=True), default=None,
                       help="override the scenario's duration")
    bench.add_argument("--resume", action="store_true",
                       help="continue the run checkpointed in --out (after a bench restart)")
    bench.add_argument("--connect-timeout-s", type=bounded_float(0.0, low_open=True),
                       default=60.0, help="give up if no flight computer calls within this")
    bench.set_defaults(run=run_bench)
    device = inner.add_parser("device", help="play one real part on its own pty")
    device.add_argument("part", choices=["gps"], help="the part (the GPS receiver on a UART)")
    device.add_argument("--pty", type=writable_file, required=True,
                        help="link the part's pty at this path")
    device.add_argument("--scenario", type=existing_file, required=True,
                        help="scenario TOML whose orbit the part follows")
    device.add_argument("--duration-s", type=bounded_float(0.0, low_open=True), default=None,
                        help="stop after this long (default: until interrupted)")
    device.add_argument("--rate-hz", type=bounded_float(0.1, 10.0), default=1.0,
                        help="position log rate, GGA and RMC each time (default 1 Hz)")
    device.set_defaults(run=run_device)
