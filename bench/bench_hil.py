"""HIL bench figures: two real processes (`tessera hil bench`, `tessera fsw
--backend tunnel`) over a pty, with the full reference sensor set.

- lockstep steps per second, against the same flight software and simulator in
  one process (the SIL: the `sim` backend, no link) on the same scenario, the
  sides alternated over `--rounds` rounds; the bench link as built (protocol
  version 2: posted writes, the TICK carrying the frame's transactions read
  ahead) and with read-ahead off (`read_ahead = false`: posted writes only),
  with the round trips per step of each. Steps per second count the frames
  between the first and the last TICK the bench answered (start-up and boot
  of the two processes are not steps); the whole run's wall time is shown too;
- round-trip latency of one tunnelled I2C read (RM3100 REVID), p50 and p99,
  against the same read on the in-process `sim` bus;
- real time at 10 Hz over an imposed 921,600 baud: deadline misses and link
  utilisation (`--realtime-s`, default 30 s; the acceptance run is 600 s:
  `python -m bench.bench_hil --realtime-s 600`).

Every figure is printed with the load average when it was taken (the machine
is shared).

    python -m bench.bench_hil [--lockstep-s 60] [--rounds 3] [--realtime-s 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import compare, machine, note

ROOT = Path(__file__).resolve().parents[1]


def _tessera(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tessera", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _bench(tmp: Path, scenario: str) -> subprocess.Popen:
    (tmp / "s.toml").write_text(scenario)
    proc = _tessera("hil", "bench", "--pty", str(tmp / "link"), "--scenario", str(tmp / "s.toml"),
                    "--out", str(tmp / "out"))
    while not (tmp / "link").is_symlink():
        time.sleep(0.02)
    return proc


def _load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def _reap(proc: subprocess.Popen) -> float:
    """Wait for `proc`; its CPU seconds (user + system), which the load does not inflate."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def hil_run(sim_s: float, *, read_ahead: bool) -> dict[str, float]:
    """One lockstep run of `sim_s` scenario seconds: steps/s (TICK to TICK), whole-run
    wall seconds, round trips per step, CPU seconds of each process (start-up included)."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench = _bench(tmp, f'[scenario]\nname = "speed"\nduration_s = {sim_s}\n'
                       f'read_ahead = {"true" if read_ahead else "false"}\n')
        start = time.perf_counter()
        with open(tmp / "fsw.out", "w") as log:
            fsw = subprocess.Popen([sys.executable, "-m", "tessera", "fsw", "--backend",
                                    "tunnel", "--port", str(tmp / "link")], cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)
            fsw_cpu = _reap(fsw)
        wall = time.perf_counter() - start
        bench.stdout.read()
        bench_cpu = _reap(bench)
        out = (tmp / "fsw.out").read_text()
        if fsw.returncode:
            raise RuntimeError(out)
        ticks_ms = json.loads((tmp / "out" / "checkpoint.json").read_text())[
            "recorder"]["tick_wall_ms"]
    requests = int(re.search(r"bench link: (\d+) requests", out).group(1))
    steps = sim_s * 10
    return {"steps_per_s": len(ticks_ms) / (sum(ticks_ms) / 1e3), "wall_s": wall,
            "trips_per_step": requests / steps, "fsw_cpu_s": fsw_cpu, "bench_cpu_s": bench_cpu}


def sil_run(sim_s: float) -> float:
    """Steps per second of the same flight software and simulator in one process."""
    from ground.sim.sil import build_sil

    sil = build_sil()
    sil.executive.boot()
    t0 = time.perf_counter()
    sil.executive.run(sim_s)
    return sim_s * 10 / (time.perf_counter() - t0)


def lockstep(sim_s: float, rounds: int) -> None:
    runs: dict[str, list] = {"ahead": [], "sil": [], "posted": []}
    loads = []
    for i in range(rounds):
        # the order turns each round, so a change in load hits every side alike
        order = ["ahead", "sil", "posted"]
        order = order[i % 3:] + order[:i % 3]
        for side in order:
            if side == "sil":
                runs["sil"].append(sil_run(sim_s))
            else:
                runs[side].append(hil_run(sim_s, read_ahead=side == "ahead"))
        loads.append(_load())
    med = {side: statistics.median(r["steps_per_s"] for r in runs[side])
           for side in ("ahead", "posted")}
    sil = statistics.median(runs["sil"])
    compare(f"lockstep, full sensor set, {sim_s:g} s at 10 Hz, two processes over a pty, "
            f"median of {rounds}", "steps/s", med["ahead"],
            "same flight software in one process (SIL)", sil)
    for side, label in (("ahead", "read-ahead + posted writes (as built)"),
                        ("posted", "read-ahead off (posted writes only)")):
        r = runs[side]
        each = ", ".join(f"{x['steps_per_s']:.0f}" for x in r)
        note(f"{label}: {med[side]:.0f} steps/s = {med[side] / 10:.1f}x real time "
             f"(rounds: {each}); "
             f"{statistics.median(x['trips_per_step'] for x in r):.2f} round trips per step; "
             f"whole run incl. start-up {statistics.median(x['wall_s'] for x in r):.2f} s, "
             f"CPU incl. start-up: flight {statistics.median(x['fsw_cpu_s'] for x in r):.2f} s, "
             f"bench {statistics.median(x['bench_cpu_s'] for x in r):.2f} s")
    note(f"SIL rounds: {', '.join(f'{x:.0f}' for x in runs['sil'])} steps/s; aim: 500 steps/s "
         f"(50x real time); {'; '.join(loads)}")


def round_trip(n: int = 3000) -> None:
    import hal.config
    from hal.sim.reference import reference_sim
    from hal.tunnel import close_links, open_link

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench = _bench(tmp, '[scenario]\nname = "rtt"\nduration_s = 1000\n')
        link = open_link(str(tmp / "link"))
        link.hello()
        cfg = hal.config.load_config(hal.config.REFERENCE)
        cfg = cfg.with_backend("tunnel", buses=["i2c0"], i2c0={"port": str(tmp / "link")})
        i2c = hal.config.build_buses(cfg)["i2c0"]
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            i2c.transfer(0x20, b"\x36", 1)
            times.append(time.perf_counter() - t0)
        close_links()
        bench.kill()
        bench.communicate()
    sim_i2c = reference_sim()[0]["i2c0"]
    sim_times = []
    for _ in range(n):
        t0 = time.perf_counter()
        sim_i2c.transfer(0x20, b"\x36", 1)
        sim_times.append(time.perf_counter() - t0)
    us = np.array(times) * 1e6
    sim_us = np.array(sim_times) * 1e6
    compare("one tunnelled I2C read (RM3100 REVID), round trip p50", "us",
            float(np.percentile(us, 50)), "in-process sim bus", float(np.percentile(sim_us, 50)),
            higher_is_better=False)
    compare("one tunnelled I2C read (RM3100 REVID), round trip p99", "us",
            float(np.percentile(us, 99)), "in-process sim bus", float(np.percentile(sim_us, 99)),
            higher_is_better=False)
    note(_load())


def realtime(wall_s: float) -> None:
    load_before = _load()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench = _bench(tmp, f'[scenario]\nname = "rt"\nmode = "realtime"\nduration_s = {wall_s}\n'
                       'baud = 921600\n')
        fsw = _tessera("fsw", "--backend", "tunnel", "--port", str(tmp / "link"))
        fsw.communicate()
        bench.communicate()
        report = (tmp / "out" / "report.html").read_text()
    import re

    def cell(label: str) -> str:
        m = re.search(re.escape(label) + r"[^<]*</td><td>([^<]*)<", report)
        return m.group(1) if m else "?"

    note(f"real time, 10 Hz, 921600 baud imposed, {wall_s:g} s: "
         f"{cell('frames stamped (real time)')} frames, deadline misses "
         f"{cell('deadline misses')}, frame work p50/p99/max {cell('work p50')} ms, "
         f"utilisation flight->bench {cell('flight-&gt;bench')}, "
         f"bench->flight {cell('bench-&gt;flight')}; {load_before} before, {_load()} after")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lockstep-s", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--realtime-s", type=float, default=30.0)
    args = parser.parse_args(argv or [])
    print(machine(), flush=True)
    lockstep(args.lockstep_s, args.rounds)
    round_trip()
    realtime(args.realtime_s)


if __name__ == "__main__":
    main(sys.argv[1:])
