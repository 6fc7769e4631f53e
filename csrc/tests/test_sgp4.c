/*
 * test_sgp4.c - SGP4/SDP4 against points of the verification set of
 * Vallado, Crawford, Hujsak & Kelso, AIAA 2006-6753 (tcppver.out), one per
 * branch: near-Earth, deep space with 12 h and 24 h resonance, deep space
 * without resonance, decay and an error at epoch. The full set is checked
 * from Python (tests/gnc/test_orbit_verification.py).
 */
#include "tsr_sgp4.h"
#include "tsr_test.h"

#include <math.h>

#define POS_TOL_KM 1e-6
#define VEL_TOL_KM_S 1e-8

typedef struct {
    double jd, jd_frac, bstar, ndot, nddot, ecc, argp_deg, incl_deg, ma_deg, n_rev_day, raan_deg;
} tle_values;

static int init_from(tsr_sgp4_sat *sat, const tle_values *e)
{
    const double pi = 3.14159265358979323846;
    const double xpdotp = 1440.0 / (2.0 * pi);
    const double deg = pi / 180.0;
    return tsr_sgp4_init(sat, e->jd, e->jd_frac, e->bstar, e->ndot / (xpdotp * 1440.0),
                         e->nddot / (xpdotp * 1440.0 * 1440.0), e->ecc, e->argp_deg * deg,
                         e->incl_deg * deg, e->ma_deg * deg, e->n_rev_day / xpdotp,
                         e->raan_deg * deg, TSR_SGP4_OPSMODE_IMPROVED);
}

static void check_state(tsr_test_tally *t, const tle_values *e, double tsince,
                        const double want_r[3], const double want_v[3])
{
    tsr_sgp4_sat sat;
    double r[3], v[3];
    CHECK(t, init_from(&sat, e) == TSR_SGP4_OK);
    CHECK(t, tsr_sgp4(&sat, tsince, r, v) == TSR_SGP4_OK);
    for (int i = 0; i < 3; ++i) {
        CHECK_NEAR(t, r[i], want_r[i], POS_TOL_KM);
        CHECK_NEAR(t, v[i], want_v[i], VEL_TOL_KM_S);
    }
}

static const tle_values SAT5 = {2451722.5, 0.78495062, 2.8098e-05, 2.3e-07, 0.0, 0.1859667,
                                331.7664, 34.2682, 19.3264, 10.82419157, 348.7242};

static void test_near_earth_at_epoch_and_later(tsr_test_tally *t)
{
    const double r0[3] = {7022.46529266, -1400.08296755, 0.03995155};
    const double v0[3] = {1.893841015, 6.405893759, 4.534807250};
    const double r1[3] = {-7154.03120202, -3783.17682504, -3536.19412294};
    const double v1[3] = {4.741887409, -4.151817765, -2.093935425};
    check_state(t, &SAT5, 0.0, r0, v0);
    check_state(t, &SAT5, 360.0, r1, v1);
}

static void test_deep_space_half_day_resonance(tsr_test_tally *t)
{
    const tle_values molniya = {2453911.5, 0.33215444, 0.00011873, 9.9e-07, 0.0, 0.6877146,
                                264.7651, 64.1586, 20.2257, 2.00491383, 279.0717};
    const double r[3] = {15223.91713658, -17852.95881713, 25280.39558224};
    const double v[3] = {1.079041732, 0.875187372, 2.485682813};
    tsr_sgp4_sat sat;
    init_from(&sat, &molniya);
    CHECK(t, sat.deep == 1 && sat.irez == 2);
    check_state(t, &molniya, 120.0, r, v);
}

