"""A constellation flown at once: one software-in-the-loop run per process.

One SIL run (`ground.sim.sil`: the flight executive, drivers and register-
level emulators in Python over the C core) keeps one core busy, and runs of
different spacecraft share nothing while they fly. A constellation's runs
therefore go to a pool of worker processes and come back as summaries; each
run is the same as it would be alone (same scenario, same seed, same result
to the last bit). By default every spacecraft gets a process of its own (up
to four per core) and the operating system shares the cores among them:
three spacecraft on two cores then keep both cores busy to the end, where a
pool of two would fly the third alone on one core while the other idles.

    runs, wall_s = fly_constellation(constellation(3), duration_s=600.0)

Workers are started with `spawn` (a fresh interpreter each), which is safe
beside threads (the SGP4 batch pool) and the same on every platform.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from ground.sim.sil import Scenario, build_sil

# Enough processes that the cores stay busy until the last run ends, few
# enough that memory stays modest (about 60 MB each).
PROCESSES_PER_CORE = 4


@dataclass(frozen=True)
class FlightSummary:
    """One spacecraft's run as its worker saw it."""

    name: str
    sim_s: float                          # simulated time flown, s
    wall_s: float                         # wall time of the run itself (after building), s
    cpu_s: float                          # CPU time the worker spent on the run, s
    w_end_body_deg_s: tuple[float, float, float]   # true body rate at the end, deg/s
    failed_apps: tuple[str, ...]
    pid: int                              # the worker process that flew it

    @property
    def speedup(self) -> float:
        """Simulated seconds per wall second."""
        return self.sim_s / self.wall_s


def fly(name: str, scenario: Scenario, duration_s: float) -> FlightSummary:
    """Build one spacecraft's SIL run and fly it for `duration_s` simulated seconds."""
    run = build_sil(scenario)
    failed = run.executive.boot()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    run.executive.run(duration_s)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    run.executive.shutdown()
    w = np.degrees(run.simulator.body.w_body_rad_s).tolist()
    return FlightSummary(name, run.clock.now(), wall, cpu, (w[0], w[1], w[2]), tuple(failed),
                         os.getpid())


def constellation(n: int = 3, base: Scenario | None = None) -> dict[str, Scenario]:
    """`n` spacecraft of the reference design in planes spread evenly in right
    ascension of the ascending node, each with its own sensor-noise seed."""
    if n < 1:
        raise ValueError("a constellation has at least one spacecraft")
    base = base or Scenario()
    return {f"sat{k + 1}": dataclasses.replace(base, raan_deg=(base.raan_deg + 360.0 * k / n)
                                               % 360.0, seed=base.seed + 100 * k)
            for k in range(n)}


def fly_constellation(scenarios: Mapping[str, Scenario], duration_s: float, *,
                      workers: int | None = None) -> tuple[list[FlightSummary], float]:
    """Fly every scenario for `duration_s`, `workers` processes at a time
    (default: one per spacecraft, at most `PROCESSES_PER_CORE` per core).
    Returns the summaries in the order given and the wall time of the whole,
    process start-up included."""
    if not duration_s > 0.0:
        raise ValueError(f"duration_s must be positive, not {duration_s}")
    default = PROCESSES_PER_CORE * (os.cpu_count() or 1)
    workers = max(1, min(workers or default, len(scenarios)))
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(fly, name, scenario, duration_s)
                   for name, scenario in scenarios.items()]
        runs = [f.result() for f in futures]
    return runs, time.perf_counter() - start
