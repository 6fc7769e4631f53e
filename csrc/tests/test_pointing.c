/* Unit tests for tsr_pointing: quaternion feedback, wheel allocation,
 * saturation, anti-windup, desaturation and attitude targets. */
#include <math.h>
#include <string.h>

#include "tsr_pointing.h"
#include "tsr_test.h"
#include "tsr_vecmath.h"

#define DEG (3.14159265358979323846 / 180.0)

static void make_params(tsr_pd_params *p)
{
    const double s = 1.0 / sqrt(3.0);
    int i;
    memset(p, 0, sizeof(*p));
    p->kp_per_s2 = 0.01;
    p->kd_per_s = 0.18;
    p->inertia_kgm2[0] = 0.033;
    p->inertia_kgm2[4] = 0.034;
    p->inertia_kgm2[8] = 0.0067;
    p->n_wheels = 4;
    p->wheel_axis_body[0] = 1.0;
    p->wheel_axis_body[4] = 1.0;
    p->wheel_axis_body[8] = 1.0;
    p->wheel_axis_body[9] = s;
    p->wheel_axis_body[10] = s;
    p->wheel_axis_body[11] = s;
    for (i = 0; i < 4; i++) {
        p->wheel_inertia_kgm2[i] = 1.5e-5;
        p->wheel_max_torque_nm[i] = 2e-3;
    }
}

static const double ZERO3[3] = {0.0, 0.0, 0.0};
static const double ZERO4[4] = {0.0, 0.0, 0.0, 0.0};
static const double QI[4] = {1.0, 0.0, 0.0, 0.0};

/* An error about any axis gives a torque that turns it back, the delivered
 * body torque equals -sum a_i u_i, and the error angle is reported. */
static void test_torque_opposes_error(tsr_test_tally *t)
{
    tsr_pd_params p;
    tsr_pd_state s;
    const double axes[3][3] = {{1, 0, 0}, {0, 1, 0}, {0.3, -0.5, 0.8}};
    int k, i;
    make_params(&p);
    for (k = 0; k < 3; k++) {
        double q[4], u[4], tau[3], err, dq[4];
        memset(&s, 0, sizeof(s));
        tsr_quat_from_axis_angle(axes[k], 10.0 * DEG, dq);
        tsr_quat_mul(QI, dq, q);
        CHECK(t, tsr_pd_control(&p, &s, q, ZERO3, QI, ZERO3, ZERO4, 0.1, u, tau, &err) == 0);
        CHECK(t, tsr_v3_dot(tau, axes[k]) < 0.0);
        CHECK_NEAR(t, err, 10.0 * DEG, 1e-12);
        {
            double sum[3] = {0.0, 0.0, 0.0};
            for (i = 0; i < 4; i++) {
                sum[0] -= p.wheel_axis_body[3 * i] * u[i];
                sum[1] -= p.wheel_axis_body[3 * i + 1] * u[i];
                sum[2] -= p.wheel_axis_body[3 * i + 2] * u[i];
            }
            CHECK_NEAR(t, sum[0], tau[0], 1e-15);
            CHECK_NEAR(t, sum[1], tau[1], 1e-15);
            CHECK_NEAR(t, sum[2], tau[2], 1e-15);
        }
    }
}

