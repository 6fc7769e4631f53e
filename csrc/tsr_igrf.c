/* tsr_igrf.c - see tsr_igrf.h. */
#include "tsr_igrf.h"

#include <math.h>
#include <stddef.h>

#include "data/igrf14.inc"
#include "data/legendre_factors.inc"

#define IGRF_REF_RADIUS_KM 6371.2
#define NDIM (TSR_IGRF_NMAX + 1)

/* Epoch column i and fraction f of the way to column i + 1 for decimal_year;
 * 0, or -1 outside 1900.0 .. 2030.0 or for nmax outside 1 .. 13. */
static int epoch_interval(double decimal_year, int nmax, int *i, double *f)
{
    const double last = IGRF14_FIRST_EPOCH + IGRF14_EPOCH_STEP * (IGRF14_N_EPOCHS - 1);
    double x;
    if (!(decimal_year >= IGRF14_FIRST_EPOCH && decimal_year <= last) || nmax < 1 ||
        nmax > TSR_IGRF_NMAX) {
        return -1;
    }
    x = (decimal_year - IGRF14_FIRST_EPOCH) / IGRF14_EPOCH_STEP;
    *i = (int)floor(x);
    if (*i > IGRF14_N_EPOCHS - 2) {
        *i = IGRF14_N_EPOCHS - 2;
    }
    *f = x - *i;
    return 0;
}

/* A coefficient (nT) at fraction f of the way from its value at one epoch,
 * c[0], to the next, c[1]. */
static double interpolated(const double *c, double f)
{
    return c[0] + f * (c[1] - c[0]);
}

/* Coefficients at decimal_year into g[n * 14 + m], h[n * 14 + m] (nT), for
 * n <= nmax; zero elsewhere. Returns 0, or -1 outside 1900.0 .. 2030.0 or for
 * nmax outside 1 .. 13. */
int tsr_igrf_coefficients(double decimal_year, int nmax, double g_nt[196], double h_nt[196])
{
    double f;
    int i;
    int k;
    for (k = 0; k < NDIM * NDIM; k++) {
        g_nt[k] = 0.0;
        h_nt[k] = 0.0;
    }
    if (epoch_interval(decimal_year, nmax, &i, &f) != 0) {
        return -1;
    }
    for (k = 0; k < IGRF14_N_ROWS; k++) {
        const int n = igrf14_nm[k][0];
        const int m = igrf14_nm[k][1];
        if (n > nmax) {
            continue;
        }
        if (m >= 0) {
            g_nt[n * NDIM + m] = interpolated(&igrf14_coef[k][i], f);
        } else {
            h_nt[n * NDIM - m] = interpolated(&igrf14_coef[k][i], f);
        }
    }
    return 0;
}

/* The synthesis itself: components (nT) radial (up), theta (south) and phi
 * (east) at radius r_km, from cos and sin of the colatitude (st kept a hair
 * away from 0 by the caller) and of the east longitude, at fraction f of
 * epoch interval i.
 *
 * Cheap by construction, as it runs twice every control cycle (truth and
 * flight reference): the coefficients are interpolated where they are used,
 * walking the table in its own (n, m) order; the recursion's factors come from
 * legendre_factors.inc, with no square root or division per term; cos and sin
 * of m times the longitude come from the angle-addition formulae instead of a
 * libm call per order (rounding grows by about an ulp an order; over a grid of
 * positions and dates the field moved by 1.2e-15 of its magnitude at most). */
