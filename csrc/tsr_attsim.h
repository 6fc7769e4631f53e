/*
 * tsr_attsim.h - fast-time closed-loop attitude simulation in one C call.
 *
 * Each step of tsr_attsim_run, at the ADCS cycle period dt:
 *   1. truth environment at t: SGP4 position and velocity (TEME), GMST
 *      (IAU-82, from UT1), the sun (Astronomical Almanac), conical shadow,
 *      the IGRF-14 field;
 *   2. sensors with seeded noise: gyro = w + bias + ARW white noise (bias a
 *      random walk), magnetometer = A(q) B + bias + white noise per axis,
 *      sun sensor = A(q) s turned by a small random rotation, no reading in
 *      shadow (shadow fraction > 0.5); wheel tachometers exact;
 *   3. one tsr_adcs_step (MEKF + B-dot or quaternion feedback + desat);
 *   4. the commands held over [t, t + dt] in tsr_body_step (RK4 rigid body
 *      with wheels, magnetorquer dipole in the truth field, gravity-gradient
 *      and optional aerodynamic torque).
 *
 * The simulation's inertial frame is SGP4's TEME of date: its rotation by
 * GMST gives the Earth-fixed frame the field is evaluated in, and it differs
 * from the mean-of-date frame of the sun model by the equation of the
 * equinoxes (under 0.005 deg), well inside the sun model's own 0.01 deg.
 * q_body_eci is the attitude relative to it (scalar first, Hamilton,
 * v_body = A(q) v_eci).
 *
 * The flight knowledge (tsr_adcs_params, including its inertia and wheel
 * geometry) and the truth (tsr_body_params) are separate, so a Monte Carlo
 * run can perturb one against the other. Nothing is allocated, no global
 * state is used, and a run is bit-for-bit repeatable from the seed: the
 * random generator (xoshiro256**, Blackman & Vigna 2018, seeded through
 * splitmix64; normal deviates by the Box-Muller transform) lives in the
 * state struct. Running n steps at once or in pieces gives the same result.
 */
#ifndef TSR_ATTSIM_H
#define TSR_ATTSIM_H

#include "tsr_adcs.h"
#include "tsr_dynamics.h"
#include "tsr_sgp4.h"

/* cffi:begin */
#define TSR_ATTSIM_OK 0
#define TSR_ATTSIM_EARGS 1      /* null pointer, negative count, log too small */
#define TSR_ATTSIM_EPARAMS 2    /* a parameter is out of range or not finite */
#define TSR_ATTSIM_EORBIT 3     /* SGP4 returned an error (incl. decay) */
#define TSR_ATTSIM_ESTATE 4     /* the truth state became unusable */
#define TSR_ATTSIM_EADCS 5      /* tsr_adcs_step rejected its inputs */

/* The log row: TSR_ATTSIM_LOG_COLS doubles per row, written at the start of
 * every step whose global index is a multiple of log_every, describing the
 * truth at time t and the ADCS cycle run on the sensors of that time. */