static void test_deep_space_one_day_resonance_backwards(tsr_test_tally *t)
{
    const tle_values sms = {2453518.5, 0.79417928, 0.0, -1.12e-06, 0.0, 0.0270971,
                            327.5225, 9.4958, 30.8097, 1.16186785, 313.175};
    const double r[3] = {-11362.18265118, -35117.55867813, -5413.62537994};
    const double v[3] = {3.137861261, -1.011678260, 0.267510059};
    tsr_sgp4_sat sat;
    init_from(&sat, &sms);
    CHECK(t, sat.deep == 1 && sat.irez == 1);
    check_state(t, &sms, -1440.0, r, v);
}

static void test_deep_space_no_resonance_low_inclination(tsr_test_tally *t)
{
    const tle_values gto = {2453906.5, 0.76535463, 0.0012956, 0.00085586, 1.2891e-07, 0.5782022,
                            274.4436, 6.9327, 25.2425, 4.47796565, 0.2849};
    const double r[3] = {11931.95642997, 7340.74973750, 886.46365987};
    const double v[3] = {0.308329116, 5.532328972, 0.672887281};
    tsr_sgp4_sat sat;
    init_from(&sat, &gto);
    CHECK(t, sat.deep == 1 && sat.irez == 0);
    check_state(t, &gto, 20.0, r, v);
}

static void test_decay_is_error_6_with_state(tsr_test_tally *t)
{
    const tle_values decaying = {2453703.5, 0.02012661, 0.00024476, 0.25992681, 0.0, 0.0303955,
                                 244.0492, 96.4736, 110.6523, 16.46015938, 157.9986};
    const double r50[3] = {4545.78970167, -1273.55952872, 4580.16512984};
    tsr_sgp4_sat sat;
    double r[3], v[3];
    CHECK(t, init_from(&sat, &decaying) == TSR_SGP4_OK);
    CHECK(t, tsr_sgp4(&sat, 35.0, r, v) == TSR_SGP4_OK);
    CHECK_NEAR(t, r[0], r50[0], POS_TOL_KM);
    CHECK(t, tsr_sgp4(&sat, 55.0, r, v) == TSR_SGP4_ERR_DECAYED);
    CHECK(t, !isnan(r[0]) && !isnan(v[2]));
}

static void test_error_at_epoch_gives_nan(tsr_test_tally *t)
{
    const tle_values slow = {2453909.5, 0.85818871, 0.0001, 6.2e-06, 0.0, 0.5602877,
                             123.7484, 68.4714, 302.5767, 1e-05, 236.1303};
    tsr_sgp4_sat sat;
    double r[3], v[3];
    CHECK(t, init_from(&sat, &slow) == TSR_SGP4_ERR_PERT_ECC);
    CHECK(t, sat.init_error == TSR_SGP4_ERR_PERT_ECC);
    CHECK(t, tsr_sgp4(&sat, 0.0, r, v) == TSR_SGP4_ERR_PERT_ECC);
    CHECK(t, isnan(r[0]) && isnan(r[1]) && isnan(r[2]) && isnan(v[0]));
}

