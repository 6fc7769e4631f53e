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
from fsw.gnc.adcs import Mode
from ground.sim.sil import Scenario, build_sil

DETUMBLED_DEG_S = 0.5  # |w| threshold that counts as detumbled
SUN_AXIS_BODY = np.array([1.0, 0.0, 0.0])


@dataclass(frozen=True)
class Excursion:
    """A spell with |w| at or above the threshold after it had first fallen below."""

    start_s: float
    end_s: float      # the first sample below the threshold again (or the last sample)
    peak_deg_s: float


@dataclass(frozen=True)
class DemoResult:
    """What a run did, as its summary reports it (times in s since release)."""

    sim_s: float
    wall_s: float
    w_start_deg_s: np.ndarray
    w_end_deg_s: np.ndarray
    first_below_s: float | None      # |w| first under DETUMBLED_DEG_S (the B-dot result)
    detumbled_at_s: float | None     # from here on |w| never exceeds DETUMBLED_DEG_S again
    excursions: list[Excursion]      # spells above the threshold between those two times
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


def excursions_after(t_s: np.ndarray, w_norm_deg_s: np.ndarray, from_s: float,
                     threshold_deg_s: float = DETUMBLED_DEG_S) -> list[Excursion]:
    """Spells at or above the threshold from `from_s` on, in time order."""
    spells: list[Excursion] = []
    start, peak = None, 0.0
    for t, w in zip(t_s.tolist(), w_norm_deg_s.tolist(), strict=True):
        if t < from_s:
            continue
        if w >= threshold_deg_s:
            start = t if start is None else start
            peak = max(peak, w)
        elif start is not None:
            spells.append(Excursion(start, t, peak))
            start, peak = None, 0.0
    if start is not None:
        spells.append(Excursion(start, float(t_s[-1]), peak))
    return spells


# Simulated seconds between drains of the telemetry pipe: well inside its depth at 10 Hz.
_DRAIN_EVERY_S = 500.0


