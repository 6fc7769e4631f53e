/*
 * tsr_frames.c - see tsr_frames.h.
 *
 * References: P. K. Seidelmann (ed.), "Explanatory Supplement to the
 * Astronomical Almanac" (1992), sec. 3.222 (IAU 1980 nutation) and
 * Lieske et al. 1977 (IAU 1976 precession); D. A. Vallado, "Fundamentals of Astrodynamics and
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

void tsr_geodetic_to_ecef_many(long n, const double *lat, const double *lon, const double *h_km,
                               double *r_ecef)
{
    for (long i = 0; i < n; ++i) {
        tsr_geodetic_to_ecef_wgs84(lat[i], lon[i], h_km[i], r_ecef + 3 * i);
    }
}

void tsr_gmst82_many(long n, const double *jd_ut1, const double *jd_ut1_frac, double *gmst)
{
    for (long i = 0; i < n; ++i) {
        gmst[i] = tsr_gmst82(jd_ut1[i], jd_ut1_frac[i]);
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

/* ---- precession and nutation ------------------------------------------ */

#define ARCSEC (FR_PI / 648000.0)

/* IAU 1980 nutation terms with amplitudes of 0.5 mas or more: multipliers
 * of the Delaunay arguments D, M (sun), M' (moon), F, Omega, then dpsi
 * sine coefficients A + B T and deps cosine coefficients C + D T, in
 * 0.0001 arcsec (Seidelmann 1992, table 3.222.1). The terms left out are
 * each below 0.0005 arcsec. */
typedef struct {
    signed char d, m, mp, f, om;
    double a, b, c, dd;
} nut_term;

static const nut_term NUT80[] = {
    {0, 0, 0, 0, 1, -171996.0, -174.2, 92025.0, 8.9},
    {-2, 0, 0, 2, 2, -13187.0, -1.6, 5736.0, -3.1},
    {0, 0, 0, 2, 2, -2274.0, -0.2, 977.0, -0.5},
    {0, 0, 0, 0, 2, 2062.0, 0.2, -895.0, 0.5},
    {0, 1, 0, 0, 0, 1426.0, -3.4, 54.0, -0.1},
    {0, 0, 1, 0, 0, 712.0, 0.1, -7.0, 0.0},
    {-2, 1, 0, 2, 2, -517.0, 1.2, 224.0, -0.6},
    {0, 0, 0, 2, 1, -386.0, -0.4, 200.0, 0.0},
    {0, 0, 1, 2, 2, -301.0, 0.0, 129.0, -0.1},
    {-2, -1, 0, 2, 2, 217.0, -0.5, -95.0, 0.3},
    {-2, 0, 1, 0, 0, -158.0, 0.0, 0.0, 0.0},
    {-2, 0, 0, 2, 1, 129.0, 0.1, -70.0, 0.0},
    {0, 0, -1, 2, 2, 123.0, 0.0, -53.0, 0.0},
    {2, 0, 0, 0, 0, 63.0, 0.0, 0.0, 0.0},
    {0, 0, 1, 0, 1, 63.0, 0.1, -33.0, 0.0},
    {2, 0, -1, 2, 2, -59.0, 0.0, 26.0, 0.0},
    {0, 0, -1, 0, 1, -58.0, -0.1, 32.0, 0.0},
    {0, 0, 1, 2, 1, -51.0, 0.0, 27.0, 0.0},
    {-2, 0, 2, 0, 0, 48.0, 0.0, 0.0, 0.0},
    {0, 0, -2, 2, 1, 46.0, 0.0, -24.0, 0.0},
    {2, 0, 0, 2, 2, -38.0, 0.0, 16.0, 0.0},
    {0, 0, 2, 2, 2, -31.0, 0.0, 13.0, 0.0},
    {0, 0, 2, 0, 0, 29.0, 0.0, 0.0, 0.0},
    {-2, 0, 1, 2, 2, 29.0, 0.0, -12.0, 0.0},
    {0, 0, 0, 2, 0, 26.0, 0.0, 0.0, 0.0},
    {-2, 0, 0, 2, 0, -22.0, 0.0, 0.0, 0.0},
    {0, 0, -1, 2, 1, 21.0, 0.0, -10.0, 0.0},
    {0, 2, 0, 0, 0, 17.0, -0.1, 0.0, 0.0},
    {2, 0, -1, 0, 1, 16.0, 0.0, -8.0, 0.0},
    {-2, 2, 0, 2, 2, -16.0, 0.1, 7.0, 0.0},
    {0, 1, 0, 0, 1, -15.0, 0.0, 9.0, 0.0},
    {-2, 0, 1, 0, 1, -13.0, 0.0, 7.0, 0.0},
    {0, -1, 0, 0, 1, -12.0, 0.0, 6.0, 0.0},
    {0, 0, 2, -2, 0, 11.0, 0.0, 0.0, 0.0},
    {2, 0, -1, 2, 1, -10.0, 0.0, 5.0, 0.0},
    {2, 0, 1, 2, 2, -8.0, 0.0, 3.0, 0.0},
    {0, 1, 0, 2, 2, 7.0, 0.0, -3.0, 0.0},
    {-2, 1, 1, 0, 0, -7.0, 0.0, 0.0, 0.0},
    {0, -1, 0, 2, 2, -7.0, 0.0, 3.0, 0.0},
    {2, 0, 0, 2, 1, -7.0, 0.0, 3.0, 0.0},
    {2, 0, 1, 0, 0, 6.0, 0.0, 0.0, 0.0},
    {-2, 0, 2, 2, 2, 6.0, 0.0, -3.0, 0.0},
    {-2, 0, 1, 2, 1, 6.0, 0.0, -3.0, 0.0},
    {2, 0, -2, 0, 1, -6.0, 0.0, 3.0, 0.0},
    {2, 0, 0, 0, 1, -6.0, 0.0, 3.0, 0.0},
    {0, -1, 1, 0, 0, 5.0, 0.0, 0.0, 0.0},
    {-2, -1, 0, 2, 1, -5.0, 0.0, 3.0, 0.0},
    {-2, 0, 0, 0, 1, -5.0, 0.0, 3.0, 0.0},
    {0, 0, 2, 2, 1, -5.0, 0.0, 3.0, 0.0},
};

