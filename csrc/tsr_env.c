/* tsr_env.c - see tsr_env.h for the models and their sources. */
#include "tsr_env.h"

#include <math.h>

#include "tsr_vecmath.h"

#define DEG2RAD (3.14159265358979323846 / 180.0)
#define PI 3.14159265358979323846

/* Geocentric sun position (km) at the Julian date jd_tt (TT; UT1 gives the
 * same answer within the model's accuracy). */
void tsr_sun_position_eci(double jd_tt, double r_sun_eci_km[3])
{
    const double t = (jd_tt - 2451545.0) / 36525.0;
    const double mean_lon = fmod(280.460 + 36000.771 * t, 360.0);
    const double m = fmod(357.5291092 + 35999.05034 * t, 360.0) * DEG2RAD;
    const double lam =
        (mean_lon + 1.914666471 * sin(m) + 0.019994643 * sin(2.0 * m)) * DEG2RAD;
    const double r_au = 1.000140612 - 0.016708617 * cos(m) - 0.000139589 * cos(2.0 * m);
    const double eps = (23.439291 - 0.0130042 * t) * DEG2RAD;
    const double r = r_au * TSR_AU_KM;
    r_sun_eci_km[0] = r * cos(lam);
    r_sun_eci_km[1] = r * cos(eps) * sin(lam);
    r_sun_eci_km[2] = r * sin(eps) * sin(lam);
}

/* Cylindrical shadow: 1 when the satellite is behind the Earth inside the
 * cylinder of Earth's radius along the sun line, else 0. */
double tsr_shadow_cylindrical(const double r_sat_km[3], const double r_sun_km[3])
{
    double s[3];
    double along;
    double perp2;
    if (tsr_v3_normalize(r_sun_km, s) != 0) {
        return 0.0;
    }
    along = tsr_v3_dot(r_sat_km, s);
    if (along >= 0.0) {
        return 0.0;
    }
    perp2 = tsr_v3_dot(r_sat_km, r_sat_km) - along * along;
    return perp2 < TSR_R_EARTH_KM * TSR_R_EARTH_KM ? 1.0 : 0.0;
}

/* Conical shadow: the fraction of the solar disc hidden by the Earth as seen
 * from the satellite, 0 (full sun) .. 1 (umbra). Both bodies are discs of
 * apparent radius a (sun) and b (Earth) whose centres are c apart; the
 * overlap area follows Montenbruck & Gill eq. 3.87-3.89. */
double tsr_shadow_conical(const double r_sat_km[3], const double r_sun_km[3])
{
    double d[3];
    double ms[3];
    double dist_sun;
    double dist_earth;
    double a;
    double b;
    double c;
    double x;
    double y;
    double area;
    tsr_v3_sub(r_sun_km, r_sat_km, d);
    dist_sun = tsr_v3_norm(d);
    dist_earth = tsr_v3_norm(r_sat_km);
    if (!(dist_sun > TSR_R_SUN_KM) || !(dist_earth > TSR_R_EARTH_KM)) {
        return 0.0;
    }
    a = asin(TSR_R_SUN_KM / dist_sun);
    b = asin(TSR_R_EARTH_KM / dist_earth);
    tsr_v3_scale(r_sat_km, -1.0, ms);
    c = acos(fmax(-1.0, fmin(1.0, tsr_v3_dot(ms, d) / (dist_earth * dist_sun))));
    if (c >= a + b) {
        return 0.0;
    }
    if (c <= b - a) {
        return 1.0;
    }
    if (c <= a - b) {
        /* annular: the whole Earth disc lies on the sun's */
        return (b * b) / (a * a);
    }
    x = (c * c + a * a - b * b) / (2.0 * c);
    y = sqrt(fmax(0.0, a * a - x * x));
    area = a * a * acos(fmax(-1.0, fmin(1.0, x / a))) +
           b * b * acos(fmax(-1.0, fmin(1.0, (c - x) / b))) - c * y;
    return fmin(1.0, fmax(0.0, area / (PI * a * a)));
}

