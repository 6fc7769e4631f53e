/*
 * test_frames.c - Earth frames and topocentric geometry (tsr_frames.h).
 * Published values: Vallado, "Fundamentals of Astrodynamics and
 * Applications", Example 3-3 (ECEF to geodetic) and Example 3-5 (GMST);
 * Meeus, "Astronomical Algorithms", 2nd ed., Example 22.a (nutation).
 */
#include "tsr_frames.h"
#include "tsr_sgp4.h"
#include "tsr_test.h"

#include <math.h>

#define PI 3.14159265358979323846
#define DEG (PI / 180.0)

static void test_gmst_example_3_5(tsr_test_tally *t)
{
    /* 1992 Aug 20 12:14 UT1 -> 152.578787886 deg */
    CHECK_NEAR(t, tsr_gmst82(2448854.5, (12.0 + 14.0 / 60.0) / 24.0) / DEG, 152.578787886, 1e-6);
    /* the split date keeps the fraction's resolution */
    CHECK_NEAR(t, tsr_gmst82(2451545.0, 0.0), tsr_gstime(2451545.0), 1e-12);
}

static void test_geodetic_example_3_3(tsr_test_tally *t)
{
    const double r[3] = {6524.834, 6862.875, 6448.296};
    double lat, lon, h;
    tsr_ecef_to_geodetic_wgs84(r, &lat, &lon, &h);
    CHECK_NEAR(t, lat / DEG, 34.352496, 1e-6);
    CHECK_NEAR(t, lon / DEG, 46.4464, 1e-4);
    CHECK_NEAR(t, h, 5085.22, 1e-2);
}

static void test_geodetic_round_trip(tsr_test_tally *t)
{
    const double lats[5] = {-90.0, -45.5, 0.0, 33.3, 90.0};
    const double hs[4] = {-5.0, 0.0, 500.0, 35786.0};
    for (int i = 0; i < 5; ++i) {
        for (int j = 0; j < 4; ++j) {
            double r[3], lat, lon, h;
            tsr_geodetic_to_ecef_wgs84(lats[i] * DEG, 123.0 * DEG, hs[j], r);
            tsr_ecef_to_geodetic_wgs84(r, &lat, &lon, &h);
            CHECK_NEAR(t, lat / DEG, lats[i], 1e-10);
            CHECK_NEAR(t, h, hs[j], 1e-9);
            if (fabs(lats[i]) < 90.0) {
                CHECK_NEAR(t, lon / DEG, 123.0, 1e-10);
            }
        }
    }
}

static void test_teme_ecef_round_trip(tsr_test_tally *t)
{
    const double r[3] = {-9060.47373569, 4658.70952502, 813.68673153};
    const double v[3] = {-2.232832783, -4.110453490, -3.157345433};
    double re[3], ve[3], r2[3], v2[3];
    tsr_teme_to_ecef(r, v, 1.234, 1e-6, -2e-6, re, ve);
    tsr_ecef_to_teme(re, ve, 1.234, 1e-6, -2e-6, r2, v2);
    for (int i = 0; i < 3; ++i) {
        CHECK_NEAR(t, r2[i], r[i], 1e-9);
        CHECK_NEAR(t, v2[i], v[i], 1e-12);
    }
    /* with no polar motion the z components are equal */
    tsr_teme_to_ecef(r, v, 1.234, 0.0, 0.0, re, ve);
    CHECK_NEAR(t, re[2], r[2], 1e-12);
    CHECK_NEAR(t, ve[2], v[2], 1e-12);
    /* a point fixed on Earth has zero ECEF velocity */
    const double gmst = 0.7;
    const double w = 7.29211514670698e-5;
    const double fixed_teme[3] = {6378.0 * cos(gmst), 6378.0 * sin(gmst), 0.0};
    const double vel_teme[3] = {-w * fixed_teme[1], w * fixed_teme[0], 0.0};
    tsr_teme_to_ecef(fixed_teme, vel_teme, gmst, 0.0, 0.0, re, ve);
    CHECK_NEAR(t, re[0], 6378.0, 1e-9);
    CHECK_NEAR(t, re[1], 0.0, 1e-9);
    CHECK_NEAR(t, ve[0], 0.0, 1e-15);
    CHECK_NEAR(t, ve[1], 0.0, 1e-15);
}

static void test_look_angles_geometry(tsr_test_tally *t)
{
    const double lat = 40.0 * DEG, lon = -105.0 * DEG, h = 1.6;
    double site[3], up[3], out[4];
    const double still[3] = {0.0, 0.0, 0.0};
    tsr_geodetic_to_ecef_wgs84(lat, lon, h, site);
    /* 1000 km straight up the ellipsoid normal: elevation 90 deg */
    tsr_geodetic_to_ecef_wgs84(lat, lon, h + 1000.0, up);
    tsr_look_angles(up, still, lat, lon, h, out);
    CHECK_NEAR(t, out[1] / DEG, 90.0, 1e-9);
    CHECK_NEAR(t, out[2], 1000.0, 1e-9);
    CHECK_NEAR(t, out[3], 0.0, 1e-15);
    /* due north along the local meridian tangent: azimuth 0, elevation 0 */
    const double north[3] = {-sin(lat) * cos(lon), -sin(lat) * sin(lon), cos(lat)};
    const double target[3] = {site[0] + 100.0 * north[0], site[1] + 100.0 * north[1],
                              site[2] + 100.0 * north[2]};
    const double away[3] = {north[0], north[1], north[2]};
    tsr_look_angles(target, away, lat, lon, h, out);
    CHECK(t, out[0] < 1e-9 || out[0] > 2.0 * PI - 1e-9);
    CHECK_NEAR(t, out[1], 0.0, 1e-12);
    CHECK_NEAR(t, out[3], 1.0, 1e-12);
    CHECK(t, out[0] >= 0.0 && out[0] < 2.0 * PI);
}

