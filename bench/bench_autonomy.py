"""The flight software's own cost with the autonomy apps running: CPU at the
nominal rates, resident memory, time from process start to NOMINAL, and the
power-loss runs survived.

There is no peer to run side by side: the figures are set against the aims
of the autonomy work (under 5 % of one core, under 80 MB, NOMINAL within
2 s, every power-loss run survived), printed as "aim" in the peer column.

- CPU: the reference flight configuration (ADCS at 10 Hz; EPS, FDIR, mode
  manager, tables and sample at 1 Hz) in the SIL on a virtual clock; the
  flight software's CPU time is the process time less the simulator's
  (which stands for the physics), over the simulated time. It includes the
  register traffic of the HAL emulators, which on hardware is bus time.
- Memory: peak resident set of a process that has booted the SIL and flown
  it for ten simulated minutes (`ru_maxrss`).
- Boot: wall time from starting a fresh Python process to the mode manager
  being in NOMINAL (imports, configuration, drivers, every app's init).
- Power loss: `bench.powerloss.run` (the CI test runs 8; `python -m
  bench.powerloss --runs 2000` is the full run).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

from bench.common import compare, heading, note

SIM_S = 600.0


def _fly_for_cpu() -> tuple[float, float]:
    """(flight-software CPU seconds, simulated seconds) for SIM_S of the reference SIL."""
    from ground.sim.sil import Scenario, build_sil

    run = build_sil(Scenario(w0_body_deg_s=(0.0, 0.0, 0.0)))
    sim_cpu = [0.0]
    advance = run.simulator.advance

    def timed(t0: float, t1: float) -> None:
        start = time.process_time()
        advance(t0, t1)
        sim_cpu[0] += time.process_time() - start

    run.clock._listeners[:] = [timed]
    run.executive.boot()
    start = time.process_time()
    run.executive.run(SIM_S)
    total = time.process_time() - start
    return total - sim_cpu[0], SIM_S


def child_rss() -> None:
    from ground.sim.sil import build_sil

    run = build_sil()
    run.executive.boot()
    run.executive.run(SIM_S)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)


def child_boot() -> None:
    from fsw.apps.mode import Mode
    from ground.sim.sil import build_sil

    run = build_sil()
    run.executive.boot()
    assert run.executive.apps["mode"].mode == Mode.NOMINAL
    print("NOMINAL", flush=True)


def _subprocess(flag: str) -> tuple[str, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bench.bench_autonomy", flag],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1], time.perf_counter() - start


def main(power_loss_runs: int = 200) -> None:
    from bench import powerloss

    heading("numpy")
    cpu_s, sim_s = min((_fly_for_cpu() for _ in range(3)), key=lambda r: r[0])
    compare("Flight software CPU at nominal rates (SIL, reference configuration)",
            "% of one core", 100.0 * cpu_s / sim_s, "aim", 5.0, higher_is_better=False)
    rss = min(float(_subprocess("--child-rss")[0]) for _ in range(3))
    compare("Peak resident memory after 10 simulated minutes", "MB", rss, "aim", 80.0,
            higher_is_better=False)
    boots = sorted(_subprocess("--child-boot")[1] for _ in range(5))
    compare("Process start to NOMINAL (median of 5)", "s", boots[2], "aim", 2.0,
            higher_is_better=False)
    survived, problems = powerloss.run(power_loss_runs, seed=7)
    compare("Power-loss runs survived (SIGKILL at random points)", "runs", survived,
            "made", power_loss_runs)
    for p in problems[:5]:
        note(p)


if __name__ == "__main__":
    if sys.argv[1:] == ["--child-rss"]:
        child_rss()
    elif sys.argv[1:] == ["--child-boot"]:
        child_boot()
    else:
        main()
