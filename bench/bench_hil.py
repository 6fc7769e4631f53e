"""HIL bench figures: two real processes (`tessera hil bench`, `tessera fsw
--backend tunnel`) over a pty, with the full reference sensor set.

- lockstep steps per second, against the same flight software and simulator in
  one process (the SIL: the `sim` backend, no link) on the same scenario;
- round-trip latency of one tunnelled I2C read (RM3100 REVID), p50 and p99,
  against the same read on the in-process `sim` bus;
- real time at 10 Hz over an imposed 921,600 baud: deadline misses and link
  utilisation (`--realtime-s`, default 30 s; the acceptance run is 600 s:
  `python -m bench.bench_hil --realtime-s 600`).

    python -m bench.bench_hil [--lockstep-s 60] [--realtime-s 30]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import compare, note

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


def lockstep(sim_s: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench = _bench(tmp, f'[scenario]\nname = "speed"\nduration_s = {sim_s}\n')
        start = time.perf_counter()
        fsw = _tessera("fsw", "--backend", "tunnel", "--port", str(tmp / "link"))
        out = fsw.communicate()[0]
        wall = time.perf_counter() - start
        bench.communicate()
        if fsw.returncode:
            raise RuntimeError(out)
    from ground.sim.sil import build_sil

    sil = build_sil()
    sil.executive.boot()
    t0 = time.perf_counter()
    sil.executive.run(sim_s)
    sil_wall = time.perf_counter() - t0
    steps = sim_s * 10
    compare(f"lockstep, full sensor set, {sim_s:g} s at 10 Hz, two processes over a pty",
            "steps/s", steps / wall, "same flight software in one process (SIL)",
            steps / sil_wall)
    note(f"lockstep runs {sim_s / wall:.1f}x real time (aim: 50x); {out.splitlines()[-1]}")


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


def realtime(wall_s: float) -> None:
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
         f"bench->flight {cell('bench-&gt;flight')}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lockstep-s", type=float, default=60.0)
    parser.add_argument("--realtime-s", type=float, default=30.0)
    args = parser.parse_args(argv or [])
    lockstep(args.lockstep_s)
    round_trip()
    realtime(args.realtime_s)


if __name__ == "__main__":
    main(sys.argv[1:])
