"""The demonstration behind `tessera demo`.

The reference 3U CubeSat is released tumbling at 10 deg/s about each axis in
a 500 km sun-synchronous orbit. The real flight executive runs the ADCS app,
which reads the RM3100 magnetometer, L3GD20H gyro and six coarse sun sensors
and drives the iMTQ magnetorquers and four reaction wheels through the
HAL's `sim` backend, while the simulator integrates the truth in virtual
time. B-dot detumbles the spacecraft; once the rates stay low the app turns
its +X face to the sun on the wheels. The run shows its progress, prints a
summary, and writes the truth beside the flight telemetry as CSV and PNG.
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from fsw.apps.adcs import ADCS_STATE
from ground.sim.sil import Scenario, build_sil

DETUMBLED_DEG_S = 0.5  # |w| threshold that counts as detumbled
SUN_AXIS_BODY = np.array([1.0, 0.0, 0.0])


@dataclass(frozen=True)
class DemoResult:
    sim_s: float
    wall_s: float
    w_start_deg_s: np.ndarray
    w_end_deg_s: np.ndarray
    detumbled_at_s: float | None
    sun_pointing_from_s: float | None
    sun_error_3sigma_deg: float | None
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
    """Run the scenario for `orbits` orbital periods and write its outputs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = build_sil(scenario)
    duration_s = orbits * run.simulator.orbit.period_s
    failed = run.executive.boot()
    telemetry = run.executive.bus.create_pipe("demo.adcs_state", 16384)
    run.executive.bus.subscribe(telemetry, ADCS_STATE.msg_id)
    tm: dict[float, dict] = {}
    w0 = np.degrees(run.simulator.body.w_body_rad_s)
    devices = ", ".join(run.executive.context.devices)
    print(f"Tessera demo: {duration_s:.0f} s simulated ({orbits:g} orbit); flight executive, "
          f"ADCS app, drivers and register-level emulators of {devices}", file=stream)
    print(f"  released at {_fmt(w0)} deg/s", file=stream)
    wall0 = time.perf_counter()
    chunks = 10
    for k in range(1, chunks + 1):
        run.executive.run(duration_s * k / chunks - run.clock.now())
        for _, payload in telemetry.drain():
            state = ADCS_STATE.unpack(payload)
            if abs(state["time_s"] - round(state["time_s"])) < 1e-6:  # keep 1 Hz
                tm[round(state["time_s"])] = state
        w = np.degrees(run.simulator.body.w_body_rad_s)
        mode = run.executive.apps["adcs"].cycle.mode.name if "adcs" in run.executive.apps else "-"
        wall = time.perf_counter() - wall0
        print(f"  t={run.clock.now():7.0f} s  |w|={np.linalg.norm(w):7.3f} deg/s  "
              f"sun angle {_sun_angle_deg(run.simulator.sun_body):6.2f} deg  {mode:<8} "
              f"wall {wall:5.1f} s  ({run.clock.now() / wall:,.0f}x real time)",
              file=stream, flush=True)
    wall_s = time.perf_counter() - wall0
    run.executive.shutdown()

    log = run.simulator.log.arrays()
    w_deg = np.degrees(log["w_body_rad_s"])
    w_norm = np.linalg.norm(w_deg, axis=1)
    sun_err = np.array([_sun_angle_deg(s) for s in log["sun_body"]])
    modes = np.array([tm[round(t)]["mode"] if round(t) in tm else -1 for t in log["t_s"]])
    pointing = np.nonzero(modes >= 2)[0]
    sun_from = float(log["t_s"][pointing[0]]) if len(pointing) else None
    settled = (log["t_s"] >= (sun_from or 0.0) + 600.0) & (log["lit_fraction"] > 0.99)
    sigma3 = float(np.percentile(sun_err[settled], 99.73)) if sun_from and settled.any() else None
    csv_path = out / "demo.csv"
    _write_csv(csv_path, log, w_deg, w_norm, sun_err, tm)
    png_path = (_plot(out / "demo.png", log["t_s"], w_deg, w_norm, sun_err, sun_from)
                if plot else None)
    # The slew to the sun raises the rate again on purpose: judge the detumble before it.
    before = log["t_s"] < sun_from if sun_from is not None else slice(None)
    detumbled = detumble_time(log["t_s"][before], w_norm[before])
    result = DemoResult(run.clock.now(), wall_s, w0, w_deg[-1], detumbled, sun_from, sigma3,
                        run.simulator.orbit.period_s, csv_path, png_path, failed)
    _summary(result, stream)
    return result


def _sun_angle_deg(sun_body: np.ndarray) -> float:
    n = float(np.linalg.norm(sun_body))
    if n == 0.0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(SUN_AXIS_BODY @ sun_body / n, -1.0, 1.0))))


