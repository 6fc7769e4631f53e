"""ADCS cycle time: the C core alone and through cffi from Python.

Tessera: one ``tsr_adcs_step`` (sun and IGRF-14 references, MEKF propagation
and two vector updates, quaternion-feedback control with wheel allocation and
desaturation logic) timed (1) in a plain C loop, compiled here with the system
C compiler at -O2 from csrc/, and (2) from Python through
``fsw.gnc.adcs.AdcsCycle.step`` (numpy in, dataclass out) and through the bare
cffi call.

Peer: Basilisk's (``bsk``) flight-software chain for the same job in its
closed-loop scenario (bench/bench_basilisk.py), run by its C++ scheduler on
its own: star-tracker message conversion, inertial UKF attitude filter,
inertial reference, tracking error, MRP feedback and RW torque mapping, per
0.1 s step. Its filter is a UKF fed by a star tracker, ours an MEKF fed by sun
sensor and magnetometer with IGRF and sun models in the loop: the same role,
not the same arithmetic.

    python -m bench adcs
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import compare

ROOT = Path(__file__).resolve().parents[1]
CSRC = ROOT / "csrc"
CYCLES = 200_000

# The C side of the benchmark: the timed cycle loop and one orbit of closed
# loop (rigid body with four wheels, RK4 at 0.1 s, noisy sensors).
C_SOURCE = r"""
/* Closed-loop ADCS benchmark in plain C: the Tessera cycle and the RK4
 * rigid body with four wheels, at 10 Hz, on one 500 km orbit, with noisy
 * gyro, magnetometer and sun sensor. Prints figures for bench_adcs.py. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsr_adcs.h"
#include "tsr_dynamics.h"
#include "tsr_env.h"
#include "tsr_igrf.h"
#include "tsr_vecmath.h"

#define DEG (3.14159265358979323846 / 180.0)
#define JD0 2461120.5

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
    return sqrt(-2.0 * log(uniform())) * cos(2.0 * 3.14159265358979323846 * uniform());
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void make_params(tsr_adcs_params *p, tsr_body_params *b)
{
    const double s = 1.0 / sqrt(3.0);
    int i;
    memset(p, 0, sizeof(*p));
    memset(b, 0, sizeof(*b));
    p->dt_s = 0.1;
    p->igrf_nmax = 13;
    p->bdot.gain_am2_per_t_s = 4e5;
    p->bdot.filter_alpha = 0.3;
    p->mekf.gyro_arw_rad_s_sqrt_hz = 1.7e-4;
    p->mekf.gyro_bias_rw_rad_s2_sqrt_hz = 2e-6;
    p->mekf_init_sigma_att_rad = 10.0 * DEG;
    p->mekf_init_sigma_bias_rad_s = 0.5 * DEG;
    p->sun_sigma_rad = 0.5 * DEG;
    p->mag_sigma_rad = 1.5 * DEG;
    p->innovation_gate_rad = 30.0 * DEG;
    p->pd.kp_per_s2 = 0.01;
    p->pd.kd_per_s = 0.18;
    p->pd.max_slew_rate_rad_s = 1.5 * DEG;
    p->pd.inertia_kgm2[0] = b->inertia_kgm2[0] = 0.033;
    p->pd.inertia_kgm2[4] = b->inertia_kgm2[4] = 0.034;
    p->pd.inertia_kgm2[8] = b->inertia_kgm2[8] = 0.0067;
    p->pd.n_wheels = b->n_wheels = 4;
    for (i = 0; i < 3; i++) {
        p->pd.wheel_axis_body[4 * i] = b->wheel_axis_body[4 * i] = 1.0;
        p->pd.wheel_axis_body[9 + i] = b->wheel_axis_body[9 + i] = s;
        p->bdot.max_dipole_am2[i] = p->desat.max_dipole_am2[i] = 0.2;
    }
    for (i = 0; i < 4; i++) {
        p->pd.wheel_inertia_kgm2[i] = b->wheel_inertia_kgm2[i] = 1.5e-5;
        p->pd.wheel_max_torque_nm[i] = b->wheel_max_torque_nm[i] = 2e-3;
        b->wheel_max_speed_rad_s[i] = 600.0;
    }
    p->desat.gain_per_s = 0.005;
    p->desat.h_on_nms = 2e-3;
    p->desat.h_off_nms = 0.5e-3;
    p->sun_axis_body[0] = 1.0;
    p->sun_secondary_body[2] = 1.0;
    p->nadir_axis_body[2] = 1.0;
    p->nadir_secondary_body[1] = 1.0;
}

/* Truth and noisy sensors at time t for body state s. */
static void sense(double t_s, const tsr_body_state *s, tsr_adcs_inputs *in, double b_eci[3])
{
    const double a = 6878.137;
    const double n = sqrt(TSR_MU_EARTH_KM3_S2 / (a * a * a));
    const double inc = 97.4 * DEG;
    const double u = n * t_s;
    const double bias[3] = {0.1 * DEG, -0.08 * DEG, 0.06 * DEG};
    double r_sun[3];
    double sun_eci[3];
    double sb[3];
    int i;
    in->r_eci_km[0] = a * cos(u);
    in->r_eci_km[1] = a * sin(u) * cos(inc);
    in->r_eci_km[2] = a * sin(u) * sin(inc);
    in->v_eci_km_s[0] = -a * n * sin(u);
    in->v_eci_km_s[1] = a * n * cos(u) * cos(inc);
    in->v_eci_km_s[2] = a * n * cos(u) * sin(inc);
    in->jd_tt = JD0 + t_s / 86400.0;
    in->gmst_rad = fmod((280.46061837 + 360.98564736629 * (in->jd_tt - 2451545.0)) * DEG,
                        2.0 * 3.14159265358979323846);
    in->decimal_year = 2027.22 + t_s / 31557600.0;
    (void)tsr_igrf_field_eci(in->r_eci_km, in->gmst_rad, in->decimal_year, 13, b_eci);
    tsr_sun_position_eci(in->jd_tt, r_sun);
    tsr_v3_sub(r_sun, in->r_eci_km, sun_eci);
    tsr_quat_apply_inverse(s->q_body_eci, b_eci, in->mag_body_t);
    tsr_quat_apply_inverse(s->q_body_eci, sun_eci, sb);
    (void)tsr_v3_normalize(sb, sb);
    for (i = 0; i < 3; i++) {
        in->mag_body_t[i] += 100e-9 * normal();
        in->sun_body[i] = sb[i] + 0.5 * DEG * normal();
        in->gyro_rad_s[i] = s->w_body_rad_s[i] + bias[i] + 1.7e-4 / sqrt(0.1) * normal();
    }
    for (i = 0; i < 4; i++) {
        in->wheel_speed_rad_s[i] = s->wheel_speed_rad_s[i];
    }
    in->gyro_valid = in->mag_valid = 1;
    in->sun_valid = tsr_shadow_conical(in->r_eci_km, r_sun) < 0.5;
}

