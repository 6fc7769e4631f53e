/* Unit tests for tsr_vecmath: identities and hand-worked rotations. */
#include <math.h>

#include "tsr_test.h"
#include "tsr_vecmath.h"

static const double PI = 3.14159265358979323846;

static void test_cross_and_dot(tsr_test_tally *t)
{
    const double x[3] = {1, 0, 0}, y[3] = {0, 1, 0};
    double z[3];
    tsr_v3_cross(x, y, z);
    CHECK_NEAR(t, z[0], 0.0, 0.0);
    CHECK_NEAR(t, z[2], 1.0, 0.0);
    CHECK_NEAR(t, tsr_v3_dot(x, y), 0.0, 0.0);
}

/* Body frame turned +90 deg about z: the ECI x axis is the body's -y axis. */
static void test_frame_transform_about_z(tsr_test_tally *t)
{
    const double z[3] = {0, 0, 1}, x_eci[3] = {1, 0, 0};
    double q[4], v_body[3], a[9], v2[3];
    tsr_quat_from_axis_angle(z, PI / 2, q);
    tsr_quat_apply_inverse(q, x_eci, v_body);
    CHECK_NEAR(t, v_body[0], 0.0, 1e-15);
    CHECK_NEAR(t, v_body[1], -1.0, 1e-15);
    tsr_quat_to_dcm(q, a);
    tsr_m3_mul_v3(a, x_eci, v2);
    CHECK_NEAR(t, v2[1], -1.0, 1e-15);
    CHECK_NEAR(t, v2[0], 0.0, 1e-15);
}

static void test_dcm_round_trip(tsr_test_tally *t)
{
    const double axis[3] = {0.3, -0.5, 0.81};
    double angles[4] = {0.1, 1.5, 3.0, 3.14159};
    int i, k;
    for (i = 0; i < 4; i++) {
        double q[4], a[9], q2[4];
        tsr_quat_from_axis_angle(axis, angles[i], q);
        tsr_quat_to_dcm(q, a);
        tsr_quat_from_dcm(a, q2);
        for (k = 0; k < 4; k++) {
            CHECK_NEAR(t, q2[k], q[k], 1e-12);
        }
        CHECK_NEAR(t, tsr_quat_angle_between(q, q2), 0.0, 1e-7);
    }
}

static void test_quat_mul_composes_rotations(tsr_test_tally *t)
{
    const double x[3] = {1, 0, 0}, z[3] = {0, 0, 1}, v[3] = {0, 1, 0};
    double qx[4], qz[4], qzx[4], a[3], b[3], c[3];
    tsr_quat_from_axis_angle(x, 0.7, qx);
    tsr_quat_from_axis_angle(z, -1.1, qz);
    tsr_quat_mul(qz, qx, qzx);
    tsr_quat_apply(qx, v, a);
    tsr_quat_apply(qz, a, b);
    tsr_quat_apply(qzx, v, c);
    CHECK_NEAR(t, c[0], b[0], 1e-15);
    CHECK_NEAR(t, c[1], b[1], 1e-15);
    CHECK_NEAR(t, c[2], b[2], 1e-15);
    CHECK_NEAR(t, tsr_quat_angle_between(qx, qzx), 1.1, 1e-12);
}

static void test_inverse(tsr_test_tally *t)
{
    const double m[9] = {2, 0.1, 0, 0.1, 3, 0.2, 0, 0.2, 4};
    const double singular[9] = {1, 2, 3, 2, 4, 6, 0, 0, 1};
    double inv[9], prod[9];
    int i;
    CHECK(t, tsr_m3_inverse(m, inv) == 0);
    tsr_m3_mul(m, inv, prod);
    for (i = 0; i < 9; i++) {
        CHECK_NEAR(t, prod[i], (i % 4 == 0) ? 1.0 : 0.0, 1e-14);
    }
    CHECK(t, tsr_m3_inverse(singular, inv) == -1);
}

static void test_normalize_rejects_zero(tsr_test_tally *t)
{
    const double zero[4] = {0, 0, 0, 0};
    double out[4] = {9, 9, 9, 9};
    CHECK(t, tsr_quat_normalize(zero, out) == -1);
    CHECK(t, out[0] == 9.0);
    CHECK(t, tsr_v3_normalize(zero, out) == -1);
}

int main(void)
{
    tsr_test_tally t = {0, 0, 0};
    RUN(&t, test_cross_and_dot);
    RUN(&t, test_frame_transform_about_z);
    RUN(&t, test_dcm_round_trip);
    RUN(&t, test_quat_mul_composes_rotations);
    RUN(&t, test_inverse);
    RUN(&t, test_normalize_rejects_zero);
    return TSR_TEST_EXIT(&t);
}
