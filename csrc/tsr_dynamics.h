/*
 * tsr_dynamics.h - rigid spacecraft with reaction wheels and magnetorquers.
 *
 * Equations of motion (Markley & Crassidis, "Fundamentals of Spacecraft
 * Attitude Determination and Control", 2014, sec. 3.3.5), with J_B the
 * spacecraft inertia less the wheels' axial inertia about their spin axes:
 *   H        = J_B w + sum_i a_i h_i,   h_i = I_w,i (a_i . w + Omega_i)
 *   J_B dw   = tau_ext + m x B_body - w x H - sum_i a_i u_i
 *   dh_i     = u_i  (u_i: motor torque on wheel i, N m)
 *   dq       = 0.5 q (x) [0, w]
 * Integrated by classical RK4. B_eci is held constant over one step (it
 * moves by well under a milliradian in 0.1 s of LEO flight) while B_body
 * follows the attitude inside the step.
 */
#ifndef TSR_DYNAMICS_H
#define TSR_DYNAMICS_H

/* cffi:begin */
#define TSR_MAX_WHEELS 4

typedef struct {
    double inertia_kgm2[9];          /* whole spacecraft about its CoM, body frame */
    int n_wheels;                    /* 0 .. TSR_MAX_WHEELS */
    double wheel_axis_body[12];      /* unit spin axis of wheel i at [3i..3i+2] */
    double wheel_inertia_kgm2[4];    /* rotor axial inertia */
    double wheel_max_torque_nm[4];   /* motor torque limit */
    double wheel_max_speed_rad_s[4]; /* speed limit, relative to the body */
    /* Derived by tsr_body_params_init: */
    double inertia_body_inv[9];      /* inverse of J_B */
} tsr_body_params;

typedef struct {
    double q_body_eci[4];
    double w_body_rad_s[3];          /* body rate relative to ECI, body frame */
    double wheel_speed_rad_s[4];     /* relative to the body */
    double t_s;                      /* simulation time */
} tsr_body_state;

typedef struct {
    double wheel_torque_cmd_nm[4];   /* requested motor torque on each wheel */
    double mtq_dipole_am2[3];        /* commanded magnetic dipole, body frame */
    double b_eci_t[3];               /* geomagnetic field at the spacecraft, ECI */
    double ext_torque_body_nm[3];    /* any other torque, body frame */
} tsr_body_inputs;

int tsr_body_params_init(tsr_body_params *p);
int tsr_body_step(const tsr_body_params *p, tsr_body_state *s,
                  const tsr_body_inputs *u, double dt_s, int substeps);
void tsr_body_momentum(const tsr_body_params *p, const tsr_body_state *s,
                       double h_eci_nms[3]);
double tsr_body_kinetic_energy(const tsr_body_params *p, const tsr_body_state *s);
/* cffi:end */

#define TSR_EINVAL (-1)

#endif
