"""The full reference spacecraft in the loop, alone and as a constellation,
against two Basilisk peers on the same detumble scenario.

Tessera side: `ground.sim.sil` with every part of the reference CubeSat
(the real flight executive and apps; RM3100, L3GD20H, six sun sensors on two
ADS1115s, iMTQ, four CAN wheels, P31u EPS, GPS and radio, each through its
driver and a register-level emulator; IGRF-14, sun and eclipse; SGP4), at
10 Hz for the same 1,500 s from the same release as `bench_detumble`.

Peers, each alternated with Tessera by `bench.common.paired` in the same run:

- "Basilisk engine" (`bench_detumble`'s scenario: hub, centred dipole,
  magnetometer, MtbEffector and a Python B-dot module at 10 Hz, RK4):
  Basilisk's engine with a controller, no flight software and far fewer
  parts;
- "Basilisk with the same parts" (`bench.basilisk_parts`): the hub with J2
  gravity, planet ephemeris, eclipse, the IGRF-14 dipole, magnetometer,
  gyro, six coarse sun sensors, four reaction wheels, three torquers,
  navigation and a power system (four panels, loads, battery), and at
  10 Hz the flight software's work in Basilisk modules (sun heading by
  cssWlsEst, the sunlineEKF filter, B-dot, the wheels' motor torques), the
  parts' messages recorded once a second. Its docstring lists what stays
  different. Work only the Tessera side does, because Basilisk has none of
  it: register-level emulation and the drivers, the flight executive
  (rate groups, software bus, housekeeping, events, FDIR, mode manager,
  tables, scheduler), comms with its space-link frames and the radio, the
  GPS's NMEA sentences, the payload, audit and file-transfer apps, the
  flight software's own IGRF-14 (degree 13) and sun models, the MEKF, and
  SGP4.

Each side's figure is simulated seconds per wall second of the run itself
(building excluded), with the CPU time of the same runs; for three
spacecraft on two cores every side flies three runs in a pool of `spawn`ed
worker processes, one per run as `fly_constellation` does by default (the
operating system shares the two cores), timed as a whole (start-up
included).

    python -m bench sil
    python -m bench.bench_sil --one    # one spacecraft only, both peers

The load on a shared machine distorts wall and even CPU time; instruction
counts do not. `python -m bench.bench_sil --instructions` counts, with
valgrind's callgrind, the instructions of one SIL process flying 20 s and
one flying 60 s of the same scenario, and prints the difference per
simulated second (start-up and building cancel out); then the same for the
same-parts Basilisk scenario (60 s and 600 s) and the ratio.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from bench import basilisk_parts
from bench.bench_detumble import SIM_S, basilisk_run
from bench.common import Paired, heading, note, paired, report
from ground.sim.parallel import constellation, fly, fly_constellation
from ground.sim.sil import Scenario, build_sil

CONSTELLATION = 3
WORKERS = CONSTELLATION  # one process per spacecraft on both sides
CPU_S: list[float] = []
SAME_PARTS_CPU_S: list[float] = []
END_RATE_DEG_S: dict[str, float] = {}  # |w| at the end of each side's last run


def tessera_run(scenario: Scenario) -> float:
    """Wall seconds of one SIL run of SIM_S (self-timed: building excluded)."""
    run = build_sil(scenario)
    run.executive.boot()
    start, cpu = time.perf_counter(), time.process_time()
    run.executive.run(SIM_S)
    wall = time.perf_counter() - start
    CPU_S.append(time.process_time() - cpu)
    END_RATE_DEG_S["tessera"] = math.degrees(
        float(np.linalg.norm(run.simulator.body.w_body_rad_s)))
    return wall


def basilisk_wall() -> float:
    """Wall seconds of the Basilisk scenario's run (self-timed)."""
    wall, END_RATE_DEG_S["basilisk engine"] = basilisk_run()
    return wall


def same_parts_wall() -> float:
    """Wall seconds of the same-parts Basilisk scenario's run (self-timed)."""
    flight = basilisk_parts.fly(SIM_S)
    SAME_PARTS_CPU_S.append(flight.cpu_s)
    END_RATE_DEG_S["basilisk same parts"] = flight.rate_deg_s
    return flight.wall_s


def same_parts_run() -> basilisk_parts.Flight:
    """One same-parts flight of SIM_S (a pool worker's job)."""
    return basilisk_parts.fly(SIM_S)


def _basilisk_pool(n: int, workers: int, run: Callable[[], object] = basilisk_run) -> None:
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in [pool.submit(run) for _ in range(n)]:
            future.result()


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def one_spacecraft() -> tuple[Paired, Paired]:
    """Both one-spacecraft comparisons, printed: the Basilisk engine with far fewer
    parts, then Basilisk with the same parts."""
    full = paired(lambda: tessera_run(Scenario()), basilisk_wall, items=SIM_S,
                  self_timed=True)
    report("full reference spacecraft in the loop vs Basilisk engine, 1 spacecraft",
           full, "basilisk", unit="sim s / wall s")
    cpu = _median(CPU_S)
    note(f"tessera on one core by CPU time (median of {len(CPU_S)} runs): "
         f"{SIM_S / cpu:,.0f} sim s per CPU s; the wall figures carry the machine's load")
    CPU_S.clear()
    same = paired(lambda: tessera_run(Scenario()), same_parts_wall, items=SIM_S,
                  self_timed=True)
    report("full reference spacecraft in the loop vs Basilisk with the same parts, "
           "1 spacecraft", same, "basilisk", unit="sim s / wall s")
    ours, theirs = SIM_S / _median(CPU_S), SIM_S / _median(SAME_PARTS_CPU_S)
    note(f"by CPU time (medians of {len(CPU_S)} runs each): tessera {ours:,.0f}, basilisk "
         f"with the same parts {theirs:,.0f} sim s per CPU s, ratio {ours / theirs:.2f}x")
    note(f"|w| after {SIM_S:,.0f} s from 17.32 deg/s (B-dot): " + ", ".join(
        f"{side} {rate:.2f}" for side, rate in END_RATE_DEG_S.items()) + " deg/s")
    return full, same


