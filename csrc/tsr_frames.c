/*
 * tsr_frames.c - see tsr_frames.h.
 *
 * References: D. A. Vallado, "Fundamentals of Astrodynamics and
 * Applications" (teme2ecef, polar motion W = R1(yp) R2(xp) for IAU-76/FK5,
 * site and topocentric SEZ/ENU geometry); Vallado, Crawford, Hujsak & Kelso,
 * AIAA 2006-6753 (TEME and its relation to GMST); NIMA TR8350.2 (WGS-84).
 */
#include "tsr_frames.h"

#include "tsr_sgp4.h"

#include <math.h>

#define WGS84_A_KM 6378.137
#define WGS84_F (1.0 / 298.257223563)
#define EARTH_RATE_RAD_S 7.29211514670698e-5
#define FR_PI 3.14159265358979323846

static double wgs84_e2(void)
{
    return WGS84_F * (2.0 - WGS84_F);
}

/* IAU-82 GMST from a Julian date split in two, differenced before adding so
 * the fraction keeps its resolution (same formula as tsr_gstime). */
double tsr_gmst82(double jd_ut1, double jd_ut1_frac)
{
    const double tut1 = ((jd_ut1 - 2451545.0) + jd_ut1_frac) / 36525.0;
    const double s = -6.2e-6 * tut1 * tut1 * tut1 + 0.093104 * tut1 * tut1
                     + (876600.0 * 3600.0 + 8640184.812866) * tut1 + 67310.54841;
    double g = fmod(s * (FR_PI / 180.0) / 240.0, 2.0 * FR_PI);
    if (g < 0.0) {
        g += 2.0 * FR_PI;
    }
    return g;
}

/* r_pef = W r_ecef with W = R1(yp) R2(xp) (IAU-76/FK5 polar motion). */
static void polar_w(double xp, double yp, double w[9])
{
    const double cx = cos(xp), sx = sin(xp), cy = cos(yp), sy = sin(yp);
    w[0] = cx;      w[1] = 0.0; w[2] = -sx;
    w[3] = sx * sy; w[4] = cy;  w[5] = cx * sy;
    w[6] = sx * cy; w[7] = -sy; w[8] = cx * cy;
}

void tsr_teme_to_ecef(const double r_teme[3], const double v_teme[3], double gmst,
                      double xp, double yp, double r_ecef[3], double v_ecef[3])
{
    const double c = cos(gmst), s = sin(gmst);
    double w[9];
    /* TEME -> PEF: rotate by GMST about z */
    const double rp[3] = {c * r_teme[0] + s * r_teme[1], -s * r_teme[0] + c * r_teme[1], r_teme[2]};
    /* v_pef = R3 v_teme - omega x r_pef */
    const double vp[3] = {c * v_teme[0] + s * v_teme[1] + EARTH_RATE_RAD_S * rp[1],
                          -s * v_teme[0] + c * v_teme[1] - EARTH_RATE_RAD_S * rp[0], v_teme[2]};
    polar_w(xp, yp, w);
    /* PEF -> ECEF: W transposed */
    for (int i = 0; i < 3; ++i) {
        r_ecef[i] = w[i] * rp[0] + w[3 + i] * rp[1] + w[6 + i] * rp[2];
        v_ecef[i] = w[i] * vp[0] + w[3 + i] * vp[1] + w[6 + i] * vp[2];
    }
}

void tsr_ecef_to_teme(const double r_ecef[3], const double v_ecef[3], double gmst,
                      double xp, double yp, double r_teme[3], double v_teme[3])
{
    const double c = cos(gmst), s = sin(gmst);
    double w[9], rp[3], vp[3];
    polar_w(xp, yp, w);
    for (int i = 0; i < 3; ++i) {
        rp[i] = w[3 * i] * r_ecef[0] + w[3 * i + 1] * r_ecef[1] + w[3 * i + 2] * r_ecef[2];
        vp[i] = w[3 * i] * v_ecef[0] + w[3 * i + 1] * v_ecef[1] + w[3 * i + 2] * v_ecef[2];
    }
    /* inertial velocity in PEF axes: v_pef + omega x r_pef */
    const double vi[3] = {vp[0] - EARTH_RATE_RAD_S * rp[1], vp[1] + EARTH_RATE_RAD_S * rp[0], vp[2]};
    r_teme[0] = c * rp[0] - s * rp[1];
    r_teme[1] = s * rp[0] + c * rp[1];
    r_teme[2] = rp[2];
    v_teme[0] = c * vi[0] - s * vi[1];
    v_teme[1] = s * vi[0] + c * vi[1];
    v_teme[2] = vi[2];
}

void tsr_geodetic_to_ecef_wgs84(double lat, double lon, double h_km, double r[3])
{
    const double e2 = wgs84_e2();
    const double sl = sin(lat), cl = cos(lat);
    const double n = WGS84_A_KM / sqrt(1.0 - e2 * sl * sl);
    r[0] = (n + h_km) * cl * cos(lon);
    r[1] = (n + h_km) * cl * sin(lon);
    r[2] = (n * (1.0 - e2) + h_km) * sl;
}

