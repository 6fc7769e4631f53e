/* Unit tests for tsr_estimation: TRIAD, QUEST and the MEKF. */
#include <math.h>
#include <string.h>

#include "tsr_estimation.h"
#include "tsr_test.h"
#include "tsr_vecmath.h"

#define DEG (3.14159265358979323846 / 180.0)

/* Deterministic normal deviates: xorshift64 and Box-Muller. */
typedef struct {
    unsigned long long s;
} rng_t;

static double uniform(rng_t *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return ((r->s >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(rng_t *r)
{
    const double u1 = uniform(r);
    const double u2 = uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

static void make_q(double w, double x, double y, double z, double q[4])
{
    const double in[4] = {w, x, y, z};
    (void)tsr_quat_normalize(in, q);
}

static void test_triad_recovers_attitude(tsr_test_tally *t)
{
    const double r1[3] = {0.3, -0.8, 0.52};
    const double r2[3] = {-0.1, 0.2, 0.97};
    double q[4], est[4], b1[3], b2[3];
    make_q(0.4, -0.3, 0.8, 0.1, q);
    tsr_quat_apply_inverse(q, r1, b1);
    tsr_quat_apply_inverse(q, r2, b2);
    CHECK(t, tsr_triad(b1, b2, r1, r2, est) == 0);
    CHECK_NEAR(t, tsr_quat_angle_between(q, est), 0.0, 1e-12);
    /* parallel pair: refused */
    CHECK(t, tsr_triad(b1, b1, r1, r1, est) != 0);
}

/* Noise-free QUEST is exact, also for rotations of 180 deg, where Shuster's
 * sequential rotations take over; loss is zero. */
static void test_quest_exact_including_180_deg(tsr_test_tally *t)
{
    const double r[9] = {0.3, -0.8, 0.52, -0.1, 0.2, 0.97, 0.9, 0.3, -0.1};
    const double w[3] = {1.0, 0.5, 0.2};
    const double cases[5][4] = {
        {0.4, -0.3, 0.8, 0.1}, {0.0, 1.0, 0.0, 0.0}, {0.0, 0.6, 0.8, 0.0},
        {1e-9, 0.0, 0.0, 1.0}, {1.0, 0.0, 0.0, 0.0},
    };
    int c, k;
    for (c = 0; c < 5; c++) {
        double q[4], est[4], b[9];
        double loss = -1.0;
        make_q(cases[c][0], cases[c][1], cases[c][2], cases[c][3], q);
        for (k = 0; k < 3; k++) {
            tsr_quat_apply_inverse(q, &r[3 * k], &b[3 * k]);
        }
        CHECK(t, tsr_quest(3, b, r, w, est, &loss) == 0);
        CHECK_NEAR(t, tsr_quat_angle_between(q, est), 0.0, 1e-7);
        CHECK_NEAR(t, loss, 0.0, 1e-12);
        CHECK(t, tsr_quest(2, b, r, w, est, NULL) == 0);
        CHECK_NEAR(t, tsr_quat_angle_between(q, est), 0.0, 1e-7);
    }
    {
        double q[4];
        CHECK(t, tsr_quest(1, r, r, w, q, NULL) != 0);
        CHECK(t, tsr_quest(TSR_QUEST_MAX_VECTORS + 1, r, r, w, q, NULL) != 0);
        /* two copies of one direction leave the roll about it undetermined */
        {
            const double same[6] = {0.3, -0.8, 0.52, 0.3, -0.8, 0.52};
            CHECK(t, tsr_quest(2, same, same, w, q, NULL) != 0);
        }
    }
}

/* With noise, QUEST (weights 1/sigma^2) is at least as good as TRIAD on
 * average and both stay within a few sigma. */
static void test_quest_with_noise(tsr_test_tally *t)
{
    rng_t g = {0x9E3779B97F4A7C15ULL};
    const double r[6] = {0.3, -0.8, 0.52, -0.1, 0.2, 0.97};
    const double sig[2] = {0.5 * DEG, 2.0 * DEG};
    const double w[2] = {1.0 / (sig[0] * sig[0]), 1.0 / (sig[1] * sig[1])};
    double sum_q = 0.0, sum_t = 0.0, worst = 0.0;
    int n, k, i;
    for (n = 0; n < 500; n++) {
        double q[4], eq[4], et[4], b[6];
        make_q(normal(&g), normal(&g), normal(&g), normal(&g), q);
        for (k = 0; k < 2; k++) {
            double v[3];
            tsr_quat_apply_inverse(q, &r[3 * k], v);
            for (i = 0; i < 3; i++) {
                v[i] += sig[k] * normal(&g);
            }
            (void)tsr_v3_normalize(v, &b[3 * k]);
        }
        CHECK(t, tsr_quest(2, b, r, w, eq, NULL) == 0);
        CHECK(t, tsr_triad(b, &b[3], r, &r[3], et) == 0);
        sum_q += tsr_quat_angle_between(q, eq);
        sum_t += tsr_quat_angle_between(q, et);
        worst = fmax(worst, tsr_quat_angle_between(q, eq));
    }
    CHECK(t, sum_q <= sum_t * 1.02);
    CHECK(t, worst < 10.0 * DEG);
}

/* A fixed attitude, a gyro with constant bias and white noise, two vector
 * sensors at 10 Hz: the MEKF converges on attitude and bias, and its
 * covariance stays symmetric and consistent with the error. */
static void test_mekf_converges_on_bias(tsr_test_tally *t)
{
    rng_t g = {12345ULL};
    const double bias[3] = {0.1 * DEG, -0.08 * DEG, 0.06 * DEG};
    const double r1[3] = {0.3, -0.8, 0.52};
    const double r2[3] = {-0.1, 0.2, 0.97};
    const double zero[3] = {0.0, 0.0, 0.0};
    const double w_true[3] = {0.01, -0.02, 0.015};
    const double dt = 0.1;
    const double arw = 1.7e-4;
    tsr_mekf_params p = {arw, 2e-6};
    tsr_mekf_state s;
    double q[4], q0[4], off[4], dq[4];
    const double axis[3] = {1.0, 1.0, 0.0};
    int n, i;
    make_q(0.4, -0.3, 0.8, 0.1, q);
    tsr_quat_from_axis_angle(axis, 5.0 * DEG, off);
    tsr_quat_mul(q, off, q0);
    memset(&s, 0, sizeof(s));
    CHECK(t, tsr_mekf_propagate(&p, &s, w_true, dt) != 0); /* not initialised */
    CHECK(t, tsr_mekf_init(&s, q0, zero, 10.0 * DEG, 0.5 * DEG) == 0);
    for (n = 0; n < 6000; n++) {
        double gyro[3], b1[3], b2[3];
        for (i = 0; i < 3; i++) {
            gyro[i] = w_true[i] + bias[i] + arw / sqrt(dt) * normal(&g);
        }
        CHECK(t, tsr_mekf_propagate(&p, &s, gyro, dt) == 0);
        tsr_quat_from_axis_angle(w_true, tsr_v3_norm(w_true) * dt, dq);
        tsr_quat_mul(q, dq, q);
        tsr_quat_apply_inverse(q, r1, b1);
        tsr_quat_apply_inverse(q, r2, b2);
        for (i = 0; i < 3; i++) {
            b1[i] += 0.5 * DEG * normal(&g);
            b2[i] += 1.5 * DEG * normal(&g);
        }
        CHECK(t, tsr_mekf_update_vector(&s, b1, r1, 0.5 * DEG) == 0);
        CHECK(t, tsr_mekf_update_vector(&s, b2, r2, 1.5 * DEG) == 0);
    }
    CHECK(t, tsr_quat_angle_between(q, s.q_body_eci) < 0.1 * DEG);
    for (i = 0; i < 3; i++) {
        CHECK_NEAR(t, s.bias_rad_s[i], bias[i], 0.005 * DEG);
        CHECK(t, s.p[7 * i] > 0.0 && sqrt(s.p[7 * i]) < 0.1 * DEG);
        CHECK(t, s.p[7 * (i + 3)] > 0.0);
    }
    for (i = 0; i < 36; i++) {
        CHECK(t, s.p[i] == s.p[6 * (i % 6) + i / 6]);
    }
    CHECK(t, tsr_mekf_update_vector(&s, zero, r1, 0.01) != 0);
}

int main(void)
{
    tsr_test_tally t;
    memset(&t, 0, sizeof(t));
    RUN(&t, test_triad_recovers_attitude);
    RUN(&t, test_quest_exact_including_180_deg);
    RUN(&t, test_quest_with_noise);
    RUN(&t, test_mekf_converges_on_bias);
    return TSR_TEST_EXIT(&t);
}
