/*
 * tsr_env.h - space environment for attitude work: sun, eclipse, torques.
 *
 * Sun: the low-precision formulae of the Astronomical Almanac (section C,
 * "Low precision formulas for the Sun"; also Vallado, "Fundamentals of
 * Astrodynamics and Applications", 4th ed., Algorithm 29), good to about
 * 0.01 deg from 1950 to 2050. The vector is geocentric, in the mean equator
 * and equinox of date, which for attitude work is ECI.
 *
 * Eclipse: shadow of a spherical Earth, either a cylinder (Vallado sec. 5.3)
 * or the cones of umbra and penumbra with the occulted fraction of the solar
 * disc (Montenbruck & Gill, "Satellite Orbits", 2000, sec. 3.4.2).
 *
 * Torques: gravity gradient on a rigid body (Markley & Crassidis 2014,
 * eq. 3.155; Wie 2008 sec. 6.3) and aerodynamic drag on one flat reference
 * area whose centre of pressure sits off the centre of mass, with an
 * exponential atmosphere (Vallado Table 8-4).
 */
#ifndef TSR_ENV_H
#define TSR_ENV_H

/* cffi:begin */
void tsr_sun_position_eci(double jd_tt, double r_sun_eci_km[3]);
double tsr_shadow_cylindrical(const double r_sat_km[3], const double r_sun_km[3]);
double tsr_shadow_conical(const double r_sat_km[3], const double r_sun_km[3]);
void tsr_gravity_gradient_torque(const double inertia_kgm2[9], const double q_body_eci[4],
                                 const double r_eci_km[3], double tau_body_nm[3]);
double tsr_atmosphere_density(double alt_km);
void tsr_drag_torque(const double q_body_eci[4], const double v_rel_eci_m_s[3],
                     double density_kg_m3, double cd, double area_m2,
                     const double cp_body_m[3], double tau_body_nm[3]);
/* cffi:end */

#define TSR_AU_KM 149597870.7
#define TSR_R_EARTH_KM 6378.137
#define TSR_R_SUN_KM 696000.0
#define TSR_MU_EARTH_KM3_S2 398600.4418

#endif
