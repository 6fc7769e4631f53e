/* tsr_estimation.c - see tsr_estimation.h for sources and conventions. */
#include "tsr_estimation.h"

#include <math.h>
#include <stddef.h>

#include "tsr_vecmath.h"

/* ---------- TRIAD ---------------------------------------------------------
 * The triads (v1, v1 x v2 / |.|, v1 x (v1 x v2) / |.|) built in both frames
 * give A = M_body M_ref^T (Markley & Crassidis eq. 5.8). The first pair is
 * trusted fully (give it the more accurate sensor, usually the sun). */
static int triad_frame(const double v1[3], const double v2[3], double m[9])
{
    double a[3];
    double c[3];
    double d[3];
    double t[3];
    if (tsr_v3_normalize(v1, a) != 0) {
        return -1;
    }
    tsr_v3_cross(a, v2, t);
    if (tsr_v3_normalize(t, c) != 0 || tsr_v3_norm(t) < 1e-9 * tsr_v3_norm(v2)) {
        return -1;
    }
    tsr_v3_cross(a, c, d);
    /* columns a, c, d */
    m[0] = a[0]; m[1] = c[0]; m[2] = d[0];
    m[3] = a[1]; m[4] = c[1]; m[5] = d[1];
    m[6] = a[2]; m[7] = c[2]; m[8] = d[2];
    return 0;
}

/* Returns 0, or -1 if a vector is zero or a pair is (nearly) parallel. */
int tsr_triad(const double b1_body[3], const double b2_body[3], const double r1_eci[3],
              const double r2_eci[3], double q_body_eci[4])
{
    double mb[9];
    double mr[9];
    double mrt[9];
    double a[9];
    q_body_eci[0] = 1.0;
    q_body_eci[1] = q_body_eci[2] = q_body_eci[3] = 0.0;
    if (triad_frame(b1_body, b2_body, mb) != 0 || triad_frame(r1_eci, r2_eci, mr) != 0) {
        return -1;
    }
    tsr_m3_transpose(mr, mrt);
    tsr_m3_mul(mb, mrt, a);
    tsr_quat_from_dcm(a, q_body_eci);
    return 0;
}

/* ---------- QUEST --------------------------------------------------------- */

