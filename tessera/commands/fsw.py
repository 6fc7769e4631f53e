"""`tessera fsw`: the flight software on the real clock and real buses, or on a
HIL bench (`--backend tunnel --port URL`), where the bench's handshake says
whether the clock follows its lockstep ticks or runs in real time."""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from tessera.options import (
    backend_name,
    bounded_float,
    existing_file,
    serial_url,
    writable_file,
)


def _say(text: str) -> None:
    print(text, flush=True)


def _bench(args: argparse.Namespace, devices: Any) -> tuple[Any, Any, Any] | int:
    """Open the bench link, shake hands; (devices, bench time, session) or an exit status."""
    from hal import HalError

    tunnelled = [n for n, b in devices.buses.items() if b.backend == "tunnel"]
    tunnelled += [d.bus for d in devices.devices.values() if d.backend == "tunnel"]
    if not tunnelled:
        if args.port:
            print("tessera fsw: --port is for buses on the tunnel backend, and none is "
                  "(add --backend tunnel)", file=sys.stderr)
            return 2
        return devices, None, None
    if not args.port:
        print("tessera fsw: --port URL is needed for buses on the tunnel backend",
              file=sys.stderr)
        return 2
    try:
        from hal.tunnel import open_link
    except ImportError as exc:  # the bench link's framing package is an extra
        print(f"tessera fsw: {exc}", file=sys.stderr)
        return 2
    devices = devices.with_backend("tunnel", buses=[n for n, b in devices.buses.items()
                                                    if b.backend == "tunnel"],
                                   **{n: {"port": args.port} for n in devices.buses})
    try:
        link = open_link(args.port, on_event=_say)
        from hal.tunnel.clock import BenchTime

        bench = BenchTime(link)
        session = link.hello()
    except HalError as exc:
        print(f"tessera fsw: bench link: {exc}", file=sys.stderr)
        return 2
    _say(f"bench: scenario {session.get('scenario')!r} in {session.get('mode')} mode, "
         f"bench time {float(session.get('t_s', 0.0)):.1f} s")
    return devices, bench, session


def _clock(bench: Any, session: dict[str, Any] | None) -> Any:
    from fsw.core import LockstepClock, MonotonicClock

    if bench is None:
        return MonotonicClock()
    epoch = float(session["epoch_tai_s"])
    if session.get("mode") == "realtime":
        from hal.tunnel.clock import RealtimeBenchClock

        return RealtimeBenchClock(bench, epoch_tai_s=epoch)
    clock = LockstepClock(bench.advance, start_s=float(session.get("t_s", 0.0)),
                          epoch_tai_s=epoch)
    bench.link.flight_time = clock.now
    return clock


def _telemetry_tap(executive: Any) -> Any:
    """Every fixed-layout telemetry message of the booted apps, drained per frame."""
    from fsw.core.message import is_command

    pipe = executive.bus.create_pipe("bench_tap", depth=128)
    for msg_id, mtype in executive.bus.registered().items():
        if mtype is not None and not is_command(msg_id):
            executive.bus.subscribe(pipe, msg_id)
    return lambda: pipe.drain()


