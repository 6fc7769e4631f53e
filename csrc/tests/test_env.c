/* Unit tests for tsr_env: sun, eclipse, gravity-gradient and drag torques. */
#include <math.h>
#include <string.h>

#include "tsr_env.h"
#include "tsr_test.h"
#include "tsr_vecmath.h"

#define DEG (3.14159265358979323846 / 180.0)

/* Vallado, Fundamentals of Astrodynamics and Applications, 4th ed.,
 * Example 5-1: 2 April 2006 00:00 UT1 (JD 2453827.5), r_sun =
 * 0.9771945 I + 0.1924424 J + 0.0834308 K AU. */
static void test_sun_vallado_example_5_1(tsr_test_tally *t)
{
    double r[3];
    tsr_sun_position_eci(2453827.5, r);
    CHECK_NEAR(t, r[0] / TSR_AU_KM, 0.9771945, 3e-6);
    CHECK_NEAR(t, r[1] / TSR_AU_KM, 0.1924424, 3e-6);
    CHECK_NEAR(t, r[2] / TSR_AU_KM, 0.0834308, 3e-6);
}

/* Over a year the sun stays on the ecliptic and between perihelion and
 * aphelion distance. */
static void test_sun_on_ecliptic_over_a_year(tsr_test_tally *t)
{
    /* mean obliquity at the start of 2026 (IAU 1980, first order in T) */
    const double eps = (23.439291 - 0.0130042 * 0.26) * DEG;
    const double pole[3] = {0.0, -sin(eps), cos(eps)};
    double rmin = 1e30, rmax = 0.0;
    double worst = 0.0;
    int d;
    for (d = 0; d < 366; d++) {
        double r[3];
        double n;
        tsr_sun_position_eci(2461041.5 + d, r);
        n = tsr_v3_norm(r);
        worst = fmax(worst, fabs(tsr_v3_dot(r, pole) / n));
        rmin = fmin(rmin, n);
        rmax = fmax(rmax, n);
    }
    CHECK_NEAR(t, worst, 0.0, 3e-6); /* obliquity drifts 2e-6 rad a year */
    CHECK_NEAR(t, rmin / TSR_AU_KM, 0.98329, 2e-4);
    CHECK_NEAR(t, rmax / TSR_AU_KM, 1.01671, 2e-4);
}

static void test_shadow_full_sun_and_umbra(tsr_test_tally *t)
{
    const double sun[3] = {TSR_AU_KM, 0.0, 0.0};
    const double lit[3] = {7000.0, 0.0, 0.0};
    const double side[3] = {0.0, 7000.0, 0.0};
    const double behind[3] = {-7000.0, 100.0, 0.0};
    CHECK(t, tsr_shadow_cylindrical(lit, sun) == 0.0);
    CHECK(t, tsr_shadow_conical(lit, sun) == 0.0);
    CHECK(t, tsr_shadow_cylindrical(side, sun) == 0.0);
    CHECK(t, tsr_shadow_conical(side, sun) == 0.0);
    CHECK(t, tsr_shadow_cylindrical(behind, sun) == 1.0);
    CHECK(t, tsr_shadow_conical(behind, sun) == 1.0);
}

/* Crossing the terminator behind the Earth: the conical fraction falls
 * monotonically from 1 to 0 over a penumbra a few tens of km wide at LEO,
 * and the cylinder's edge lies inside it. */
static void test_penumbra_is_monotonic_and_brackets_cylinder(tsr_test_tally *t)
{
    const double sun[3] = {TSR_AU_KM, 0.0, 0.0};
    double prev = 1.0;
    double first_partial = -1.0, last_partial = -1.0;
    double y;
    int ok = 1;
    for (y = 6300.0; y <= 6500.0; y += 0.5) {
        const double sat[3] = {-sqrt(6878.0 * 6878.0 - y * y), y, 0.0};
        const double f = tsr_shadow_conical(sat, sun);
        ok = ok && f <= prev + 1e-12 && f >= 0.0 && f <= 1.0;
        if (f > 0.0 && f < 1.0) {
            if (first_partial < 0.0) {
                first_partial = y;
            }
            last_partial = y;
        }
        prev = f;
    }
    CHECK(t, ok);
    CHECK(t, first_partial > 0.0);
    CHECK(t, last_partial - first_partial > 5.0 && last_partial - first_partial < 60.0);
    CHECK(t, first_partial < TSR_R_EARTH_KM && last_partial > TSR_R_EARTH_KM);
}

/* tau = 3 mu / r^3 (n x J n): zero on a principal axis, and the textbook
 * value for a yaw of 30 deg in the orbit plane. */
static void test_gravity_gradient(tsr_test_tally *t)
{
    const double j[9] = {1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0};
    const double r[3] = {7000.0, 0.0, 0.0};
    const double qi[4] = {1.0, 0.0, 0.0, 0.0};
    const double z[3] = {0.0, 0.0, 1.0};
    double q[4];
    double tau[3];
    const double k = 3.0 * TSR_MU_EARTH_KM3_S2 * 1e9 / pow(7.0e6, 3);
    tsr_gravity_gradient_torque(j, qi, r, tau);
    CHECK_NEAR(t, tsr_v3_norm(tau), 0.0, 1e-20);
    tsr_quat_from_axis_angle(z, 30.0 * DEG, q);
    tsr_gravity_gradient_torque(j, q, r, tau);
    /* n_body = (cos 30, -sin 30, 0): (n x J n)_z = (J_yy - J_xx) n_x n_y */
    CHECK_NEAR(t, tau[0], 0.0, 1e-18);
    CHECK_NEAR(t, tau[1], 0.0, 1e-18);
    CHECK_NEAR(t, tau[2], k * (2.0 - 1.0) * cos(30.0 * DEG) * -sin(30.0 * DEG), 1e-15);
}

static void test_drag_torque_and_density(tsr_test_tally *t)
{
    const double q[4] = {1.0, 0.0, 0.0, 0.0};
    const double v[3] = {7600.0, 0.0, 0.0};
    const double cp[3] = {0.0, 0.0, 0.1};
    const double rho = 1e-12;
    double tau[3];
    const double f = 0.5 * rho * 2.2 * 0.03 * 7600.0 * 7600.0;
    tsr_drag_torque(q, v, rho, 2.2, 0.03, cp, tau);
    CHECK_NEAR(t, tau[0], 0.0, 1e-20);
    CHECK_NEAR(t, tau[1], -0.1 * f, 1e-18);
    CHECK_NEAR(t, tau[2], 0.0, 1e-20);
    /* Vallado Table 8-4 rows, and continuity across a row boundary */
    CHECK_NEAR(t, tsr_atmosphere_density(500.0), 6.967e-13, 1e-18);
    CHECK_NEAR(t, tsr_atmosphere_density(400.0), 3.725e-12, 1e-17);
    CHECK_NEAR(t, tsr_atmosphere_density(449.999) / tsr_atmosphere_density(450.0), 1.0, 0.03);
    CHECK(t, tsr_atmosphere_density(800.0) < tsr_atmosphere_density(600.0));
}

int main(void)
{
    tsr_test_tally t;
    memset(&t, 0, sizeof(t));
    RUN(&t, test_sun_vallado_example_5_1);
    RUN(&t, test_sun_on_ecliptic_over_a_year);
    RUN(&t, test_shadow_full_sun_and_umbra);
    RUN(&t, test_penumbra_is_monotonic_and_brackets_cylinder);
    RUN(&t, test_gravity_gradient);
    RUN(&t, test_drag_torque_and_density);
    return TSR_TEST_EXIT(&t);
}
