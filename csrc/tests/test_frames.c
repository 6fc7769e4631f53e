/*
 * test_frames.c - Earth frames and topocentric geometry (tsr_frames.h).
 * Published values: Vallado, "Fundamentals of Astrodynamics and
 * Applications", Example 3-3 (ECEF to geodetic) and Example 3-5 (GMST).
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
    return TSR_TEST_EXIT(&t);
}
