/* Unit tests for tsr_attsim: determinism (same seed, same log; one run or
 * several pieces, same log), argument checks, log bookkeeping, the normal
 * generator, and a short closed loop that brings the pointing error down. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tsr_attsim.h"
#include "reference_cubesat.h"
#include "tsr_test.h"
#include "tsr_vecmath.h"

#define DEG (3.14159265358979323846 / 180.0)
#define JD0 2461120.5 /* 2027-03-21 00:00 UTC */
#define MAX_ROWS 700

static double log_a[MAX_ROWS * TSR_ATTSIM_LOG_COLS];
static double log_b[MAX_ROWS * TSR_ATTSIM_LOG_COLS];

/* The 3U of the closed-loop tests on a 500 km, 97.4 deg SGP4 orbit. */
static void make_params(tsr_attsim_params *p)
{
    const double a_km = 6878.137;
    const double n_rad_min = 60.0 * sqrt(398600.4418 / (a_km * a_km * a_km));
    tsr_body_params *b = &p->body;
    memset(p, 0, sizeof(*p));
    reference_cubesat(&p->adcs, b);
    (void)tsr_body_params_init(b);
    (void)tsr_sgp4_init(&p->sat, JD0, 0.0, 0.0, 0.0, 0.0, 1e-4, 0.0, 97.4 * DEG, 0.0, n_rad_min,
                        30.0 * DEG, TSR_SGP4_OPSMODE_IMPROVED);
    p->start_jd_utc = JD0;
    p->start_jd_utc_frac = 0.25;
    p->tt_minus_utc_s = 69.184;
    p->igrf_nmax_truth = 13;
    p->dyn_substeps = 1;
    p->gravity_gradient = 1;
    p->drag_cd = 2.2;
    p->drag_area_m2 = 0.03;
    p->drag_cp_body_m[0] = 0.01;
    p->gyro_bias_rad_s[0] = 0.1 * DEG;
    p->gyro_bias_rad_s[1] = -0.08 * DEG;
    p->gyro_bias_rad_s[2] = 0.06 * DEG;
    p->gyro_arw_rad_s_sqrt_hz = 1.7e-4;
    p->mag_noise_t = 100e-9;
    p->sun_noise_rad = 0.5 * DEG;
    p->sun_shadow_threshold = 0.5;
}

static const double Q0[4] = {0.9, 0.3, -0.2, 0.25};
static const double W0[3] = {0.01, -0.005, 0.004};

static void test_same_seed_same_log(tsr_test_tally *t)
{
    static tsr_attsim_params p;
    tsr_attsim_state s1;
    tsr_attsim_state s2;
    long n1 = -1;
    long n2 = -1;
    long n3 = -1;
    make_params(&p);
    CHECK(t, tsr_attsim_init(&p, &s1, 42, Q0, W0, TSR_ADCS_MODE_SUN) == 0);
    CHECK(t, tsr_attsim_init(&p, &s2, 42, Q0, W0, TSR_ADCS_MODE_SUN) == 0);
    CHECK(t, tsr_attsim_run(&p, &s1, 600, 10, log_a, MAX_ROWS, &n1) == 0);
    /* the same run in two pieces of different length */
    CHECK(t, tsr_attsim_run(&p, &s2, 255, 10, log_b, MAX_ROWS, &n2) == 0);
    CHECK(t, tsr_attsim_run(&p, &s2, 345, 10, log_b + n2 * TSR_ATTSIM_LOG_COLS,
                            MAX_ROWS - n2, &n3) == 0);
    CHECK(t, n1 == 60 && n2 == 26 && n3 == 34);
    CHECK(t, memcmp(log_a, log_b, sizeof(double) * 60 * TSR_ATTSIM_LOG_COLS) == 0);
    CHECK(t, memcmp(&s1.body, &s2.body, sizeof(s1.body)) == 0);
    CHECK_NEAR(t, log_a[59 * TSR_ATTSIM_LOG_COLS + TSR_ATTSIM_COL_T], 59.0, 1e-9);
    CHECK_NEAR(t, s1.body.t_s, 60.0, 1e-9);
    /* another seed gives another run */
    CHECK(t, tsr_attsim_init(&p, &s2, 43, Q0, W0, TSR_ADCS_MODE_SUN) == 0);
    CHECK(t, tsr_attsim_run(&p, &s2, 600, 10, log_b, MAX_ROWS, &n2) == 0);
    CHECK(t, memcmp(log_a, log_b, sizeof(double) * 60 * TSR_ATTSIM_LOG_COLS) != 0);
}

