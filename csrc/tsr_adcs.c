/* tsr_adcs.c - see tsr_adcs.h. */
#include "tsr_adcs.h"

#include <math.h>
#include <string.h>

#include "tsr_env.h"
#include "tsr_igrf.h"
#include "tsr_magfield.h"
#include "tsr_vecmath.h"

#define EARTH_RATE_RAD_S 7.292115e-5
#define SUN_NORMAL_MIN_SIN 0.0348994967 /* sin(2 deg) */

/* Clear all state and select a mode. */
void tsr_adcs_init(tsr_adcs_state *s, int mode)
{
    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->q_inertial_target[0] = 1.0;
}

static int finite3(const double v[3])
{
    return isfinite(v[0]) && isfinite(v[1]) && isfinite(v[2]);
}

/* Angle between the measured direction and the one the estimate predicts. */
static double innovation_angle(const double q[4], const double b_body[3], const double r_eci[3])
{
    double pred[3];
    double bu[3];
    double ru[3];
    double c[3];
    if (tsr_v3_normalize(b_body, bu) != 0 || tsr_v3_normalize(r_eci, ru) != 0) {
        return 4.0;
    }
    tsr_quat_apply_inverse(q, ru, pred);
    tsr_v3_cross(bu, pred, c);
    return atan2(tsr_v3_norm(c), tsr_v3_dot(bu, pred));
}

static void zero_commands(tsr_adcs_outputs *out)
{
    int i;
    for (i = 0; i < 4; i++) {
        out->wheel_torque_cmd_nm[i] = 0.0;
    }
    out->mtq_dipole_am2[0] = out->mtq_dipole_am2[1] = out->mtq_dipole_am2[2] = 0.0;
}

/* One cycle. Returns 0, or -1 when the inputs or parameters are unusable
 * (commands zero, state untouched apart from the cycle count). */