def main(constellations: bool = True) -> None:
    """Every comparison; `constellations=False` only the one-spacecraft ones."""
    try:
        import Basilisk  # noqa: F401 (only to know whether the peer can run)
    except ImportError as exc:
        print(f"Basilisk (bsk) is not installed ({exc}); install the bench extra")
        return
    heading("bsk", "numpy")
    one_spacecraft()
    if not constellations:
        return
    cores = os.cpu_count() or 1
    fleet = paired(
        lambda: fly_constellation(constellation(CONSTELLATION), SIM_S, workers=WORKERS),
        lambda: _basilisk_pool(CONSTELLATION, WORKERS),
        items=CONSTELLATION * SIM_S, rounds=5)
    report(f"{CONSTELLATION} spacecraft, {WORKERS} worker processes on {cores} cores: "
           "aggregate", fleet, "basilisk", unit="sim s / wall s")
    fleet_same = paired(
        lambda: fly_constellation(constellation(CONSTELLATION), SIM_S, workers=WORKERS),
        lambda: _basilisk_pool(CONSTELLATION, WORKERS, same_parts_run),
        items=CONSTELLATION * SIM_S, rounds=5)
    report(f"{CONSTELLATION} spacecraft, {WORKERS} worker processes on {cores} cores: "
           "aggregate, Basilisk with the same parts", fleet_same, "basilisk",
           unit="sim s / wall s")
    alone = fly("sat1", Scenario(), SIM_S)
    note(f"one spacecraft alone in this process for comparison: {alone.speedup:,.0f} sim s "
         f"per wall s ({SIM_S / alone.cpu_s:,.0f} per CPU s)")


def fly_once(sim_s: float) -> None:
    """Build, boot and fly the reference SIL for `sim_s` (the process callgrind counts).

    The executive's frames are not metered: it measures a frame's work by the
    wall clock, which callgrind slows fifty times, so the first frames (code
    being translated) would overrun and FDIR would take the spacecraft to SAFE,
    and the count would be of another flight than the one benchmarked.
    """
    run = build_sil(Scenario())
    run.executive._work_time = _unmetered
    run.executive.boot()
    cpu = time.process_time()
    run.executive.run(sim_s)
    cpu = time.process_time() - cpu
    print(f"{sim_s:g} s flown: {sim_s / cpu:,.0f} sim s per CPU s")


def fly_peer_once(sim_s: float) -> None:
    """Build and fly the same-parts Basilisk scenario for `sim_s` (what callgrind counts)."""
    flight = basilisk_parts.fly(sim_s)
    print(f"{sim_s:g} s flown: {sim_s / flight.cpu_s:,.0f} sim s per CPU s")


def _unmetered() -> float:
    return 0.0


def instructions_per_sim_s(short_s: float = 20.0, long_s: float = 60.0, *,
                           peer: bool = False) -> float:
    """Instructions per simulated second: callgrind's count for a `long_s` flight
    less that for a `short_s` one, divided by the difference (of the SIL, or with
    `peer` of the same-parts Basilisk scenario)."""
    counts = []
    for sim_s in (short_s, long_s):
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             "-m", "bench.bench_sil", "--fly", str(sim_s), *(["--peer"] if peer else [])],
            capture_output=True, text=True, check=True)
        found = re.search(r"refs:\s+([\d,]+)", done.stderr)
        if found is None:
            raise RuntimeError(f"no instruction count in callgrind's output:\n{done.stderr}")
        counts.append(int(found.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / (long_s - short_s)


def _cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_sil", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fly", type=float, metavar="SIM_S",
                        help="only fly the SIL for SIM_S seconds (what callgrind counts)")
    parser.add_argument("--peer", action="store_true",
                        help="with --fly: fly the same-parts Basilisk scenario instead")
    parser.add_argument("--instructions", action="store_true",
                        help="instructions per simulated second, counted with callgrind")
    parser.add_argument("--one", action="store_true",
                        help="only the one-spacecraft comparisons (both Basilisk peers)")
    args = parser.parse_args()
    if args.fly is not None:
        if not 0.0 < args.fly < 1e6:
            parser.error("--fly takes a duration in seconds, above 0")
        (fly_peer_once if args.peer else fly_once)(args.fly)
    elif args.peer:
        parser.error("--peer goes with --fly")
    elif args.instructions:
        if shutil.which("valgrind") is None:
            parser.error("valgrind is not installed")
        n = instructions_per_sim_s()
        print(f"{n / 1e6:,.2f} M instructions per simulated second "
              f"({n / 10 / 1e3:,.0f} k per 10 Hz cycle)")
        try:
            import Basilisk  # noqa: F401 (only to know whether the peer can run)
        except ImportError:
            return
        # The peer's second costs a few per cent of the SIL's: a longer span to count.
        peer = instructions_per_sim_s(60.0, 600.0, peer=True)
        print(f"basilisk with the same parts: {peer / 1e6:,.2f} M instructions per simulated "
              f"second ({peer / 10 / 1e3:,.0f} k per 10 Hz cycle); tessera needs "
              f"{n / peer:.2f} times as many")
    elif args.one:
        main(constellations=False)
    else:
        main()


if __name__ == "__main__":
    _cli()
