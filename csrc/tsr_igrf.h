/*
 * tsr_igrf.h - International Geomagnetic Reference Field (IGRF-14).
 *
 * Spherical-harmonic main field to degree and order 13 from the Gauss
 * coefficients in data/igrf14.inc (IAGA V-MOD, IGRF-14, 2024). The potential
 *   V = a sum_n (a/r)^(n+1) sum_m (g_nm cos m phi + h_nm sin m phi) P_nm(cos theta)
 * uses Schmidt semi-normalised associated Legendre functions, computed by the
 * usual recursions (e.g. Langel, "The main field", in Geomagnetism vol. 1,
 * 1987; Winch et al., Geophys. J. Int. 160, 2005), with reference radius
 * a = 6371.2 km. Coefficients vary linearly in time between the 5-year
 * epochs, as IGRF prescribes; after 2025.0 by the predicted secular variation.
 */
#ifndef TSR_IGRF_H
#define TSR_IGRF_H

/* cffi:begin */
#define TSR_IGRF_NMAX 13

int tsr_igrf_coefficients(double decimal_year, int nmax, double g_nt[196], double h_nt[196]);
int tsr_igrf_field_spherical(double r_km, double colat_rad, double elon_rad, double decimal_year,
                             int nmax, double b_rtp_nt[3]);
int tsr_igrf_field_ecef(const double r_ecef_km[3], double decimal_year, int nmax,
                        double b_ecef_t[3]);
int tsr_igrf_field_eci(const double r_eci_km[3], double gmst_rad, double decimal_year, int nmax,
                       double b_eci_t[3]);
/* cffi:end */

#endif
