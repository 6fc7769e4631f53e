/* tsr_dynamics.c - see tsr_dynamics.h for the model. */
#include "tsr_dynamics.h"

#include <math.h>

#include "tsr_vecmath.h"

/* The integrated state, flattened: q[4], w[3], wheel speeds[4]. */
enum { NX = 11 };

static double clamp(double x, double lim)
{
    if (x > lim) {
        return lim;
    }
    if (x < -lim) {
        return -lim;
    }
    return x;
}

int tsr_body_params_init(tsr_body_params *p)
{
    double jb[9];
    int i;
    int r;
    int c;
    if (p->n_wheels < 0 || p->n_wheels > TSR_MAX_WHEELS) {
        return TSR_EINVAL;
    }
    for (i = 0; i < 9; i++) {
        jb[i] = p->inertia_kgm2[i];
    }
    for (i = 0; i < p->n_wheels; i++) {
        const double *a = &p->wheel_axis_body[3 * i];
        if (!(p->wheel_inertia_kgm2[i] > 0.0) || fabs(tsr_v3_norm(a) - 1.0) > 1e-6) {
            return TSR_EINVAL;
        }
        for (r = 0; r < 3; r++) {
            for (c = 0; c < 3; c++) {
                jb[3 * r + c] -= p->wheel_inertia_kgm2[i] * a[r] * a[c];
            }
        }
    }
    return tsr_m3_inverse(jb, p->inertia_body_inv) == 0 ? 0 : TSR_EINVAL;
}

/* Motor torque actually delivered: the torque limit, and no further
 * acceleration once a wheel sits at its speed limit. */
static void wheel_torques(const tsr_body_params *p, const double *speed,
                          const double *cmd, double *out)
{
    int i;
    for (i = 0; i < p->n_wheels; i++) {
        double u = clamp(cmd[i], p->wheel_max_torque_nm[i]);
        if ((speed[i] >= p->wheel_max_speed_rad_s[i] && u > 0.0) ||
            (speed[i] <= -p->wheel_max_speed_rad_s[i] && u < 0.0)) {
            u = 0.0;
        }
        out[i] = u;
    }
}

static void derivative(const tsr_body_params *p, const tsr_body_inputs *in,
                       const double u_wheel[4], const double x[NX], double dx[NX])
{
    const double *q = &x[0];
    const double *w = &x[4];
    const double *omega = &x[7];
    double h[3];
    double torque[3];
    double tmp[3];
    double b_body[3];
    double wq[4];
    double dq[4];
    double dw[3];
    int i;

    tsr_m3_mul_v3(p->inertia_kgm2, w, h);
    for (i = 0; i < p->n_wheels; i++) {
        const double *a = &p->wheel_axis_body[3 * i];
        /* J w already counts the rotor as if locked; add only its spin. */
        tsr_v3_scale(a, p->wheel_inertia_kgm2[i] * omega[i], tmp);
        tsr_v3_add(h, tmp, h);
    }

    tsr_quat_apply_inverse(q, in->b_eci_t, b_body);
    tsr_v3_cross(in->mtq_dipole_am2, b_body, torque);
    tsr_v3_add(torque, in->ext_torque_body_nm, torque);
    tsr_v3_cross(w, h, tmp);
    tsr_v3_sub(torque, tmp, torque);
    for (i = 0; i < p->n_wheels; i++) {
        const double *a = &p->wheel_axis_body[3 * i];
        tsr_v3_scale(a, u_wheel[i], tmp);
        tsr_v3_sub(torque, tmp, torque);
    }
    tsr_m3_mul_v3(p->inertia_body_inv, torque, dw);

    wq[0] = 0.0;
    wq[1] = w[0];
    wq[2] = w[1];
    wq[3] = w[2];
    tsr_quat_mul(q, wq, dq);
    for (i = 0; i < 4; i++) {
        dx[i] = 0.5 * dq[i];
    }
    for (i = 0; i < 3; i++) {
        dx[4 + i] = dw[i];
    }
    for (i = 0; i < TSR_MAX_WHEELS; i++) {
        dx[7 + i] = 0.0;
    }
    for (i = 0; i < p->n_wheels; i++) {
        const double *a = &p->wheel_axis_body[3 * i];
        dx[7 + i] = u_wheel[i] / p->wheel_inertia_kgm2[i] - tsr_v3_dot(a, dw);
    }
}