static void test_batches_equal_single_calls(tsr_test_tally *t)
{
    tsr_sgp4_sat sats[2];
    const double times[4] = {-100.0, 0.0, 360.0, 1000.0};
    double r[2 * 4 * 3], v[2 * 4 * 3], one_r[3], one_v[3];
    int err[8];
    init_from(&sats[0], &SAT5);
    const tle_values sms = {2453518.5, 0.79417928, 0.0, -1.12e-06, 0.0, 0.0270971,
                            327.5225, 9.4958, 30.8097, 1.16186785, 313.175};
    init_from(&sats[1], &sms);
    tsr_sgp4_many_tsince(sats, 2, times, 4, r, v, err);
    for (int s = 0; s < 2; ++s) {
        for (int i = 0; i < 4; ++i) {
            const int k = s * 4 + i;
            CHECK(t, err[k] == tsr_sgp4(&sats[s], times[i], one_r, one_v));
            CHECK(t, r[3 * k] == one_r[0] && r[3 * k + 2] == one_r[2]);
            CHECK(t, v[3 * k + 1] == one_v[1]);
        }
    }
    /* absolute dates: the epoch itself gives the epoch state */
    const double jd = SAT5.jd, fr = SAT5.jd_frac;
    tsr_sgp4_many_jd(sats, 1, &jd, &fr, 1, r, v, err);
    CHECK(t, err[0] == 0);
    CHECK_NEAR(t, r[0], 7022.46529266, POS_TOL_KM);
    /* one date at a time: the same state as the batch, 360 min after epoch */
    const double later = fr + 0.25;
    double rv[6];
    tsr_sgp4_many_jd(sats, 1, &jd, &later, 1, r, v, err);
    CHECK(t, tsr_sgp4_jd_rv(&sats[0], jd, later, rv) == err[0]);
    CHECK(t, rv[0] == r[0] && rv[2] == r[2] && rv[4] == v[1]);
    /* and left in the record by the scalar calls, bit for bit */
    CHECK(t, tsr_sgp4_jd_state(&sats[0], jd, later) == err[0]);
    for (int i = 0; i < 6; ++i) {
        CHECK(t, sats[0].state[i] == rv[i]);
    }
    CHECK(t, tsr_sgp4_tsince_state(&sats[1], times[3]) == err[7]);
    CHECK(t, sats[1].state[0] == one_r[0] && sats[1].state[5] == one_v[2]);
}

static void test_bad_times_end_with_error_7(tsr_test_tally *t)
{
    const tle_values sms = {2453518.5, 0.79417928, 0.0, -1.12e-06, 0.0, 0.0270971,
                            327.5225, 9.4958, 30.8097, 1.16186785, 313.175};
    tsr_sgp4_sat sat;
    double r[3], v[3];
    init_from(&sat, &sms);
    CHECK(t, tsr_sgp4(&sat, NAN, r, v) == TSR_SGP4_ERR_TIME);
    CHECK(t, isnan(r[0]) && isnan(v[0]));
    CHECK(t, tsr_sgp4(&sat, INFINITY, r, v) == TSR_SGP4_ERR_TIME);
    CHECK(t, tsr_sgp4(&sat, -2.0e8, r, v) == TSR_SGP4_ERR_TIME);
    CHECK(t, tsr_sgp4(&sat, 1.0e6, r, v) == TSR_SGP4_OK);
    CHECK(t, tsr_sgp4_tsince_state(&sat, NAN) == TSR_SGP4_ERR_TIME);
    CHECK(t, isnan(sat.state[0]) && isnan(sat.state[5]));
}

static void test_gmst_iau82(tsr_test_tally *t)
{
    /* Vallado, Fundamentals of Astrodynamics, Example 3-5: 1992 Aug 20
     * 12:14 UT1 (JD 2448855.0097222) gives GMST 152.578787886 deg. */
    const double pi = 3.14159265358979323846;
    CHECK_NEAR(t, tsr_gstime(2448854.5 + (12.0 + 14.0 / 60.0) / 24.0) * 180.0 / pi, 152.578787886, 1e-6);
    /* J2000.0 epoch: 280.46061837 deg (IAU-82 constant term) */
    CHECK_NEAR(t, tsr_gstime(2451545.0) * 180.0 / pi, 280.46061837, 1e-7);
}

int main(void)
{
    tsr_test_tally t = {0, 0, 0};
    RUN(&t, test_near_earth_at_epoch_and_later);
    RUN(&t, test_deep_space_half_day_resonance);
    RUN(&t, test_deep_space_one_day_resonance_backwards);
    RUN(&t, test_deep_space_no_resonance_low_inclination);
    RUN(&t, test_decay_is_error_6_with_state);
    RUN(&t, test_error_at_epoch_gives_nan);
    RUN(&t, test_batches_equal_single_calls);
    RUN(&t, test_bad_times_end_with_error_7);
    RUN(&t, test_gmst_iau82);
    return TSR_TEST_EXIT(&t);
}
