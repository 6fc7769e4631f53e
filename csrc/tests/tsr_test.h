/*
 * tsr_test.h - the smallest useful C unit-test harness.
 *
 * A test file defines test functions, lists them in main() with RUN(), and
 * returns TSR_TEST_EXIT. Each failed check prints file:line and what differed.
 * The summary line "N passed, N failed" is what CI reads.
 */
#ifndef TSR_TEST_H
#define TSR_TEST_H

#include <math.h>
#include <stdio.h>

typedef struct {
    int passed;
    int failed;
    int current_failed;
} tsr_test_tally;

#define CHECK(tally, cond)                                                          \
    do {                                                                            \
        if (!(cond)) {                                                              \
            printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);     \
            (tally)->current_failed = 1;                                            \
        }                                                                           \
    } while (0)

#define CHECK_NEAR(tally, got, want, tol)                                           \
    do {                                                                            \
        const double g_ = (got), w_ = (want);                                       \
        if (!(fabs(g_ - w_) <= (tol))) {                                            \
            printf("  %s:%d: %s = %.17g, want %.17g (tol %g)\n", __FILE__,          \
                   __LINE__, #got, g_, w_, (double)(tol));                           \
            (tally)->current_failed = 1;                                            \
        }                                                                           \
    } while (0)

#define RUN(tally, fn)                                                              \
    do {                                                                            \
        (tally)->current_failed = 0;                                                \
        fn(tally);                                                                  \
        if ((tally)->current_failed) {                                              \
            (tally)->failed++;                                                      \
            printf("FAIL %s\n", #fn);                                               \
        } else {                                                                    \
            (tally)->passed++;                                                      \
        }                                                                           \
    } while (0)

#define TSR_TEST_EXIT(tally)                                                        \
    (printf("%d passed, %d failed\n", (tally)->passed, (tally)->failed),           \
     (tally)->failed == 0 ? 0 : 1)

#endif