/* Advance the state by dt_s in `substeps` RK4 steps. The wheel torque limit
 * is applied once per substep from the speed at its start. Returns 0, or
 * TSR_EINVAL for a bad step or a non-finite result (state left as it was). */
int tsr_body_step(const tsr_body_params *p, tsr_body_state *s,
                  const tsr_body_inputs *u, double dt_s, int substeps)
{
    double x[NX];
    double k1[NX], k2[NX], k3[NX], k4[NX], xt[NX];
    double uw[4] = {0.0, 0.0, 0.0, 0.0};
    double h;
    int n;
    int i;

    if (!(dt_s > 0.0) || substeps < 1 || p->n_wheels < 0 || p->n_wheels > TSR_MAX_WHEELS) {
        return TSR_EINVAL;
    }
    for (i = 0; i < 4; i++) {
        x[i] = s->q_body_eci[i];
        x[7 + i] = s->wheel_speed_rad_s[i];
    }
    for (i = 0; i < 3; i++) {
        x[4 + i] = s->w_body_rad_s[i];
    }
    h = dt_s / substeps;
    for (n = 0; n < substeps; n++) {
        wheel_torques(p, &x[7], u->wheel_torque_cmd_nm, uw);
        derivative(p, u, uw, x, k1);
        for (i = 0; i < NX; i++) xt[i] = x[i] + 0.5 * h * k1[i];
        derivative(p, u, uw, xt, k2);
        for (i = 0; i < NX; i++) xt[i] = x[i] + 0.5 * h * k2[i];
        derivative(p, u, uw, xt, k3);
        for (i = 0; i < NX; i++) xt[i] = x[i] + h * k3[i];
        derivative(p, u, uw, xt, k4);
        for (i = 0; i < NX; i++) {
            x[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        if (tsr_quat_normalize(x, x) != 0) {
            return TSR_EINVAL;
        }
    }
    for (i = 0; i < NX; i++) {
        if (!isfinite(x[i])) {
            return TSR_EINVAL;
        }
    }
    for (i = 0; i < 4; i++) {
        s->q_body_eci[i] = x[i];
        s->wheel_speed_rad_s[i] = x[7 + i];
    }
    for (i = 0; i < 3; i++) {
        s->w_body_rad_s[i] = x[4 + i];
    }
    s->t_s += dt_s;
    return 0;
}

/* Total angular momentum (body and wheels) expressed in ECI, N m s. */
void tsr_body_momentum(const tsr_body_params *p, const tsr_body_state *s, double h_eci_nms[3])
{
    double h[3];
    double tmp[3];
    int i;
    tsr_m3_mul_v3(p->inertia_kgm2, s->w_body_rad_s, h);
    for (i = 0; i < p->n_wheels; i++) {
        tsr_v3_scale(&p->wheel_axis_body[3 * i], p->wheel_inertia_kgm2[i] * s->wheel_speed_rad_s[i], tmp);
        tsr_v3_add(h, tmp, h);
    }
    tsr_quat_apply(s->q_body_eci, h, h_eci_nms);
}

/* Rotational kinetic energy of body and rotors, J. */
double tsr_body_kinetic_energy(const tsr_body_params *p, const tsr_body_state *s)
{
    double jw[3];
    double e;
    int i;
    tsr_m3_mul_v3(p->inertia_kgm2, s->w_body_rad_s, jw);
    e = 0.5 * tsr_v3_dot(s->w_body_rad_s, jw);
    for (i = 0; i < p->n_wheels; i++) {
        const double spin = tsr_v3_dot(&p->wheel_axis_body[3 * i], s->w_body_rad_s);
        /* Rotor energy beyond the locked-rotor share already in J: */
        e += 0.5 * p->wheel_inertia_kgm2[i] *
             ((spin + s->wheel_speed_rad_s[i]) * (spin + s->wheel_speed_rad_s[i]) - spin * spin);
    }
    return e;
}