def run(args: argparse.Namespace) -> int:
    import hal.config
    from fsw.core import ConfigError, Executive, Store
    from fsw.core.executive import load_config
    from hal import HalError

    try:
        devices = hal.config.load_config(args.devices)
        if args.backend:
            devices = devices.with_backend(args.backend)
        opened = _bench(args, devices)
        if isinstance(opened, int):
            return opened
        devices, bench, session = opened
        unattached = [name for name, spec in devices.devices.items() if spec.bus is not None
                      and (spec.backend or devices.buses[spec.bus].backend) == "sim"]
        if unattached:
            # Outside a simulation nothing sits on a sim bus: every part would
            # fail its identity check, which names a part instead of the cause.
            print(f"tessera fsw: no hardware or emulators are attached: {len(unattached)} "
                  f"devices ({', '.join(unattached)}) are on sim buses, which hold emulators "
                  "only inside a simulation; use --backend linux on the flight computer, or "
                  "tessera sim to fly the simulated spacecraft", file=sys.stderr)
            return 2
        clock = _clock(bench, session)
        hardware = hal.config.build(devices)
    except HalError as exc:
        print(f"tessera fsw: devices: {exc}", file=sys.stderr)
        return 2
    store = Store(args.store) if args.store else None
    keys_dir = None
    try:
        config: Any = load_config(args.config)
        if args.keys:
            _with_keys(config, args.keys)
        if session is not None:
            import tempfile

            from fsw.gnc.ephemeris import MeanElements
            from ground.sim.sil import _with_uplinked_orbit, with_simulator_keys

            # The bench stands in for the ground, which uplinks the orbit and holds
            # the keys (fresh simulator keys unless --keys names real ones).
            config = _with_uplinked_orbit(config, MeanElements.from_mapping(session["orbit"]))
            if not args.keys:
                keys_dir = tempfile.TemporaryDirectory(prefix="tessera-bench-keys-")
                with_simulator_keys(config, Path(keys_dir.name))
        from ground.sim.sil import with_mission_files

        # On-board files (payload host, audit, file transfer) under the working directory
        # in flight, under the run's own folder on a bench; allocations beside the config.
        with_mission_files(config, Path(keys_dir.name) if keys_dir else Path.cwd(),
                           Path(args.config).resolve().parent)
        executive = Executive.from_config(config, clock, devices=hardware.devices, store=store)
    except ConfigError as exc:
        print(f"tessera fsw: {exc}", file=sys.stderr)
        return 2
    failed = executive.boot()
    for event in executive.events.recent:
        print(f"[{event.severity.name}] {event.text}")
    until = None
    if bench is not None:
        bench.telemetry = _telemetry_tap(executive)
        until = lambda: bench.stop_requested or bench.reset_requested  # noqa: E731
    frames = 0
    try:
        executive.run(args.duration_s, until=until)
        while bench is not None and bench.reset_requested and not bench.stop_requested:
            # The bench pulled the reset line: the flight software starts again
            # from its configuration, drivers and all, on the same clock.
            bench.reset_requested = False
            executive.shutdown()
            frames += executive.minor_frames
            hardware = hal.config.build(devices)
            executive = Executive.from_config(config, clock, devices=hardware.devices,
                                              store=store)
            failed = executive.boot()
            _say(f"reset by the bench: rebooted at {clock.now():.1f} s; apps that failed "
                 f"to boot: {', '.join(failed) or 'none'}")
            bench.telemetry = _telemetry_tap(executive)
            executive.run(None if args.duration_s is None
                          else max(args.duration_s - clock.now(), 1e-9), until=until)
    except KeyboardInterrupt:
        pass
    except HalError as exc:  # the bench link gave up (LinkLostError)
        print(f"tessera fsw: {exc}", file=sys.stderr)
        return 1
    finally:
        executive.shutdown()
        if bench is not None:
            from hal.tunnel import close_links

            close_links()
    overruns = sum(g.overruns for g in executive.groups)
    print(f"ran {frames + executive.minor_frames} minor frames; {overruns} overruns, "
          f"{executive.late_frames} late frames; apps that failed to boot: "
          f"{', '.join(failed) or 'none'}")
    if bench is not None:
        s = bench.link.stats
        print(f"bench link: {s.requests} requests, {s.retries} retries, "
              f"{sum(s.frame_errors.values())} bad frames, {s.stale_replies} stale replies, "
              f"{s.losses} losses ({s.lost_s:.1f} s), {s.reconnects} reconnects")
    return 1 if failed else 0


def _with_keys(config: dict[str, Any], path: Path) -> None:
    """Point every app that takes a key file (the comms app) at `path`."""
    for app in config.get("apps", []):
        if "key_file" in app.get("config", {}):
            app["config"]["key_file"] = str(path)


def register(sub: argparse._SubParsersAction) -> None:
    fsw = sub.add_parser("fsw", help="run the flight software on the real clock or a HIL bench")
    fsw.add_argument("--config", type=existing_file,
                     default=str(files("fsw").joinpath("configs", "reference.toml")),
                     help="flight configuration (apps and rate groups), TOML")
    fsw.add_argument("--devices", type=existing_file,
                     default=str(files("hal").joinpath("reference.toml")),
                     help="device configuration (buses and drivers), TOML")
    fsw.add_argument("--backend", type=backend_name,
                     help="put every bus on this backend (e.g. linux, tunnel)")
    fsw.add_argument("--port", type=serial_url,
                     help="bench link for tunnel buses: any pyserial URL "
                          "(a serial device, a pty, socket://host:port)")
    fsw.add_argument("--store", type=writable_file,
                     help="SQLite file for the persistent store")
    fsw.add_argument("--keys", type=existing_file,
                     help="the key holders' key file for the comms app (default: the one "
                          "the configuration names; on a bench, fresh simulator keys)")
    fsw.add_argument("--duration-s", type=bounded_float(0.0, low_open=True), default=None,
                     help="stop after this long (default: run until interrupted)")
    fsw.set_defaults(run=run)