static void test_rejects_bad_arguments(tsr_test_tally *t)
{
    static tsr_attsim_params p;
    static tsr_attsim_params bad;
    tsr_attsim_state s;
    const double qz[4] = {0.0, 0.0, 0.0, 0.0};
    const double qn[4] = {NAN, 0.0, 0.0, 1.0};
    long n = -1;
    make_params(&p);
    CHECK(t, tsr_attsim_init(&p, &s, 1, Q0, W0, TSR_ADCS_MODE_SUN) == 0);
    CHECK(t, tsr_attsim_run(NULL, &s, 10, 0, NULL, 0, &n) == TSR_ATTSIM_EARGS);
    CHECK(t, tsr_attsim_run(&p, NULL, 10, 0, NULL, 0, &n) == TSR_ATTSIM_EARGS);
    CHECK(t, tsr_attsim_run(&p, &s, -1, 0, NULL, 0, &n) == TSR_ATTSIM_EARGS);
    CHECK(t, tsr_attsim_run(&p, &s, 10, -1, NULL, 0, &n) == TSR_ATTSIM_EARGS);
    CHECK(t, tsr_attsim_run(&p, &s, 10, 1, NULL, 10, &n) == TSR_ATTSIM_EARGS);
    CHECK(t, tsr_attsim_run(&p, &s, 10, 1, log_a, 9, &n) == TSR_ATTSIM_EARGS);
    CHECK(t, s.steps == 0 && n == 0);
    CHECK(t, tsr_attsim_init(&p, &s, 1, qz, W0, TSR_ADCS_MODE_SUN) == TSR_ATTSIM_EARGS);
    CHECK(t, tsr_attsim_init(&p, &s, 1, qn, W0, TSR_ADCS_MODE_SUN) == TSR_ATTSIM_EARGS);
    CHECK(t, tsr_attsim_init(&p, &s, 1, Q0, W0, 99) == TSR_ATTSIM_EARGS);
    CHECK(t, tsr_attsim_init(&p, &s, 1, Q0, NULL, TSR_ADCS_MODE_SUN) == TSR_ATTSIM_EARGS);

    bad = p;
    bad.adcs.dt_s = 0.0;
    CHECK(t, tsr_attsim_check(&bad) == TSR_ATTSIM_EPARAMS);
    bad = p;
    bad.dyn_substeps = 0;
    CHECK(t, tsr_attsim_check(&bad) == TSR_ATTSIM_EPARAMS);
    bad = p;
    bad.igrf_nmax_truth = 14;
    CHECK(t, tsr_attsim_check(&bad) == TSR_ATTSIM_EPARAMS);
    bad = p;
    bad.mag_noise_t = -1.0;
    CHECK(t, tsr_attsim_check(&bad) == TSR_ATTSIM_EPARAMS);
    bad = p;
    bad.gyro_bias_rad_s[1] = INFINITY;
    CHECK(t, tsr_attsim_check(&bad) == TSR_ATTSIM_EPARAMS);
    bad = p;
    memset(bad.body.inertia_body_inv, 0, sizeof(bad.body.inertia_body_inv));
    CHECK(t, tsr_attsim_check(&bad) == TSR_ATTSIM_EPARAMS); /* body params not initialised */
    bad = p;
    bad.sat.init_error = TSR_SGP4_ERR_MEAN_ECC;
    CHECK(t, tsr_attsim_run(&bad, &s, 10, 0, NULL, 0, &n) == TSR_ATTSIM_EPARAMS);

    /* a non-finite state is refused, not propagated */
    CHECK(t, tsr_attsim_init(&p, &s, 1, Q0, W0, TSR_ADCS_MODE_SUN) == 0);
    s.body.w_body_rad_s[2] = NAN;
    CHECK(t, tsr_attsim_run(&p, &s, 10, 0, NULL, 0, &n) == TSR_ATTSIM_ESTATE);
    /* an orbit that has decayed stops the run with the orbit error */
    CHECK(t, tsr_attsim_init(&p, &s, 1, Q0, W0, TSR_ADCS_MODE_SUN) == 0);
    bad = p;
    bad.start_jd_utc = JD0 + 1e6; /* 2,700 years on: SGP4 refuses the time */
    CHECK(t, tsr_attsim_run(&bad, &s, 10, 0, NULL, 0, &n) == TSR_ATTSIM_EORBIT);
    CHECK(t, s.steps == 0);
}

