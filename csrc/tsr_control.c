/* tsr_control.c - see tsr_control.h. */
#include "tsr_control.h"

#include <math.h>

/* Scale the whole vector down until every axis fits its limit. */
void tsr_dipole_saturate(const double m_am2[3], const double max_am2[3], double out_am2[3])
{
    double k = 1.0;
    int i;
    for (i = 0; i < 3; i++) {
        const double a = fabs(m_am2[i]);
        if (a > max_am2[i] && a > 0.0) {
            const double ki = max_am2[i] / a;
            if (ki < k) {
                k = ki;
            }
        }
    }
    for (i = 0; i < 3; i++) {
        out_am2[i] = m_am2[i] * k;
    }
}

/* One control step. The first call only stores the sample and commands zero.
 * Returns 0, or -1 for a bad step or parameters (command set to zero). */
int tsr_bdot_step(const tsr_bdot_params *p, tsr_bdot_state *s,
                  const double b_body_t[3], double dt_s, double m_cmd_am2[3])
{
    double m[3];
    int i;
    m_cmd_am2[0] = m_cmd_am2[1] = m_cmd_am2[2] = 0.0;
    if (!(dt_s > 0.0) || !(p->filter_alpha > 0.0) || p->filter_alpha > 1.0) {
        return -1;
    }
    for (i = 0; i < 3; i++) {
        if (!isfinite(b_body_t[i])) {
            return -1;
        }
    }
    if (!s->primed) {
        for (i = 0; i < 3; i++) {
            s->b_prev_t[i] = b_body_t[i];
            s->bdot_t_s[i] = 0.0;
        }
        s->primed = 1;
        return 0;
    }
    for (i = 0; i < 3; i++) {
        const double raw = (b_body_t[i] - s->b_prev_t[i]) / dt_s;
        s->bdot_t_s[i] += p->filter_alpha * (raw - s->bdot_t_s[i]);
        s->b_prev_t[i] = b_body_t[i];
        m[i] = -p->gain_am2_per_t_s * s->bdot_t_s[i];
    }
    tsr_dipole_saturate(m, p->max_dipole_am2, m_cmd_am2);
    return 0;
}
