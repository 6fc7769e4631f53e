"""The full reference spacecraft in the loop, alone and as a constellation,
against Basilisk's engine on the same detumble scenario.

Tessera side: `ground.sim.sil` with every part of the reference CubeSat
(the real flight executive and apps; RM3100, L3GD20H, six sun sensors on two
ADS1115s, iMTQ, four CAN wheels, P31u EPS, GPS and radio, each through its
driver and a register-level emulator; IGRF-14, sun and eclipse; SGP4), at
10 Hz for the same 1,500 s from the same release as `bench_detumble`.

Peer: that module's Basilisk scenario (hub, centred dipole, magnetometer,
MtbEffector and a Python B-dot module at 10 Hz, RK4): Basilisk's engine with
a controller, no flight software and far fewer parts. Each side's figure is
simulated seconds per wall second of the run itself (building excluded);
for three spacecraft on two cores both sides fly three runs in a pool of
`spawn`ed worker processes, one per run as `fly_constellation` does by
default (the operating system shares the two cores), timed as a whole
(start-up included).

    python -m bench sil

The load on a shared machine distorts wall and even CPU time; instruction
counts do not. `python -m bench.bench_sil --instructions` counts, with
valgrind's callgrind, the instructions of one SIL process flying 20 s and
one flying 60 s of the same scenario, and prints the difference per
simulated second (start-up and building cancel out).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from bench.bench_detumble import SIM_S, basilisk_run
from bench.common import heading, note, paired, report
from ground.sim.parallel import constellation, fly, fly_constellation
from ground.sim.sil import Scenario, build_sil

CONSTELLATION = 3
WORKERS = CONSTELLATION  # one process per spacecraft on both sides
CPU_S: list[float] = []


def tessera_run(scenario: Scenario) -> float:
    """Wall seconds of one SIL run of SIM_S (self-timed: building excluded)."""
    run = build_sil(scenario)
    run.executive.boot()
    start, cpu = time.perf_counter(), time.process_time()
    run.executive.run(SIM_S)
    wall = time.perf_counter() - start
    CPU_S.append(time.process_time() - cpu)
    return wall


def basilisk_wall() -> float:
    """Wall seconds of the Basilisk scenario's run (self-timed)."""
    return basilisk_run()[0]


def _basilisk_pool(n: int, workers: int) -> None:
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in [pool.submit(basilisk_run) for _ in range(n)]:
            future.result()


def main() -> None:
    try:
        import Basilisk  # noqa: F401 (only to know whether the peer can run)
    except ImportError as exc:
        print(f"Basilisk (bsk) is not installed ({exc}); install the bench extra")
        return
    heading("bsk", "numpy")
    full = paired(lambda: tessera_run(Scenario()), basilisk_wall, items=SIM_S,
                  self_timed=True)
    report("full reference spacecraft in the loop vs Basilisk engine, 1 spacecraft",
           full, "basilisk", unit="sim s / wall s")
    cpu = sorted(CPU_S)[len(CPU_S) // 2]
    note(f"tessera on one core by CPU time (median of {len(CPU_S)} runs): "
         f"{SIM_S / cpu:,.0f} sim s per CPU s; the wall figures carry the machine's load")
    cores = os.cpu_count() or 1
    fleet = paired(
        lambda: fly_constellation(constellation(CONSTELLATION), SIM_S, workers=WORKERS),
        lambda: _basilisk_pool(CONSTELLATION, WORKERS),
        items=CONSTELLATION * SIM_S, rounds=5)
    report(f"{CONSTELLATION} spacecraft, {WORKERS} worker processes on {cores} cores: "
           "aggregate", fleet, "basilisk", unit="sim s / wall s")
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


def _unmetered() -> float:
    return 0.0


def instructions_per_sim_s(short_s: float = 20.0, long_s: float = 60.0) -> float:
    """Instructions per simulated second: callgrind's count for a `long_s` flight
    less that for a `short_s` one, divided by the difference."""
    counts = []
    for sim_s in (short_s, long_s):
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             "-m", "bench.bench_sil", "--fly", str(sim_s)],
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
    parser.add_argument("--instructions", action="store_true",
                        help="instructions per simulated second, counted with callgrind")
    args = parser.parse_args()
    if args.fly is not None:
        if not 0.0 < args.fly < 1e6:
            parser.error("--fly takes a duration in seconds, above 0")
        fly_once(args.fly)
    elif args.instructions:
        if shutil.which("valgrind") is None:
            parser.error("valgrind is not installed")
        n = instructions_per_sim_s()
        print(f"{n / 1e6:,.2f} M instructions per simulated second "
              f"({n / 10 / 1e3:,.0f} k per 10 Hz cycle)")
    else:
        main()


if __name__ == "__main__":
    _cli()
