/*
 * tsr_frames.h - Earth frames and topocentric geometry for orbit work.
 *
 * Frames:
 *   TEME  true equator, mean equinox of date: the output frame of SGP4.
 *   PEF   pseudo Earth-fixed: TEME rotated by the Greenwich mean sidereal
 *         time (IAU-82, tsr_gstime), r_pef = R3(gmst) r_teme. This is how
 *         Vallado et al. (AIAA 2006-6753, sec. on coordinate frames) define
 *         TEME, so no nutation or equation of the equinoxes enters here.
 *   ECEF  PEF with polar motion (xp, yp; IAU-76/FK5 convention,
 *         r_pef = W r_ecef); pass xp = yp = 0 to take ECEF = PEF.
 *   MOD, J2000  mean equator and equinox of date / of J2000.0 (FK5-like),
 *         from TEME by the equation of the equinoxes (dpsi cos(eps_mean),
 *         no kinematic terms, as for TEME), IAU-80 nutation and IAU-76
 *         precession (Vallado, "Fundamentals...", teme2eci; Seidelmann,
 *         Explanatory Supplement 1992, for the nutation series).
 * Velocities are transformed with Earth's rotation rate
 * 7.29211514670698e-5 rad/s (Vallado, "Fundamentals of Astrodynamics and
 * Applications", 4th ed., teme2ecef).
 *
 * Geodetic coordinates are on the WGS-84 ellipsoid (a = 6378.137 km,
 * f = 1/298.257223563): latitude and longitude in radians, height in km.
 * Look angles are from a ground station to a target: azimuth from north
 * through east in [0, 2 pi), elevation above the local ellipsoid horizon,
 * range in km and range rate in km/s (positive receding).
 *
 * tsr_sgp4_look_angles (SGP4 straight to look angles) is declared in
 * tsr_sgp4.h, where cffi sees the satellite record first, and defined in
 * tsr_frames.c.
 *
 * No heap, no state; outputs may not alias inputs.
 */
#ifndef TSR_FRAMES_H
#define TSR_FRAMES_H

/* cffi:begin */
/* Rotation matrices (row-major) from TEME to the mean equator and equinox
 * of J2000 and of date, r_out = M r_teme, at Julian date (whole + fraction,
 * TT; UTC is within 1e-4 arcsec here). IAU-76 precession and the IAU-80
 * nutation series truncated to its terms of 0.5 mas and more. */
void tsr_teme_to_j2000_matrix(double jd_tt, double jd_tt_frac, double m[9]);
void tsr_teme_to_mod_matrix(double jd_tt, double jd_tt_frac, double m[9]);
void tsr_nutation80(double jd_tt, double jd_tt_frac, double *dpsi_rad, double *deps_rad,
                    double *mean_obliquity_rad);
/* Batch: to_j2000 = 1 for J2000, 0 for mean of date; inverse = 1 maps the
 * inertial frame back to TEME. Velocities turn with the same matrix (the
 * frames' own rotation, below 1e-11 rad/s, is neglected). */
void tsr_teme_inertial_many(long n, int to_j2000, int inverse, const double *jd_tt,
                            const double *jd_tt_frac, const double *r_in, const double *v_in,
                            double *r_out, double *v_out);
double tsr_gmst82(double jd_ut1, double jd_ut1_frac);
void tsr_teme_to_ecef(const double r_teme_km[3], const double v_teme_km_s[3], double gmst_rad,
                      double xp_rad, double yp_rad, double r_ecef_km[3], double v_ecef_km_s[3]);
void tsr_ecef_to_teme(const double r_ecef_km[3], const double v_ecef_km_s[3], double gmst_rad,
                      double xp_rad, double yp_rad, double r_teme_km[3], double v_teme_km_s[3]);
void tsr_geodetic_to_ecef_wgs84(double lat_rad, double lon_rad, double h_km, double r_ecef_km[3]);
void tsr_ecef_to_geodetic_wgs84(const double r_ecef_km[3], double *lat_rad, double *lon_rad,
                                double *h_km);
void tsr_look_angles(const double r_ecef_km[3], const double v_ecef_km_s[3], double lat_rad,
                     double lon_rad, double h_km, double out_az_el_range_rate[4]);

void tsr_teme_to_ecef_many(long n, const double *r_teme_km, const double *v_teme_km_s,
                           const double *jd_ut1, const double *jd_ut1_frac, double xp_rad,
                           double yp_rad, double *r_ecef_km, double *v_ecef_km_s);
void tsr_ecef_to_teme_many(long n, const double *r_ecef_km, const double *v_ecef_km_s,
                           const double *jd_ut1, const double *jd_ut1_frac, double xp_rad,
                           double yp_rad, double *r_teme_km, double *v_teme_km_s);
void tsr_ecef_to_geodetic_many(long n, const double *r_ecef_km, double *lat_rad,
                               double *lon_rad, double *h_km);
void tsr_geodetic_to_ecef_many(long n, const double *lat_rad, const double *lon_rad,
                               const double *h_km, double *r_ecef_km);
void tsr_gmst82_many(long n, const double *jd_ut1, const double *jd_ut1_frac, double *gmst_rad);
void tsr_look_angles_many(long n, const double *r_ecef_km, const double *v_ecef_km_s,
                          double lat_rad, double lon_rad, double h_km, double *out4);

/* cffi:end */

#endif
