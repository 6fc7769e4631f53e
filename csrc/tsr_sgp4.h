/*
 * tsr_sgp4.h - SGP4/SDP4 orbit propagation from two-line mean elements.
 *
 * The model is the one published in Hoots & Roehrich, "Spacetrack Report
 * No. 3: Models for Propagation of NORAD Element Sets" (1980), with the
 * corrections and the unified near-Earth / deep-space structure described
 * in Vallado, Crawford, Hujsak & Kelso, "Revisiting Spacetrack Report #3",
 * AIAA 2006-6753. Gravity constants are WGS-72, as the element sets assume.
 *
 * Output is position (km) and velocity (km/s) in the TEME frame of date.
 * Time is minutes since the element epoch (tsince_min), or an absolute
 * Julian date split into a whole and a fractional part (UTC, as in the TLE).
 *
 * Error codes (Vallado et al. 2006):
 *   0 ok
 *   1 mean eccentricity out of range (e >= 1 or e < -0.001)
 *   2 mean motion <= 0
 *   3 perturbed eccentricity out of range (deep space, e < 0 or e > 1)
 *   4 semi-latus rectum < 0
 *   6 satellite has decayed (radius below one Earth radius); position and
 *     velocity are still returned, as the reference code does.
 *   7 (Tessera's addition) time not finite or beyond +-1e8 minutes (190
 *     years), where the deep-space resonance integration would not end.
 * For codes 1-4 and 7 the outputs are set to NaN.
 *
 * No heap, no state outside the caller-owned tsr_sgp4_sat. Propagation never
 * writes to the satellite record, so one record may be shared by threads;
 * the two scalar calls ending in _state are the exception: they leave their
 * result in the record's state field.
 * The deep-space resonance integrator restarts at epoch on every single
 * call; the batch functions carry its state from one time to the next on
 * their own stack. Its fixed 720-minute steps make both give, bit for bit,
 * what the reference code's continuing integrator gives.
 */
#ifndef TSR_SGP4_H
#define TSR_SGP4_H

/* cffi:begin */
#define TSR_SGP4_OK 0
#define TSR_SGP4_ERR_MEAN_ECC 1
#define TSR_SGP4_ERR_MEAN_MOTION 2
#define TSR_SGP4_ERR_PERT_ECC 3
#define TSR_SGP4_ERR_SEMI_LATUS 4
#define TSR_SGP4_ERR_DECAYED 6
#define TSR_SGP4_ERR_TIME 7
#define TSR_SGP4_MAX_TSINCE_MIN 100000000

#define TSR_SGP4_OPSMODE_IMPROVED 0
#define TSR_SGP4_OPSMODE_AFSPC 1

typedef struct {
    /* elements as given (radians, radians/minute, 1/earth radii) */
    double epoch_jd;       /* whole part of the epoch Julian date (UTC) */
    double epoch_jd_frac;  /* fractional part */
    double bstar, ndot, nddot;
    double ecco, argpo, inclo, mo, no_kozai, nodeo;
    /* derived at initialisation */
    double no_unkozai, ao_unkozai, gsto;
    double aycof, con41, cc1, cc4, cc5, d2, d3, d4, delmo, eta;
    double argpdot, omgcof, sinmao, t2cof, t3cof, t4cof, t5cof;
    double x1mth2, x7thm1, mdot, nodedot, xlcof, xmcof, nodecf;
    double sinio, cosio; /* of inclo: near Earth the inclination never changes */
    /* deep space: lunar-solar periodics */
    double e3, ee2, peo, pgho, pho, pinco, plo;
    double se2, se3, sgh2, sgh3, sgh4, sh2, sh3, si2, si3, sl2, sl3, sl4;
    double xgh2, xgh3, xgh4, xh2, xh3, xi2, xi3, xl2, xl3, xl4, zmol, zmos;
    /* deep space: secular rates and resonance terms */
    double dedt, didt, dmdt, dnodt, domdt;
    double d2201, d2211, d3210, d3222, d4410, d4422, d5220, d5232, d5421, d5433;
    double del1, del2, del3, xfact, xlamo;
    int isimp;    /* 1: simplified drag model (low perigee or deep space) */
    int deep;     /* 1: deep-space (SDP4) branch, period >= 225 min */
    int irez;     /* resonance: 0 none, 1 one-day, 2 half-day */
    int opsmode;  /* TSR_SGP4_OPSMODE_* */
    int init_error; /* error code of the propagation to epoch at init */
    /* written by the scalar calls tsr_sgp4_jd_state and tsr_sgp4_tsince_state
     * only: their last TEME position (km) then velocity (km/s), NaN for
     * errors 1-4 and 7 */
    double state[6];
} tsr_sgp4_sat;

int tsr_sgp4_init(tsr_sgp4_sat *sat, double epoch_jd, double epoch_jd_frac,
                  double bstar, double ndot, double nddot, double ecco,
                  double argpo_rad, double inclo_rad, double mo_rad,
                  double no_kozai_rad_min, double nodeo_rad, int opsmode);

int tsr_sgp4(const tsr_sgp4_sat *sat, double tsince_min, double r_km[3], double v_km_s[3]);
int tsr_sgp4_rv(const tsr_sgp4_sat *sat, double tsince_min, double rv[6]);
/* One UTC Julian date given as whole + fraction (python-sgp4's sgp4(jd, fr)). */
int tsr_sgp4_jd_rv(const tsr_sgp4_sat *sat, double jd, double jd_frac, double rv[6]);
/* The same two calls with the result left in sat->state: one pointer
 * argument fewer to convert on each call from Python. They write the
 * record, so one record must not be propagated this way by two threads at
 * once. */
int tsr_sgp4_jd_state(tsr_sgp4_sat *sat, double jd, double jd_frac);
int tsr_sgp4_tsince_state(tsr_sgp4_sat *sat, double tsince_min);

void tsr_sgp4_times(const tsr_sgp4_sat *sat, const double *tsince_min, long n,
                    double *r_km, double *v_km_s, int *err);

void tsr_sgp4_many_jd(const tsr_sgp4_sat *sats, long nsat, const double *jd,
                      const double *jd_frac, long ntimes, double *r_km,
                      double *v_km_s, int *err);

void tsr_sgp4_many_tsince(const tsr_sgp4_sat *sats, long nsat, const double *tsince_min,
                          long ntimes, double *r_km, double *v_km_s, int *err);

double tsr_gstime(double jd_ut1);

/* SGP4 straight to look angles from a WGS-84 site (defined in tsr_frames.c):
 * the satellite at UTC Julian dates (whole + fraction), UT1 = UTC + dut1_s,
 * polar motion ignored. out4 holds azimuth, elevation (rad), range (km) and
 * range rate (km/s) per time; err the SGP4 error code (NaN look angles for
 * codes 1-4 and 7). */
void tsr_sgp4_look_angles(const tsr_sgp4_sat *sat, long n, const double *jd_utc,
                          const double *jd_utc_frac, double dut1_s, double lat_rad,
                          double lon_rad, double h_km, double *out4, int *err);
/* cffi:end */

#endif