/* Unsaturated, the torque is exactly -J (kp theta + kd w) + w x H. */
static void test_law_matches_formula(tsr_test_tally *t)
{
    tsr_pd_params p;
    tsr_pd_state s;
    const double axis[3] = {0.0, 0.0, 1.0};
    const double w[3] = {0.001, -0.002, 0.003};
    const double speeds[4] = {50.0, -20.0, 10.0, 5.0};
    double q[4], u[4], tau[3], h[3], jw[3], gyro[3];
    make_params(&p);
    memset(&s, 0, sizeof(s));
    tsr_quat_from_axis_angle(axis, 2.0 * DEG, q);
    CHECK(t, tsr_pd_control(&p, &s, q, w, QI, ZERO3, speeds, 0.1, u, tau, NULL) == 0);
    CHECK(t, !s.saturated);
    CHECK(t, tsr_wheel_momentum(&p, speeds, h) == 0);
    tsr_m3_mul_v3(p.inertia_kgm2, w, jw);
    tsr_v3_add(h, jw, h);
    tsr_v3_cross(w, h, gyro);
    CHECK_NEAR(t, tau[0], 0.033 * (-0.18 * w[0]) + gyro[0], 1e-15);
    CHECK_NEAR(t, tau[1], 0.034 * (-0.18 * w[1]) + gyro[1], 1e-15);
    CHECK_NEAR(t, tau[2], 0.0067 * (-0.01 * 2.0 * sin(1.0 * DEG) - 0.18 * w[2]) + gyro[2], 1e-15);
}

/* A large error with no slew limit saturates: every wheel within its limit,
 * the torque keeps its direction, and the integral does not wind up. */
static void test_saturation_and_anti_windup(tsr_test_tally *t)
{
    tsr_pd_params p;
    tsr_pd_state s;
    const double axis[3] = {0.2, 0.9, -0.3};
    double q[4], u[4], tau[3], tau_small[3];
    int i, n;
    make_params(&p);
    p.kp_per_s2 = 1.0;
    p.kd_per_s = 2.0;
    p.ki_per_s3 = 0.01;
    p.integral_limit_rad_s = 0.05;
    memset(&s, 0, sizeof(s));
    tsr_quat_from_axis_angle(axis, 90.0 * DEG, q);
    for (n = 0; n < 100; n++) {
        CHECK(t, tsr_pd_control(&p, &s, q, ZERO3, QI, ZERO3, ZERO4, 0.1, u, tau, NULL) == 0);
    }
    CHECK(t, s.saturated);
    for (i = 0; i < 4; i++) {
        CHECK(t, fabs(u[i]) <= 2e-3 * (1.0 + 1e-12));
    }
    CHECK_NEAR(t, tsr_v3_norm(s.integral_rad_s), 0.0, 0.0);
    /* same direction as the unsaturated command */
    p.wheel_max_torque_nm[0] = p.wheel_max_torque_nm[1] = 1e3;
    p.wheel_max_torque_nm[2] = p.wheel_max_torque_nm[3] = 1e3;
    {
        tsr_pd_state s2;
        double c[3];
        memset(&s2, 0, sizeof(s2));
        CHECK(t, tsr_pd_control(&p, &s2, q, ZERO3, QI, ZERO3, ZERO4, 0.1, u, tau_small, NULL) == 0);
        tsr_v3_cross(tau, tau_small, c);
        CHECK(t, tsr_v3_norm(c) < 1e-9 * tsr_v3_norm(tau) * tsr_v3_norm(tau_small));
        /* unsaturated now: the integral grows, but never past its clamp */
        for (n = 0; n < 10000; n++) {
            CHECK(t, tsr_pd_control(&p, &s2, q, ZERO3, QI, ZERO3, ZERO4, 0.1, u, tau, NULL) == 0);
        }
        CHECK_NEAR(t, tsr_v3_norm(s2.integral_rad_s), 0.05, 1e-12);
    }
}

/* The slew-rate limit caps the commanded rate: at a large error and the
 * limit rate, the loop commands (nearly) no torque. */
static void test_slew_rate_limit(tsr_test_tally *t)
{
    tsr_pd_params p;
    tsr_pd_state s;
    const double axis[3] = {1.0, 0.0, 0.0};
    double q[4], u[4], tau[3];
    double w[3] = {-0.02, 0.0, 0.0};
    make_params(&p);
    p.max_slew_rate_rad_s = 0.02;
    memset(&s, 0, sizeof(s));
    tsr_quat_from_axis_angle(axis, 60.0 * DEG, q);
    CHECK(t, tsr_pd_control(&p, &s, q, w, QI, ZERO3, ZERO4, 0.1, u, tau, NULL) == 0);
    CHECK_NEAR(t, tau[0], 0.0, 1e-12);
    w[0] = -0.04; /* too fast: brake */
    CHECK(t, tsr_pd_control(&p, &s, q, w, QI, ZERO3, ZERO4, 0.1, u, tau, NULL) == 0);
    CHECK(t, tau[0] > 0.0);
}

