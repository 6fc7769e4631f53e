/* tsr_pointing.c - see tsr_pointing.h for the laws and their sources. */
#include "tsr_pointing.h"

#include <math.h>
#include <stddef.h>

#include "tsr_control.h"
#include "tsr_estimation.h"
#include "tsr_vecmath.h"

/* Body momentum of the wheels' spin relative to the body, N m s. */
int tsr_wheel_momentum(const tsr_pd_params *p, const double wheel_speed_rad_s[4],
                       double h_body_nms[3])
{
    int i;
    h_body_nms[0] = h_body_nms[1] = h_body_nms[2] = 0.0;
    if (p->n_wheels < 0 || p->n_wheels > 4) {
        return -1;
    }
    for (i = 0; i < p->n_wheels; i++) {
        double t[3];
        tsr_v3_scale(&p->wheel_axis_body[3 * i], p->wheel_inertia_kgm2[i] * wheel_speed_rad_s[i],
                     t);
        tsr_v3_add(h_body_nms, t, h_body_nms);
    }
    return 0;
}

/* Wheel motor torques u with W u = -tau_body (the body feels -sum a_i u_i):
 * u = -W^T (W W^T)^-1 tau, the least-norm split. */
static int allocate(const tsr_pd_params *p, const double tau[3], double u[4])
{
    double wwt[9] = {0};
    double inv[9];
    double y[3];
    int i, r, c;
    for (i = 0; i < p->n_wheels; i++) {
        const double *a = &p->wheel_axis_body[3 * i];
        for (r = 0; r < 3; r++) {
            for (c = 0; c < 3; c++) {
                wwt[3 * r + c] += a[r] * a[c];
            }
        }
    }
    if (tsr_m3_inverse(wwt, inv) != 0) {
        return -1;
    }
    tsr_m3_mul_v3(inv, tau, y);
    for (i = 0; i < 4; i++) {
        u[i] = (i < p->n_wheels) ? -tsr_v3_dot(&p->wheel_axis_body[3 * i], y) : 0.0;
    }
    return 0;
}

/* One control step. q_target_eci is the wanted attitude, w_target_rad_s its
 * rate in its own (target body) axes. Outputs the wheel motor torques, the
 * body torque they deliver, and the error angle (may be NULL). Returns 0, or
 * -1 for bad input (commands zero). */