int tsr_adcs_step(const tsr_adcs_params *p, tsr_adcs_state *s, const tsr_adcs_inputs *in,
                  tsr_adcs_outputs *out)
{
    double r_sun[3];
    double sun_rel[3];
    double w_target[3] = {0.0, 0.0, 0.0};
    double torque[3];
    double hw[3];
    int gyro_ok;
    int mag_ok;
    int sun_ok;
    int i;

    memset(out, 0, sizeof(*out));
    out->q_body_eci[0] = 1.0;
    out->q_target_eci[0] = 1.0;
    s->cycles++;
    if (!(p->dt_s > 0.0) || !finite3(in->r_eci_km) || !finite3(in->v_eci_km_s) ||
        !isfinite(in->jd_tt) || !isfinite(in->gmst_rad)) {
        out->status = TSR_ADCS_NO_CONTROL;
        return -1;
    }
    gyro_ok = in->gyro_valid && finite3(in->gyro_rad_s);
    mag_ok = in->mag_valid && finite3(in->mag_body_t) && tsr_v3_norm(in->mag_body_t) > 0.0;
    sun_ok = in->sun_valid && finite3(in->sun_body) && tsr_v3_norm(in->sun_body) > 0.0;

    /* Reference directions. */
    tsr_sun_position_eci(in->jd_tt, r_sun);
    tsr_v3_sub(r_sun, in->r_eci_km, sun_rel);
    (void)tsr_v3_normalize(sun_rel, out->sun_eci);
    out->shadow_fraction = tsr_shadow_conical(in->r_eci_km, r_sun);
    if (out->shadow_fraction > 0.5) {
        out->status |= TSR_ADCS_ECLIPSE;
    }
    if (p->igrf_nmax < 1 ||
        tsr_igrf_field_eci(in->r_eci_km, in->gmst_rad, in->decimal_year, p->igrf_nmax,
                           out->b_eci_t) != 0) {
        tsr_dipole_field_eci(in->r_eci_km, in->gmst_rad, out->b_eci_t);
    }

    /* Estimation. */
    if (!s->mekf.initialized && mag_ok && sun_ok) {
        double q0[4];
        const double zero[3] = {0.0, 0.0, 0.0};
        if (tsr_triad(in->sun_body, in->mag_body_t, out->sun_eci, out->b_eci_t, q0) == 0) {
            (void)tsr_mekf_init(&s->mekf, q0, zero, p->mekf_init_sigma_att_rad,
                                p->mekf_init_sigma_bias_rad_s);
        }
    } else if (s->mekf.initialized) {
        if (gyro_ok) {
            (void)tsr_mekf_propagate(&p->mekf, &s->mekf, in->gyro_rad_s, p->dt_s);
        }
        if (sun_ok) {
            if (p->innovation_gate_rad > 0.0 &&
                innovation_angle(s->mekf.q_body_eci, in->sun_body, out->sun_eci) >
                    p->innovation_gate_rad) {
                out->status |= TSR_ADCS_SUN_REJECTED;
            } else {
                (void)tsr_mekf_update_vector(&s->mekf, in->sun_body, out->sun_eci,
                                             p->sun_sigma_rad);
            }
        }
        if (mag_ok) {
            if (p->innovation_gate_rad > 0.0 &&
                innovation_angle(s->mekf.q_body_eci, in->mag_body_t, out->b_eci_t) >
                    p->innovation_gate_rad) {
                out->status |= TSR_ADCS_MAG_REJECTED;
            } else {
                (void)tsr_mekf_update_vector(&s->mekf, in->mag_body_t, out->b_eci_t,
                                             p->mag_sigma_rad);
            }
        }
    }
    if (s->mekf.initialized) {
        out->status |= TSR_ADCS_EST_VALID;
        for (i = 0; i < 4; i++) {
            out->q_body_eci[i] = s->mekf.q_body_eci[i];
        }
        for (i = 0; i < 3; i++) {
            out->gyro_bias_rad_s[i] = s->mekf.bias_rad_s[i];
            out->w_body_rad_s[i] = gyro_ok ? in->gyro_rad_s[i] - s->mekf.bias_rad_s[i]
                                           : s->mekf.w_body_rad_s[i];
            out->att_sigma_rad[i] = sqrt(fmax(0.0, s->mekf.p[7 * i]));
        }
    } else if (gyro_ok) {
        for (i = 0; i < 3; i++) {
            out->w_body_rad_s[i] = in->gyro_rad_s[i];
        }
    }
    (void)tsr_wheel_momentum(&p->pd, in->wheel_speed_rad_s, hw);
    for (i = 0; i < 3; i++) {
        out->wheel_momentum_body_nms[i] = hw[i];
    }

    /* Control. */
    if (s->mode == TSR_ADCS_MODE_DETUMBLE) {
        if (!mag_ok || tsr_bdot_step(&p->bdot, &s->bdot, in->mag_body_t, p->dt_s,
                                     out->mtq_dipole_am2) != 0) {
            zero_commands(out);
            out->status |= TSR_ADCS_NO_CONTROL;
        }
        return 0;
    }
    s->bdot.primed = 0; /* a later detumble starts from a fresh sample */
    if (s->mode == TSR_ADCS_MODE_IDLE) {
        return 0;
    }
    if (!s->mekf.initialized || !gyro_ok) {
        out->status |= TSR_ADCS_NO_CONTROL;
        return 0;
    }
    switch (s->mode) {
    case TSR_ADCS_MODE_SUN: {
        double normal[3];
        double across[3];
        const double *secondary = normal;
        tsr_v3_cross(in->r_eci_km, in->v_eci_km_s, normal);
        (void)tsr_v3_normalize(normal, normal);
        tsr_v3_cross(out->sun_eci, normal, across);
        /* Within 2 deg of the orbit normal the sun leaves the roll about it
         * ill-defined (beta near 90 deg): lean toward the zenith instead,
         * which is then nearly perpendicular to the sun. */
        if (tsr_v3_norm(across) < SUN_NORMAL_MIN_SIN) {
            secondary = in->r_eci_km;
        }
        if (tsr_target_two_axis(p->sun_axis_body, p->sun_secondary_body, out->sun_eci, secondary,
                                out->q_target_eci) != 0) {
            out->status |= TSR_ADCS_NO_CONTROL;
            return 0;
        }
        break;
    }
    case TSR_ADCS_MODE_NADIR:
        if (tsr_target_nadir(p->nadir_axis_body, p->nadir_secondary_body, in->r_eci_km,
                             in->v_eci_km_s, out->q_target_eci, w_target) != 0) {
            out->status |= TSR_ADCS_NO_CONTROL;
            return 0;
        }
        break;
    case TSR_ADCS_MODE_INERTIAL:
        if (tsr_quat_normalize(s->q_inertial_target, out->q_target_eci) != 0) {
            out->status |= TSR_ADCS_NO_CONTROL;
            return 0;
        }
        break;
    case TSR_ADCS_MODE_TARGET: {
        const double c = cos(in->gmst_rad);
        const double sn = sin(in->gmst_rad);
        const double *g = s->target_ecef_km;
        const double rt[3] = {c * g[0] - sn * g[1], sn * g[0] + c * g[1], g[2]};
        const double vt[3] = {-EARTH_RATE_RAD_S * rt[1], EARTH_RATE_RAD_S * rt[0], 0.0};
        if (tsr_target_ground(p->nadir_axis_body, p->nadir_secondary_body, in->r_eci_km,
                              in->v_eci_km_s, rt, vt, out->q_target_eci, w_target) != 0) {
            out->status |= TSR_ADCS_NO_CONTROL;
            return 0;
        }
        break;
    }
    default:
        out->status |= TSR_ADCS_NO_CONTROL;
        return -1;
    }
    if (tsr_pd_control(&p->pd, &s->pd, s->mekf.q_body_eci, out->w_body_rad_s, out->q_target_eci,
                       w_target, in->wheel_speed_rad_s, p->dt_s, out->wheel_torque_cmd_nm, torque,
                       &out->pointing_error_rad) != 0) {
        zero_commands(out);
        out->status |= TSR_ADCS_NO_CONTROL;
        return 0;
    }
    if (s->pd.saturated) {
        out->status |= TSR_ADCS_WHEELS_SATURATED;
    }
    if (mag_ok) {
        (void)tsr_desat_step(&p->desat, &s->desat, hw, in->mag_body_t, out->mtq_dipole_am2);
        if (s->desat.active) {
            out->status |= TSR_ADCS_DESAT_ACTIVE;
        }
    }
    return 0;
}