static double centuries(double jd, double frac)
{
    return ((jd - 2451545.0) + frac) / 36525.0;
}

void tsr_nutation80(double jd_tt, double jd_tt_frac, double *dpsi, double *deps, double *eps0)
{
    const double t = centuries(jd_tt, jd_tt_frac);
    const double deg = FR_PI / 180.0;
    /* Delaunay arguments, degrees (IAU 1980 theory, as tabulated by Meeus
     * and Vallado); the linear rates are revolutions * 360 + degrees */
    const double d = fmod(297.85036306 + 445267.11148 * t - 0.0019142 * t * t
                              + t * t * t / 189474.0, 360.0) * deg;
    const double m = fmod(357.52772333 + 35999.05034 * t - 0.0001603 * t * t
                              - t * t * t / 300000.0, 360.0) * deg;
    const double mp = fmod(134.96298139 + 477198.8673981 * t + 0.0086972 * t * t
                               + t * t * t / 56250.0, 360.0) * deg;
    const double f = fmod(93.27191028 + 483202.0175381 * t - 0.0036825 * t * t
                              + t * t * t / 327270.0, 360.0) * deg;
    const double om = fmod(125.04452222 - 1934.1362608 * t + 0.0020708 * t * t
                               + t * t * t / 450000.0, 360.0) * deg;
    double sp = 0.0, se = 0.0;
    for (unsigned i = 0; i < sizeof NUT80 / sizeof NUT80[0]; ++i) {
        const nut_term *k = &NUT80[i];
        const double arg = k->d * d + k->m * m + k->mp * mp + k->f * f + k->om * om;
        sp += (k->a + k->b * t) * sin(arg);
        se += (k->c + k->dd * t) * cos(arg);
    }
    *dpsi = sp * 1e-4 * ARCSEC;
    *deps = se * 1e-4 * ARCSEC;
    *eps0 = (84381.448 - 46.8150 * t - 0.00059 * t * t + 0.001813 * t * t * t) * ARCSEC;
}

