/*
 * tsr_pointing.h - pointing control with reaction wheels, attitude targets
 * and wheel-momentum desaturation with magnetorquers.
 *
 * Control law: quaternion feedback (Wie, Weiss & Arapostathis, "Quaternion
 * feedback regulator for spacecraft eigenaxis rotations", J. Guidance 12(3),
 * 1989; Wie, "Space Vehicle Dynamics and Control", 2nd ed., 2008, sec. 7.3)
 * with gains scaled by the inertia so every axis has the same bandwidth:
 *   theta_e = 2 sgn(dq0) dq_1:3,  dq = q_target* (x) q  (body-frame error)
 *   w_c     = -sat(kp/kd theta_e, w_max)           (eigenaxis slew limit)
 *   tau     = -J (kd (w_e - w_c) + ki z) + w x (J w + h_wheels)
 * where w_e = w - w_target and z is the integral of theta_e. The wheel
 * torques follow from tau through the pseudo-inverse of the axis matrix,
 * scaled down together when any wheel would exceed its limit; the integral
 * then stops (conditional integration) and is clamped in norm (anti-windup).
 *
 * Desaturation: the cross-product law m = k (h x B) / |B|^2 (Markley &
 * Crassidis 2014, sec. 7.5.2), giving the torque -k h_perp, switched on
 * above h_on and off below h_off.
 */
#ifndef TSR_POINTING_H
#define TSR_POINTING_H

#include "tsr_control.h"
#include "tsr_estimation.h"

/* cffi:begin */
typedef struct {
    double kp_per_s2;               /* proportional gain, natural frequency^2 */
    double kd_per_s;                /* derivative gain, 2 zeta wn */
    double ki_per_s3;               /* integral gain; 0 for pure PD */
    double integral_limit_rad_s;    /* clamp on |z| */
    double max_slew_rate_rad_s;     /* commanded eigenaxis rate limit; 0 = none */
    double inertia_kgm2[9];         /* spacecraft, body frame */
    int n_wheels;                   /* 3 or 4 wheels spanning 3 axes */
    double wheel_axis_body[12];
    double wheel_inertia_kgm2[4];
    double wheel_max_torque_nm[4];
} tsr_pd_params;

typedef struct {
    double integral_rad_s[3];       /* z */
    int saturated;                  /* last command was scaled down */
} tsr_pd_state;

typedef struct {
    double gain_per_s;              /* k */
    double h_on_nms;                /* start desaturating above this |h| */
    double h_off_nms;               /* stop below this */
    double max_dipole_am2[3];
} tsr_desat_params;

typedef struct {
    int active;
} tsr_desat_state;

int tsr_pd_control(const tsr_pd_params *p, tsr_pd_state *s, const double q_body_eci[4],
                   const double w_body_rad_s[3], const double q_target_eci[4],
                   const double w_target_rad_s[3], const double wheel_speed_rad_s[4],
                   double dt_s, double wheel_torque_cmd_nm[4], double torque_body_nm[3],
                   double *error_angle_rad);
int tsr_wheel_momentum(const tsr_pd_params *p, const double wheel_speed_rad_s[4],
                       double h_body_nms[3]);
int tsr_desat_step(const tsr_desat_params *d, tsr_desat_state *s, const double h_body_nms[3],
                   const double b_body_t[3], double m_cmd_am2[3]);

int tsr_target_two_axis(const double body_primary[3], const double body_secondary[3],
                        const double eci_primary[3], const double eci_secondary[3],
                        double q_target_eci[4]);
int tsr_target_nadir(const double nadir_axis_body[3], const double normal_axis_body[3],
                     const double r_eci_km[3], const double v_eci_km_s[3],
                     double q_target_eci[4], double w_target_rad_s[3]);
int tsr_target_ground(const double axis_body[3], const double secondary_axis_body[3],
                      const double r_sat_eci_km[3], const double v_sat_eci_km_s[3],
                      const double r_tgt_eci_km[3], const double v_tgt_eci_km_s[3],
                      double q_target_eci[4], double w_target_rad_s[3]);
/* cffi:end */


