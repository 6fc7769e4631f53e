/*
 * tsr_control.h - attitude control laws.
 *
 * B-dot detumbling: m = -k dB/dt (Stickler & Alfriend, 1974), with dB/dt
 * taken in the body frame from successive magnetometer samples and passed
 * through a first-order low-pass filter. The dipole is scaled as a whole
 * (direction kept) so that no axis exceeds its torquer's limit.
 */
#ifndef TSR_CONTROL_H
#define TSR_CONTROL_H

/* cffi:begin */
typedef struct {
    double gain_am2_per_t_s;       /* k, A m^2 per (T/s) */
    double max_dipole_am2[3];      /* per-axis torquer limit */
    double filter_alpha;           /* 0 < alpha <= 1; 1 = no filtering */
} tsr_bdot_params;

typedef struct {
    double b_prev_t[3];
    double bdot_t_s[3];            /* filtered dB/dt, body frame */
    int primed;                    /* 0 until a first sample is stored */
} tsr_bdot_state;

int tsr_bdot_step(const tsr_bdot_params *p, tsr_bdot_state *s,
                  const double b_body_t[3], double dt_s, double m_cmd_am2[3]);
void tsr_dipole_saturate(const double m_am2[3], const double max_am2[3], double out_am2[3]);
/* cffi:end */

#endif
