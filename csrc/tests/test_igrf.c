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

/* The plain formulation of the synthesis, kept here as the reference: angles
 * by atan2, libm cos and sin of every multiple of the longitude, two square
 * roots and a division per Legendre term (Langel 1987; Winch et al. 2005),
 * coefficients copied out by tsr_igrf_coefficients. Field in T, ECEF. */
static void plain_field_ecef(const double r_ecef_km[3], double year, int nmax, double b[3])
{
    double g[196], h[196], p[196], dp[196], cosm[14], sinm[14];
    const double rxy = sqrt(r_ecef_km[0] * r_ecef_km[0] + r_ecef_km[1] * r_ecef_km[1]);
    const double r = sqrt(rxy * rxy + r_ecef_km[2] * r_ecef_km[2]);
    const double colat = atan2(rxy, r_ecef_km[2]);
    const double lon = atan2(r_ecef_km[1], r_ecef_km[0]);
    const double ct = cos(colat), st0 = sin(colat), cp = cos(lon), sp = sin(lon);
    const double st = (fabs(st0) < 1e-10) ? 1e-10 : st0;
    double ratio = 6371.2 / r, rpow = ratio * ratio, br = 0.0, bt = 0.0, bp = 0.0;
    int n, m;
    (void)tsr_igrf_coefficients(year, nmax, g, h);
    for (m = 0; m <= nmax; m++) {
        cosm[m] = cos(m * lon);
        sinm[m] = sin(m * lon);
    }
    p[0] = 1.0;
    dp[0] = 0.0;
    for (n = 1; n <= nmax; n++) {
        for (m = 0; m <= n; m++) {
            const int k = n * 14 + m, j = (n - 1) * 14 + m;
            if (m == n) {
                const double s = (n == 1) ? 1.0 : sqrt(1.0 - 1.0 / (2.0 * n));
                p[k] = (n == 1) ? st : s * st * p[j - 1];
                dp[k] = (n == 1) ? ct : s * (st * dp[j - 1] + ct * p[j - 1]);
            } else {
                const double d = sqrt((double)(n * n - m * m));
                const double c2 = (m <= n - 2) ? sqrt((double)((n - 1) * (n - 1) - m * m)) : 0.0;
                const double p2 = (m <= n - 2) ? p[j - 14] : 0.0;
                const double dp2 = (m <= n - 2) ? dp[j - 14] : 0.0;
                p[k] = ((2.0 * n - 1.0) * ct * p[j] - c2 * p2) / d;
                dp[k] = ((2.0 * n - 1.0) * (ct * dp[j] - st * p[j]) - c2 * dp2) / d;
            }
        }
    }
    for (n = 1; n <= nmax; n++) {
        double sr = 0.0, stt = 0.0, sph = 0.0;
        rpow *= ratio;
        for (m = 0; m <= n; m++) {
            const int k = n * 14 + m;
            const double gc = g[k] * cosm[m] + h[k] * sinm[m];
            sr += gc * p[k];
            stt += gc * dp[k];
            sph += m * (g[k] * sinm[m] - h[k] * cosm[m]) * p[k];
        }
        br += (n + 1) * rpow * sr;
        bt -= rpow * stt;
        bp += rpow * sph;
    }
    bp /= st;
    b[0] = 1e-9 * (br * st0 * cp + bt * ct * cp - bp * sp);
    b[1] = 1e-9 * (br * st0 * sp + bt * ct * sp + bp * cp);
    b[2] = 1e-9 * (br * ct - bt * st0);
}

/* The evaluated synthesis (tabled recursion factors, angle-addition multiples
 * of the longitude, no angle taken) agrees with the plain one to rounding at
 * every degree, from the surface to GEO and down to 1e-9 rad of the poles. */
static void test_matches_plain_formulation(tsr_test_tally *t)
{
    const double colats[] = {1e-9, 1e-6, 1e-3, 0.3, 1.0, 1.5707963, 2.2, 3.0, 3.14159165};
    const double radii[] = {6371.2, 6878.0, 42164.0};
    const double years[] = {1903.7, 2026.5};
    double worst = 0.0;
    int ic, il, ir, iy, nmax, i;
    for (iy = 0; iy < 2; iy++)
        for (ir = 0; ir < 3; ir++)
            for (ic = 0; ic < 9; ic++)
                for (il = 0; il < 12; il++)
                    for (nmax = 1; nmax <= 13; nmax++) {
                        const double lon = -3.1 + 0.53 * il;
                        const double r[3] = {radii[ir] * sin(colats[ic]) * cos(lon),
                                             radii[ir] * sin(colats[ic]) * sin(lon),
                                             radii[ir] * cos(colats[ic])};
                        double want[3], got[3];
                        plain_field_ecef(r, years[iy], nmax, want);
                        CHECK(t, tsr_igrf_field_ecef(r, years[iy], nmax, got) == 0);
                        for (i = 0; i < 3; i++) {
                            const double rel = fabs(got[i] - want[i]) / tsr_v3_norm(want);
                            worst = (rel > worst) ? rel : worst;
                        }
                    }
    /* about 1e-15 measured; a wrong factor or order would be 1e-4 or more */
    CHECK(t, worst < 1e-13);
}

/* The spherical components are those of the Earth-fixed field. */
static void test_spherical_components(tsr_test_tally *t)
{
    const double colat = 1.1, lon = -2.4, r = 6900.0;
    const double ct = cos(colat), st = sin(colat), cp = cos(lon), sp = sin(lon);
    const double pos[3] = {r * st * cp, r * st * sp, r * ct};
    double rtp[3], b[3];
    CHECK(t, tsr_igrf_field_spherical(r, colat, lon, 2026.5, 13, rtp) == 0);
    CHECK(t, tsr_igrf_field_ecef(pos, 2026.5, 13, b) == 0);
    CHECK_NEAR(t, 1e-9 * rtp[0], st * cp * b[0] + st * sp * b[1] + ct * b[2], 1e-18);
    CHECK_NEAR(t, 1e-9 * rtp[1], ct * cp * b[0] + ct * sp * b[1] - st * b[2], 1e-18);
    CHECK_NEAR(t, 1e-9 * rtp[2], -sp * b[0] + cp * b[1], 1e-18);
    CHECK(t, tsr_igrf_field_spherical(r, NAN, lon, 2026.5, 13, rtp) != 0);
    CHECK(t, tsr_igrf_field_spherical(r, colat, lon, 2026.5, 0, rtp) != 0);
}

int main(void)
{
    tsr_test_tally t;
    memset(&t, 0, sizeof(t));
    RUN(&t, test_coefficients_at_epochs);
    RUN(&t, test_degree_one_matches_dipole);
    RUN(&t, test_field_range_and_poles);
    RUN(&t, test_eci_rotation_and_errors);
    RUN(&t, test_matches_plain_formulation);
    RUN(&t, test_spherical_components);
    return TSR_TEST_EXIT(&t);
}