static double m3_det(const double m[9])
{
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

/* Trace of the adjugate of a symmetric 3x3 matrix. */
static double m3_adj_trace(const double s[9])
{
    return (s[4] * s[8] - s[5] * s[7]) + (s[0] * s[8] - s[2] * s[6]) + (s[0] * s[4] - s[1] * s[3]);
}

/* Determinant of the 3x3 minor of the 4x4 row-major m without row i, column j. */
static double minor4(const double m[16], int i, int j)
{
    double a[9];
    int r, c, k = 0;
    for (r = 0; r < 4; r++) {
        if (r == i) {
            continue;
        }
        for (c = 0; c < 4; c++) {
            if (c != j) {
                a[k++] = m[4 * r + c];
            }
        }
    }
    return m3_det(a);
}

/* QUEST (M&C sec. 5.3.2). lambda_max of Davenport's K comes from Newton-
 * Raphson on the characteristic equation (M&C eq. 5.53, after Shuster & Oh
 * 1981) started at sum(w) = 1; the optimal quaternion is then the null
 * vector of K - lambda I, taken as the column of its adjugate with the
 * largest diagonal entry (the adjugate is q q^T times a scalar, so that
 * column is the best conditioned one). This has none of the classical
 * QUEST formula's trouble near 180 deg, which Shuster's sequential
 * rotations otherwise work around. K is ordered [vector; scalar] as in M&C. */
int tsr_quest(int n, const double b_body[], const double r_eci[], const double weights[],
              double q_body_eci[4], double *loss)
{
    double b[3 * TSR_QUEST_MAX_VECTORS];
    double r[3 * TSR_QUEST_MAX_VECTORS];
    double w[TSR_QUEST_MAX_VECTORS];
    double bm[9] = {0};
    double s[9];
    double s2[9];
    double z[3] = {0.0, 0.0, 0.0};
    double sz[3];
    double s2z[3];
    double m[16];
    double v[4];
    double wsum = 0.0;
    double sigma, kappa, delta, aa, bb, cc, dd;
    double lam = 1.0;
    double best = -1.0;
    int i, j, k, it, col = 3;

    q_body_eci[0] = 1.0;
    q_body_eci[1] = q_body_eci[2] = q_body_eci[3] = 0.0;
    if (loss != NULL) {
        *loss = 0.0;
    }
    if (n < 2 || n > TSR_QUEST_MAX_VECTORS) {
        return -1;
    }
    for (k = 0; k < n; k++) {
        if (!(weights[k] > 0.0) || tsr_v3_normalize(&b_body[3 * k], &b[3 * k]) != 0 ||
            tsr_v3_normalize(&r_eci[3 * k], &r[3 * k]) != 0) {
            return -1;
        }
        wsum += weights[k];
    }
    if (!isfinite(wsum)) {
        return -1;
    }
    for (k = 0; k < n; k++) {
        double bxr[3];
        w[k] = weights[k] / wsum;
        for (i = 0; i < 3; i++) {
            for (j = 0; j < 3; j++) {
                bm[3 * i + j] += w[k] * b[3 * k + i] * r[3 * k + j];
            }
        }
        tsr_v3_cross(&b[3 * k], &r[3 * k], bxr);
        for (i = 0; i < 3; i++) {
            z[i] += w[k] * bxr[i];
        }
    }
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            s[3 * i + j] = bm[3 * i + j] + bm[3 * j + i];
        }
    }
    sigma = bm[0] + bm[4] + bm[8];
    kappa = m3_adj_trace(s);
    delta = m3_det(s);
    tsr_m3_mul(s, s, s2);
    tsr_m3_mul_v3(s, z, sz);
    tsr_m3_mul_v3(s2, z, s2z);
    aa = sigma * sigma - kappa;
    bb = sigma * sigma + tsr_v3_dot(z, z);
    cc = delta + tsr_v3_dot(z, sz);
    dd = tsr_v3_dot(z, s2z);
    for (it = 0; it < 30; it++) {
        const double l2 = lam * lam;
        const double f = l2 * l2 - (aa + bb) * l2 - cc * lam + (aa * bb + cc * sigma - dd);
        const double fp = 4.0 * l2 * lam - 2.0 * (aa + bb) * lam - cc;
        double step;
        if (fp == 0.0) {
            break;
        }
        step = f / fp;
        lam -= step;
        if (fabs(step) <= 1e-15) {
            break;
        }
    }
    /* M = K - lambda I */
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            m[4 * i + j] = s[3 * i + j] - ((i == j) ? sigma + lam : 0.0);
        }
        m[4 * i + 3] = z[i];
        m[12 + i] = z[i];
    }
    m[15] = sigma - lam;
    for (i = 0; i < 4; i++) {
        const double d = fabs(minor4(m, i, i));
        if (d > best) {
            best = d;
            col = i;
        }
    }
    for (i = 0; i < 4; i++) {
        v[i] = (((i + col) % 2) ? -1.0 : 1.0) * minor4(m, col, i);
    }
    /* [vector; scalar] -> scalar first */
    {
        const double qs[4] = {v[3], v[0], v[1], v[2]};
        if (!(best > 1e-12) || tsr_quat_normalize(qs, q_body_eci) != 0) {
            q_body_eci[0] = 1.0;
            q_body_eci[1] = q_body_eci[2] = q_body_eci[3] = 0.0;
            return -1;
        }
    }
    if (loss != NULL) {
        *loss = fmax(0.0, 1.0 - lam);
    }
    return 0;
}

/* ---------- MEKF ---------------------------------------------------------- */

static void skew(const double v[3], double m[9])
{
    m[0] = 0.0;   m[1] = -v[2]; m[2] = v[1];
    m[3] = v[2];  m[4] = 0.0;   m[5] = -v[0];
    m[6] = -v[1]; m[7] = v[0];  m[8] = 0.0;
}

/* c = a b for 6x6 row-major matrices; c must not alias a or b. */
static void m6_mul(const double *a, const double *b, double *c)
{
    int i, j, k;
    for (i = 0; i < 6; i++) {
        for (j = 0; j < 6; j++) {
            double acc = 0.0;
            for (k = 0; k < 6; k++) {
                acc += a[6 * i + k] * b[6 * k + j];
            }
            c[6 * i + j] = acc;
        }
    }
}

static void m6_symmetrize(double *p)
{
    int i, j;
    for (i = 0; i < 6; i++) {
        for (j = i + 1; j < 6; j++) {
            const double v = 0.5 * (p[6 * i + j] + p[6 * j + i]);
            p[6 * i + j] = v;
            p[6 * j + i] = v;
        }
    }
}

