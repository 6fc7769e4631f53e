"""The detumble demonstration behind `tessera demo`.

A 3U CubeSat is released tumbling at 10 deg/s about each axis in a 500 km
sun-synchronous orbit. The real flight executive runs the ADCS app, which
reads the RM3100 magnetometer and drives the iMTQ magnetorquers through the
HAL's `sim` backend, while the simulator integrates the truth in virtual
time. The run shows its progress, prints a summary, and writes the body
rates as CSV and PNG.
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from ground.sim.sil import Scenario, build_sil

DETUMBLED_DEG_S = 0.5  # |w| threshold that counts as detumbled


@dataclass(frozen=True)
class DemoResult:
    sim_s: float
    wall_s: float
    w_start_deg_s: np.ndarray
    w_end_deg_s: np.ndarray
    detumbled_at_s: float | None
    orbit_period_s: float
    csv_path: Path
    png_path: Path | None
    failed_apps: list[str]

    @property
    def speedup(self) -> float:
        return self.sim_s / self.wall_s


def detumble_time(t_s: np.ndarray, w_norm_deg_s: np.ndarray,
                  threshold_deg_s: float = DETUMBLED_DEG_S) -> float | None:
    """First time after which |w| stays below the threshold, or None."""
    above = np.nonzero(w_norm_deg_s >= threshold_deg_s)[0]
    if len(above) == 0:
        return float(t_s[0])
    last = above[-1]
    return float(t_s[last + 1]) if last + 1 < len(t_s) else None


def run_demo(out_dir: str | Path = "out", *, orbits: float = 1.0, plot: bool = True,
             scenario: Scenario | None = None, stream: TextIO = sys.stdout) -> DemoResult:
    """Run the detumble scenario for `orbits` orbital periods and write its outputs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = build_sil(scenario)
    duration_s = orbits * run.simulator.orbit.period_s
    failed = run.executive.boot()
    w0 = np.degrees(run.simulator.body.w_body_rad_s)
    print(f"Tessera detumble demo: {duration_s:.0f} s simulated ({orbits:g} orbit), "
          f"flight executive + ADCS app + RM3100/iMTQ emulators", file=stream)
    print(f"  start rates {_fmt(w0)} deg/s", file=stream)
    wall0 = time.perf_counter()
    chunks = 10
    for k in range(1, chunks + 1):
        run.executive.run(duration_s * k / chunks - run.clock.now())
        w = np.degrees(run.simulator.body.w_body_rad_s)
        wall = time.perf_counter() - wall0
        print(f"  t={run.clock.now():7.0f} s  |w|={np.linalg.norm(w):7.3f} deg/s  "
              f"wall {wall:5.1f} s  ({run.clock.now() / wall:,.0f}x real time)",
              file=stream, flush=True)
    wall_s = time.perf_counter() - wall0
    run.executive.shutdown()

    log = run.simulator.log.arrays()
    w_deg = np.degrees(log["w_body_rad_s"])
    w_norm = np.linalg.norm(w_deg, axis=1)
    settled = detumble_time(log["t_s"], w_norm)
    csv_path = out / "detumble.csv"
    _write_csv(csv_path, log, w_deg, w_norm)
    png_path = _plot(out / "detumble.png", log["t_s"], w_deg, w_norm) if plot else None
    result = DemoResult(run.clock.now(), wall_s, w0, w_deg[-1], settled,
                        run.simulator.orbit.period_s, csv_path, png_path, failed)
    _summary(result, stream)
    return result


def _fmt(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:+7.3f}" for x in v) + ")"


def _write_csv(path: Path, log: dict[str, np.ndarray], w_deg: np.ndarray,
               w_norm: np.ndarray) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["t_s", "wx_deg_s", "wy_deg_s", "wz_deg_s", "w_norm_deg_s",
                         "bx_body_ut", "by_body_ut", "bz_body_ut",
                         "mx_am2", "my_am2", "mz_am2"])
        b_ut = log["b_body_t"] * 1e6
        for i, t in enumerate(log["t_s"]):
            writer.writerow([f"{t:.1f}", *(f"{x:.5f}" for x in w_deg[i]), f"{w_norm[i]:.5f}",
                             *(f"{x:.4f}" for x in b_ut[i]),
                             *(f"{x:.4f}" for x in log["dipole_am2"][i])])


def _plot(path: Path, t_s: np.ndarray, w_deg: np.ndarray, w_norm: np.ndarray) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the ground extra is not installed: CSV only
        return None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    t_min = t_s / 60.0
    for i, axis in enumerate("xyz"):
        top.plot(t_min, w_deg[:, i], lw=1.0, label=f"$\\omega_{axis}$")
    top.set_ylabel("body rate (deg/s)")
    top.legend(loc="upper right")
    top.grid(alpha=0.3)
    top.set_title("B-dot detumble: flight executive + HAL emulators, virtual time")
    bottom.semilogy(t_min, np.maximum(w_norm, 1e-3), color="k", lw=1.0, label="|ω|")
    bottom.axhline(DETUMBLED_DEG_S, color="tab:red", ls="--", lw=0.8,
                   label=f"{DETUMBLED_DEG_S} deg/s")
    bottom.set_ylabel("|ω| (deg/s)")
    bottom.set_xlabel("time since release (min)")
    bottom.legend(loc="upper right")
    bottom.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _summary(r: DemoResult, stream: TextIO) -> None:
    print("\nSummary", file=stream)
    print(f"  body rates at release  {_fmt(r.w_start_deg_s)} deg/s  "
          f"|w| {np.linalg.norm(r.w_start_deg_s):.3f}", file=stream)
    print(f"  body rates at the end  {_fmt(r.w_end_deg_s)} deg/s  "
          f"|w| {np.linalg.norm(r.w_end_deg_s):.3f}", file=stream)
    if r.detumbled_at_s is None:
        print(f"  not detumbled below {DETUMBLED_DEG_S} deg/s within the run", file=stream)
    else:
        print(f"  detumbled (|w| < {DETUMBLED_DEG_S} deg/s for good) after {r.detumbled_at_s:.0f} s"
              f" = {r.detumbled_at_s / r.orbit_period_s:.2f} orbit", file=stream)
    print(f"  simulated {r.sim_s:.0f} s in {r.wall_s:.1f} s wall: {r.speedup:,.0f}x real time",
          file=stream)
    if r.failed_apps:
        print(f"  apps that failed to boot: {', '.join(r.failed_apps)}", file=stream)
    print(f"  wrote {r.csv_path}" + (f" and {r.png_path}" if r.png_path else ""), file=stream)
