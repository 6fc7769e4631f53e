/* tsr_attsim.c - see tsr_attsim.h. */
#include "tsr_attsim.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "tsr_env.h"
#include "tsr_frames.h"
#include "tsr_igrf.h"
#include "tsr_vecmath.h"

#define AS_PI 3.14159265358979323846
#define AS_R_EARTH_KM 6378.137
#define AS_EARTH_RATE_RAD_S 7.292115e-5
#define AS_JD_J2000 2451545.0
#define AS_DAYS_PER_YEAR 365.25

/* --- random numbers --------------------------------------------------------
 * xoshiro256** 1.0 and splitmix64 (D. Blackman & S. Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 47(4), 2021; public-domain
 * reference code at prng.di.unimi.it). Normal deviates: Box-Muller. */

static unsigned long long rotl64(unsigned long long x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static unsigned long long next_u64(unsigned long long r[4])
{
    const unsigned long long result = rotl64(r[1] * 5ULL, 7) * 9ULL;
    const unsigned long long t = r[1] << 17;
    r[2] ^= r[0];
    r[3] ^= r[1];
    r[1] ^= r[2];
    r[0] ^= r[3];
    r[2] ^= t;
    r[3] = rotl64(r[3], 45);
    return result;
}

static unsigned long long splitmix64(unsigned long long *x)
{
    unsigned long long z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, offset by half a unit so never 0. */
static double uniform_open(unsigned long long r[4])
{
    return ((double)(next_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* One standard normal deviate from the state's generator. */
double tsr_attsim_normal(tsr_attsim_state *s)
{
    double u1;
    double u2;
    double rad;
    if (s->has_spare) {
        s->has_spare = 0;
        return s->spare_normal;
    }
    u1 = uniform_open(s->rng);
    u2 = uniform_open(s->rng);
    rad = sqrt(-2.0 * log(u1));
    s->spare_normal = rad * sin(2.0 * AS_PI * u2);
    s->has_spare = 1;
    return rad * cos(2.0 * AS_PI * u2);
}

/* --- checks ---------------------------------------------------------------- */

static int finite_n(const double *v, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            return 0;
        }
    }
    return 1;
}

static int nonneg(double x)
{
    return isfinite(x) && x >= 0.0;
}

/* 0 when the parameters can be simulated, else TSR_ATTSIM_EPARAMS. */
int tsr_attsim_check(const tsr_attsim_params *p)
{
    const double dt = p ? p->adcs.dt_s : 0.0;
    int i;
    if (p == NULL) {
        return TSR_ATTSIM_EARGS;
    }
    if (!(isfinite(dt) && dt > 0.0 && dt <= 60.0) || p->dyn_substeps < 1 ||
        p->dyn_substeps > 1000 || p->igrf_nmax_truth < 1 ||
        p->igrf_nmax_truth > TSR_IGRF_NMAX) {
        return TSR_ATTSIM_EPARAMS;
    }
    if (p->body.n_wheels < 0 || p->body.n_wheels > TSR_MAX_WHEELS ||
        !finite_n(p->body.inertia_kgm2, 9) || !finite_n(p->body.inertia_body_inv, 9) ||
        !(p->body.inertia_kgm2[0] > 0.0 && p->body.inertia_kgm2[4] > 0.0 &&
          p->body.inertia_kgm2[8] > 0.0) ||
        !(fabs(p->body.inertia_body_inv[0]) > 0.0)) {
        return TSR_ATTSIM_EPARAMS; /* tsr_body_params_init not run, or a bad inertia */
    }
    for (i = 0; i < p->body.n_wheels; i++) {
        if (!(p->body.wheel_inertia_kgm2[i] > 0.0) || !nonneg(p->body.wheel_max_torque_nm[i]) ||
            !nonneg(p->body.wheel_max_speed_rad_s[i])) {
            return TSR_ATTSIM_EPARAMS;
        }
    }
    if (p->sat.init_error != 0 || !isfinite(p->start_jd_utc) ||
        !isfinite(p->start_jd_utc_frac) || !isfinite(p->tt_minus_utc_s) ||
        !isfinite(p->ut1_minus_utc_s) || fabs(p->ut1_minus_utc_s) > 1.0) {
        return TSR_ATTSIM_EPARAMS;
    }
    if (!nonneg(p->drag_cd) || !nonneg(p->drag_area_m2) || !finite_n(p->drag_cp_body_m, 3) ||
        !finite_n(p->residual_dipole_am2, 3) || !finite_n(p->gyro_bias_rad_s, 3) ||
        !nonneg(p->gyro_arw_rad_s_sqrt_hz) || !nonneg(p->gyro_bias_rw_rad_s2_sqrt_hz) ||
        !nonneg(p->mag_noise_t) || !finite_n(p->mag_bias_t, 3) || !nonneg(p->sun_noise_rad) ||
        !(p->sun_shadow_threshold >= 0.0 && p->sun_shadow_threshold <= 1.0)) {
        return TSR_ATTSIM_EPARAMS;
    }
    return TSR_ATTSIM_OK;
}

/* Reset the state: attitude q0 (normalised), rate w0, wheels at rest, the
 * ADCS in `mode` with a fresh filter, the generator seeded from `seed`. */
int tsr_attsim_init(const tsr_attsim_params *p, tsr_attsim_state *s, unsigned long long seed,
                    const double q0_body_eci[4], const double w0_body_rad_s[3], int mode)
{
    unsigned long long x = seed;
    int rc;
    int i;
    if (s == NULL || q0_body_eci == NULL || w0_body_rad_s == NULL) {
        return TSR_ATTSIM_EARGS;
    }
    rc = tsr_attsim_check(p);
    if (rc != 0) {
        return rc;
    }
    if (!finite_n(q0_body_eci, 4) || !finite_n(w0_body_rad_s, 3) || mode < TSR_ADCS_MODE_IDLE ||
        mode > TSR_ADCS_MODE_TARGET) {
        return TSR_ATTSIM_EARGS;
    }
    memset(s, 0, sizeof(*s));
    if (tsr_quat_normalize(q0_body_eci, s->body.q_body_eci) != 0) {
        return TSR_ATTSIM_EARGS;
    }
    for (i = 0; i < 3; i++) {
        s->body.w_body_rad_s[i] = w0_body_rad_s[i];
        s->gyro_bias_rad_s[i] = p->gyro_bias_rad_s[i];
    }
    tsr_adcs_init(&s->adcs, mode);
    for (i = 0; i < 4; i++) {
        s->rng[i] = splitmix64(&x);
    }
    return TSR_ATTSIM_OK;
}

/* Rows a run of n_steps from this state writes with this log_every. */
long tsr_attsim_log_rows(const tsr_attsim_state *s, long n_steps, long log_every)
{
    long first;
    long last;
    if (s == NULL || n_steps <= 0 || log_every <= 0 || s->steps < 0 ||
        n_steps > LONG_MAX - s->steps) {
        return 0;
    }
    first = (s->steps + log_every - 1) / log_every; /* first multiple >= steps, in units */
    last = (s->steps + n_steps - 1) / log_every;    /* last multiple <= final index */
    return last >= first ? last - first + 1 : 0;
}

/* --- one step --------------------------------------------------------------- */

typedef struct {
    double r_km[3];
    double v_km_s[3];
    double jd_tt;
    double gmst_rad;
    double decimal_year;
    double sun_eci[3];      /* unit, from the spacecraft */
    double shadow;
    double b_eci_t[3];
} truth_env;

static int environment(const tsr_attsim_params *p, double t_s, truth_env *e)
{
    const double day_s = 86400.0;
    const double since_sat_days = (p->start_jd_utc - p->sat.epoch_jd) +
                                  (p->start_jd_utc_frac - p->sat.epoch_jd_frac);
    const double tsince_min = since_sat_days * 1440.0 + t_s / 60.0;
    const double frac_utc = p->start_jd_utc_frac + t_s / day_s;
    double r_sun[3];
    double rel[3];
    if (tsr_sgp4(&p->sat, tsince_min, e->r_km, e->v_km_s) != TSR_SGP4_OK) {
        return TSR_ATTSIM_EORBIT;
    }
    e->jd_tt = p->start_jd_utc + (frac_utc + p->tt_minus_utc_s / day_s);
    e->gmst_rad = tsr_gmst82(p->start_jd_utc, frac_utc + p->ut1_minus_utc_s / day_s);
    e->decimal_year = 2000.0 + (e->jd_tt - AS_JD_J2000) / AS_DAYS_PER_YEAR;
    tsr_sun_position_eci(e->jd_tt, r_sun);
    tsr_v3_sub(r_sun, e->r_km, rel);
    if (tsr_v3_normalize(rel, e->sun_eci) != 0) {
        return TSR_ATTSIM_ESTATE;
    }
    e->shadow = tsr_shadow_conical(e->r_km, r_sun);
    if (tsr_igrf_field_eci(e->r_km, e->gmst_rad, e->decimal_year, p->igrf_nmax_truth,
                           e->b_eci_t) != 0) {
        return TSR_ATTSIM_ESTATE;
    }
    return TSR_ATTSIM_OK;
}

/* v turned by a random rotation vector with sigma per axis (Rodrigues, via
 * the quaternion of that rotation). */
static void small_rotation(tsr_attsim_state *s, double sigma, const double v[3], double out[3])
{
    double phi[3];
    double ang;
    double q[4];
    int i;
    for (i = 0; i < 3; i++) {
        phi[i] = sigma * tsr_attsim_normal(s);
    }
    ang = tsr_v3_norm(phi);
    if (!(ang > 0.0)) {
        out[0] = v[0];
        out[1] = v[1];
        out[2] = v[2];
        return;
    }
    tsr_v3_scale(phi, 1.0 / ang, phi);
    tsr_quat_from_axis_angle(phi, ang, q);
    tsr_quat_apply(q, v, out);
}

static void sensors(const tsr_attsim_params *p, tsr_attsim_state *s, const truth_env *e,
                    tsr_adcs_inputs *in)
{
    const double dt = p->adcs.dt_s;
    const double gyro_sigma = p->gyro_arw_rad_s_sqrt_hz / sqrt(dt);
    const double *q = s->body.q_body_eci;
    double b_body[3];
    double s_body[3];
    int i;
    memset(in, 0, sizeof(*in));
    tsr_quat_apply_inverse(q, e->b_eci_t, b_body);
    tsr_quat_apply_inverse(q, e->sun_eci, s_body);
    /* Fixed draw order (gyro, magnetometer, sun, bias walk) keeps a run
     * repeatable whatever the noise levels are. */
    for (i = 0; i < 3; i++) {
        in->gyro_rad_s[i] = s->body.w_body_rad_s[i] + s->gyro_bias_rad_s[i] +
                            gyro_sigma * tsr_attsim_normal(s);
    }
    for (i = 0; i < 3; i++) {
        in->mag_body_t[i] = b_body[i] + p->mag_bias_t[i] + p->mag_noise_t * tsr_attsim_normal(s);
    }
    small_rotation(s, p->sun_noise_rad, s_body, in->sun_body);
    for (i = 0; i < 3; i++) {
        s->gyro_bias_rad_s[i] += p->gyro_bias_rw_rad_s2_sqrt_hz * sqrt(dt) * tsr_attsim_normal(s);
    }
    for (i = 0; i < TSR_MAX_WHEELS; i++) {
        in->wheel_speed_rad_s[i] = i < p->body.n_wheels ? s->body.wheel_speed_rad_s[i] : 0.0;
    }
    for (i = 0; i < 3; i++) {
        in->r_eci_km[i] = e->r_km[i];
        in->v_eci_km_s[i] = e->v_km_s[i];
    }
    in->jd_tt = e->jd_tt;
    in->gmst_rad = e->gmst_rad;
    in->decimal_year = e->decimal_year;
    in->gyro_valid = 1;
    in->mag_valid = 1;
    in->sun_valid = e->shadow <= p->sun_shadow_threshold;
}

static void external_torque(const tsr_attsim_params *p, const tsr_attsim_state *s,
                            const truth_env *e, double tau[3])
{
    double t2[3];
    tau[0] = tau[1] = tau[2] = 0.0;
    if (p->gravity_gradient) {
        tsr_gravity_gradient_torque(p->body.inertia_kgm2, s->body.q_body_eci, e->r_km, tau);
    }
    if (p->drag_area_m2 > 0.0) {
        /* Air co-rotating with the Earth (Vallado 2013, sec. 8.6.2). */
        const double w_e[3] = {0.0, 0.0, AS_EARTH_RATE_RAD_S};
        double v_rel[3];
        double wxr[3];
        tsr_v3_cross(w_e, e->r_km, wxr);
        tsr_v3_sub(e->v_km_s, wxr, v_rel);
        tsr_v3_scale(v_rel, 1e3, v_rel);
        tsr_drag_torque(s->body.q_body_eci, v_rel,
                        tsr_atmosphere_density(tsr_v3_norm(e->r_km) - AS_R_EARTH_KM), p->drag_cd,
                        p->drag_area_m2, p->drag_cp_body_m, t2);
        tsr_v3_add(tau, t2, tau);
    }
}

static double angle_between_units(const double a[3], const double b[3])
{
    double c[3];
    tsr_v3_cross(a, b, c);
    return atan2(tsr_v3_norm(c), tsr_v3_dot(a, b));
}

static void log_row(const tsr_attsim_params *p, const tsr_attsim_state *s,
                    const tsr_adcs_outputs *o, const truth_env *e, double *row)
{
    const int estimated = (o->status & TSR_ADCS_EST_VALID) != 0;
    const int mode = s->adcs.mode;
    const int has_target = (mode == TSR_ADCS_MODE_SUN || mode == TSR_ADCS_MODE_NADIR ||
                            mode == TSR_ADCS_MODE_INERTIAL || mode == TSR_ADCS_MODE_TARGET) &&
                           !(o->status & TSR_ADCS_NO_CONTROL);
    double s_body[3];
    double axis[3];
    int i;
    row[TSR_ATTSIM_COL_T] = s->body.t_s;
    for (i = 0; i < 4; i++) {
        row[TSR_ATTSIM_COL_Q + i] = s->body.q_body_eci[i];
        row[TSR_ATTSIM_COL_WHEEL + i] = s->body.wheel_speed_rad_s[i];
        row[TSR_ATTSIM_COL_Q_EST + i] = o->q_body_eci[i];
        row[TSR_ATTSIM_COL_WHEEL_CMD + i] = o->wheel_torque_cmd_nm[i];
    }
    for (i = 0; i < 3; i++) {
        row[TSR_ATTSIM_COL_W + i] = s->body.w_body_rad_s[i];
        row[TSR_ATTSIM_COL_BIAS_EST + i] = o->gyro_bias_rad_s[i];
        row[TSR_ATTSIM_COL_BIAS_TRUE + i] = s->gyro_bias_rad_s[i];
        row[TSR_ATTSIM_COL_SIGMA + i] = o->att_sigma_rad[i];
        row[TSR_ATTSIM_COL_DIPOLE + i] = o->mtq_dipole_am2[i];
        row[TSR_ATTSIM_COL_R + i] = e->r_km[i];
    }
    row[TSR_ATTSIM_COL_POINT_ERR] =
        has_target ? tsr_quat_angle_between(o->q_target_eci, s->body.q_body_eci) : NAN;
    row[TSR_ATTSIM_COL_EST_ERR] =
        estimated ? tsr_quat_angle_between(o->q_body_eci, s->body.q_body_eci) : NAN;
    tsr_quat_apply_inverse(s->body.q_body_eci, e->sun_eci, s_body);
    if (tsr_v3_normalize(p->adcs.sun_axis_body, axis) == 0) {
        row[TSR_ATTSIM_COL_SUN_ERR] = angle_between_units(axis, s_body);
    } else {
        row[TSR_ATTSIM_COL_SUN_ERR] = NAN;
    }
    row[TSR_ATTSIM_COL_POINT_EST] = o->pointing_error_rad;
    row[TSR_ATTSIM_COL_SHADOW] = e->shadow;
    row[TSR_ATTSIM_COL_STATUS] = (double)o->status;
}

/* Run n_steps cycles from the current state. Every step whose global index
 * (s->steps) is a multiple of log_every (> 0) writes one row of
 * TSR_ATTSIM_LOG_COLS doubles to log_out; log_every = 0 logs nothing (then
 * log_out may be NULL). Returns TSR_ATTSIM_OK, or an error code with the
 * state as it was after the last good step and *n_logged rows written. */
int tsr_attsim_run(const tsr_attsim_params *p, tsr_attsim_state *s, long n_steps,
                   long log_every, double *log_out, long log_capacity, long *n_logged)
{
    const double dt = p ? p->adcs.dt_s : 0.0;
    tsr_adcs_inputs in;
    tsr_body_inputs u;
    truth_env e;
    long rows = 0;
    long k;
    int rc;
    int i;

    if (n_logged != NULL) {
        *n_logged = 0;
    }
    if (p == NULL || s == NULL || n_steps < 0 || log_every < 0 || log_capacity < 0 ||
        s->steps < 0 || n_steps > LONG_MAX - s->steps) {
        return TSR_ATTSIM_EARGS;
    }
    rc = tsr_attsim_check(p);
    if (rc != 0) {
        return rc;
    }
    if (log_every > 0 &&
        (log_out == NULL || tsr_attsim_log_rows(s, n_steps, log_every) > log_capacity)) {
        return TSR_ATTSIM_EARGS;
    }
    if (!finite_n(s->body.q_body_eci, 4) || !finite_n(s->body.w_body_rad_s, 3) ||
        !finite_n(s->body.wheel_speed_rad_s, 4) || !finite_n(s->gyro_bias_rad_s, 3) ||
        s->steps < 0 ||
        !(fabs(s->body.q_body_eci[0]) + tsr_v3_norm(s->body.q_body_eci + 1) > 0.0)) {
        return TSR_ATTSIM_ESTATE;
    }

    for (k = 0; k < n_steps; k++) {
        const double t_s = (double)s->steps * dt;
        s->body.t_s = t_s;
        rc = environment(p, t_s, &e);
        if (rc != 0) {
            break;
        }
        sensors(p, s, &e, &in);
        if (tsr_adcs_step(&p->adcs, &s->adcs, &in, &s->last) != 0) {
            rc = TSR_ATTSIM_EADCS;
            break;
        }
        if (log_every > 0 && s->steps % log_every == 0) {
            log_row(p, s, &s->last, &e, log_out + rows * TSR_ATTSIM_LOG_COLS);
            rows++;
        }
        memset(&u, 0, sizeof(u));
        for (i = 0; i < 4; i++) {
            u.wheel_torque_cmd_nm[i] = s->last.wheel_torque_cmd_nm[i];
        }
        for (i = 0; i < 3; i++) {
            u.mtq_dipole_am2[i] = s->last.mtq_dipole_am2[i] + p->residual_dipole_am2[i];
            u.b_eci_t[i] = e.b_eci_t[i];
        }
        external_torque(p, s, &e, u.ext_torque_body_nm);
        if (tsr_body_step(&p->body, &s->body, &u, dt, p->dyn_substeps) != 0) {
            rc = TSR_ATTSIM_ESTATE;
            break;
        }
        s->steps++;
        s->body.t_s = (double)s->steps * dt;
    }
    if (n_logged != NULL) {
        *n_logged = rows;
    }
    return rc;
}