/*
 * The ADCS cycle's types and entry points (implemented in tsr_adcs.c).
 * They are declared here rather than in tsr_adcs.h because the cffi build
 * reads the marked blocks of all headers in file-name order and a type must
 * be declared before it is used: this block follows those of tsr_control.h,
 * tsr_estimation.h and the pointing types above. C code includes tsr_adcs.h.
 */
/* cffi:begin */
#define TSR_ADCS_MODE_IDLE 0
#define TSR_ADCS_MODE_DETUMBLE 1
#define TSR_ADCS_MODE_SUN 2
#define TSR_ADCS_MODE_NADIR 3
#define TSR_ADCS_MODE_INERTIAL 4
#define TSR_ADCS_MODE_TARGET 5

#define TSR_ADCS_EST_VALID 1
#define TSR_ADCS_DESAT_ACTIVE 2
#define TSR_ADCS_WHEELS_SATURATED 4
#define TSR_ADCS_ECLIPSE 8
#define TSR_ADCS_MAG_REJECTED 16
#define TSR_ADCS_SUN_REJECTED 32
#define TSR_ADCS_NO_CONTROL 64

typedef struct {
    double dt_s;                        /* cycle period */
    int igrf_nmax;                      /* 1..13; 0 selects the tilted dipole */
    tsr_bdot_params bdot;
    tsr_mekf_params mekf;
    double mekf_init_sigma_att_rad;
    double mekf_init_sigma_bias_rad_s;
    double sun_sigma_rad;               /* sun sensor direction noise, 1 sigma */
    double mag_sigma_rad;               /* magnetometer direction noise incl. model error */
    double innovation_gate_rad;         /* reject a vector this far from prediction; 0 = off */
    tsr_pd_params pd;
    tsr_desat_params desat;
    double sun_axis_body[3];            /* SUN mode: this axis at the sun, */
    double sun_secondary_body[3];       /*   this one toward the orbit normal */
    double nadir_axis_body[3];          /* NADIR and TARGET modes: this axis down/at target, */
    double nadir_secondary_body[3];     /*   this one toward the orbit normal */
} tsr_adcs_params;

typedef struct {
    double gyro_rad_s[3];               /* body rate, body frame */
    double mag_body_t[3];               /* field, body frame, tesla */
    double sun_body[3];                 /* direction to the sun, body frame (any length) */
    double wheel_speed_rad_s[4];        /* relative to the body */
    double r_eci_km[3];
    double v_eci_km_s[3];
    double jd_tt;                       /* for the sun */
    double gmst_rad;                    /* Earth rotation angle, for the field and targets */
    double decimal_year;                /* for IGRF */
    int gyro_valid;
    int mag_valid;
    int sun_valid;
} tsr_adcs_inputs;

typedef struct {
    int mode;                           /* TSR_ADCS_MODE_* (the caller sets it) */
    double q_inertial_target[4];        /* INERTIAL mode target, q_target_eci */
    double target_ecef_km[3];           /* TARGET mode ground point, Earth-fixed */
    tsr_bdot_state bdot;
    tsr_mekf_state mekf;
    tsr_pd_state pd;
    tsr_desat_state desat;
    unsigned long cycles;
} tsr_adcs_state;

typedef struct {
    double wheel_torque_cmd_nm[4];
    double mtq_dipole_am2[3];
    double q_body_eci[4];               /* estimate */
    double w_body_rad_s[3];             /* estimated rate (bias removed) */
    double gyro_bias_rad_s[3];
    double att_sigma_rad[3];            /* sqrt of the covariance diagonal */
    double q_target_eci[4];
    double pointing_error_rad;          /* estimated error to the target */
    double sun_eci[3];                  /* unit, from the satellite */
    double b_eci_t[3];                  /* model field */
    double shadow_fraction;             /* 0 full sun .. 1 umbra (conical) */
    double wheel_momentum_body_nms[3];
    int status;                         /* TSR_ADCS_* bits */
} tsr_adcs_outputs;

void tsr_adcs_init(tsr_adcs_state *s, int mode);
int tsr_adcs_step(const tsr_adcs_params *p, tsr_adcs_state *s, const tsr_adcs_inputs *in,
                  tsr_adcs_outputs *out);
/* cffi:end */

#endif