int tsr_pd_control(const tsr_pd_params *p, tsr_pd_state *s, const double q_body_eci[4],
                   const double w_body_rad_s[3], const double q_target_eci[4],
                   const double w_target_rad_s[3], const double wheel_speed_rad_s[4],
                   double dt_s, double wheel_torque_cmd_nm[4], double torque_body_nm[3],
                   double *error_angle_rad)
{
    double qtc[4];
    double dq[4];
    double theta[3];
    double w_ref[3];
    double w_e[3];
    double w_c[3];
    double h[3];
    double hw[3];
    double gyro[3];
    double acc[3];
    double tau[3];
    double u[4];
    double scale = 1.0;
    double sgn;
    int rate_limited = 0;
    int i;

    for (i = 0; i < 4; i++) {
        wheel_torque_cmd_nm[i] = 0.0;
    }
    torque_body_nm[0] = torque_body_nm[1] = torque_body_nm[2] = 0.0;
    if (error_angle_rad != NULL) {
        *error_angle_rad = 0.0;
    }
    if (p->n_wheels < 3 || p->n_wheels > 4 || !(dt_s > 0.0) || !(p->kd_per_s > 0.0) ||
        p->kp_per_s2 < 0.0 || p->ki_per_s3 < 0.0) {
        return -1;
    }
    tsr_quat_conj(q_target_eci, qtc);
    tsr_quat_mul(qtc, q_body_eci, dq);
    sgn = (dq[0] < 0.0) ? -1.0 : 1.0;
    for (i = 0; i < 3; i++) {
        theta[i] = 2.0 * sgn * dq[1 + i];
        if (!isfinite(theta[i]) || !isfinite(w_body_rad_s[i])) {
            return -1;
        }
    }
    if (error_angle_rad != NULL) {
        *error_angle_rad = 2.0 * atan2(sqrt(dq[1] * dq[1] + dq[2] * dq[2] + dq[3] * dq[3]),
                                       fabs(dq[0]));
    }
    /* The target's rate seen in body axes: rotate by the error. */
    tsr_quat_apply_inverse(dq, w_target_rad_s, w_ref);
    tsr_v3_sub(w_body_rad_s, w_ref, w_e);

    tsr_v3_scale(theta, -p->kp_per_s2 / p->kd_per_s, w_c);
    if (p->max_slew_rate_rad_s > 0.0) {
        const double n = tsr_v3_norm(w_c);
        if (n > p->max_slew_rate_rad_s) {
            tsr_v3_scale(w_c, p->max_slew_rate_rad_s / n, w_c);
            rate_limited = 1;
        }
    }
    for (i = 0; i < 3; i++) {
        acc[i] = -p->kd_per_s * (w_e[i] - w_c[i]) - p->ki_per_s3 * s->integral_rad_s[i];
    }
    tsr_m3_mul_v3(p->inertia_kgm2, acc, tau);
    tsr_m3_mul_v3(p->inertia_kgm2, w_body_rad_s, h);
    if (tsr_wheel_momentum(p, wheel_speed_rad_s, hw) != 0) {
        return -1;
    }
    tsr_v3_add(h, hw, h);
    tsr_v3_cross(w_body_rad_s, h, gyro);
    tsr_v3_add(tau, gyro, tau);

    if (allocate(p, tau, u) != 0) {
        return -1;
    }
    for (i = 0; i < p->n_wheels; i++) {
        const double a = fabs(u[i]);
        if (a > p->wheel_max_torque_nm[i] && a > 0.0) {
            const double k = p->wheel_max_torque_nm[i] / a;
            if (k < scale) {
                scale = k;
            }
        }
    }
    s->saturated = (scale < 1.0);
    for (i = 0; i < p->n_wheels; i++) {
        wheel_torque_cmd_nm[i] = u[i] * scale;
        tsr_v3_scale(&p->wheel_axis_body[3 * i], -wheel_torque_cmd_nm[i], gyro);
        tsr_v3_add(torque_body_nm, gyro, torque_body_nm);
    }
    /* Anti-windup: integrate only while the actuators and the rate limit
     * leave the loop linear, and never beyond the clamp. */
    if (p->ki_per_s3 > 0.0 && !s->saturated && !rate_limited) {
        double n;
        for (i = 0; i < 3; i++) {
            s->integral_rad_s[i] += theta[i] * dt_s;
        }
        n = tsr_v3_norm(s->integral_rad_s);
        if (p->integral_limit_rad_s > 0.0 && n > p->integral_limit_rad_s) {
            tsr_v3_scale(s->integral_rad_s, p->integral_limit_rad_s / n, s->integral_rad_s);
        }
    }
    return 0;
}

/* Cross-product desaturation with hysteresis. Returns 0, or -1 for a zero
 * field (command zero). */
int tsr_desat_step(const tsr_desat_params *d, tsr_desat_state *s, const double h_body_nms[3],
                   const double b_body_t[3], double m_cmd_am2[3])
{
    const double hn = tsr_v3_norm(h_body_nms);
    const double b2 = tsr_v3_dot(b_body_t, b_body_t);
    double m[3];
    m_cmd_am2[0] = m_cmd_am2[1] = m_cmd_am2[2] = 0.0;
    if (!(b2 > 0.0) || !isfinite(b2) || !isfinite(hn)) {
        return -1;
    }
    if (hn > d->h_on_nms) {
        s->active = 1;
    } else if (hn < d->h_off_nms) {
        s->active = 0;
    }
    if (!s->active) {
        return 0;
    }
    tsr_v3_cross(h_body_nms, b_body_t, m);
    tsr_v3_scale(m, d->gain_per_s / b2, m);
    tsr_dipole_saturate(m, d->max_dipole_am2, m_cmd_am2);
    return 0;
}

