/* tsr_magfield.c - see tsr_magfield.h. */
#include "tsr_magfield.h"

#include <math.h>

#include "tsr_vecmath.h"

#define IGRF_REF_RADIUS_KM 6371.2
#define DIPOLE_G10_NT (-29404.8)
#define DIPOLE_G11_NT (-1450.9)
#define DIPOLE_H11_NT (4652.5)

/* Field in tesla at a point given in Earth-fixed axes (km); zero at the
 * centre, where the model has no meaning. */
void tsr_dipole_field_ecef(const double r_ecef_km[3], double b_ecef_t[3])
{
    const double k[3] = {DIPOLE_G11_NT * 1e-9, DIPOLE_H11_NT * 1e-9, DIPOLE_G10_NT * 1e-9};
    const double r = tsr_v3_norm(r_ecef_km);
    double rhat[3];
    double scale;
    double kr;
    int i;
    if (!(r > 1.0)) {
        b_ecef_t[0] = b_ecef_t[1] = b_ecef_t[2] = 0.0;
        return;
    }
    tsr_v3_scale(r_ecef_km, 1.0 / r, rhat);
    scale = pow(IGRF_REF_RADIUS_KM / r, 3.0);
    kr = tsr_v3_dot(k, rhat);
    for (i = 0; i < 3; i++) {
        b_ecef_t[i] = scale * (3.0 * kr * rhat[i] - k[i]);
    }
}

/* Same field for a position in an inertial frame whose z axis is Earth's
 * spin axis, with gmst_rad the angle from its x axis to Greenwich. */
void tsr_dipole_field_eci(const double r_eci_km[3], double gmst_rad, double b_eci_t[3])
{
    const double c = cos(gmst_rad);
    const double s = sin(gmst_rad);
    const double r_ecef[3] = {c * r_eci_km[0] + s * r_eci_km[1], -s * r_eci_km[0] + c * r_eci_km[1],
                              r_eci_km[2]};
    double b[3];
    tsr_dipole_field_ecef(r_ecef, b);
    b_eci_t[0] = c * b[0] - s * b[1];
    b_eci_t[1] = s * b[0] + c * b[1];
    b_eci_t[2] = b[2];
}
