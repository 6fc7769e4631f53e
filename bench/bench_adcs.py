"""ADCS cycle time: the C core alone and through cffi from Python.

Tessera: one ``tsr_adcs_step`` (sun and IGRF-14 references, MEKF propagation
and two vector updates, quaternion-feedback control with wheel allocation and
desaturation logic) timed (1) in a plain C loop, compiled here with the system
C compiler at -O2 from csrc/, and (2) from Python through
``fsw.gnc.adcs.AdcsCycle.step`` (numpy in, dataclass out) and through the bare
cffi call.

The figures are checked against the aims (C under 10 us, Python API under
30 us). Basilisk's (``bsk``) flight-software chain for the same role in its
closed-loop scenario (bench/bench_basilisk.py: star-tracker message
conversion, inertial UKF, inertial reference, tracking error, MRP feedback,
RW torque mapping) is printed beside them as an indication only, with no
ratio: it is the difference of two whole-scenario wall times (with and
without the chain) per 0.1 s step, not a timed loop like ours, and its
filter is a UKF on a star tracker where ours is an MEKF on sun sensor and
magnetometer with IGRF and sun models inside the cycle.

One orbit of closed loop (``fsw.gnc.attsim.FastAttitudeSim`` against
Basilisk's full scenario) is bench/bench_basilisk.py.

    python -m bench adcs basilisk
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.common import compare, heading, measure, note

ROOT = Path(__file__).resolve().parents[1]
CSRC = ROOT / "csrc"
CYCLES = 200_000

# The C side: one tsr_adcs_step timed in a plain C loop, nothing else. The
# closed-loop simulation is the product feature fsw.gnc.attsim (csrc/
# tsr_attsim.c), timed against Basilisk in bench/bench_basilisk.py.
C_SOURCE = r"""
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsr_adcs.h"