static void test_nutation_meeus_22a(tsr_test_tally *t)
{
    /* 1987 April 10, 0h TD: dpsi = -3.788", deps = +9.443",
     * mean obliquity 23 deg 26' 27.407" */
    const double as = PI / 648000.0;
    double dpsi, deps, eps0;
    tsr_nutation80(2446895.5, 0.0, &dpsi, &deps, &eps0);
    CHECK_NEAR(t, dpsi / as, -3.788, 0.003);
    CHECK_NEAR(t, deps / as, 9.443, 0.003);
    CHECK_NEAR(t, eps0 / as, 23.0 * 3600.0 + 26.0 * 60.0 + 27.407, 0.001);
}

static void test_inertial_matrices(tsr_test_tally *t)
{
    double m[9], j[9];
    /* orthonormal, and mean of date = J2000 at J2000.0 */
    tsr_teme_to_mod_matrix(2451545.0, 0.0, m);
    tsr_teme_to_j2000_matrix(2451545.0, 0.0, j);
    for (int i = 0; i < 9; ++i) {
        CHECK_NEAR(t, m[i], j[i], 1e-15);
    }
    tsr_teme_to_j2000_matrix(2460500.5, 0.25, j);
    for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) {
            const double dot = j[3 * a] * j[3 * b] + j[3 * a + 1] * j[3 * b + 1]
                               + j[3 * a + 2] * j[3 * b + 2];
            CHECK_NEAR(t, dot, a == b ? 1.0 : 0.0, 1e-15);
        }
    }
    /* 24.5 years of precession: the pole has moved about 490 arcsec */
    CHECK_NEAR(t, acos(j[8]) / (PI / 648000.0), 2004.3109 * 0.245, 2.0);
    /* batch round trip */
    const double r[3] = {7000.0, -200.0, 300.0}, v[3] = {0.1, 7.5, 1.0};
    const double jd = 2460500.5, fr = 0.25;
    double ri[3], vi[3], r2[3], v2[3];
    tsr_teme_inertial_many(1, 1, 0, &jd, &fr, r, v, ri, vi);
    tsr_teme_inertial_many(1, 1, 1, &jd, &fr, ri, vi, r2, v2);
    for (int k = 0; k < 3; ++k) {
        CHECK_NEAR(t, r2[k], r[k], 1e-9);
        CHECK_NEAR(t, v2[k], v[k], 1e-12);
    }
}

static void test_sgp4_look_angles_batch(tsr_test_tally *t)
{
    tsr_sgp4_sat sat;
    const double pi = PI, xpdotp = 1440.0 / (2.0 * pi);
    tsr_sgp4_init(&sat, 2451722.5, 0.78495062, 2.8098e-05, 2.3e-07 / (xpdotp * 1440.0), 0.0,
                  0.1859667, 331.7664 * DEG, 34.2682 * DEG, 19.3264 * DEG, 10.82419157 / xpdotp,
                  348.7242 * DEG, TSR_SGP4_OPSMODE_IMPROVED);
    const double jd[2] = {2451722.5, 2451723.5};
    const double fr[2] = {0.78495062, 0.1};
    double out[8], r[3], v[3], re[3], ve[3], one[4];
    int err[2];
    tsr_sgp4_look_angles(&sat, 2, jd, fr, 0.0, 0.5, 0.2, 0.1, out, err);
    CHECK(t, err[0] == 0 && err[1] == 0);
    /* same as the separate steps */
    tsr_sgp4(&sat, (jd[1] - sat.epoch_jd) * 1440.0 + (fr[1] - sat.epoch_jd_frac) * 1440.0, r, v);
    tsr_teme_to_ecef(r, v, tsr_gmst82(jd[1], fr[1]), 0.0, 0.0, re, ve);
    tsr_look_angles(re, ve, 0.5, 0.2, 0.1, one);
    for (int i = 0; i < 4; ++i) {
        CHECK_NEAR(t, out[4 + i], one[i], 1e-12);
    }
}

int main(void)
{
    tsr_test_tally t = {0, 0, 0};
    RUN(&t, test_gmst_example_3_5);
    RUN(&t, test_geodetic_example_3_3);
    RUN(&t, test_geodetic_round_trip);
    RUN(&t, test_teme_ecef_round_trip);
    RUN(&t, test_look_angles_geometry);
    RUN(&t, test_sgp4_look_angles_batch);
    RUN(&t, test_nutation_meeus_22a);
    RUN(&t, test_inertial_matrices);
    return TSR_TEST_EXIT(&t);
}
