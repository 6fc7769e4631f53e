/* tsr_vecmath.c - see tsr_vecmath.h for the conventions. */
#include "tsr_vecmath.h"

#include <math.h>

double tsr_v3_dot(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

double tsr_v3_norm(const double a[3])
{
    return sqrt(tsr_v3_dot(a, a));
}

void tsr_v3_cross(const double a[3], const double b[3], double out[3])
{
    const double x = a[1] * b[2] - a[2] * b[1];
    const double y = a[2] * b[0] - a[0] * b[2];
    const double z = a[0] * b[1] - a[1] * b[0];
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

void tsr_v3_scale(const double a[3], double k, double out[3])
{
    out[0] = a[0] * k;
    out[1] = a[1] * k;
    out[2] = a[2] * k;
}

void tsr_v3_add(const double a[3], const double b[3], double out[3])
{
    out[0] = a[0] + b[0];
    out[1] = a[1] + b[1];
    out[2] = a[2] + b[2];
}

void tsr_v3_sub(const double a[3], const double b[3], double out[3])
{
    out[0] = a[0] - b[0];
    out[1] = a[1] - b[1];
    out[2] = a[2] - b[2];
}

/* Returns 0, or -1 (out untouched) for a vector too short to have a direction. */
int tsr_v3_normalize(const double a[3], double out[3])
{
    const double n = tsr_v3_norm(a);
    if (!(n > 1e-300)) {
        return -1;
    }
    tsr_v3_scale(a, 1.0 / n, out);
    return 0;
}

void tsr_m3_mul_v3(const double m[9], const double v[3], double out[3])
{
    const double x = m[0] * v[0] + m[1] * v[1] + m[2] * v[2];
    const double y = m[3] * v[0] + m[4] * v[1] + m[5] * v[2];
    const double z = m[6] * v[0] + m[7] * v[1] + m[8] * v[2];
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

void tsr_m3_mul(const double a[9], const double b[9], double out[9])
{
    double r[9];
    int i;
    int j;
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            r[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
        }
    }
    for (i = 0; i < 9; i++) {
        out[i] = r[i];
    }
}

void tsr_m3_transpose(const double m[9], double out[9])
{
    double r[9];
    int i;
    int j;
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            r[3 * j + i] = m[3 * i + j];
        }
    }
    for (i = 0; i < 9; i++) {
        out[i] = r[i];
    }
}

/* Inverse by cofactors. Returns -1 (out untouched) for a singular matrix. */
int tsr_m3_inverse(const double m[9], double out[9])
{
    double c[9];
    double det;
    int i;
    c[0] = m[4] * m[8] - m[5] * m[7];
    c[1] = m[2] * m[7] - m[1] * m[8];
    c[2] = m[1] * m[5] - m[2] * m[4];
    c[3] = m[5] * m[6] - m[3] * m[8];
    c[4] = m[0] * m[8] - m[2] * m[6];
    c[5] = m[2] * m[3] - m[0] * m[5];
    c[6] = m[3] * m[7] - m[4] * m[6];
    c[7] = m[1] * m[6] - m[0] * m[7];
    c[8] = m[0] * m[4] - m[1] * m[3];
    det = m[0] * c[0] + m[1] * c[3] + m[2] * c[6];
    if (!(fabs(det) > 1e-300)) {
        return -1;
    }
    for (i = 0; i < 9; i++) {
        out[i] = c[i] / det;
    }
    return 0;
}

void tsr_quat_mul(const double p[4], const double q[4], double out[4])
{
    const double w = p[0] * q[0] - p[1] * q[1] - p[2] * q[2] - p[3] * q[3];
    const double x = p[0] * q[1] + p[1] * q[0] + p[2] * q[3] - p[3] * q[2];
    const double y = p[0] * q[2] - p[1] * q[3] + p[2] * q[0] + p[3] * q[1];
    const double z = p[0] * q[3] + p[1] * q[2] - p[2] * q[1] + p[3] * q[0];
    out[0] = w;
    out[1] = x;
    out[2] = y;
    out[3] = z;
}

void tsr_quat_conj(const double q[4], double out[4])
{
    out[0] = q[0];
    out[1] = -q[1];
    out[2] = -q[2];
    out[3] = -q[3];
}

/* Unit norm with a non-negative scalar part, so equal attitudes compare equal. */
int tsr_quat_normalize(const double q[4], double out[4])
{
    const double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    double k;
    int i;
    if (!(n > 1e-300)) {
        return -1;
    }
    k = (q[0] < 0.0) ? -1.0 / n : 1.0 / n;
    for (i = 0; i < 4; i++) {
        out[i] = q[i] * k;
    }
    return 0;
}