/* Start the filter at q with bias estimate and diagonal covariance. */
int tsr_mekf_init(tsr_mekf_state *s, const double q_body_eci[4], const double bias_rad_s[3],
                  double sigma_att_rad, double sigma_bias_rad_s)
{
    int i;
    if (!(sigma_att_rad > 0.0) || !(sigma_bias_rad_s > 0.0) ||
        tsr_quat_normalize(q_body_eci, s->q_body_eci) != 0) {
        s->initialized = 0;
        return -1;
    }
    for (i = 0; i < 36; i++) {
        s->p[i] = 0.0;
    }
    for (i = 0; i < 3; i++) {
        s->bias_rad_s[i] = bias_rad_s[i];
        s->w_body_rad_s[i] = 0.0;
        s->p[7 * i] = sigma_att_rad * sigma_att_rad;
        s->p[7 * (i + 3)] = sigma_bias_rad_s * sigma_bias_rad_s;
    }
    s->initialized = 1;
    return 0;
}

/* Propagate over dt_s with the gyro sample (held over the step): the
 * quaternion by the exact rotation for a constant rate, the covariance
 * P = Phi P Phi^T + Q with the closed-form Phi and Q of M&C eq. 6.83-6.87
 * (Table 6.3). Returns 0, or -1 for bad input or an uninitialised filter. */
int tsr_mekf_propagate(const tsr_mekf_params *p, tsr_mekf_state *s,
                       const double gyro_rad_s[3], double dt_s)
{
    double w[3];
    double wx[9];
    double wx2[9];
    double phi[36] = {0};
    double tmp[36];
    double phit[36];
    double dq[4];
    double qn[4];
    double wn;
    double c1, c2, c3;
    double sv2, su2, q11, q12, q22;
    int i, j;

    if (!s->initialized || !(dt_s > 0.0) || !isfinite(gyro_rad_s[0]) ||
        !isfinite(gyro_rad_s[1]) || !isfinite(gyro_rad_s[2])) {
        return -1;
    }
    tsr_v3_sub(gyro_rad_s, s->bias_rad_s, w);
    for (i = 0; i < 3; i++) {
        s->w_body_rad_s[i] = w[i];
    }
    wn = tsr_v3_norm(w);
    tsr_quat_from_axis_angle(w, wn * dt_s, dq);
    tsr_quat_mul(s->q_body_eci, dq, qn);
    (void)tsr_quat_normalize(qn, s->q_body_eci);

    skew(w, wx);
    tsr_m3_mul(wx, wx, wx2);
    if (wn * dt_s > 1e-6) {
        const double th = wn * dt_s;
        c1 = sin(th) / wn;
        c2 = (1.0 - cos(th)) / (wn * wn);
        c3 = (th - sin(th)) / (wn * wn * wn);
    } else {
        /* series limits */
        c1 = dt_s;
        c2 = 0.5 * dt_s * dt_s;
        c3 = dt_s * dt_s * dt_s / 6.0;
    }
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            const double id = (i == j) ? 1.0 : 0.0;
            phi[6 * i + j] = id - c1 * wx[3 * i + j] + c2 * wx2[3 * i + j];
            phi[6 * i + j + 3] = c2 * wx[3 * i + j] - id * dt_s - c3 * wx2[3 * i + j];
            phi[6 * (i + 3) + j + 3] = id;
        }
    }
    m6_mul(phi, s->p, tmp);
    for (i = 0; i < 6; i++) {
        for (j = 0; j < 6; j++) {
            phit[6 * i + j] = phi[6 * j + i];
        }
    }
    m6_mul(tmp, phit, s->p);
    sv2 = p->gyro_arw_rad_s_sqrt_hz * p->gyro_arw_rad_s_sqrt_hz;
    su2 = p->gyro_bias_rw_rad_s2_sqrt_hz * p->gyro_bias_rw_rad_s2_sqrt_hz;
    q11 = sv2 * dt_s + su2 * dt_s * dt_s * dt_s / 3.0;
    q12 = -0.5 * su2 * dt_s * dt_s;
    q22 = su2 * dt_s;
    for (i = 0; i < 3; i++) {
        s->p[7 * i] += q11;
        s->p[6 * i + i + 3] += q12;
        s->p[6 * (i + 3) + i] += q12;
        s->p[7 * (i + 3)] += q22;
    }
    m6_symmetrize(s->p);
    return 0;
}