static void test_log_row_count(tsr_test_tally *t)
{
    tsr_attsim_state s;
    memset(&s, 0, sizeof(s));
    CHECK(t, tsr_attsim_log_rows(&s, 10, 1) == 10);
    CHECK(t, tsr_attsim_log_rows(&s, 10, 3) == 4);   /* 0 3 6 9 */
    CHECK(t, tsr_attsim_log_rows(&s, 0, 3) == 0);
    CHECK(t, tsr_attsim_log_rows(&s, 10, 0) == 0);
    s.steps = 5;
    CHECK(t, tsr_attsim_log_rows(&s, 10, 3) == 3);   /* 6 9 12 */
    CHECK(t, tsr_attsim_log_rows(&s, 1, 3) == 0);    /* 5 */
    CHECK(t, tsr_attsim_log_rows(&s, 2, 3) == 1);    /* 6 */
}

static void test_normal_deviates(tsr_test_tally *t)
{
    tsr_attsim_state s;
    static tsr_attsim_params p;
    double sum = 0.0;
    double sum2 = 0.0;
    const int n = 200000;
    int i;
    make_params(&p);
    CHECK(t, tsr_attsim_init(&p, &s, 7, Q0, W0, TSR_ADCS_MODE_IDLE) == 0);
    for (i = 0; i < n; i++) {
        const double x = tsr_attsim_normal(&s);
        sum += x;
        sum2 += x * x;
    }
    CHECK_NEAR(t, sum / n, 0.0, 0.01);
    CHECK_NEAR(t, sum2 / n, 1.0, 0.01);
}

/* Sun pointing from about 50 deg off with a tumble of 0.7 deg/s: within
 * 2 deg of the target and the sun after 10 minutes, estimate within 1 deg. */
static void test_closed_loop_reduces_pointing_error(tsr_test_tally *t)
{
    static tsr_attsim_params p;
    tsr_attsim_state s;
    long n = 0;
    const double *first;
    const double *last;
    make_params(&p);
    CHECK(t, tsr_attsim_init(&p, &s, 5, Q0, W0, TSR_ADCS_MODE_SUN) == 0);
    CHECK(t, tsr_attsim_run(&p, &s, 6000, 10, log_a, MAX_ROWS, &n) == 0);
    CHECK(t, n == 600);
    first = log_a + 5 * TSR_ATTSIM_LOG_COLS; /* 5 s: the filter is running */
    last = log_a + (n - 1) * TSR_ATTSIM_LOG_COLS;
    printf("  sun pointing: true error %.2f deg at %.1f s, %.3f deg at %.1f s; "
           "sun axis %.3f deg; estimate %.3f deg\n",
           first[TSR_ATTSIM_COL_POINT_ERR] / DEG, first[TSR_ATTSIM_COL_T],
           last[TSR_ATTSIM_COL_POINT_ERR] / DEG, last[TSR_ATTSIM_COL_T],
           last[TSR_ATTSIM_COL_SUN_ERR] / DEG, last[TSR_ATTSIM_COL_EST_ERR] / DEG);
    CHECK(t, first[TSR_ATTSIM_COL_POINT_ERR] > 20.0 * DEG);
    CHECK(t, last[TSR_ATTSIM_COL_POINT_ERR] < 2.0 * DEG);
    CHECK(t, last[TSR_ATTSIM_COL_SUN_ERR] < 2.0 * DEG);
    CHECK(t, last[TSR_ATTSIM_COL_EST_ERR] < 1.0 * DEG);
    CHECK(t, ((int)last[TSR_ATTSIM_COL_STATUS] & TSR_ADCS_EST_VALID) != 0);
    CHECK_NEAR(t, tsr_v3_norm(last + TSR_ATTSIM_COL_R), 6878.0, 30.0);
}

int main(void)
{
    tsr_test_tally t = {0, 0, 0};
    RUN(&t, test_same_seed_same_log);
    RUN(&t, test_rejects_bad_arguments);
    RUN(&t, test_log_row_count);
    RUN(&t, test_normal_deviates);
    RUN(&t, test_closed_loop_reduces_pointing_error);
    return TSR_TEST_EXIT(&t);
}