static void synthesis(double r_km, double ct, double st, double cl, double sl, int i, double f,
                      int nmax, double b_rtp_nt[3])
{
    double p[NDIM * NDIM];  /* P_n^m(cos theta) at [n * NDIM + m], m <= n */
    double dp[NDIM * NDIM]; /* and its theta derivative */
    double cosm[NDIM];  /* cos(m phi) */
    double sinm[NDIM];  /* sin(m phi) */
    double mcosm[NDIM]; /* m cos(m phi) */
    double msinm[NDIM]; /* m sin(m phi) */
    const double ratio = IGRF_REF_RADIUS_KM / r_km;
    double rpow = ratio * ratio; /* (a/r)^(n+2) for n = 0 */
    double br = 0.0;
    double bt = 0.0;
    double bp = 0.0;
    /* the table's rows in order (g_n0, then g_nm and h_nm for m = 1 .. n),
     * read at epoch column col (unsigned: see -fwrapv below) */
    const double(*row)[IGRF14_N_EPOCHS] = igrf14_coef;
    const size_t col = (size_t)i;
    int n;
    int m;

    cosm[0] = 1.0;
    sinm[0] = 0.0;
    for (m = 1; m <= nmax; m++) {
        cosm[m] = cosm[m - 1] * cl - sinm[m - 1] * sl;
        sinm[m] = sinm[m - 1] * cl + cosm[m - 1] * sl;
        mcosm[m] = m * cosm[m];
        msinm[m] = m * sinm[m];
    }

    /* Schmidt semi-normalised P_n^m and dP_n^m/dtheta (recursions cited in
     * legendre_factors.py); each row's m < n - 1 terms are independent.
     * Pointers, not int indices, walk the arrays: the extension is built
     * with -fwrapv, under which int index arithmetic is redone every term. */
    p[0] = 1.0;
    dp[0] = 0.0;
    p[NDIM] = ct; /* P_1^0 = cos theta */
    dp[NDIM] = -st;
    p[NDIM + 1] = st; /* P_1^1 = sin theta */
    dp[NDIM + 1] = ct;
    for (n = 2; n <= nmax; n++) {
        const double *a = igrf_column_a[n];
        const double *b = igrf_column_b[n];
        const double s = igrf_sectoral[n];
        double *pn = p + n * NDIM;
        double *dpn = dp + n * NDIM;
        const double *p1 = pn - NDIM;
        const double *dp1 = dpn - NDIM;
        const double *p2 = pn - 2 * NDIM;
        const double *dp2 = dpn - 2 * NDIM;
        for (m = 0; m + 2 <= n; m++) {
            pn[m] = a[m] * ct * p1[m] - b[m] * p2[m];
            dpn[m] = a[m] * (ct * dp1[m] - st * p1[m]) - b[m] * dp2[m];
        }
        /* m = n - 1: there is no P_{n-2}^{n-1} term */
        pn[n - 1] = a[n - 1] * ct * p1[n - 1];
        dpn[n - 1] = a[n - 1] * (ct * dp1[n - 1] - st * p1[n - 1]);
        pn[n] = s * st * p1[n - 1];
        dpn[n] = s * (st * dp1[n - 1] + ct * p1[n - 1]);
    }

    for (n = 1; n <= nmax; n++) {
        const double *pn = p + n * NDIM;
        const double *dpn = dp + n * NDIM;
        const double g0 = interpolated(&row[0][col], f);
        double sr = g0 * pn[0];
        double stt = g0 * dpn[0];
        double sp = 0.0;
        row++;
        rpow *= ratio;
        for (m = 1; m <= n; m++) {
            const double g = interpolated(&row[0][col], f);
            const double h = interpolated(&row[1][col], f);
            const double gc = g * cosm[m] + h * sinm[m];
            row += 2;
            sr += gc * pn[m];
            stt += gc * dpn[m];
            sp += (g * msinm[m] - h * mcosm[m]) * pn[m];
        }
        br += (n + 1) * rpow * sr;
        bt -= rpow * stt;
        bp += rpow * sp;
    }
    b_rtp_nt[0] = br;
    b_rtp_nt[1] = bt;
    b_rtp_nt[2] = bp / st;
}

/* At the poles the east component is a limit; stay a hair away from it. */
static double off_pole(double st)
{
    if (fabs(st) < 1e-10) {
        return (st < 0.0) ? -1e-10 : 1e-10;
    }
    return st;
}

/* Field components (nT) radial (up), theta (south) and phi (east) at
 * geocentric radius r_km, colatitude and east longitude. */
int tsr_igrf_field_spherical(double r_km, double colat_rad, double elon_rad, double decimal_year,
                             int nmax, double b_rtp_nt[3])
{
    double f;
    int i;

    b_rtp_nt[0] = b_rtp_nt[1] = b_rtp_nt[2] = 0.0;
    if (!(r_km > 1.0) || !isfinite(colat_rad) || !isfinite(elon_rad) ||
        epoch_interval(decimal_year, nmax, &i, &f) != 0) {
        return -1;
    }
    synthesis(r_km, cos(colat_rad), off_pole(sin(colat_rad)), cos(elon_rad), sin(elon_rad), i, f,
              nmax, b_rtp_nt);
    return 0;
}

/* Field in tesla, Earth-fixed axes, at a geocentric Earth-fixed position.
 * The colatitude's and longitude's cos and sin are ratios of the position's
 * components, with no angle taken; on the axis the longitude is 0. */
int tsr_igrf_field_ecef(const double r_ecef_km[3], double decimal_year, int nmax,
                        double b_ecef_t[3])
{
    const double rxy = sqrt(r_ecef_km[0] * r_ecef_km[0] + r_ecef_km[1] * r_ecef_km[1]);
    const double r = sqrt(rxy * rxy + r_ecef_km[2] * r_ecef_km[2]);
    double brtp[3];
    double ct, st, cp, sp;
    double f;
    int i;
    b_ecef_t[0] = b_ecef_t[1] = b_ecef_t[2] = 0.0;
    if (!(r > 1.0) || !isfinite(r) || epoch_interval(decimal_year, nmax, &i, &f) != 0) {
        return -1;
    }
    ct = r_ecef_km[2] / r;
    st = rxy / r;
    if (rxy > 0.0) {
        cp = r_ecef_km[0] / rxy;
        sp = r_ecef_km[1] / rxy;
    } else {
        cp = 1.0;
        sp = 0.0;
    }
    synthesis(r, ct, off_pole(st), cp, sp, i, f, nmax, brtp);
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