void tsr_ecef_to_geodetic_wgs84(const double r[3], double *lat_out, double *lon_out,
                                double *h_out)
{
    /* Fixed-point iteration on latitude (Vallado, algorithm "ECEF to lat,
     * lon"), with the height from h = p cos(lat) + z sin(lat) - a W(lat),
     * which holds at every latitude including the poles. Converges to
     * 1e-15 rad in a few steps for any point above the Earth's core. */
    const double e2 = wgs84_e2();
    const double p = sqrt(r[0] * r[0] + r[1] * r[1]);
    const double z = r[2];
    double lat = atan2(z, p * (1.0 - e2));
    for (int i = 0; i < 12; ++i) {
        const double s = sin(lat);
        const double n = WGS84_A_KM / sqrt(1.0 - e2 * s * s);
        const double h = p * cos(lat) + z * s - WGS84_A_KM * sqrt(1.0 - e2 * s * s);
        const double next = atan2(z, p * (1.0 - e2 * n / (n + h)));
        const double step = fabs(next - lat);
        lat = next;
        if (step < 1e-15) {
            break;
        }
    }
    const double s = sin(lat);
    *lat_out = lat;
    *lon_out = atan2(r[1], r[0]);
    *h_out = p * cos(lat) + z * s - WGS84_A_KM * sqrt(1.0 - e2 * s * s);
}

void tsr_look_angles(const double r_ecef[3], const double v_ecef[3], double lat, double lon,
                     double h_km, double out[4])
{
    double site[3];
    tsr_geodetic_to_ecef_wgs84(lat, lon, h_km, site);
    const double d[3] = {r_ecef[0] - site[0], r_ecef[1] - site[1], r_ecef[2] - site[2]};
    const double sl = sin(lat), cl = cos(lat), so = sin(lon), co = cos(lon);
    /* east, north, up components of the line of sight */
    const double e = -so * d[0] + co * d[1];
    const double nn = -sl * co * d[0] - sl * so * d[1] + cl * d[2];
    const double u = cl * co * d[0] + cl * so * d[1] + sl * d[2];
    const double range = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    double az = atan2(e, nn);
    if (az < 0.0) {
        az += 2.0 * FR_PI;
    }
    out[0] = az;
    out[1] = atan2(u, sqrt(e * e + nn * nn));
    out[2] = range;
    out[3] = range > 0.0
                 ? (d[0] * v_ecef[0] + d[1] * v_ecef[1] + d[2] * v_ecef[2]) / range
                 : 0.0;
}

void tsr_teme_to_ecef_many(long n, const double *r_teme, const double *v_teme,
                           const double *jd_ut1, const double *jd_ut1_frac, double xp, double yp,
                           double *r_ecef, double *v_ecef)
{
    for (long i = 0; i < n; ++i) {
        tsr_teme_to_ecef(r_teme + 3 * i, v_teme + 3 * i, tsr_gmst82(jd_ut1[i], jd_ut1_frac[i]),
                         xp, yp, r_ecef + 3 * i, v_ecef + 3 * i);
    }
}

void tsr_ecef_to_teme_many(long n, const double *r_ecef, const double *v_ecef,
                           const double *jd_ut1, const double *jd_ut1_frac, double xp, double yp,
                           double *r_teme, double *v_teme)
{
    for (long i = 0; i < n; ++i) {
        tsr_ecef_to_teme(r_ecef + 3 * i, v_ecef + 3 * i, tsr_gmst82(jd_ut1[i], jd_ut1_frac[i]),
                         xp, yp, r_teme + 3 * i, v_teme + 3 * i);
    }
}

void tsr_ecef_to_geodetic_many(long n, const double *r_ecef, double *lat, double *lon,
                               double *h_km)
{
    for (long i = 0; i < n; ++i) {
        tsr_ecef_to_geodetic_wgs84(r_ecef + 3 * i, lat + i, lon + i, h_km + i);
    }
}

void tsr_look_angles_many(long n, const double *r_ecef, const double *v_ecef, double lat,
                          double lon, double h_km, double *out4)
{
    for (long i = 0; i < n; ++i) {
        tsr_look_angles(r_ecef + 3 * i, v_ecef + 3 * i, lat, lon, h_km, out4 + 4 * i);
    }
}

void tsr_sgp4_look_angles(const tsr_sgp4_sat *sat, long n, const double *jd_utc,
                          const double *jd_utc_frac, double dut1_s, double lat, double lon,
                          double h_km, double *out4, int *err)
{
    for (long i = 0; i < n; ++i) {
        double r[3], v[3], re[3], ve[3];
        const double tsince = (jd_utc[i] - sat->epoch_jd) * 1440.0
                              + (jd_utc_frac[i] - sat->epoch_jd_frac) * 1440.0;
        err[i] = tsr_sgp4(sat, tsince, r, v);
        const double gmst = tsr_gmst82(jd_utc[i], jd_utc_frac[i] + dut1_s / 86400.0);
        tsr_teme_to_ecef(r, v, gmst, 0.0, 0.0, re, ve);
        tsr_look_angles(re, ve, lat, lon, h_km, out4 + 4 * i);
    }
}
