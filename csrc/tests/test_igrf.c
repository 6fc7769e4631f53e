/* Unit tests for tsr_igrf (IGRF-14). The full comparison with an
 * independent implementation is in tests/gnc (ppigrf). */
#include <math.h>
#include <string.h>

#include "tsr_igrf.h"
#include "tsr_magfield.h"
#include "tsr_test.h"
#include "tsr_vecmath.h"

#define DEG (3.14159265358979323846 / 180.0)

/* Values from the IGRF-14 coefficient table (IAGA V-MOD, 2024). */
static void test_coefficients_at_epochs(tsr_test_tally *t)
{
    double g[196], h[196];
    CHECK(t, tsr_igrf_coefficients(2025.0, 13, g, h) == 0);
    CHECK_NEAR(t, g[1 * 14 + 0], -29350.0, 1e-9);
    CHECK_NEAR(t, g[1 * 14 + 1], -1410.3, 1e-9);
    CHECK_NEAR(t, h[1 * 14 + 1], 4545.5, 1e-9);
    CHECK_NEAR(t, g[13 * 14 + 13], -0.4, 1e-9);
    CHECK(t, tsr_igrf_coefficients(2020.0, 13, g, h) == 0);
    CHECK_NEAR(t, g[1 * 14 + 0], -29403.41, 1e-9);
    /* halfway to 2030: the 2025 model plus 2.5 years of secular variation */
    CHECK(t, tsr_igrf_coefficients(2027.5, 13, g, h) == 0);
    CHECK_NEAR(t, g[1 * 14 + 0], -29318.5, 1e-9);
    CHECK(t, tsr_igrf_coefficients(2027.5, 3, g, h) == 0);
    CHECK(t, g[4 * 14 + 0] == 0.0);
    CHECK(t, tsr_igrf_coefficients(1899.9, 13, g, h) != 0);
    CHECK(t, tsr_igrf_coefficients(2030.1, 13, g, h) != 0);
    CHECK(t, tsr_igrf_coefficients(2026.0, 14, g, h) != 0);
}

/* Degree 1 alone is the tilted dipole: compare with tsr_magfield, whose
 * IGRF-13 2020 coefficients differ from IGRF-14's 2020 ones by < 1.5 nT. */
static void test_degree_one_matches_dipole(tsr_test_tally *t)
{
    const double r[3] = {3000.0, -4000.0, 4500.0};
    double b1[3], b2[3];
    int i;
    CHECK(t, tsr_igrf_field_ecef(r, 2020.0, 1, b1) == 0);
    tsr_dipole_field_ecef(r, b2);
    for (i = 0; i < 3; i++) {
        CHECK_NEAR(t, b1[i], b2[i], 1.5e-9);
    }
}

/* Full model at LEO: magnitude in the known 18-60 uT range everywhere, and
 * finite and continuous at the poles, where the east component is a limit. */
static void test_field_range_and_poles(tsr_test_tally *t)
{
    double lat, lon;
    double bp[3], bq[3];
    const double pole[3] = {0.0, 0.0, 6878.0};
    const double near_pole[3] = {6878.0 * sin(1e-7), 0.0, 6878.0 * cos(1e-7)};
    for (lat = -85.0; lat <= 85.0; lat += 10.0) {
        for (lon = -180.0; lon < 180.0; lon += 20.0) {
            const double r[3] = {6878.0 * cos(lat * DEG) * cos(lon * DEG),
                                 6878.0 * cos(lat * DEG) * sin(lon * DEG), 6878.0 * sin(lat * DEG)};
            double b[3];
            CHECK(t, tsr_igrf_field_ecef(r, 2026.5, 13, b) == 0);
            CHECK(t, tsr_v3_norm(b) > 15e-6 && tsr_v3_norm(b) < 60e-6);
        }
    }
    CHECK(t, tsr_igrf_field_ecef(pole, 2026.5, 13, bp) == 0);
    CHECK(t, tsr_igrf_field_ecef(near_pole, 2026.5, 13, bq) == 0);
    CHECK(t, isfinite(bp[0]) && isfinite(bp[1]) && isfinite(bp[2]));
    CHECK(t, fabs(bp[0] - bq[0]) < 1e-10 && fabs(bp[1] - bq[1]) < 1e-10 &&
                 fabs(bp[2] - bq[2]) < 1e-10);
}

/* ECI and ECEF agree through the rotation; bad input is refused. */
static void test_eci_rotation_and_errors(tsr_test_tally *t)
{
    const double gmst = 1.234;
    const double r_eci[3] = {4000.0, 5000.0, 2000.0};
    const double r_ecef[3] = {cos(gmst) * r_eci[0] + sin(gmst) * r_eci[1],
                              -sin(gmst) * r_eci[0] + cos(gmst) * r_eci[1], r_eci[2]};
    const double zero[3] = {0.0, 0.0, 0.0};
    double b_eci[3], b_ecef[3];
    CHECK(t, tsr_igrf_field_eci(r_eci, gmst, 2026.0, 13, b_eci) == 0);
    CHECK(t, tsr_igrf_field_ecef(r_ecef, 2026.0, 13, b_ecef) == 0);
    CHECK_NEAR(t, tsr_v3_norm(b_eci), tsr_v3_norm(b_ecef), 1e-15);
    CHECK_NEAR(t, b_eci[2], b_ecef[2], 1e-15);
    CHECK_NEAR(t, cos(gmst) * b_eci[0] + sin(gmst) * b_eci[1], b_ecef[0], 1e-15);
    CHECK(t, tsr_igrf_field_ecef(zero, 2026.0, 13, b_ecef) != 0);
    CHECK(t, tsr_igrf_field_ecef(r_ecef, NAN, 13, b_ecef) != 0);
}

int main(void)
{
    tsr_test_tally t;
    memset(&t, 0, sizeof(t));
    RUN(&t, test_coefficients_at_epochs);
    RUN(&t, test_degree_one_matches_dipole);
    RUN(&t, test_field_range_and_poles);
    RUN(&t, test_eci_rotation_and_errors);
    return TSR_TEST_EXIT(&t);
}