int main(int argc, char **argv)
{
    tsr_adcs_params p;
    tsr_body_params bp;
    tsr_adcs_state a;
    tsr_body_state s;
    tsr_adcs_inputs in;
    tsr_adcs_outputs out;
    tsr_body_inputs u;
    double b_eci[3];
    const double axis[3] = {0.3, -0.5, 0.8};
    const int cycles = (argc > 1) ? atoi(argv[1]) : 200000;
    const double a_km = 6878.137;
    const double period =
        2.0 * 3.14159265358979323846 * sqrt(a_km * a_km * a_km / TSR_MU_EARTH_KM3_S2);
    const int steps = (int)(period / 0.1);
    double t0, t1, checksum = 0.0, worst = 0.0;
    int k, i;

    make_params(&p, &bp);
    if (tsr_body_params_init(&bp) != 0) {
        return 2;
    }
    memset(&s, 0, sizeof(s));
    memset(&in, 0, sizeof(in));
    tsr_quat_from_axis_angle(axis, 0.4, s.q_body_eci);

    /* 1. The cycle alone: inputs prepared beforehand for a slowly turning
     * body, so the timed loop holds only tsr_adcs_step. */
    tsr_adcs_init(&a, TSR_ADCS_MODE_INERTIAL);
    s.w_body_rad_s[0] = 0.001;
    sense(0.0, &s, &in, b_eci);
    (void)tsr_adcs_step(&p, &a, &in, &out);
    t0 = now_s();
    for (k = 0; k < cycles; k++) {
        in.r_eci_km[0] += 1e-3;
        in.jd_tt += 0.1 / 86400.0;
        (void)tsr_adcs_step(&p, &a, &in, &out);
        checksum += out.wheel_torque_cmd_nm[0];
    }
    t1 = now_s();
    printf("cycle_ns %.1f\n", 1e9 * (t1 - t0) / cycles);

    /* 2. One orbit of closed loop: inertial hold of the identity attitude
     * from 23 deg off, gravity gradient on, at 10 Hz. */
    memset(&s, 0, sizeof(s));
    tsr_quat_from_axis_angle(axis, 0.4, s.q_body_eci);
    s.w_body_rad_s[0] = 0.001;
    s.w_body_rad_s[1] = -0.002;
    s.w_body_rad_s[2] = 0.001;
    tsr_adcs_init(&a, TSR_ADCS_MODE_INERTIAL);
    t0 = now_s();
    for (k = 0; k < steps; k++) {
        sense(s.t_s, &s, &in, b_eci);
        (void)tsr_adcs_step(&p, &a, &in, &out);
        memset(&u, 0, sizeof(u));
        for (i = 0; i < 4; i++) {
            u.wheel_torque_cmd_nm[i] = out.wheel_torque_cmd_nm[i];
        }
        for (i = 0; i < 3; i++) {
            u.mtq_dipole_am2[i] = out.mtq_dipole_am2[i];
            u.b_eci_t[i] = b_eci[i];
        }
        tsr_gravity_gradient_torque(bp.inertia_kgm2, s.q_body_eci, in.r_eci_km,
                                    u.ext_torque_body_nm);
        if (tsr_body_step(&bp, &s, &u, 0.1, 1) != 0) {
            return 3;
        }
        if (s.t_s > 0.5 * period) {
            const double qi[4] = {1.0, 0.0, 0.0, 0.0};
            worst = fmax(worst, tsr_quat_angle_between(qi, s.q_body_eci));
        }
    }
    t1 = now_s();
    printf("orbit_sim_s %.3f\norbit_wall_s %.6f\norbit_steps %d\n", s.t_s, t1 - t0, steps);
    printf("orbit_worst_error_deg %.4f\nchecksum %.6g\n", worst / DEG, checksum);
    return 0;
}
"""


def run_c_program(cycles: int = CYCLES, repeat: int = 3) -> dict[str, float]:
    """Build and run the C benchmark `repeat` times; its figures by name (medians)."""
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
    """(public API, bare cffi call) microseconds per cycle, median of 5."""
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

    def med(fn) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) / n * 1e6

    return med(api), med(bare)


def main() -> None:
    c = run_c_program()
    api_us, bare_us = python_cycle_us()
    try:
        from bench.bench_basilisk import basilisk_fsw_step_us
        peer_us = basilisk_fsw_step_us()
    except ImportError as exc:
        print(f"Basilisk (bsk) is not installed ({exc}); install the bench extra")
        print(f"tessera alone: C {c['cycle_ns'] / 1e3:.2f} us, Python API {api_us:.2f} us, "
              f"bare cffi {bare_us:.2f} us per cycle")
        return
    compare("ADCS cycle, C alone (aim < 10 us)", "us/cycle", c["cycle_ns"] / 1e3,
            "basilisk FSW step", peer_us, higher_is_better=False)
    compare("ADCS cycle via AdcsCycle.step (aim < 30 us)", "us/cycle", api_us,
            "basilisk FSW step", peer_us, higher_is_better=False)
    compare("ADCS cycle via bare cffi call", "us/cycle", bare_us,
            "basilisk FSW step", peer_us, higher_is_better=False)


if __name__ == "__main__":
    main()
