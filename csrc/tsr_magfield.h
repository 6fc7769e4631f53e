/*
 * tsr_magfield.h - geomagnetic field models.
 *
 * The tilted dipole uses the degree-1 Gauss coefficients of IGRF-13 for
 * epoch 2020.0 (Alken et al., Earth Planets Space 73:49, 2021):
 * g10 = -29404.8 nT, g11 = -1450.9 nT, h11 = 4652.5 nT, reference radius
 * 6371.2 km. From the potential V = a (a/r)^2 (g10 cos th + (g11 cos ph +
 * h11 sin ph) sin th), the field is B = (3 (k . r^) r^ - k) / r^3 with
 * k = a^3 (g11, h11, g10) in Earth-fixed axes.
 */
#ifndef TSR_MAGFIELD_H
#define TSR_MAGFIELD_H

/* cffi:begin */
void tsr_dipole_field_ecef(const double r_ecef_km[3], double b_ecef_t[3]);
void tsr_dipole_field_eci(const double r_eci_km[3], double gmst_rad, double b_eci_t[3]);
/* cffi:end */

#endif