#define DEG (3.14159265358979323846 / 180.0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const double s3 = 1.0 / sqrt(3.0);
    const int cycles = (argc > 1) ? atoi(argv[1]) : 200000;
    tsr_adcs_params p;
    tsr_adcs_state a;
    tsr_adcs_inputs in;
    tsr_adcs_outputs out;
    double t0, t1, checksum = 0.0;
    int i, k;

    /* AdcsConfig's defaults (the 3U of the tests and of bench_basilisk). */
    memset(&p, 0, sizeof(p));
    p.dt_s = 0.1;
    p.igrf_nmax = 13;
    p.bdot.gain_am2_per_t_s = 4e5;
    p.bdot.filter_alpha = 0.3;
    p.mekf.gyro_arw_rad_s_sqrt_hz = 1.7e-4;
    p.mekf.gyro_bias_rw_rad_s2_sqrt_hz = 2e-6;
    p.mekf_init_sigma_att_rad = 10.0 * DEG;
    p.mekf_init_sigma_bias_rad_s = 0.5 * DEG;
    p.sun_sigma_rad = 0.5 * DEG;
    p.mag_sigma_rad = 1.5 * DEG;
    p.innovation_gate_rad = 30.0 * DEG;
    p.pd.kp_per_s2 = 0.01;
    p.pd.kd_per_s = 0.18;
    p.pd.max_slew_rate_rad_s = 1.5 * DEG;
    p.pd.inertia_kgm2[0] = 0.033;
    p.pd.inertia_kgm2[4] = 0.034;
    p.pd.inertia_kgm2[8] = 0.0067;
    p.pd.n_wheels = 4;
    for (i = 0; i < 3; i++) {
        p.pd.wheel_axis_body[4 * i] = 1.0;
        p.pd.wheel_axis_body[9 + i] = s3;
        p.bdot.max_dipole_am2[i] = p.desat.max_dipole_am2[i] = 0.2;
    }
    for (i = 0; i < 4; i++) {
        p.pd.wheel_inertia_kgm2[i] = 1.5e-5;
        p.pd.wheel_max_torque_nm[i] = 2e-3;
    }
    p.desat.gain_per_s = 0.005;
    p.desat.h_on_nms = 2e-3;
    p.desat.h_off_nms = 0.5e-3;
    p.sun_axis_body[0] = 1.0;
    p.sun_secondary_body[2] = 1.0;
    p.nadir_axis_body[2] = 1.0;
    p.nadir_secondary_body[1] = 1.0;

    /* Fixed readings (those of python_cycle_us); the position and time move
     * a little each cycle so nothing is cached. */
    memset(&in, 0, sizeof(in));
    in.gyro_rad_s[0] = 0.001;
    in.mag_body_t[0] = 2e-5;
    in.mag_body_t[1] = -1e-5;
    in.mag_body_t[2] = 3e-5;
    in.sun_body[0] = 0.2;
    in.sun_body[1] = 0.9;
    in.sun_body[2] = 0.1;
    in.r_eci_km[0] = 6878.0;
    in.v_eci_km_s[1] = 1.0;
    in.v_eci_km_s[2] = 7.5;
    in.jd_tt = 2461120.5;
    in.gmst_rad = 1.0;
    in.decimal_year = 2027.2;
    in.gyro_valid = in.mag_valid = in.sun_valid = 1;
    tsr_adcs_init(&a, TSR_ADCS_MODE_INERTIAL);
    (void)tsr_adcs_step(&p, &a, &in, &out);
    t0 = now_s();
    for (k = 0; k < cycles; k++) {
        in.r_eci_km[0] += 1e-3;
        in.jd_tt += 0.1 / 86400.0;
        (void)tsr_adcs_step(&p, &a, &in, &out);
        checksum += out.wheel_torque_cmd_nm[0];
    }
    t1 = now_s();
    printf("cycle_ns %.1f\nchecksum %.6g\n", 1e9 * (t1 - t0) / cycles, checksum);
    return 0;
}
"""


def run_c_program(cycles: int = CYCLES, repeat: int = 3) -> dict[str, float]:
    """Build and run the C cycle timer `repeat` times; its figures by name (medians)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler on PATH")
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        src = Path(tmp) / "adcs_bench.c"
        exe = Path(tmp) / "adcs_bench"
        src.write_text(C_SOURCE)
        subprocess.run([cc, "-std=c99", "-O2", f"-I{CSRC}", *sorted(map(str, CSRC.glob("*.c"))),
                        str(src), "-lm", "-o", str(exe)], check=True)
        runs = []
        for _ in range(repeat):
            out = subprocess.run([str(exe), str(cycles)], check=True, capture_output=True,
                                 text=True).stdout
            runs.append({k: float(v) for k, v in (line.split() for line in out.splitlines())})
    # the machines are noisy: the median of each figure over the runs
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def python_cycle_us(n: int = 20_000) -> tuple[float, float]:
    """(public API, bare cffi call) microseconds per cycle, median of 5 rounds."""
    from fsw.gnc._core import lib
    from fsw.gnc.adcs import AdcsCycle, AdcsSensors, Mode

    cycle = AdcsCycle(mode=Mode.INERTIAL)
    sensors = AdcsSensors(gyro_rad_s=[0.001, 0.0, 0.0], mag_body_t=[2e-5, -1e-5, 3e-5],
                          sun_body=[0.2, 0.9, 0.1], r_eci_km=[6878.0, 0.0, 0.0],
                          v_eci_km_s=[0.0, 1.0, 7.5], jd_tt=2461120.5, gmst_rad=1.0,
                          decimal_year=2027.2)
    cycle.step(sensors)

    def api() -> None:
        step = cycle.step
        for _ in range(n):
            step(sensors)

    p, s, i, o = cycle._p, cycle._s, cycle._in, cycle._out  # the structs step() fills

    def bare() -> None:
        f = lib.tsr_adcs_step
        for _ in range(n):
            f(p, s, i, o)

    return (measure(api, items=n, rounds=5).per_item * 1e6,
            measure(bare, items=n, rounds=5).per_item * 1e6)


def main() -> None:
    heading("bsk")
    c = run_c_program()
    api_us, bare_us = python_cycle_us()
    compare("ADCS cycle, C alone, against the aim", "us/cycle", c["cycle_ns"] / 1e3,
            "aim", 10.0, higher_is_better=False)
    compare("ADCS cycle via AdcsCycle.step, against the aim", "us/cycle", api_us,
            "aim", 30.0, higher_is_better=False)
    note(f"bare cffi call on prepared structs: {bare_us:.2f} us/cycle")
    try:
        from bench.bench_basilisk import basilisk_fsw_step_us
        peer_us = basilisk_fsw_step_us()
    except ImportError as exc:
        note(f"Basilisk (bsk) is not installed ({exc}); install the bench extra")
        return
    note(f"indicative only, not a ratio: Basilisk's FSW chain costs about {peer_us:.1f} us "
         "per 0.1 s step (two whole-scenario wall times differenced)")

if __name__ == "__main__":
    main()
