/* Unit tests for tsr_dynamics, tsr_magfield and tsr_control (B-dot). */
#include <math.h>
#include <string.h>

#include "tsr_control.h"
#include "tsr_dynamics.h"
#include "tsr_magfield.h"
#include "tsr_test.h"
#include "tsr_vecmath.h"

static void make_body(tsr_body_params *p, int wheels)
{
    int i;
    memset(p, 0, sizeof(*p));
    p->inertia_kgm2[0] = 0.033;
    p->inertia_kgm2[4] = 0.034;
    p->inertia_kgm2[8] = 0.0067;
    p->inertia_kgm2[1] = p->inertia_kgm2[3] = 0.0005;
    p->n_wheels = wheels;
    for (i = 0; i < wheels && i < 3; i++) {
        p->wheel_axis_body[3 * i + i] = 1.0;
    }
    if (wheels == 4) {
        const double s = 1.0 / sqrt(3.0);
        p->wheel_axis_body[9] = s;
        p->wheel_axis_body[10] = s;
        p->wheel_axis_body[11] = s;
    }
    for (i = 0; i < wheels; i++) {
        p->wheel_inertia_kgm2[i] = 1.5e-5;
        p->wheel_max_torque_nm[i] = 2e-3;
        p->wheel_max_speed_rad_s[i] = 600.0;
    }
}

/* Torque-free tumbling with spinning wheels: momentum in ECI and energy stay put. */
static void test_torque_free_conserves_momentum_and_energy(tsr_test_tally *t)
{
    tsr_body_params p;
    tsr_body_state s;
    tsr_body_inputs u;
    double h0[3], h1[3];
    double e0, e1;
    int i;
    make_body(&p, 4);
    CHECK(t, tsr_body_params_init(&p) == 0);
    memset(&s, 0, sizeof(s));
    memset(&u, 0, sizeof(u));
    s.q_body_eci[0] = 1.0;
    s.w_body_rad_s[0] = 0.17;
    s.w_body_rad_s[1] = -0.12;
    s.w_body_rad_s[2] = 0.3;
    s.wheel_speed_rad_s[0] = 100.0;
    s.wheel_speed_rad_s[3] = -50.0;
    tsr_body_momentum(&p, &s, h0);
    e0 = tsr_body_kinetic_energy(&p, &s);
    for (i = 0; i < 6000; i++) {
        CHECK(t, tsr_body_step(&p, &s, &u, 0.1, 4) == 0);
    }
    tsr_body_momentum(&p, &s, h1);
    e1 = tsr_body_kinetic_energy(&p, &s);
    for (i = 0; i < 3; i++) {
        CHECK_NEAR(t, h1[i], h0[i], 1e-9);
    }
    CHECK_NEAR(t, e1 / e0, 1.0, 1e-7);
    CHECK_NEAR(t, s.t_s, 600.0, 1e-9);
}

/* A wheel spun up by its motor spins the body the other way, momentum kept. */
static void test_wheel_reaction(tsr_test_tally *t)
{
    tsr_body_params p;
    tsr_body_state s;
    tsr_body_inputs u;
    double h[3];
    int i;
    make_body(&p, 3);
    CHECK(t, tsr_body_params_init(&p) == 0);
    memset(&s, 0, sizeof(s));
    memset(&u, 0, sizeof(u));
    s.q_body_eci[0] = 1.0;
    u.wheel_torque_cmd_nm[2] = 1.0; /* far over the limit: clamped to 2e-3 */
    for (i = 0; i < 10; i++) {
        CHECK(t, tsr_body_step(&p, &s, &u, 0.1, 2) == 0);
    }
    CHECK(t, s.w_body_rad_s[2] < 0.0);
    CHECK(t, s.wheel_speed_rad_s[2] > 0.0);
    /* 2e-3 N m for 1 s on the rotor: h = 2e-3 N m s. */
    CHECK_NEAR(t, p.wheel_inertia_kgm2[2] * (s.wheel_speed_rad_s[2] + s.w_body_rad_s[2]), 2e-3, 1e-9);
    tsr_body_momentum(&p, &s, h);
    CHECK_NEAR(t, tsr_v3_norm(h), 0.0, 1e-12);
}

static void test_step_rejects_bad_arguments(tsr_test_tally *t)
{
    tsr_body_params p;
    tsr_body_state s;
    tsr_body_inputs u;
    make_body(&p, 0);
    CHECK(t, tsr_body_params_init(&p) == 0);
    memset(&s, 0, sizeof(s));
    memset(&u, 0, sizeof(u));
    s.q_body_eci[0] = 1.0;
    CHECK(t, tsr_body_step(&p, &s, &u, 0.0, 1) == TSR_EINVAL);
    CHECK(t, tsr_body_step(&p, &s, &u, 0.1, 0) == TSR_EINVAL);
    u.ext_torque_body_nm[0] = NAN;
    CHECK(t, tsr_body_step(&p, &s, &u, 0.1, 1) == TSR_EINVAL);
    CHECK(t, s.t_s == 0.0 && s.q_body_eci[0] == 1.0);
    p.n_wheels = 7;
    CHECK(t, tsr_body_params_init(&p) == TSR_EINVAL);
}