def run_demo(out_dir: str | Path = "out", *, orbits: float = 1.0, plot: bool = True,
             scenario: Scenario | None = None, stream: TextIO = sys.stdout,
             name: str = "demo") -> DemoResult:
    """Run the scenario for `orbits` orbital periods and write `name`.csv
    (and `name`.png) into `out_dir`; `name` also heads the progress lines."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = build_sil(scenario)
    duration_s = orbits * run.simulator.orbit.period_s
    failed = run.executive.boot()
    telemetry = run.executive.bus.create_pipe(f"{name}.adcs_state", 16384)
    run.executive.bus.subscribe(telemetry, ADCS_STATE.msg_id)
    tm: dict[int, dict] = {}
    w0 = np.degrees(run.simulator.body.w_body_rad_s)
    devices = ", ".join(run.executive.context.devices)
    print(f"Tessera {name}: {duration_s:.0f} s simulated ({orbits:g} orbit); flight executive, "
          f"ADCS app, drivers and register-level emulators of {devices}", file=stream)
    print(f"  released at {_fmt(w0)} deg/s", file=stream)
    wall0 = time.perf_counter()
    reports = [duration_s * k / 10 for k in range(1, 11)]
    while reports:
        run.executive.run(min(reports[0], run.clock.now() + _DRAIN_EVERY_S) - run.clock.now())
        for _, payload in telemetry.drain():
            state = ADCS_STATE.unpack(payload)
            if abs(state["time_s"] - round(state["time_s"])) < 1e-6:  # keep 1 Hz
                tm[round(state["time_s"])] = state
        if run.clock.now() < reports[0] - 1e-9:
            continue
        reports.pop(0)
        w = np.degrees(run.simulator.body.w_body_rad_s)
        mode = run.executive.apps["adcs"].cycle.mode.name if "adcs" in run.executive.apps else "-"
        wall = time.perf_counter() - wall0
        print(f"  t={run.clock.now():7.0f} s  |w|={np.linalg.norm(w):7.3f} deg/s  "
              f"sun angle {_sun_angle_deg(run.simulator.sun_body):6.2f} deg  {mode:<8} "
              f"wall {wall:5.1f} s  ({run.clock.now() / wall:,.0f}x real time)",
              file=stream, flush=True)
    wall_s = time.perf_counter() - wall0
    run.executive.shutdown()

    # Every figure below comes from the rows the CSV holds: the truth at each
    # whole second at which the flight software also ran its cycle.
    log = run.simulator.log.arrays()
    keep = np.array([round(t) in tm for t in log["t_s"]], dtype=bool)
    log = {key: values[keep] for key, values in log.items()}
    t_s = log["t_s"]
    w_deg = np.degrees(log["w_body_rad_s"])
    w_norm = np.linalg.norm(w_deg, axis=1)
    sun_err = np.array([_sun_angle_deg(s) for s in log["sun_body"]])
    modes = [Mode(tm[round(t)]["mode"]) for t in t_s]
    pointing = [i for i, m in enumerate(modes) if m not in (Mode.IDLE, Mode.DETUMBLE)]
    sun_from = float(t_s[pointing[0]]) if pointing else None
    settled = (t_s >= (sun_from or 0.0) + 600.0) & (log["lit_fraction"] > 0.99)
    sigma3 = float(np.percentile(sun_err[settled], 99.73)) if sun_from and settled.any() else None
    csv_path = out / f"{name}.csv"
    _write_csv(csv_path, log, w_deg, w_norm, sun_err, tm)
    png_path = (_plot(out / f"{name}.png", t_s, w_deg, w_norm, sun_err, sun_from)
                if plot else None)
    below = np.nonzero(w_norm < DETUMBLED_DEG_S)[0]
    first_below = float(t_s[below[0]]) if len(below) else None
    detumbled = detumble_time(t_s, w_norm) if len(t_s) else None
    spells = (excursions_after(t_s, w_norm, first_below)
              if first_below is not None else [])
    result = DemoResult(run.clock.now(), wall_s, w0, np.degrees(run.simulator.body.w_body_rad_s),
                        first_below, detumbled, spells, sun_from, sigma3,
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
               sun_err: np.ndarray, tm: dict[int, dict]) -> None:
    """Truth from the simulator beside what the flight software measured and
    estimated, one row per second at which both exist (docs/simulation.md)."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for i, t in enumerate(log["t_s"]):
            state = tm[round(t)]
            writer.writerow([
                f"{t:.1f}", *(f"{x:.5f}" for x in w_deg[i]), f"{w_norm[i]:.5f}",
                f"{sun_err[i]:.4f}", f"{log['lit_fraction'][i]:.3f}",
                Mode(state["mode"]).name,
                *(f"{np.degrees(x):.5f}" for x in state["gyro_rad_s"]),
                *(f"{x:.5f}" for x in state["sun_body"]),
                *(f"{x * 1e6:.4f}" for x in state["b_body_t"]),
                *(f"{np.degrees(x):.5f}" for x in state["gyro_bias_rad_s"]),
                f"{state['pointing_error_deg']:.4f}",
                *(f"{x:.4f}" for x in state["dipole_cmd_am2"]),
                *(f"{x:.3f}" for x in state["wheel_speed_rad_s"])])


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
    limit = f"{DETUMBLED_DEG_S} deg/s"
    if r.first_below_s is None:
        print(f"  |w| never fell below {limit} within the run: not detumbled", file=stream)
    else:
        print(f"  |w| first below {limit} after {r.first_below_s:.0f} s (B-dot)", file=stream)
        for spell in r.excursions:
            why = ("" if r.sun_pointing_from_s is None
                   or not r.sun_pointing_from_s <= spell.start_s <= r.sun_pointing_from_s + 600.0
                   else ": the slew to the sun")
            print(f"  above {limit} again from {spell.start_s:.0f} s to {spell.end_s:.0f} s, "
                  f"peak {spell.peak_deg_s:.2f} deg/s{why}", file=stream)
        if r.detumbled_at_s is None:
            print(f"  not below {limit} for good by the end of the run", file=stream)
        else:
            print(f"  below {limit} for good after {r.detumbled_at_s:.0f} s"
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
