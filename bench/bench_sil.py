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
two `spawn`ed worker processes, timed as a whole (start-up included).

    python -m bench sil
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

from bench.bench_detumble import SIM_S, basilisk_run
from bench.common import heading, note, paired, report
from ground.sim.parallel import constellation, fly, fly_constellation
from ground.sim.sil import Scenario, build_sil

CONSTELLATION = 3
WORKERS = 2
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
    report(f"{CONSTELLATION} spacecraft, {WORKERS} worker processes ({cores} cores): "
           "aggregate", fleet, "basilisk", unit="sim s / wall s")
    alone = fly("sat1", Scenario(), SIM_S)
    note(f"one spacecraft alone in this process for comparison: {alone.speedup:,.0f} sim s "
         f"per wall s ({SIM_S / alone.cpu_s:,.0f} per CPU s)")


if __name__ == "__main__":
    main()
