/* tsr_igrf.c - see tsr_igrf.h. */
#include "tsr_igrf.h"

#include <math.h>

#include "data/igrf14.inc"

#define IGRF_REF_RADIUS_KM 6371.2
#define NDIM (TSR_IGRF_NMAX + 1)

/* Coefficients at decimal_year into g[n * 14 + m], h[n * 14 + m] (nT), for
 * n <= nmax; zero elsewhere. Returns 0, or -1 outside 1900.0 .. 2030.0 or for
 * nmax outside 1 .. 13. */
int tsr_igrf_coefficients(double decimal_year, int nmax, double g_nt[196], double h_nt[196])
{
    const double last = IGRF14_FIRST_EPOCH + IGRF14_EPOCH_STEP * (IGRF14_N_EPOCHS - 1);
    double x;
    double f;
    int i;
    int k;
    for (k = 0; k < NDIM * NDIM; k++) {
        g_nt[k] = 0.0;
        h_nt[k] = 0.0;
    }
    if (!(decimal_year >= IGRF14_FIRST_EPOCH && decimal_year <= last) || nmax < 1 ||
        nmax > TSR_IGRF_NMAX) {
        return -1;
    }
    x = (decimal_year - IGRF14_FIRST_EPOCH) / IGRF14_EPOCH_STEP;
    i = (int)floor(x);
    if (i > IGRF14_N_EPOCHS - 2) {
        i = IGRF14_N_EPOCHS - 2;
    }
    f = x - i;
    for (k = 0; k < IGRF14_N_ROWS; k++) {
        const int n = igrf14_nm[k][0];
        const int m = igrf14_nm[k][1];
        const double c = igrf14_coef[k][i] + f * (igrf14_coef[k][i + 1] - igrf14_coef[k][i]);
        if (n > nmax) {
            continue;
        }
        if (m >= 0) {
            g_nt[n * NDIM + m] = c;
        } else {
            h_nt[n * NDIM - m] = c;
        }
    }
    return 0;
}

/* Field components (nT) radial (up), theta (south) and phi (east) at
 * geocentric radius r_km, colatitude and east longitude. */
int tsr_igrf_field_spherical(double r_km, double colat_rad, double elon_rad, double decimal_year,
                             int nmax, double b_rtp_nt[3])
{
    double g[NDIM * NDIM];
    double h[NDIM * NDIM];
    double p[NDIM * NDIM];
    double dp[NDIM * NDIM];
    double cosm[NDIM];
    double sinm[NDIM];
    double ct;
    double st;
    double ratio;
    double rpow;
    double br = 0.0;
    double bt = 0.0;
    double bp = 0.0;
    int n;
    int m;

    b_rtp_nt[0] = b_rtp_nt[1] = b_rtp_nt[2] = 0.0;
    if (!(r_km > 1.0) || !isfinite(colat_rad) || !isfinite(elon_rad)) {
        return -1;
    }
    if (tsr_igrf_coefficients(decimal_year, nmax, g, h) != 0) {
        return -1;
    }
    ct = cos(colat_rad);
    st = sin(colat_rad);
    /* At the poles the east component is a limit; stay a hair away from it. */
    if (fabs(st) < 1e-10) {
        st = (st < 0.0) ? -1e-10 : 1e-10;
    }
    for (m = 0; m <= nmax; m++) {
        cosm[m] = cos(m * elon_rad);
        sinm[m] = sin(m * elon_rad);
    }

    /* Schmidt semi-normalised P_nm(cos theta) and dP_nm/dtheta. */
    p[0] = 1.0;
    dp[0] = 0.0;
    for (n = 1; n <= nmax; n++) {
        for (m = 0; m <= n; m++) {
            const int k = n * NDIM + m;
            if (m == n) {
                if (n == 1) {
                    p[k] = st;
                    dp[k] = ct;
                } else {
                    const double s = sqrt(1.0 - 1.0 / (2.0 * n));
                    const int j = (n - 1) * NDIM + (n - 1);
                    p[k] = s * st * p[j];
                    dp[k] = s * (st * dp[j] + ct * p[j]);
                }
            } else {
                const int j1 = (n - 1) * NDIM + m;
                const double d = sqrt((double)(n * n - m * m));
                double p2 = 0.0;
                double dp2 = 0.0;
                double c2 = 0.0;
                if (n - 2 >= m) {
                    const int j2 = (n - 2) * NDIM + m;
                    p2 = p[j2];
                    dp2 = dp[j2];
                    c2 = sqrt((double)((n - 1) * (n - 1) - m * m));
                }
                p[k] = ((2.0 * n - 1.0) * ct * p[j1] - c2 * p2) / d;
                dp[k] = ((2.0 * n - 1.0) * (ct * dp[j1] - st * p[j1]) - c2 * dp2) / d;
            }
        }
    }

    ratio = IGRF_REF_RADIUS_KM / r_km;
    rpow = ratio * ratio; /* (a/r)^(n+2) for n = 0 */
    for (n = 1; n <= nmax; n++) {
        double sr = 0.0;
        double stt = 0.0;
        double sp = 0.0;
        rpow *= ratio;
        for (m = 0; m <= n; m++) {
            const int k = n * NDIM + m;
            const double gc = g[k] * cosm[m] + h[k] * sinm[m];
            sr += gc * p[k];
            stt += gc * dp[k];
            sp += m * (g[k] * sinm[m] - h[k] * cosm[m]) * p[k];
        }
        br += (n + 1) * rpow * sr;
        bt -= rpow * stt;
        bp += rpow * sp;
    }
    b_rtp_nt[0] = br;
    b_rtp_nt[1] = bt;
    b_rtp_nt[2] = bp / st;
    return 0;
}

