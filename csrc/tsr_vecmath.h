/*
 * tsr_vecmath.h - 3-vectors, 3x3 matrices and attitude quaternions.
 *
 * Conventions used across the Tessera C core:
 *   - Quaternions are scalar-first [w, x, y, z] with the Hamilton product.
 *   - An attitude quaternion q_body_eci gives the orientation of the body
 *     frame relative to ECI: v_eci = q (x) v_body (x) q*, and
 *     v_body = q* (x) v_eci (x) q. Its attitude matrix A(q) maps ECI
 *     vectors into the body frame, v_body = A v_eci.
 *   - Kinematics with the body rate w_body (rad/s, body frame):
 *     dq/dt = 0.5 q (x) [0, w_body].
 *   - Matrices are row-major double[9].
 * No heap, no state: every function works on caller-owned memory. Output
 * arrays may alias inputs unless a function says otherwise.
 */
#ifndef TSR_VECMATH_H
#define TSR_VECMATH_H

/* cffi:begin */
double tsr_v3_dot(const double a[3], const double b[3]);
double tsr_v3_norm(const double a[3]);
void tsr_v3_cross(const double a[3], const double b[3], double out[3]);
void tsr_v3_scale(const double a[3], double k, double out[3]);
void tsr_v3_add(const double a[3], const double b[3], double out[3]);
void tsr_v3_sub(const double a[3], const double b[3], double out[3]);
int tsr_v3_normalize(const double a[3], double out[3]);

void tsr_m3_mul_v3(const double m[9], const double v[3], double out[3]);
void tsr_m3_mul(const double a[9], const double b[9], double out[9]);
void tsr_m3_transpose(const double m[9], double out[9]);
int tsr_m3_inverse(const double m[9], double out[9]);

void tsr_quat_mul(const double p[4], const double q[4], double out[4]);
void tsr_quat_conj(const double q[4], double out[4]);
int tsr_quat_normalize(const double q[4], double out[4]);
void tsr_quat_apply(const double q[4], const double v[3], double out[3]);
void tsr_quat_apply_inverse(const double q[4], const double v[3], double out[3]);
void tsr_quat_to_dcm(const double q[4], double a[9]);
void tsr_quat_from_dcm(const double a[9], double q[4]);
void tsr_quat_from_axis_angle(const double axis[3], double angle_rad, double q[4]);
double tsr_quat_angle_between(const double p[4], const double q[4]);
/* cffi:end */

#endif