/* frame rotations: r' = R r for axes turned by a about x or z */
static void rot1(double a, double r[9])
{
    const double c = cos(a), s = sin(a);
    r[0] = 1.0; r[1] = 0.0; r[2] = 0.0;
    r[3] = 0.0; r[4] = c;   r[5] = s;
    r[6] = 0.0; r[7] = -s;  r[8] = c;
}

static void rot2(double a, double r[9])
{
    const double c = cos(a), s = sin(a);
    r[0] = c;   r[1] = 0.0; r[2] = -s;
    r[3] = 0.0; r[4] = 1.0; r[5] = 0.0;
    r[6] = s;   r[7] = 0.0; r[8] = c;
}

static void rot3(double a, double r[9])
{
    const double c = cos(a), s = sin(a);
    r[0] = c;   r[1] = s;   r[2] = 0.0;
    r[3] = -s;  r[4] = c;   r[5] = 0.0;
    r[6] = 0.0; r[7] = 0.0; r[8] = 1.0;
}

static void mul3(const double a[9], const double b[9], double out[9])
{
    double t[9];
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
            t[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
        }
    }
    for (int i = 0; i < 9; ++i) {
        out[i] = t[i];
    }
}

void tsr_teme_to_mod_matrix(double jd_tt, double jd_tt_frac, double m[9])
{
    double dpsi, deps, eps0, a[9], b[9];
    tsr_nutation80(jd_tt, jd_tt_frac, &dpsi, &deps, &eps0);
    /* TEME -> true of date: the x axis moves from the mean to the true
     * equinox along the true equator, by the equation of the equinoxes */
    rot3(-dpsi * cos(eps0), m);
    /* true of date -> mean of date: R1(-eps0) R3(dpsi) R1(eps0 + deps) */
    rot1(eps0 + deps, a);
    mul3(a, m, m);
    rot3(dpsi, b);
    mul3(b, m, m);
    rot1(-eps0, a);
    mul3(a, m, m);
}

void tsr_teme_to_j2000_matrix(double jd_tt, double jd_tt_frac, double m[9])
{
    const double t = centuries(jd_tt, jd_tt_frac);
    /* IAU 1976 precession angles, arcsec (Lieske et al. 1977) */
    const double zeta = (2306.2181 * t + 0.30188 * t * t + 0.017998 * t * t * t) * ARCSEC;
    const double theta = (2004.3109 * t - 0.42665 * t * t - 0.041833 * t * t * t) * ARCSEC;
    const double z = (2306.2181 * t + 1.09468 * t * t + 0.018203 * t * t * t) * ARCSEC;
    double a[9];
    tsr_teme_to_mod_matrix(jd_tt, jd_tt_frac, m);
    /* mean of date -> J2000: R3(zeta) R2(-theta) R3(z) */
    rot3(z, a);
    mul3(a, m, m);
    rot2(-theta, a);
    mul3(a, m, m);
    rot3(zeta, a);
    mul3(a, m, m);
}

void tsr_teme_inertial_many(long n, int to_j2000, int inverse, const double *jd_tt,
                            const double *jd_tt_frac, const double *r_in, const double *v_in,
                            double *r_out, double *v_out)
{
    for (long i = 0; i < n; ++i) {
        double m[9];
        if (to_j2000) {
            tsr_teme_to_j2000_matrix(jd_tt[i], jd_tt_frac[i], m);
        } else {
            tsr_teme_to_mod_matrix(jd_tt[i], jd_tt_frac[i], m);
        }
        const double *r = r_in + 3 * i, *v = v_in + 3 * i;
        for (int k = 0; k < 3; ++k) {
            if (inverse) {
                r_out[3 * i + k] = m[k] * r[0] + m[3 + k] * r[1] + m[6 + k] * r[2];
                v_out[3 * i + k] = m[k] * v[0] + m[3 + k] * v[1] + m[6 + k] * v[2];
            } else {
                r_out[3 * i + k] = m[3 * k] * r[0] + m[3 * k + 1] * r[1] + m[3 * k + 2] * r[2];
                v_out[3 * i + k] = m[3 * k] * v[0] + m[3 * k + 1] * v[1] + m[3 * k + 2] * v[2];
            }
        }
    }
}