/* Field in tesla, Earth-fixed axes, at a geocentric Earth-fixed position. */
int tsr_igrf_field_ecef(const double r_ecef_km[3], double decimal_year, int nmax,
                        double b_ecef_t[3])
{
    const double rxy = sqrt(r_ecef_km[0] * r_ecef_km[0] + r_ecef_km[1] * r_ecef_km[1]);
    const double r = sqrt(rxy * rxy + r_ecef_km[2] * r_ecef_km[2]);
    double brtp[3];
    double colat;
    double lon;
    double ct, st, cp, sp;
    b_ecef_t[0] = b_ecef_t[1] = b_ecef_t[2] = 0.0;
    if (!(r > 1.0)) {
        return -1;
    }
    colat = atan2(rxy, r_ecef_km[2]);
    lon = atan2(r_ecef_km[1], r_ecef_km[0]);
    if (tsr_igrf_field_spherical(r, colat, lon, decimal_year, nmax, brtp) != 0) {
        return -1;
    }
    ct = cos(colat);
    st = sin(colat);
    cp = cos(lon);
    sp = sin(lon);
    /* r^ = (st cp, st sp, ct), theta^ = (ct cp, ct sp, -st), phi^ = (-sp, cp, 0) */
    b_ecef_t[0] = 1e-9 * (brtp[0] * st * cp + brtp[1] * ct * cp - brtp[2] * sp);
    b_ecef_t[1] = 1e-9 * (brtp[0] * st * sp + brtp[1] * ct * sp + brtp[2] * cp);
    b_ecef_t[2] = 1e-9 * (brtp[0] * ct - brtp[1] * st);
    return 0;
}

/* Field in tesla in an inertial frame whose z axis is Earth's spin axis; the
 * caller gives the Earth rotation angle (GMST) from that frame's x axis. */
int tsr_igrf_field_eci(const double r_eci_km[3], double gmst_rad, double decimal_year, int nmax,
                       double b_eci_t[3])
{
    const double c = cos(gmst_rad);
    const double s = sin(gmst_rad);
    const double r_ecef[3] = {c * r_eci_km[0] + s * r_eci_km[1], -s * r_eci_km[0] + c * r_eci_km[1],
                              r_eci_km[2]};
    double b[3];
    int rc = tsr_igrf_field_ecef(r_ecef, decimal_year, nmax, b);
    b_eci_t[0] = c * b[0] - s * b[1];
    b_eci_t[1] = s * b[0] + c * b[1];
    b_eci_t[2] = b[2];
    return rc;
}