/* out = q (x) v (x) q*, written out as v + 2w(u x v) + 2u x (u x v). */
void tsr_quat_apply(const double q[4], const double v[3], double out[3])
{
    const double u[3] = {q[1], q[2], q[3]};
    double t[3];
    double ut[3];
    tsr_v3_cross(u, v, t);
    tsr_v3_scale(t, 2.0, t);
    tsr_v3_cross(u, t, ut);
    out[0] = v[0] + q[0] * t[0] + ut[0];
    out[1] = v[1] + q[0] * t[1] + ut[1];
    out[2] = v[2] + q[0] * t[2] + ut[2];
}

void tsr_quat_apply_inverse(const double q[4], const double v[3], double out[3])
{
    double qc[4];
    tsr_quat_conj(q, qc);
    tsr_quat_apply(qc, v, out);
}

/* Attitude matrix: v_body = A v_eci (the transpose of q's active rotation). */
void tsr_quat_to_dcm(const double q[4], double a[9])
{
    const double w = q[0], x = q[1], y = q[2], z = q[3];
    a[0] = w * w + x * x - y * y - z * z;
    a[1] = 2.0 * (x * y + w * z);
    a[2] = 2.0 * (x * z - w * y);
    a[3] = 2.0 * (x * y - w * z);
    a[4] = w * w - x * x + y * y - z * z;
    a[5] = 2.0 * (y * z + w * x);
    a[6] = 2.0 * (x * z + w * y);
    a[7] = 2.0 * (y * z - w * x);
    a[8] = w * w - x * x - y * y + z * z;
}

/* Inverse of tsr_quat_to_dcm, by Shepperd's method (largest pivot first). */
void tsr_quat_from_dcm(const double a[9], double q[4])
{
    const double tr = a[0] + a[4] + a[8];
    double r[4];
    double s;
    if (tr >= a[0] && tr >= a[4] && tr >= a[8]) {
        s = 2.0 * sqrt(1.0 + tr);
        r[0] = 0.25 * s;
        r[1] = (a[5] - a[7]) / s;
        r[2] = (a[6] - a[2]) / s;
        r[3] = (a[1] - a[3]) / s;
    } else if (a[0] >= a[4] && a[0] >= a[8]) {
        s = 2.0 * sqrt(1.0 + a[0] - a[4] - a[8]);
        r[0] = (a[5] - a[7]) / s;
        r[1] = 0.25 * s;
        r[2] = (a[1] + a[3]) / s;
        r[3] = (a[6] + a[2]) / s;
    } else if (a[4] >= a[8]) {
        s = 2.0 * sqrt(1.0 - a[0] + a[4] - a[8]);
        r[0] = (a[6] - a[2]) / s;
        r[1] = (a[1] + a[3]) / s;
        r[2] = 0.25 * s;
        r[3] = (a[5] + a[7]) / s;
    } else {
        s = 2.0 * sqrt(1.0 - a[0] - a[4] + a[8]);
        r[0] = (a[1] - a[3]) / s;
        r[1] = (a[6] + a[2]) / s;
        r[2] = (a[5] + a[7]) / s;
        r[3] = 0.25 * s;
    }
    (void)tsr_quat_normalize(r, q);
}

void tsr_quat_from_axis_angle(const double axis[3], double angle_rad, double q[4])
{
    double u[3] = {0.0, 0.0, 0.0};
    const double s = sin(0.5 * angle_rad);
    if (tsr_v3_normalize(axis, u) != 0) {
        q[0] = 1.0;
        q[1] = q[2] = q[3] = 0.0;
        return;
    }
    q[0] = cos(0.5 * angle_rad);
    q[1] = u[0] * s;
    q[2] = u[1] * s;
    q[3] = u[2] * s;
}

/* Smallest rotation angle (rad, 0..pi) taking attitude p to attitude q.
 * atan2 of the error quaternion keeps full precision near zero, where acos
 * of the dot product loses half the digits. */
double tsr_quat_angle_between(const double p[4], const double q[4])
{
    double pc[4];
    double e[4];
    tsr_quat_conj(p, pc);
    tsr_quat_mul(pc, q, e);
    return 2.0 * atan2(sqrt(e[1] * e[1] + e[2] * e[2] + e[3] * e[3]), fabs(e[0]));
}