/* Update with one measured direction b (body) of a known reference r (ECI),
 * both normalised here, with isotropic noise sigma_rad per axis:
 * H = [[A r x], 0], K = P H^T (H P H^T + R)^-1, Joseph-form covariance,
 * then the reset q <- q (x) [1, dtheta/2], bias += dbias.
 * Returns 0, or -1 (state unchanged) for bad input. */
int tsr_mekf_update_vector(tsr_mekf_state *s, const double b_meas_body[3],
                           const double r_ref_eci[3], double sigma_rad)
{
    double b[3];
    double r[3];
    double bhat[3];
    double h[18];          /* 3x6 */
    double pht[18];        /* 6x3 */
    double sm[9];
    double si[9];
    double k[18];          /* 6x3 */
    double res[3];
    double dx[6];
    double ikh[36];
    double t1[36];
    double t2[36];
    double ikht[36];
    double hx[9];
    double dq[4];
    double qn[4];
    double r2;
    int i, j, m;

    if (!s->initialized || !(sigma_rad > 0.0) || tsr_v3_normalize(b_meas_body, b) != 0 ||
        tsr_v3_normalize(r_ref_eci, r) != 0) {
        return -1;
    }
    r2 = sigma_rad * sigma_rad;
    tsr_quat_apply_inverse(s->q_body_eci, r, bhat);
    skew(bhat, hx);
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            h[6 * i + j] = hx[3 * i + j];
            h[6 * i + j + 3] = 0.0;
        }
    }
    /* P H^T (6x3): only the first three columns of H are non-zero. */
    for (i = 0; i < 6; i++) {
        for (j = 0; j < 3; j++) {
            double acc = 0.0;
            for (m = 0; m < 3; m++) {
                acc += s->p[6 * i + m] * h[6 * j + m];
            }
            pht[3 * i + j] = acc;
        }
    }
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            double acc = 0.0;
            for (m = 0; m < 3; m++) {
                acc += h[6 * i + m] * pht[3 * m + j];
            }
            sm[3 * i + j] = acc + ((i == j) ? r2 : 0.0);
        }
    }
    if (tsr_m3_inverse(sm, si) != 0) {
        return -1;
    }
    for (i = 0; i < 6; i++) {
        for (j = 0; j < 3; j++) {
            double acc = 0.0;
            for (m = 0; m < 3; m++) {
                acc += pht[3 * i + m] * si[3 * m + j];
            }
            k[3 * i + j] = acc;
        }
    }
    tsr_v3_sub(b, bhat, res);
    for (i = 0; i < 6; i++) {
        dx[i] = k[3 * i] * res[0] + k[3 * i + 1] * res[1] + k[3 * i + 2] * res[2];
    }
    /* Joseph form: P = (I - KH) P (I - KH)^T + K R K^T. */
    for (i = 0; i < 6; i++) {
        for (j = 0; j < 6; j++) {
            double acc = 0.0;
            for (m = 0; m < 3; m++) {
                acc += k[3 * i + m] * h[6 * m + j];
            }
            ikh[6 * i + j] = ((i == j) ? 1.0 : 0.0) - acc;
        }
    }
    m6_mul(ikh, s->p, t1);
    for (i = 0; i < 6; i++) {
        for (j = 0; j < 6; j++) {
            ikht[6 * i + j] = ikh[6 * j + i];
        }
    }
    m6_mul(t1, ikht, t2);
    for (i = 0; i < 6; i++) {
        for (j = 0; j < 6; j++) {
            double acc = 0.0;
            for (m = 0; m < 3; m++) {
                acc += k[3 * i + m] * k[3 * j + m];
            }
            t2[6 * i + j] += r2 * acc;
        }
    }
    dq[0] = 1.0;
    dq[1] = 0.5 * dx[0];
    dq[2] = 0.5 * dx[1];
    dq[3] = 0.5 * dx[2];
    tsr_quat_mul(s->q_body_eci, dq, qn);
    for (i = 0; i < 36; i++) {
        if (!isfinite(t2[i])) {
            return -1;
        }
    }
    if (tsr_quat_normalize(qn, s->q_body_eci) != 0) {
        return -1;
    }
    for (i = 0; i < 36; i++) {
        s->p[i] = t2[i];
    }
    m6_symmetrize(s->p);
    for (i = 0; i < 3; i++) {
        s->bias_rad_s[i] += dx[3 + i];
    }
    return 0;
}