def _fmt(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:+7.3f}" for x in v) + ")"


CSV_COLUMNS = [
    "t_s", "wx_deg_s", "wy_deg_s", "wz_deg_s", "w_norm_deg_s", "sun_angle_deg", "lit_fraction",
    "mode", "gyro_x_deg_s", "gyro_y_deg_s", "gyro_z_deg_s",
    "css_sun_x", "css_sun_y", "css_sun_z", "mag_x_ut", "mag_y_ut", "mag_z_ut",
    "est_bias_x_deg_s", "est_bias_y_deg_s", "est_bias_z_deg_s", "est_pointing_error_deg",
    "mtq_x_am2", "mtq_y_am2", "mtq_z_am2",
    "wheel1_rad_s", "wheel2_rad_s", "wheel3_rad_s", "wheel4_rad_s",
]


def _write_csv(path: Path, log: dict[str, np.ndarray], w_deg: np.ndarray, w_norm: np.ndarray,
               sun_err: np.ndarray, tm: dict[float, dict]) -> None:
    """Truth from the simulator beside what the flight software measured and estimated."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for i, t in enumerate(log["t_s"]):
            state = tm.get(round(t))
            flight: list[str] = [""] * 20
            if state is not None:
                flight = [str(state["mode"]),
                          *(f"{np.degrees(x):.5f}" for x in state["gyro_rad_s"]),
                          *(f"{x:.5f}" for x in state["sun_body"]),
                          *(f"{x * 1e6:.4f}" for x in state["b_body_t"]),
                          *(f"{np.degrees(x):.5f}" for x in state["gyro_bias_rad_s"]),
                          f"{state['pointing_error_deg']:.4f}",
                          *(f"{x:.4f}" for x in state["dipole_cmd_am2"]),
                          *(f"{x:.3f}" for x in state["wheel_speed_rad_s"])]
            writer.writerow([f"{t:.1f}", *(f"{x:.5f}" for x in w_deg[i]), f"{w_norm[i]:.5f}",
                             f"{sun_err[i]:.4f}", f"{log['lit_fraction'][i]:.3f}", *flight])


def _plot(path: Path, t_s: np.ndarray, w_deg: np.ndarray, w_norm: np.ndarray,
          sun_err: np.ndarray, sun_from: float | None) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the ground extra is not installed: CSV only
        return None
    fig, (top, mid, bottom) = plt.subplots(3, 1, figsize=(9, 8.5), sharex=True)
    t_min = t_s / 60.0
    for i, axis in enumerate("xyz"):
        top.plot(t_min, w_deg[:, i], lw=1.0, label=f"$\\omega_{axis}$")
    top.set_ylabel("body rate (deg/s)")
    top.legend(loc="upper right")
    top.set_title("Reference CubeSat: B-dot detumble, then sun pointing "
                  "(flight software in the loop)")
    mid.semilogy(t_min, np.maximum(w_norm, 1e-3), color="k", lw=1.0, label="|ω|")
    mid.axhline(DETUMBLED_DEG_S, color="tab:red", ls="--", lw=0.8,
                label=f"{DETUMBLED_DEG_S} deg/s")
    mid.set_ylabel("|ω| (deg/s)")
    mid.legend(loc="upper right")
    bottom.semilogy(t_min, np.maximum(sun_err, 1e-3), color="tab:orange", lw=1.0,
                    label="+X axis to sun (truth)")
    bottom.axhline(1.0, color="tab:red", ls="--", lw=0.8, label="1 deg")
    bottom.set_ylabel("sun angle (deg)")
    bottom.set_xlabel("time since release (min)")
    bottom.legend(loc="upper right")
    for ax in (top, mid, bottom):
        ax.grid(alpha=0.3, which="both")
        if sun_from is not None:
            ax.axvline(sun_from / 60.0, color="tab:green", lw=0.8, ls=":")
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
    if r.sun_pointing_from_s is not None:
        line = f"  sun pointing from {r.sun_pointing_from_s:.0f} s"
        if r.sun_error_3sigma_deg is not None:
            line += (f"; +X axis within {r.sun_error_3sigma_deg:.3f} deg of the sun (3-sigma, "
                     "in sunlight, 10 min after acquisition)")
        print(line, file=stream)
    print(f"  simulated {r.sim_s:.0f} s in {r.wall_s:.1f} s wall: {r.speedup:,.0f}x real time",
          file=stream)
    if r.failed_apps:
        print(f"  apps that failed to boot: {', '.join(r.failed_apps)}", file=stream)
    print(f"  wrote {r.csv_path}" + (f" and {r.png_path}" if r.png_path else ""), file=stream)