#define TSR_ATTSIM_COL_T 0            /* s since the start epoch */
#define TSR_ATTSIM_COL_Q 1            /* 4: true q_body_eci */
#define TSR_ATTSIM_COL_W 5            /* 3: true body rate, rad/s, body frame */
#define TSR_ATTSIM_COL_WHEEL 8        /* 4: wheel speeds, rad/s, relative to the body */
#define TSR_ATTSIM_COL_Q_EST 12       /* 4: MEKF q_body_eci ([1,0,0,0] before it starts) */
#define TSR_ATTSIM_COL_BIAS_EST 16    /* 3: MEKF gyro bias, rad/s */
#define TSR_ATTSIM_COL_BIAS_TRUE 19   /* 3: simulated gyro bias, rad/s */
#define TSR_ATTSIM_COL_POINT_ERR 22   /* true angle to the target attitude, rad (NaN: no target) */
#define TSR_ATTSIM_COL_EST_ERR 23     /* true estimation error angle, rad (NaN: no estimate) */
#define TSR_ATTSIM_COL_SUN_ERR 24     /* true angle from the sun axis to the sun, rad */
#define TSR_ATTSIM_COL_POINT_EST 25   /* pointing error the ADCS estimates, rad */
#define TSR_ATTSIM_COL_SIGMA 26       /* 3: MEKF 1-sigma attitude per body axis, rad */
#define TSR_ATTSIM_COL_SHADOW 29      /* 0 full sun .. 1 umbra */
#define TSR_ATTSIM_COL_STATUS 30      /* TSR_ADCS_* bits */
#define TSR_ATTSIM_COL_WHEEL_CMD 31   /* 4: wheel torque commands, N m */
#define TSR_ATTSIM_COL_DIPOLE 35      /* 3: magnetorquer dipole, A m^2, body frame */
#define TSR_ATTSIM_COL_R 38           /* 3: position, km, TEME */
#define TSR_ATTSIM_LOG_COLS 41

typedef struct {
    tsr_body_params body;               /* truth: after tsr_body_params_init */
    tsr_adcs_params adcs;               /* flight software; adcs.dt_s is the step */
    tsr_sgp4_sat sat;                   /* orbit, after tsr_sgp4_init */
    double start_jd_utc;                /* start epoch, UTC Julian date, whole part */
    double start_jd_utc_frac;           /*   and fraction */
    double tt_minus_utc_s;              /* e.g. 69.184 s (TAI-UTC 37 s + 32.184 s) */
    double ut1_minus_utc_s;             /* DUT1, |.| < 0.9 s */
    int igrf_nmax_truth;                /* 1..13: degree of the truth field */
    int dyn_substeps;                   /* RK4 steps per cycle, >= 1 */
    int gravity_gradient;               /* 1: gravity-gradient torque on */
    double drag_cd;                     /* aerodynamic torque: drag coefficient, */
    double drag_area_m2;                /*   area (0 = off), */
    double drag_cp_body_m[3];           /*   centre of pressure from the CoM */
    double residual_dipole_am2[3];      /* spacecraft's own dipole, body frame */
    double gyro_bias_rad_s[3];          /* initial simulated gyro bias */
    double gyro_arw_rad_s_sqrt_hz;      /* white rate noise, sigma = arw / sqrt(dt) */
    double gyro_bias_rw_rad_s2_sqrt_hz; /* bias random walk per sqrt(s) */
    double mag_noise_t;                 /* 1 sigma per axis, tesla */
    double mag_bias_t[3];               /* constant magnetometer bias, tesla */
    double sun_noise_rad;               /* 1 sigma per axis of the small rotation */
    double sun_shadow_threshold;        /* no sun reading above this shadow fraction */
} tsr_attsim_params;

typedef struct {
    tsr_body_state body;                /* truth; body.t_s is s since the start epoch */
    tsr_adcs_state adcs;                /* flight software */
    tsr_adcs_outputs last;              /* outputs of the latest cycle */
    double gyro_bias_rad_s[3];          /* current simulated gyro bias */
    unsigned long long rng[4];          /* xoshiro256** state */
    double spare_normal;                /* Box-Muller's second deviate */
    int has_spare;
    long steps;                         /* steps run since tsr_attsim_init */
} tsr_attsim_state;

int tsr_attsim_check(const tsr_attsim_params *p);
int tsr_attsim_init(const tsr_attsim_params *p, tsr_attsim_state *s, unsigned long long seed,
                    const double q0_body_eci[4], const double w0_body_rad_s[3], int mode);
long tsr_attsim_log_rows(const tsr_attsim_state *s, long n_steps, long log_every);
int tsr_attsim_run(const tsr_attsim_params *p, tsr_attsim_state *s, long n_steps,
                   long log_every, double *log_out, long log_capacity, long *n_logged);
double tsr_attsim_normal(tsr_attsim_state *s);
/* cffi:end */

#endif