/* Attitude that puts body_primary along eci_primary exactly and
 * body_secondary as close as it can to eci_secondary (TRIAD with the body
 * axes as "measurements"). Returns 0, or -1 for parallel pairs. */
int tsr_target_two_axis(const double body_primary[3], const double body_secondary[3],
                        const double eci_primary[3], const double eci_secondary[3],
                        double q_target_eci[4])
{
    return tsr_triad(body_primary, body_secondary, eci_primary, eci_secondary, q_target_eci);
}

/* Nadir pointing: nadir_axis_body down (-r), normal_axis_body along the
 * orbit normal r x v. The target frame turns at h / r^2 in ECI. */
int tsr_target_nadir(const double nadir_axis_body[3], const double normal_axis_body[3],
                     const double r_eci_km[3], const double v_eci_km_s[3],
                     double q_target_eci[4], double w_target_rad_s[3])
{
    double down[3];
    double hv[3];
    double w_eci[3];
    const double r2 = tsr_v3_dot(r_eci_km, r_eci_km);
    w_target_rad_s[0] = w_target_rad_s[1] = w_target_rad_s[2] = 0.0;
    if (!(r2 > 1.0)) {
        q_target_eci[0] = 1.0;
        q_target_eci[1] = q_target_eci[2] = q_target_eci[3] = 0.0;
        return -1;
    }
    tsr_v3_scale(r_eci_km, -1.0, down);
    tsr_v3_cross(r_eci_km, v_eci_km_s, hv);
    if (tsr_target_two_axis(nadir_axis_body, normal_axis_body, down, hv, q_target_eci) != 0) {
        return -1;
    }
    tsr_v3_scale(hv, 1.0 / r2, w_eci);
    tsr_quat_apply_inverse(q_target_eci, w_eci, w_target_rad_s);
    return 0;
}

/* Ground-target tracking: axis_body along the line of sight to the target,
 * secondary_axis_body toward the orbit normal. The line of sight turns at
 * rho x rho_dot / rho^2; its roll rate about itself is left out (small for
 * a target near the ground track). */
int tsr_target_ground(const double axis_body[3], const double secondary_axis_body[3],
                      const double r_sat_eci_km[3], const double v_sat_eci_km_s[3],
                      const double r_tgt_eci_km[3], const double v_tgt_eci_km_s[3],
                      double q_target_eci[4], double w_target_rad_s[3])
{
    double rho[3];
    double rho_dot[3];
    double hv[3];
    double w_eci[3];
    double rho2;
    w_target_rad_s[0] = w_target_rad_s[1] = w_target_rad_s[2] = 0.0;
    tsr_v3_sub(r_tgt_eci_km, r_sat_eci_km, rho);
    tsr_v3_sub(v_tgt_eci_km_s, v_sat_eci_km_s, rho_dot);
    rho2 = tsr_v3_dot(rho, rho);
    tsr_v3_cross(r_sat_eci_km, v_sat_eci_km_s, hv);
    if (!(rho2 > 1e-6) ||
        tsr_target_two_axis(axis_body, secondary_axis_body, rho, hv, q_target_eci) != 0) {
        q_target_eci[0] = 1.0;
        q_target_eci[1] = q_target_eci[2] = q_target_eci[3] = 0.0;
        return -1;
    }
    tsr_v3_cross(rho, rho_dot, w_eci);
    tsr_v3_scale(w_eci, 1.0 / rho2, w_eci);
    tsr_quat_apply_inverse(q_target_eci, w_eci, w_target_rad_s);
    return 0;
}