/* On the dipole axis the field is 2 k/r^3 along it; at the magnetic equator, -k/r^3. */
static void test_dipole_field_geometry(tsr_test_tally *t)
{
    const double k[3] = {-1450.9e-9, 4652.5e-9, -29404.8e-9};
    const double kn = tsr_v3_norm(k);
    double axis[3], r[3], b[3], perp[3], tmp[3];
    tsr_v3_scale(k, 6371.2 / kn, axis);
    tsr_dipole_field_ecef(axis, b);
    CHECK_NEAR(t, tsr_v3_norm(b), 2.0 * kn, 1e-15);
    CHECK(t, tsr_v3_dot(b, k) > 0.0);
    tmp[0] = 1; tmp[1] = 0; tmp[2] = 0;
    tsr_v3_cross(k, tmp, perp);
    tsr_v3_normalize(perp, perp);
    tsr_v3_scale(perp, 2.0 * 6371.2, r);
    tsr_dipole_field_ecef(r, b);
    CHECK_NEAR(t, tsr_v3_norm(b), kn / 8.0, 1e-15);
    CHECK(t, tsr_v3_dot(b, k) < 0.0);
}

static void test_dipole_eci_rotates_with_earth(tsr_test_tally *t)
{
    const double r_eci[3] = {7000.0, 0.0, 0.0};
    const double r_ecef[3] = {0.0, -7000.0, 0.0}; /* Greenwich 90 deg east of ECI x */
    double b_eci[3], b_ecef[3];
    tsr_dipole_field_eci(r_eci, 3.14159265358979323846 / 2, b_eci);
    tsr_dipole_field_ecef(r_ecef, b_ecef);
    CHECK_NEAR(t, b_eci[0], -b_ecef[1], 1e-18);
    CHECK_NEAR(t, b_eci[1], b_ecef[0], 1e-18);
    CHECK_NEAR(t, b_eci[2], b_ecef[2], 1e-18);
    /* LEO field strength is tens of microtesla. */
    CHECK(t, tsr_v3_norm(b_eci) > 15e-6 && tsr_v3_norm(b_eci) < 60e-6);
}

static void test_bdot_opposes_field_change_and_saturates(tsr_test_tally *t)
{
    tsr_bdot_params p = {1e6, {0.2, 0.2, 0.2}, 1.0};
    tsr_bdot_state s;
    const double b0[3] = {20e-6, 0, 0}, b1[3] = {20e-6, 1e-7, -3e-7};
    double m[3];
    memset(&s, 0, sizeof(s));
    CHECK(t, tsr_bdot_step(&p, &s, b0, 0.1, m) == 0);
    CHECK(t, m[0] == 0.0 && m[1] == 0.0 && m[2] == 0.0);
    CHECK(t, tsr_bdot_step(&p, &s, b1, 0.1, m) == 0);
    /* dB/dt = (0, 1e-6, -3e-6); k dB/dt = (0, 1, -3) -> scaled by 0.2/3. */
    CHECK_NEAR(t, m[2], 0.2, 1e-12);
    CHECK_NEAR(t, m[1], -0.2 / 3.0, 1e-12);
    CHECK_NEAR(t, m[0], 0.0, 1e-18);
    CHECK(t, tsr_bdot_step(&p, &s, b1, -1.0, m) == -1);
}

/* In a fixed field, m x B is perpendicular to B: B-dot keeps the momentum
 * along B and damps the rest (2000 s at the 0.2 A m^2 torquer limit). */
static void test_bdot_damps_momentum_across_field(tsr_test_tally *t)
{
    tsr_body_params p;
    tsr_body_state s;
    tsr_body_inputs u;
    tsr_bdot_params bp = {2e5, {0.2, 0.2, 0.2}, 1.0};
    tsr_bdot_state bs;
    double b_body[3], bhat[3], h0[3], h1[3], perp0[3], perp1[3], tmp[3];
    int i;
    make_body(&p, 0);
    CHECK(t, tsr_body_params_init(&p) == 0);
    memset(&s, 0, sizeof(s));
    memset(&u, 0, sizeof(u));
    memset(&bs, 0, sizeof(bs));
    s.q_body_eci[0] = 1.0;
    s.w_body_rad_s[0] = s.w_body_rad_s[1] = s.w_body_rad_s[2] = 0.1745;
    u.b_eci_t[0] = 20e-6;
    u.b_eci_t[2] = 30e-6;
    tsr_v3_normalize(u.b_eci_t, bhat);
    tsr_body_momentum(&p, &s, h0);
    for (i = 0; i < 20000; i++) {
        tsr_quat_apply_inverse(s.q_body_eci, u.b_eci_t, b_body);
        CHECK(t, tsr_bdot_step(&bp, &bs, b_body, 0.1, u.mtq_dipole_am2) == 0);
        CHECK(t, tsr_body_step(&p, &s, &u, 0.1, 1) == 0);
    }
    tsr_body_momentum(&p, &s, h1);
    CHECK_NEAR(t, tsr_v3_dot(h1, bhat), tsr_v3_dot(h0, bhat), 1e-9);
    tsr_v3_scale(bhat, tsr_v3_dot(h0, bhat), tmp);
    tsr_v3_sub(h0, tmp, perp0);
    tsr_v3_scale(bhat, tsr_v3_dot(h1, bhat), tmp);
    tsr_v3_sub(h1, tmp, perp1);
    CHECK(t, tsr_v3_norm(perp1) < 1e-3 * tsr_v3_norm(perp0));
}

int main(void)
{
    tsr_test_tally t = {0, 0, 0};
    RUN(&t, test_torque_free_conserves_momentum_and_energy);
    RUN(&t, test_wheel_reaction);
    RUN(&t, test_step_rejects_bad_arguments);
    RUN(&t, test_dipole_field_geometry);
    RUN(&t, test_dipole_eci_rotates_with_earth);
    RUN(&t, test_bdot_opposes_field_change_and_saturates);
    RUN(&t, test_bdot_damps_momentum_across_field);
    return TSR_TEST_EXIT(&t);
}