/* Desaturation torque m x B removes momentum across the field, with
 * hysteresis between h_on and h_off. */
static void test_desaturation(tsr_test_tally *t)
{
    tsr_desat_params d = {0.01, 2e-3, 0.5e-3, {0.2, 0.2, 0.2}};
    tsr_desat_state s = {0};
    const double b[3] = {20e-6, -10e-6, 30e-6};
    const double h_big[3] = {3e-3, 1e-3, -1e-3};
    const double h_mid[3] = {1e-3, 0.0, 0.0};
    const double h_small[3] = {0.1e-3, 0.0, 0.0};
    double m[3], tau[3];
    CHECK(t, tsr_desat_step(&d, &s, h_mid, b, m) == 0);
    CHECK(t, !s.active && tsr_v3_norm(m) == 0.0);
    CHECK(t, tsr_desat_step(&d, &s, h_big, b, m) == 0);
    CHECK(t, s.active);
    tsr_v3_cross(m, b, tau);
    CHECK(t, tsr_v3_dot(tau, h_big) < 0.0);
    CHECK_NEAR(t, tsr_v3_dot(tau, b), 0.0, 1e-20);
    CHECK(t, tsr_desat_step(&d, &s, h_mid, b, m) == 0);
    CHECK(t, s.active);
    CHECK(t, tsr_desat_step(&d, &s, h_small, b, m) == 0);
    CHECK(t, !s.active);
    CHECK(t, tsr_desat_step(&d, &s, h_big, ZERO3, m) != 0);
}

static void test_targets(tsr_test_tally *t)
{
    const double nadir_axis[3] = {0.0, 0.0, 1.0};
    const double normal_axis[3] = {0.0, 1.0, 0.0};
    const double r[3] = {6878.0, 0.0, 0.0};
    const double v[3] = {0.0, 7.61268, 0.0};
    double q[4], w[3], down_body[3];
    const double down[3] = {-1.0, 0.0, 0.0};
    CHECK(t, tsr_target_nadir(nadir_axis, normal_axis, r, v, q, w) == 0);
    tsr_quat_apply_inverse(q, down, down_body);
    CHECK_NEAR(t, down_body[2], 1.0, 1e-12);
    /* the nadir frame turns at the orbit rate about the orbit normal */
    CHECK_NEAR(t, tsr_v3_norm(w), 7.61268 / 6878.0, 1e-12);
    CHECK_NEAR(t, w[1], 7.61268 / 6878.0, 1e-12);
    {
        /* ground target right below: same pointing as nadir */
        const double tgt[3] = {6378.0, 0.0, 0.0};
        const double vt[3] = {0.0, 0.465, 0.0};
        double qg[4], wg[3];
        CHECK(t, tsr_target_ground(nadir_axis, normal_axis, r, v, tgt, vt, qg, wg) == 0);
        CHECK_NEAR(t, tsr_quat_angle_between(q, qg), 0.0, 1e-12);
        /* the line of sight turns faster than the orbit rate seen from 500 km */
        CHECK(t, tsr_v3_norm(wg) > tsr_v3_norm(w));
        CHECK(t, tsr_target_ground(nadir_axis, normal_axis, r, v, r, v, qg, wg) != 0);
    }
}

int main(void)
{
    tsr_test_tally t;
    memset(&t, 0, sizeof(t));
    RUN(&t, test_torque_opposes_error);
    RUN(&t, test_law_matches_formula);
    RUN(&t, test_saturation_and_anti_windup);
    RUN(&t, test_slew_rate_limit);
    RUN(&t, test_desaturation);
    RUN(&t, test_targets);
    return TSR_TEST_EXIT(&t);
}