/* Gravity-gradient torque (N m, body): 3 mu / r^3 (n x J n), n the unit
 * nadir-opposite position vector in body axes. */
void tsr_gravity_gradient_torque(const double inertia_kgm2[9], const double q_body_eci[4],
                                 const double r_eci_km[3], double tau_body_nm[3])
{
    const double r_km = tsr_v3_norm(r_eci_km);
    double n_body[3];
    double jn[3];
    double r_m;
    double k;
    tau_body_nm[0] = tau_body_nm[1] = tau_body_nm[2] = 0.0;
    if (!(r_km > 1.0)) {
        return;
    }
    tsr_quat_apply_inverse(q_body_eci, r_eci_km, n_body);
    tsr_v3_scale(n_body, 1.0 / r_km, n_body);
    tsr_m3_mul_v3(inertia_kgm2, n_body, jn);
    r_m = r_km * 1e3;
    k = 3.0 * TSR_MU_EARTH_KM3_S2 * 1e9 / (r_m * r_m * r_m);
    tsr_v3_cross(n_body, jn, tau_body_nm);
    tsr_v3_scale(tau_body_nm, k, tau_body_nm);
}

/* Exponential atmosphere: base altitude (km), density (kg/m^3), scale height
 * (km), from Vallado 4th ed. Table 8-4 (CIRA-72 based). */
static const double atmos_table[][3] = {
    {100.0, 5.297e-7, 5.877},   {110.0, 9.661e-8, 7.263},  {120.0, 2.438e-8, 9.473},
    {130.0, 8.484e-9, 12.636},  {140.0, 3.845e-9, 16.149}, {150.0, 2.070e-9, 22.523},
    {180.0, 5.464e-10, 29.740}, {200.0, 2.789e-10, 37.105}, {250.0, 7.248e-11, 45.546},
    {300.0, 2.418e-11, 53.628}, {350.0, 9.518e-12, 53.298}, {400.0, 3.725e-12, 58.515},
    {450.0, 1.585e-12, 60.828}, {500.0, 6.967e-13, 63.822}, {600.0, 1.454e-13, 71.835},
    {700.0, 3.614e-14, 88.667}, {800.0, 1.170e-14, 124.64}, {900.0, 5.245e-15, 181.05},
    {1000.0, 3.019e-15, 268.00},
};

/* Density (kg/m^3) at alt_km; 0 below 100 km is not modelled (returns the
 * 100 km row extrapolated), above 1000 km the last row decays on. */
double tsr_atmosphere_density(double alt_km)
{
    const int rows = (int)(sizeof(atmos_table) / sizeof(atmos_table[0]));
    int i = 0;
    if (!isfinite(alt_km)) {
        return 0.0;
    }
    while (i + 1 < rows && alt_km >= atmos_table[i + 1][0]) {
        i++;
    }
    return atmos_table[i][1] * exp(-(alt_km - atmos_table[i][0]) / atmos_table[i][2]);
}

/* Drag torque (N m, body) on a reference area with its centre of pressure at
 * cp_body_m from the centre of mass: F = -1/2 rho Cd A |v| v, tau = cp x F.
 * v_rel_eci_m_s is the velocity relative to the atmosphere. */
void tsr_drag_torque(const double q_body_eci[4], const double v_rel_eci_m_s[3],
                     double density_kg_m3, double cd, double area_m2,
                     const double cp_body_m[3], double tau_body_nm[3])
{
    double v_body[3];
    double f[3];
    double speed;
    tsr_quat_apply_inverse(q_body_eci, v_rel_eci_m_s, v_body);
    speed = tsr_v3_norm(v_body);
    tsr_v3_scale(v_body, -0.5 * density_kg_m3 * cd * area_m2 * speed, f);
    tsr_v3_cross(cp_body_m, f, tau_body_nm);
}
