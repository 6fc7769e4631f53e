/*
 * reference_cubesat.h - the 3U reference CubeSat's ADCS and body parameters
 * for the C unit tests (inertia diag(0.033, 0.034, 0.0067) kg m^2, three
 * wheels on the axes and one along (1,1,1)/sqrt 3, 0.2 A m^2 torquers).
 * Each test program includes it once; `static` keeps it private to that program.
 */
#ifndef REFERENCE_CUBESAT_H
#define REFERENCE_CUBESAT_H

#include <math.h>
#include <string.h>

#include "tsr_adcs.h"
#include "tsr_dynamics.h"

static void reference_cubesat(tsr_adcs_params *p, tsr_body_params *b)
{
    const double deg = 3.14159265358979323846 / 180.0;
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
    p->mekf_init_sigma_att_rad = 10.0 * deg;
    p->mekf_init_sigma_bias_rad_s = 0.5 * deg;
    p->sun_sigma_rad = 0.5 * deg;
    p->mag_sigma_rad = 1.5 * deg;
    p->innovation_gate_rad = 30.0 * deg;
    p->pd.kp_per_s2 = 0.01;
    p->pd.kd_per_s = 0.18;
    p->pd.max_slew_rate_rad_s = 1.5 * deg;
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

#endif
