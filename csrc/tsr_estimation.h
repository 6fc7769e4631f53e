/*
 * tsr_estimation.h - attitude determination: TRIAD, QUEST and a
 * multiplicative extended Kalman filter (MEKF) with gyro-bias estimation.
 *
 * Source for all three: F. L. Markley & J. L. Crassidis, "Fundamentals of
 * Spacecraft Attitude Determination and Control", Springer 2014 (TRIAD
 * sec. 5.2.1, QUEST sec. 5.3.2 after Shuster & Oh 1981, MEKF sec. 6.2.1 and
 * Table 6.3). Their attitude matrix A(q) maps reference (ECI) vectors into
 * the body frame, which is exactly tsr_quat_to_dcm of our scalar-first
 * Hamilton q_body_eci; their product p (x) q equals our q (x) p. The MEKF's
 * attitude error is therefore the body-frame rotation dq in
 * q_true = q_est (x) dq, with dq ~ [1, dtheta/2].
 */
#ifndef TSR_ESTIMATION_H
#define TSR_ESTIMATION_H

/* cffi:begin */
#define TSR_QUEST_MAX_VECTORS 8

int tsr_triad(const double b1_body[3], const double b2_body[3], const double r1_eci[3],
              const double r2_eci[3], double q_body_eci[4]);
int tsr_quest(int n, const double b_body[], const double r_eci[], const double weights[],
              double q_body_eci[4], double *loss);

typedef struct {
    double gyro_arw_rad_s_sqrt_hz;     /* sigma_v: angle random walk, rad/s/sqrt(Hz) */
    double gyro_bias_rw_rad_s2_sqrt_hz;/* sigma_u: bias random walk, rad/s^2/sqrt(Hz) */
} tsr_mekf_params;

typedef struct {
    double q_body_eci[4];              /* estimate */
    double bias_rad_s[3];              /* gyro bias estimate, body frame */
    double w_body_rad_s[3];            /* last bias-corrected rate */
    double p[36];                      /* covariance of [dtheta (rad), dbias (rad/s)], row-major */
    int initialized;
} tsr_mekf_state;

int tsr_mekf_init(tsr_mekf_state *s, const double q_body_eci[4], const double bias_rad_s[3],
                  double sigma_att_rad, double sigma_bias_rad_s);
int tsr_mekf_propagate(const tsr_mekf_params *p, tsr_mekf_state *s,
                       const double gyro_rad_s[3], double dt_s);
int tsr_mekf_update_vector(tsr_mekf_state *s, const double b_meas_body[3],
                           const double r_ref_eci[3], double sigma_rad);
/* cffi:end */

#endif
