/*
 * tsr_sgp4.c - SGP4/SDP4, see tsr_sgp4.h.
 *
 * References (equation structure and constants):
 *   [STR3]  F. R. Hoots, R. L. Roehrich, "Spacetrack Report No. 3: Models
 *           for Propagation of NORAD Element Sets", 1980.
 *   [V2006] D. A. Vallado, P. Crawford, R. Hujsak, T. S. Kelso, "Revisiting
 *           Spacetrack Report #3", AIAA 2006-6753, 2006 (with its later
 *           revisions of the reference implementation: Lyddane choice on the
 *           perturbed inclination, restartable resonance integration, the
 *           decay check on the osculating radius and the error codes).
 * Names of the intermediate quantities follow those papers so a reader can
 * check each line against the published equations.
 */
#include "tsr_sgp4.h"

#include <math.h>
#include <stddef.h>

#define TWOPI 6.283185307179586476925287
#define PI 3.14159265358979323846
#define X2O3 (2.0 / 3.0)

/* WGS-72 constants, as assumed by the element sets [V2006 sec. on gravity]. */
#define RE_KM 6378.135
#define MU_KM3_S2 398600.8
#define J2 0.001082616
#define J3 (-0.00000253881)
#define J4 (-0.00000165597)
#define J3OJ2 (J3 / J2)

static double xke(void)
{
    /* sqrt(mu / re^3) in 1/minute: the canonical time unit's reciprocal */
    return 60.0 / sqrt(RE_KM * RE_KM * RE_KM / MU_KM3_S2);
}

/* Lunar-solar constants [STR3 sec. 10; V2006]. */
#define ZNS 1.19459e-5
#define ZES 0.01675
#define ZNL 1.5835218e-4
#define ZEL 0.05490
/* Earth rotation rate in rad/min used by the resonance terms. */
#define RPTIM 4.37526908801129966e-3

double tsr_gstime(double jd_ut1)
{
    /* IAU-82 Greenwich mean sidereal time [V2006 gstime]. */
    const double tut1 = (jd_ut1 - 2451545.0) / 36525.0;
    double s = -6.2e-6 * tut1 * tut1 * tut1 + 0.093104 * tut1 * tut1
               + (876600.0 * 3600.0 + 8640184.812866) * tut1 + 67310.54841;
    double g = fmod(s * (PI / 180.0) / 240.0, TWOPI);
    if (g < 0.0) {
        g += TWOPI;
    }
    return g;
}

/* Quantities shared by the deep-space secular and periodic initialisation
 * (the "dscom" step of [V2006]). */
typedef struct {
    double snodm, cnodm, sinim, cosim, sinomm, cosomm;
    double day, em, emsq, gam, rtemsq, nm;
    double s1, s2, s3, s4, s5, s6, s7;
    double ss1, ss2, ss3, ss4, ss5, ss6, ss7;
    double sz1, sz2, sz3, sz11, sz12, sz13, sz21, sz22, sz23, sz31, sz32, sz33;
    double z1, z2, z3, z11, z12, z13, z21, z22, z23, z31, z32, z33;
} ds_common;

/* One body's (sun or moon) geometry coefficients. */
typedef struct {
    double s1, s2, s3, s4, s5, s6, s7;
    double z1, z2, z3, z11, z12, z13, z21, z22, z23, z31, z32, z33;
} ds_body;

static void ds_body_terms(double zcosg, double zsing, double zcosi, double zsini,
                          double zcosh, double zsinh, double cc, const ds_common *c,
                          ds_body *b)
{
    const double a1 = zcosg * zcosh + zsing * zcosi * zsinh;
    const double a3 = -zsing * zcosh + zcosg * zcosi * zsinh;
    const double a7 = -zcosg * zsinh + zsing * zcosi * zcosh;
    const double a8 = zsing * zsini;
    const double a9 = zsing * zsinh + zcosg * zcosi * zcosh;
    const double a10 = zcosg * zsini;
    const double a2 = c->cosim * a7 + c->sinim * a8;
    const double a4 = c->cosim * a9 + c->sinim * a10;
    const double a5 = -c->sinim * a7 + c->cosim * a8;
    const double a6 = -c->sinim * a9 + c->cosim * a10;

    const double x1 = a1 * c->cosomm + a2 * c->sinomm;
    const double x2 = a3 * c->cosomm + a4 * c->sinomm;
    const double x3 = -a1 * c->sinomm + a2 * c->cosomm;
    const double x4 = -a3 * c->sinomm + a4 * c->cosomm;
    const double x5 = a5 * c->sinomm;
    const double x6 = a6 * c->sinomm;
    const double x7 = a5 * c->cosomm;
    const double x8 = a6 * c->cosomm;
    const double emsq = c->emsq;
    const double betasq = 1.0 - emsq;
    const double xnoi = 1.0 / c->nm;

    b->z31 = 12.0 * x1 * x1 - 3.0 * x3 * x3;
    b->z32 = 24.0 * x1 * x2 - 6.0 * x3 * x4;
    b->z33 = 12.0 * x2 * x2 - 3.0 * x4 * x4;
    b->z1 = 3.0 * (a1 * a1 + a2 * a2) + b->z31 * emsq;
    b->z2 = 6.0 * (a1 * a3 + a2 * a4) + b->z32 * emsq;
    b->z3 = 3.0 * (a3 * a3 + a4 * a4) + b->z33 * emsq;
    b->z11 = -6.0 * a1 * a5 + emsq * (-24.0 * x1 * x7 - 6.0 * x3 * x5);
    b->z12 = -6.0 * (a1 * a6 + a3 * a5)
             + emsq * (-24.0 * (x2 * x7 + x1 * x8) - 6.0 * (x3 * x6 + x4 * x5));
    b->z13 = -6.0 * a3 * a6 + emsq * (-24.0 * x2 * x8 - 6.0 * x4 * x6);
    b->z21 = 6.0 * a2 * a5 + emsq * (24.0 * x1 * x5 - 6.0 * x3 * x7);
    b->z22 = 6.0 * (a4 * a5 + a2 * a6)
             + emsq * (24.0 * (x2 * x5 + x1 * x6) - 6.0 * (x4 * x7 + x3 * x8));
    b->z23 = 6.0 * a4 * a6 + emsq * (24.0 * x2 * x6 - 6.0 * x4 * x8);
    b->z1 = b->z1 + b->z1 + betasq * b->z31;
    b->z2 = b->z2 + b->z2 + betasq * b->z32;
    b->z3 = b->z3 + b->z3 + betasq * b->z33;
    b->s3 = cc * xnoi;
    b->s2 = -0.5 * b->s3 / c->rtemsq;
    b->s4 = b->s3 * c->rtemsq;
    b->s1 = -15.0 * c->em * b->s4;
    b->s5 = x1 * x3 + x2 * x4;
    b->s6 = x2 * x3 + x1 * x4;
    b->s7 = x2 * x4 - x1 * x3;
}

static void ds_common_init(double epoch, double ep, double argpp, double tc, double inclp,
                           double nodep, double np, tsr_sgp4_sat *sat, ds_common *c)
{
    /* solar orbit constants */
    const double c1ss = 2.9864797e-6;
    const double c1l = 4.7968065e-7;
    const double zsinis = 0.39785416;
    const double zcosis = 0.91744867;
    const double zcosgs = 0.1945905;
    const double zsings = -0.98088458;
    ds_body sun, moon;

    c->nm = np;
    c->em = ep;
    c->snodm = sin(nodep);
    c->cnodm = cos(nodep);
    c->sinomm = sin(argpp);
    c->cosomm = cos(argpp);
    c->sinim = sin(inclp);
    c->cosim = cos(inclp);
    c->emsq = c->em * c->em;
    c->rtemsq = sqrt(1.0 - c->emsq);

    sat->peo = 0.0;
    sat->pinco = 0.0;
    sat->plo = 0.0;
    sat->pgho = 0.0;
    sat->pho = 0.0;

    /* lunar node and argument from the days since 1900 Jan 0.5 */
    c->day = epoch + 18261.5 + tc / 1440.0;
    const double xnodce = fmod(4.5236020 - 9.2422029e-4 * c->day, TWOPI);
    const double stem = sin(xnodce);
    const double ctem = cos(xnodce);
    const double zcosil = 0.91375164 - 0.03568096 * ctem;
    const double zsinil = sqrt(1.0 - zcosil * zcosil);
    const double zsinhl = 0.089683511 * stem / zsinil;
    const double zcoshl = sqrt(1.0 - zsinhl * zsinhl);
    c->gam = 5.8351514 + 0.0019443680 * c->day;
    double zx = 0.39785416 * stem / zsinil;
    const double zy = zcoshl * ctem + 0.91744867 * zsinhl * stem;
    zx = atan2(zx, zy);
    zx = c->gam + zx - xnodce;
    const double zcosgl = cos(zx);
    const double zsingl = sin(zx);

    ds_body_terms(zcosgs, zsings, zcosis, zsinis, c->cnodm, c->snodm, c1ss, c, &sun);
    ds_body_terms(zcosgl, zsingl, zcosil, zsinil,
                  zcoshl * c->cnodm + zsinhl * c->snodm,
                  c->snodm * zcoshl - c->cnodm * zsinhl, c1l, c, &moon);

    c->ss1 = sun.s1; c->ss2 = sun.s2; c->ss3 = sun.s3; c->ss4 = sun.s4;
    c->ss5 = sun.s5; c->ss6 = sun.s6; c->ss7 = sun.s7;
    c->sz1 = sun.z1; c->sz2 = sun.z2; c->sz3 = sun.z3;
    c->sz11 = sun.z11; c->sz12 = sun.z12; c->sz13 = sun.z13;
    c->sz21 = sun.z21; c->sz22 = sun.z22; c->sz23 = sun.z23;
    c->sz31 = sun.z31; c->sz32 = sun.z32; c->sz33 = sun.z33;
    c->s1 = moon.s1; c->s2 = moon.s2; c->s3 = moon.s3; c->s4 = moon.s4;
    c->s5 = moon.s5; c->s6 = moon.s6; c->s7 = moon.s7;
    c->z1 = moon.z1; c->z2 = moon.z2; c->z3 = moon.z3;
    c->z11 = moon.z11; c->z12 = moon.z12; c->z13 = moon.z13;
    c->z21 = moon.z21; c->z22 = moon.z22; c->z23 = moon.z23;
    c->z31 = moon.z31; c->z32 = moon.z32; c->z33 = moon.z33;

    sat->zmol = fmod(4.7199672 + 0.22997150 * c->day - c->gam, TWOPI);
    sat->zmos = fmod(6.2565837 + 0.017201977 * c->day, TWOPI);

    /* solar periodic coefficients */
    sat->se2 = 2.0 * c->ss1 * c->ss6;
    sat->se3 = 2.0 * c->ss1 * c->ss7;
    sat->si2 = 2.0 * c->ss2 * c->sz12;
    sat->si3 = 2.0 * c->ss2 * (c->sz13 - c->sz11);
    sat->sl2 = -2.0 * c->ss3 * c->sz2;
    sat->sl3 = -2.0 * c->ss3 * (c->sz3 - c->sz1);
    sat->sl4 = -2.0 * c->ss3 * (-21.0 - 9.0 * c->emsq) * ZES;
    sat->sgh2 = 2.0 * c->ss4 * c->sz32;
    sat->sgh3 = 2.0 * c->ss4 * (c->sz33 - c->sz31);
    sat->sgh4 = -18.0 * c->ss4 * ZES;
    sat->sh2 = -2.0 * c->ss2 * c->sz22;
    sat->sh3 = -2.0 * c->ss2 * (c->sz23 - c->sz21);
    /* lunar periodic coefficients */
    sat->ee2 = 2.0 * c->s1 * c->s6;
    sat->e3 = 2.0 * c->s1 * c->s7;
    sat->xi2 = 2.0 * c->s2 * c->z12;
    sat->xi3 = 2.0 * c->s2 * (c->z13 - c->z11);
    sat->xl2 = -2.0 * c->s3 * c->z2;
    sat->xl3 = -2.0 * c->s3 * (c->z3 - c->z1);
    sat->xl4 = -2.0 * c->s3 * (-21.0 - 9.0 * c->emsq) * ZEL;
    sat->xgh2 = 2.0 * c->s4 * c->z32;
    sat->xgh3 = 2.0 * c->s4 * (c->z33 - c->z31);
    sat->xgh4 = -18.0 * c->s4 * ZEL;
    sat->xh2 = -2.0 * c->s2 * c->z22;
    sat->xh3 = -2.0 * c->s2 * (c->z23 - c->z21);
}

/* Lunar-solar long-period periodics applied to the mean elements at time t
 * (the "dpper" step of [V2006], propagation form; at epoch the reference
 * code's call leaves the elements unchanged, so it is not repeated here). */
static void ds_periodics(const tsr_sgp4_sat *sat, double t, double *ep, double *inclp,
                         double *nodep, double *argpp, double *mp)
{
    double zm = sat->zmos + ZNS * t;
    double zf = zm + 2.0 * ZES * sin(zm);
    double sinzf = sin(zf);
    double f2 = 0.5 * sinzf * sinzf - 0.25;
    double f3 = -0.5 * sinzf * cos(zf);
    const double ses = sat->se2 * f2 + sat->se3 * f3;
    const double sis = sat->si2 * f2 + sat->si3 * f3;
    const double sls = sat->sl2 * f2 + sat->sl3 * f3 + sat->sl4 * sinzf;
    const double sghs = sat->sgh2 * f2 + sat->sgh3 * f3 + sat->sgh4 * sinzf;
    const double shs = sat->sh2 * f2 + sat->sh3 * f3;

    zm = sat->zmol + ZNL * t;
    zf = zm + 2.0 * ZEL * sin(zm);
    sinzf = sin(zf);
    f2 = 0.5 * sinzf * sinzf - 0.25;
    f3 = -0.5 * sinzf * cos(zf);
    const double sel = sat->ee2 * f2 + sat->e3 * f3;
    const double sil = sat->xi2 * f2 + sat->xi3 * f3;
    const double sll = sat->xl2 * f2 + sat->xl3 * f3 + sat->xl4 * sinzf;
    const double sghl = sat->xgh2 * f2 + sat->xgh3 * f3 + sat->xgh4 * sinzf;
    const double shll = sat->xh2 * f2 + sat->xh3 * f3;

    const double pe = ses + sel - sat->peo;
    const double pinc = sis + sil - sat->pinco;
    const double pl = sls + sll - sat->plo;
    double pgh = sghs + sghl - sat->pgho;
    double ph = shs + shll - sat->pho;

    *inclp += pinc;
    *ep += pe;
    const double sinip = sin(*inclp);
    const double cosip = cos(*inclp);

    /* Lyddane choice on the perturbed inclination, 0.2 rad [V2006]. */
    if (*inclp >= 0.2) {
        ph /= sinip;
        pgh -= cosip * ph;
        *argpp += pgh;
        *nodep += ph;
        *mp += pl;
    } else {
        /* near-equatorial: apply to the node through its direction cosines */
        const double sinop = sin(*nodep);
        const double cosop = cos(*nodep);
        double alfdp = sinip * sinop;
        double betdp = sinip * cosop;
        const double dalf = ph * cosop + pinc * cosip * sinop;
        const double dbet = -ph * sinop + pinc * cosip * cosop;
        alfdp += dalf;
        betdp += dbet;
        double node = fmod(*nodep, TWOPI);
        if (node < 0.0 && sat->opsmode == TSR_SGP4_OPSMODE_AFSPC) {
            node += TWOPI;
        }
        const double xls = *mp + *argpp + pl + pgh + (cosip - pinc * sinip) * node;
        const double xnoh = node;
        node = atan2(alfdp, betdp);
        if (node < 0.0 && sat->opsmode == TSR_SGP4_OPSMODE_AFSPC) {
            node += TWOPI;
        }
        if (fabs(xnoh - node) > PI) {
            node += (node < xnoh) ? TWOPI : -TWOPI;
        }
        *mp += pl;
        *argpp = xls - *mp - cosip * node;
        *nodep = node;
    }
}

/* Deep-space secular rates and resonance initialisation (the "dsinit" step
 * of [V2006]); evaluated at t = 0. */
static void ds_init(tsr_sgp4_sat *sat, const ds_common *c, double xpidot, double eccsq)
{
    const double q22 = 1.7891679e-6, q31 = 2.1460748e-6, q33 = 2.2123015e-7;
    const double root22 = 1.7891679e-6, root44 = 7.3636953e-9, root54 = 2.1765803e-9;
    const double root32 = 3.7393792e-7, root52 = 1.1428639e-7;
    const double nm = c->nm;
    const double em = c->em;
    const double inclm = sat->inclo;
    const double sinim = c->sinim, cosim = c->cosim, emsq = c->emsq;

    sat->irez = 0;
    if (nm < 0.0052359877 && nm > 0.0034906585) {
        sat->irez = 1;
    }
    if (nm >= 8.26e-3 && nm <= 9.24e-3 && em >= 0.5) {
        sat->irez = 2;
    }

    /* solar secular terms */
    const double ses = c->ss1 * ZNS * c->ss5;
    const double sis = c->ss2 * ZNS * (c->sz11 + c->sz13);
    const double sls = -ZNS * c->ss3 * (c->sz1 + c->sz3 - 14.0 - 6.0 * emsq);
    const double sghs = c->ss4 * ZNS * (c->sz31 + c->sz33 - 6.0);
    double shs = -ZNS * c->ss2 * (c->sz21 + c->sz23);
    /* no node rate for (nearly) equatorial orbits: 3 degrees */
    if (inclm < 5.2359877e-2 || inclm > PI - 5.2359877e-2) {
        shs = 0.0;
    }
    if (sinim != 0.0) {
        shs = shs / sinim;
    }
    const double sgs = sghs - cosim * shs;

    /* lunar secular terms */
    sat->dedt = ses + c->s1 * ZNL * c->s5;
    sat->didt = sis + c->s2 * ZNL * (c->z11 + c->z13);
    sat->dmdt = sls - ZNL * c->s3 * (c->z1 + c->z3 - 14.0 - 6.0 * emsq);
    const double sghl = c->s4 * ZNL * (c->z31 + c->z33 - 6.0);
    double shll = -ZNL * c->s2 * (c->z21 + c->z23);
    if (inclm < 5.2359877e-2 || inclm > PI - 5.2359877e-2) {
        shll = 0.0;
    }
    sat->domdt = sgs + sghl;
    sat->dnodt = shs;
    if (sinim != 0.0) {
        sat->domdt -= cosim / sinim * shll;
        sat->dnodt += shll / sinim;
    }

    const double theta = fmod(sat->gsto, TWOPI);
    if (sat->irez == 0) {
        return;
    }
    const double aonv = pow(nm / xke(), X2O3);

    if (sat->irez == 2) {
        /* half-day (12 h) resonance: eccentricity functions G(e) */
        const double cosisq = cosim * cosim;
        const double e = sat->ecco;
        const double esq = eccsq;
        const double eoc = e * esq;
        double g211, g310, g322, g410, g422, g520, g521, g532, g533;
        const double g201 = -0.306 - (e - 0.64) * 0.440;
        if (e <= 0.65) {
            g211 = 3.616 - 13.2470 * e + 16.2900 * esq;
            g310 = -19.302 + 117.3900 * e - 228.4190 * esq + 156.5910 * eoc;
            g322 = -18.9068 + 109.7927 * e - 214.6334 * esq + 146.5816 * eoc;
            g410 = -41.122 + 242.6940 * e - 471.0940 * esq + 313.9530 * eoc;
            g422 = -146.407 + 841.8800 * e - 1629.014 * esq + 1083.4350 * eoc;
            g520 = -532.114 + 3017.977 * e - 5740.032 * esq + 3708.2760 * eoc;
        } else {
            g211 = -72.099 + 331.819 * e - 508.738 * esq + 266.724 * eoc;
            g310 = -346.844 + 1582.851 * e - 2415.925 * esq + 1246.113 * eoc;
            g322 = -342.585 + 1554.908 * e - 2366.899 * esq + 1215.972 * eoc;
            g410 = -1052.797 + 4758.686 * e - 7193.992 * esq + 3651.957 * eoc;
            g422 = -3581.690 + 16178.110 * e - 24462.770 * esq + 12422.520 * eoc;
            if (e > 0.715) {
                g520 = -5149.66 + 29936.92 * e - 54087.36 * esq + 31324.56 * eoc;
            } else {
                g520 = 1464.74 - 4664.75 * e + 3763.64 * esq;
            }
        }
        if (e < 0.7) {
            g533 = -919.22770 + 4988.6100 * e - 9064.7700 * esq + 5542.21 * eoc;
            g521 = -822.71072 + 4568.6173 * e - 8491.4146 * esq + 5337.524 * eoc;
            g532 = -853.66600 + 4690.2500 * e - 8624.7700 * esq + 5341.4 * eoc;
        } else {
            g533 = -37995.780 + 161616.52 * e - 229838.20 * esq + 109377.94 * eoc;
            g521 = -51752.104 + 218913.95 * e - 309468.16 * esq + 146349.42 * eoc;
            g532 = -40023.880 + 170470.89 * e - 242699.48 * esq + 115605.82 * eoc;
        }
        /* inclination functions F(i) */
        const double sini2 = sinim * sinim;
        const double f220 = 0.75 * (1.0 + 2.0 * cosim + cosisq);
        const double f221 = 1.5 * sini2;
        const double f321 = 1.875 * sinim * (1.0 - 2.0 * cosim - 3.0 * cosisq);
        const double f322 = -1.875 * sinim * (1.0 + 2.0 * cosim - 3.0 * cosisq);
        const double f441 = 35.0 * sini2 * f220;
        const double f442 = 39.3750 * sini2 * sini2;
        const double f522 = 9.84375 * sinim
                            * (sini2 * (1.0 - 2.0 * cosim - 5.0 * cosisq)
                               + 0.33333333 * (-2.0 + 4.0 * cosim + 6.0 * cosisq));
        const double f523 = sinim * (4.92187512 * sini2 * (-2.0 - 4.0 * cosim + 10.0 * cosisq)
                                     + 6.56250012 * (1.0 + 2.0 * cosim - 3.0 * cosisq));
        const double f542 = 29.53125 * sinim
                            * (2.0 - 8.0 * cosim + cosisq * (-12.0 + 8.0 * cosim + 10.0 * cosisq));
        const double f543 = 29.53125 * sinim
                            * (-2.0 - 8.0 * cosim + cosisq * (12.0 + 8.0 * cosim - 10.0 * cosisq));
        const double xno2 = nm * nm;
        const double ainv2 = aonv * aonv;
        double temp1 = 3.0 * xno2 * ainv2;
        double temp = temp1 * root22;
        sat->d2201 = temp * f220 * g201;
        sat->d2211 = temp * f221 * g211;
        temp1 = temp1 * aonv;
        temp = temp1 * root32;
        sat->d3210 = temp * f321 * g310;
        sat->d3222 = temp * f322 * g322;
        temp1 = temp1 * aonv;
        temp = 2.0 * temp1 * root44;
        sat->d4410 = temp * f441 * g410;
        sat->d4422 = temp * f442 * g422;
        temp1 = temp1 * aonv;
        temp = temp1 * root52;
        sat->d5220 = temp * f522 * g520;
        sat->d5232 = temp * f523 * g532;
        temp = 2.0 * temp1 * root54;
        sat->d5421 = temp * f542 * g521;
        sat->d5433 = temp * f543 * g533;
        sat->xlamo = fmod(sat->mo + sat->nodeo + sat->nodeo - theta - theta, TWOPI);
        sat->xfact = sat->mdot + sat->dmdt + 2.0 * (sat->nodedot + sat->dnodt - RPTIM)
                     - sat->no_unkozai;
    } else {
        /* one-day (synchronous) resonance */
        const double g200 = 1.0 + emsq * (-2.5 + 0.8125 * emsq);
        const double g310 = 1.0 + 2.0 * emsq;
        const double g300 = 1.0 + emsq * (-6.0 + 6.60937 * emsq);
        const double f220 = 0.75 * (1.0 + cosim) * (1.0 + cosim);
        const double f311 = 0.9375 * sinim * sinim * (1.0 + 3.0 * cosim) - 0.75 * (1.0 + cosim);
        double f330 = 1.0 + cosim;
        f330 = 1.875 * f330 * f330 * f330;
        double del1 = 3.0 * nm * nm * aonv * aonv;
        sat->del2 = 2.0 * del1 * f220 * g200 * q22;
        sat->del3 = 3.0 * del1 * f330 * g300 * q33 * aonv;
        sat->del1 = del1 * f311 * g310 * q31 * aonv;
        sat->xlamo = fmod(sat->mo + sat->nodeo + sat->argpo - theta, TWOPI);
        sat->xfact = sat->mdot + xpidot - RPTIM + sat->dmdt + sat->domdt + sat->dnodt
                     - sat->no_unkozai;
    }
}

/* Where the resonance integration last stopped: the state at a whole
 * number of 720-minute steps from epoch. The steps are fixed, so going on
 * from here gives bit for bit what a restart at epoch gives; batch loops
 * keep one on their stack so that ordered times cost a step or two, as the
 * reference code's continuing integrator does. */
typedef struct {
    double atime, xli, xni;
} resonance_state;

/* Deep-space secular update and resonance integration to time t (the
 * "dspace" step of [V2006]). rs may be NULL: integrate from epoch. */
static void ds_secular(const tsr_sgp4_sat *sat, double t, double *em, double *argpm,
                       double *inclm, double *mm, double *nodem, double *nm,
                       resonance_state *rs)
{
    const double fasx2 = 0.13130908, fasx4 = 2.8843198, fasx6 = 0.37448087;
    const double g22 = 5.7686396, g32 = 0.95240898, g44 = 1.8014998;
    const double g52 = 1.0508330, g54 = 4.4108898;
    const double stepp = 720.0, step2 = 259200.0;

    *em += sat->dedt * t;
    *inclm += sat->didt * t;
    *argpm += sat->domdt * t;
    *nodem += sat->dnodt * t;
    *mm += sat->dmdt * t;

    if (sat->irez == 0) {
        return;
    }
    const double theta = fmod(sat->gsto + t * RPTIM, TWOPI);
    /* Euler-Maclaurin integration of the resonance mean longitude and
     * mean motion in fixed steps of 720 min, then a Taylor step to t. */
    double atime = 0.0;
    double xni = sat->no_unkozai;
    double xli = sat->xlamo;
    /* go on from the last stop only on the same side of epoch and not past t
     * (the restart rule of [V2006]) */
    if (rs != NULL && rs->atime != 0.0 && t * rs->atime > 0.0 && fabs(t) >= fabs(rs->atime)) {
        atime = rs->atime;
        xni = rs->xni;
        xli = rs->xli;
    }
    const double delt = (t > 0.0) ? stepp : -stepp;
    double xndt, xldot, xnddt, ft;
    for (;;) {
        if (sat->irez != 2) {
            xndt = sat->del1 * sin(xli - fasx2) + sat->del2 * sin(2.0 * (xli - fasx4))
                   + sat->del3 * sin(3.0 * (xli - fasx6));
            xldot = xni + sat->xfact;
            xnddt = sat->del1 * cos(xli - fasx2) + 2.0 * sat->del2 * cos(2.0 * (xli - fasx4))
                    + 3.0 * sat->del3 * cos(3.0 * (xli - fasx6));
            xnddt *= xldot;
        } else {
            const double xomi = sat->argpo + sat->argpdot * atime;
            const double x2omi = xomi + xomi;
            const double x2li = xli + xli;
            xndt = sat->d2201 * sin(x2omi + xli - g22) + sat->d2211 * sin(xli - g22)
                   + sat->d3210 * sin(xomi + xli - g32) + sat->d3222 * sin(-xomi + xli - g32)
                   + sat->d4410 * sin(x2omi + x2li - g44) + sat->d4422 * sin(x2li - g44)
                   + sat->d5220 * sin(xomi + xli - g52) + sat->d5232 * sin(-xomi + xli - g52)
                   + sat->d5421 * sin(xomi + x2li - g54) + sat->d5433 * sin(-xomi + x2li - g54);
            xldot = xni + sat->xfact;
            xnddt = sat->d2201 * cos(x2omi + xli - g22) + sat->d2211 * cos(xli - g22)
                    + sat->d3210 * cos(xomi + xli - g32) + sat->d3222 * cos(-xomi + xli - g32)
                    + sat->d5220 * cos(xomi + xli - g52) + sat->d5232 * cos(-xomi + xli - g52)
                    + 2.0 * (sat->d4410 * cos(x2omi + x2li - g44) + sat->d4422 * cos(x2li - g44)
                             + sat->d5421 * cos(xomi + x2li - g54)
                             + sat->d5433 * cos(-xomi + x2li - g54));
            xnddt *= xldot;
        }
        if (fabs(t - atime) < stepp) {
            ft = t - atime;
            break;
        }
        xli = xli + xldot * delt + xndt * step2;
        xni = xni + xndt * delt + xnddt * step2;
        atime += delt;
    }
    if (rs != NULL) {
        rs->atime = atime;
        rs->xli = xli;
        rs->xni = xni;
    }
    *nm = xni + xndt * ft + xnddt * ft * ft * 0.5;
    const double xl = xli + xldot * ft + xndt * ft * ft * 0.5;
    if (sat->irez != 1) {
        *mm = xl - 2.0 * *nodem + 2.0 * theta;
    } else {
        *mm = xl - *nodem - *argpm + theta;
    }
    /* the reference code forms nm = no + (nm - no); keep its rounding */
    *nm = sat->no_unkozai + (*nm - sat->no_unkozai);
}

static int set_nan(double r[3], double v[3], int err)
{
    const double nan = NAN;
    r[0] = r[1] = r[2] = nan;
    v[0] = v[1] = v[2] = nan;
    return err;
}

/* Turn (s, c), the sine and cosine of an angle a, into those of a + d
 * when d is small, by the angle-sum formulas with Taylor series of sin d
 * and cos d stopped at d^7 and d^8: for |d| < 0.01 the series are exact to
 * a few 1e-24, and cost a tenth of a library sincos. Returns 0, leaving
 * (s, c) alone, for larger d. The Newton steps of Kepler's equation after
 * the first and the short-period corrections of the argument of latitude
 * and of the inclination (d ~ J2 / p^2, 1e-3 rad in low orbit) are small. */
static int turn_by_small_angle(double *s, double *c, double d)
{
    if (!(fabs(d) < 0.01)) {
        return 0;
    }
    const double d2 = d * d;
    const double sind = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0 * (1.0 - d2 / 42.0)));
    const double cosd = 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0 * (1.0 - d2 / 56.0)));
    const double s0 = *s;
    *s = s0 * cosd + *c * sind;
    *c = *c * cosd - s0 * sind;
    return 1;
}

/* fmod(x, 2 pi), bit for bit, without the library call. fmod's result
 * |x| - n 2pi is a double, so fma, which rounds once, gives it exactly for
 * the right n; the quotient's rounding can make floor() one off near a
 * multiple, which the result's range shows and one more fma corrects.
 * Beyond 1e15 (n near 2^53) the library call is kept. */
static double wrap_twopi(double x)
{
    const double a = fabs(x);
    if (a < TWOPI) {
        return x;
    }
    if (!(a < 1.0e15)) {
        return fmod(x, TWOPI);
    }
    const double n = floor(a / TWOPI);
    double r = fma(-n, TWOPI, a);
    if (r < 0.0) {
        r = fma(-(n - 1.0), TWOPI, a);
    } else if (r >= TWOPI) {
        r = fma(-(n + 1.0), TWOPI, a);
    }
    return copysign(r, x);
}

static int sgp4_at(const tsr_sgp4_sat *sat, double t, double r[3], double v[3],
                   resonance_state *rs)
{
    const double k = xke();
    const double vkmpersec = RE_KM * k / 60.0;

    /* Not in the reference: its resonance integrator would loop forever on
     * NaN or infinite times and for very long on absurd spans. */
    if (!(fabs(t) <= TSR_SGP4_MAX_TSINCE_MIN)) {
        return set_nan(r, v, TSR_SGP4_ERR_TIME);
    }

    /* secular gravity and atmospheric drag [STR3 sec. 6] */
    const double xmdf = sat->mo + sat->mdot * t;
    const double argpdf = sat->argpo + sat->argpdot * t;
    const double nodedf = sat->nodeo + sat->nodedot * t;
    double argpm = argpdf;
    double mm = xmdf;
    const double t2 = t * t;
    double nodem = nodedf + sat->nodecf * t2;
    double tempa = 1.0 - sat->cc1 * t;
    double tempe = sat->bstar * sat->cc4 * t;
    double templ = sat->t2cof * t2;

    if (sat->isimp != 1) {
        const double delomg = sat->omgcof * t;
        const double delmtemp = 1.0 + sat->eta * cos(xmdf);
        const double delm = sat->xmcof * (delmtemp * delmtemp * delmtemp - sat->delmo);
        const double temp = delomg + delm;
        mm = xmdf + temp;
        argpm = argpdf - temp;
        const double t3 = t2 * t;
        const double t4 = t3 * t;
        tempa = tempa - sat->d2 * t2 - sat->d3 * t3 - sat->d4 * t4;
        tempe = tempe + sat->bstar * sat->cc5 * (sin(mm) - sat->sinmao);
        templ = templ + sat->t3cof * t3 + t4 * (sat->t4cof + t * sat->t5cof);
    }

    double nm = sat->no_unkozai;
    double em = sat->ecco;
    double inclm = sat->inclo;
    if (sat->deep) {
        ds_secular(sat, t, &em, &argpm, &inclm, &mm, &nodem, &nm, rs);
    }
    if (nm <= 0.0) {
        return set_nan(r, v, TSR_SGP4_ERR_MEAN_MOTION);
    }
    /* near Earth nm is the constant no_unkozai: its power is kept from init */
    const double am = (sat->deep ? pow(k / nm, X2O3) : sat->ao_unkozai) * tempa * tempa;
    nm = k / (am * sqrt(am));
    em = em - tempe;
    if (em >= 1.0 || em < -0.001) {
        return set_nan(r, v, TSR_SGP4_ERR_MEAN_ECC);
    }
    if (em < 1.0e-6) {
        em = 1.0e-6;
    }
    mm = mm + sat->no_unkozai * templ;
    double xlm = mm + argpm + nodem;
    nodem = wrap_twopi(nodem);
    argpm = wrap_twopi(argpm);
    xlm = wrap_twopi(xlm);
    mm = wrap_twopi(xlm - argpm - nodem);

    /* lunar-solar periodics */
    double ep = em;
    double xincp = inclm;
    double argpp = argpm;
    double nodep = nodem;
    double mp = mm;
    /* near Earth the inclination is the element set's: its sine and cosine
     * are kept from init (deep space overwrites both below) */
    double sinip = sat->sinio;
    double cosip = sat->cosio;
    double aycof = sat->aycof, xlcof = sat->xlcof;
    double con41 = sat->con41, x1mth2 = sat->x1mth2, x7thm1 = sat->x7thm1;
    if (sat->deep) {
        ds_periodics(sat, t, &ep, &xincp, &nodep, &argpp, &mp);
        if (xincp < 0.0) {
            xincp = -xincp;
            nodep = nodep + PI;
            argpp = argpp - PI;
        }
        if (ep < 0.0 || ep > 1.0) {
            return set_nan(r, v, TSR_SGP4_ERR_PERT_ECC);
        }
        sinip = sin(xincp);
        cosip = cos(xincp);
        aycof = -0.5 * J3OJ2 * sinip;
        if (fabs(cosip + 1.0) > 1.5e-12) {
            xlcof = -0.25 * J3OJ2 * sinip * (3.0 + 5.0 * cosip) / (1.0 + cosip);
        } else {
            xlcof = -0.25 * J3OJ2 * sinip * (3.0 + 5.0 * cosip) / 1.5e-12;
        }
    }

    /* long-period periodics [STR3 sec. 6] */
    const double axnl = ep * cos(argpp);
    double temp = 1.0 / (am * (1.0 - ep * ep));
    const double aynl = ep * sin(argpp) + temp * aycof;
    const double xl = mp + argpp + nodep + temp * xlcof * axnl;

    /* Kepler's equation for E + omega, at most 10 Newton steps, each step
     * clamped to 0.95 rad [V2006] */
    const double u = wrap_twopi(xl - nodep);
    double eo1 = u;
    double tem5 = 9999.9;
    double sineo1 = 0.0, coseo1 = 1.0;
    for (int ktr = 1; fabs(tem5) >= 1.0e-12 && ktr <= 10; ++ktr) {
        /* sin and cos of the new eo1: the last ones turned by the last step */
        if (ktr == 1 || !turn_by_small_angle(&sineo1, &coseo1, tem5)) {
            sineo1 = sin(eo1);
            coseo1 = cos(eo1);
        }
        tem5 = 1.0 - coseo1 * axnl - sineo1 * aynl;
        tem5 = (u - aynl * coseo1 + axnl * sineo1 - eo1) / tem5;
        if (fabs(tem5) >= 0.95) {
            tem5 = tem5 > 0.0 ? 0.95 : -0.95;
        }
        eo1 = eo1 + tem5;
    }

    /* short-period preliminary quantities */
    const double ecose = axnl * coseo1 + aynl * sineo1;
    const double esine = axnl * sineo1 - aynl * coseo1;
    const double el2 = axnl * axnl + aynl * aynl;
    const double pl = am * (1.0 - el2);
    if (pl < 0.0) {
        return set_nan(r, v, TSR_SGP4_ERR_SEMI_LATUS);
    }
    const double rl = am * (1.0 - ecose);
    const double rdotl = sqrt(am) * esine / rl;
    const double rvdotl = sqrt(pl) / rl;
    const double betal = sqrt(1.0 - el2);
    temp = esine / (1.0 + betal);
    const double sinu = am / rl * (sineo1 - aynl - axnl * temp);
    const double cosu = am / rl * (coseo1 - axnl + aynl * temp);
    const double sin2u = (cosu + cosu) * sinu;
    const double cos2u = 1.0 - 2.0 * sinu * sinu;
    temp = 1.0 / pl;
    const double temp1 = 0.5 * J2 * temp;
    const double temp2 = temp1 * temp;

    if (sat->deep) {
        const double cosisq = cosip * cosip;
        con41 = 3.0 * cosisq - 1.0;
        x1mth2 = 1.0 - cosisq;
        x7thm1 = 7.0 * cosisq - 1.0;
    }

    /* short-period periodics and osculating state [STR3 sec. 6] */
    const double mrt = rl * (1.0 - 1.5 * temp2 * betal * con41) + 0.5 * temp1 * x1mth2 * cos2u;
    const double dsu = -0.25 * temp2 * x7thm1 * sin2u;
    const double xnode = nodep + 1.5 * temp2 * cosip * sin2u;
    const double dinc = 1.5 * temp2 * cosip * sinip * cos2u;
    const double mvt = rdotl - nm * temp1 * x1mth2 * sin2u / k;
    const double rvdot = rvdotl + nm * temp1 * (x1mth2 * cos2u + 1.5 * con41) / k;

    /* su = atan2(sinu, cosu) + dsu and xinc = xincp + dinc [STR3]: their
     * sines and cosines from those already known, turned */
    const double unorm = 1.0 / sqrt(sinu * sinu + cosu * cosu);
    double sinsu = sinu * unorm, cossu = cosu * unorm, sini = sinip, cosi = cosip;
    if (!turn_by_small_angle(&sinsu, &cossu, dsu)) {
        const double su = atan2(sinu, cosu) + dsu;
        sinsu = sin(su);
        cossu = cos(su);
    }
    if (!turn_by_small_angle(&sini, &cosi, dinc)) {
        sini = sin(xincp + dinc);
        cosi = cos(xincp + dinc);
    }
    const double snod = sin(xnode), cnod = cos(xnode);
    const double xmx = -snod * cosi;
    const double xmy = cnod * cosi;
    const double ux = xmx * sinsu + cnod * cossu;
    const double uy = xmy * sinsu + snod * cossu;
    const double uz = sini * sinsu;
    const double vx = xmx * cossu - cnod * sinsu;
    const double vy = xmy * cossu - snod * sinsu;
    const double vz = sini * cossu;
    const double mr = mrt * RE_KM;
    r[0] = mr * ux;
    r[1] = mr * uy;
    r[2] = mr * uz;
    v[0] = (mvt * ux + rvdot * vx) * vkmpersec;
    v[1] = (mvt * uy + rvdot * vy) * vkmpersec;
    v[2] = (mvt * uz + rvdot * vz) * vkmpersec;

    /* below one Earth radius: decayed, state still returned [V2006] */
    return (mrt < 1.0) ? TSR_SGP4_ERR_DECAYED : TSR_SGP4_OK;
}

int tsr_sgp4(const tsr_sgp4_sat *sat, double t, double r[3], double v[3])
{
    return sgp4_at(sat, t, r, v, NULL);
}

int tsr_sgp4_init(tsr_sgp4_sat *sat, double epoch_jd, double epoch_jd_frac,
                  double bstar, double ndot, double nddot, double ecco,
                  double argpo, double inclo, double mo,
                  double no_kozai, double nodeo, int opsmode)
{
    const double k = xke();
    /* days since 1949 Dec 31 00:00 UT, the model's time origin */
    const double epoch = (epoch_jd + epoch_jd_frac) - 2433281.5;
    const double ss = 78.0 / RE_KM + 1.0;
    const double qzms2ttemp = (120.0 - 78.0) / RE_KM;
    const double qzms2t = qzms2ttemp * qzms2ttemp * qzms2ttemp * qzms2ttemp;

    *sat = (tsr_sgp4_sat){0};
    sat->epoch_jd = epoch_jd;
    sat->epoch_jd_frac = epoch_jd_frac;
    sat->bstar = bstar;
    sat->ndot = ndot;
    sat->nddot = nddot;
    sat->ecco = ecco;
    sat->argpo = argpo;
    sat->inclo = inclo;
    sat->mo = mo;
    sat->no_kozai = no_kozai;
    sat->nodeo = nodeo;
    sat->opsmode = opsmode;

    /* recover the original mean motion (Brouwer) from the Kozai mean motion
     * of the element set [STR3 sec. 6; the "initl" step of V2006] */
    const double eccsq = ecco * ecco;
    const double omeosq = 1.0 - eccsq;
    const double rteosq = sqrt(omeosq);
    const double cosio = cos(inclo);
    const double cosio2 = cosio * cosio;
    const double ak = pow(k / no_kozai, X2O3);
    const double d1 = 0.75 * J2 * (3.0 * cosio2 - 1.0) / (rteosq * omeosq);
    double del = d1 / (ak * ak);
    const double adel = ak * (1.0 - del * del - del * (1.0 / 3.0 + 134.0 * del * del / 81.0));
    del = d1 / (adel * adel);
    sat->no_unkozai = no_kozai / (1.0 + del);
    const double ao = pow(k / sat->no_unkozai, X2O3);
    sat->ao_unkozai = ao;
    const double sinio = sin(inclo);
    sat->sinio = sinio;
    sat->cosio = cosio;
    const double po = ao * omeosq;
    const double con42 = 1.0 - 5.0 * cosio2;
    sat->con41 = -con42 - cosio2 - cosio2;
    const double posq = po * po;
    const double rp = ao * (1.0 - ecco);

    if (opsmode == TSR_SGP4_OPSMODE_AFSPC) {
        /* the older sidereal-time formula kept for AFSPC compatibility */
        const double ts70 = epoch - 7305.0;
        const double ds70 = floor(ts70 + 1.0e-8);
        const double tfrac = ts70 - ds70;
        const double c1 = 1.72027916940703639e-2;
        const double thgr70 = 1.7321343856509374;
        const double fk5r = 5.07551419432269442e-15;
        const double c1p2p = c1 + TWOPI;
        double g = fmod(thgr70 + c1 * ds70 + c1p2p * tfrac + ts70 * ts70 * fk5r, TWOPI);
        if (g < 0.0) {
            g += TWOPI;
        }
        sat->gsto = g;
    } else {
        sat->gsto = tsr_gstime(epoch + 2433281.5);
    }

    if (omeosq >= 0.0 || sat->no_unkozai >= 0.0) {
        sat->isimp = (rp < 220.0 / RE_KM + 1.0) ? 1 : 0;
        /* atmosphere density parameter s, adjusted for low perigee */
        double sfour = ss;
        double qzms24 = qzms2t;
        const double perige = (rp - 1.0) * RE_KM;
        if (perige < 156.0) {
            sfour = perige - 78.0;
            if (perige < 98.0) {
                sfour = 20.0;
            }
            const double qzms24temp = (120.0 - sfour) / RE_KM;
            qzms24 = qzms24temp * qzms24temp * qzms24temp * qzms24temp;
            sfour = sfour / RE_KM + 1.0;
        }
        const double pinvsq = 1.0 / posq;
        const double tsi = 1.0 / (ao - sfour);
        sat->eta = ao * ecco * tsi;
        const double etasq = sat->eta * sat->eta;
        const double eeta = ecco * sat->eta;
        const double psisq = fabs(1.0 - etasq);
        const double coef = qzms24 * pow(tsi, 4.0);
        const double coef1 = coef / pow(psisq, 3.5);
        const double cc2 = coef1 * sat->no_unkozai
                           * (ao * (1.0 + 1.5 * etasq + eeta * (4.0 + etasq))
                              + 0.375 * J2 * tsi / psisq * sat->con41
                                    * (8.0 + 3.0 * etasq * (8.0 + etasq)));
        sat->cc1 = bstar * cc2;
        double cc3 = 0.0;
        if (ecco > 1.0e-4) {
            cc3 = -2.0 * coef * tsi * J3OJ2 * sat->no_unkozai * sinio / ecco;
        }
        sat->x1mth2 = 1.0 - cosio2;
        sat->cc4 = 2.0 * sat->no_unkozai * coef1 * ao * omeosq
                   * (sat->eta * (2.0 + 0.5 * etasq) + ecco * (0.5 + 2.0 * etasq)
                      - J2 * tsi / (ao * psisq)
                            * (-3.0 * sat->con41 * (1.0 - 2.0 * eeta + etasq * (1.5 - 0.5 * eeta))
                               + 0.75 * sat->x1mth2 * (2.0 * etasq - eeta * (1.0 + etasq))
                                     * cos(2.0 * argpo)));
        sat->cc5 = 2.0 * coef1 * ao * omeosq * (1.0 + 2.75 * (etasq + eeta) + eeta * etasq);
        const double cosio4 = cosio2 * cosio2;
        const double temp1 = 1.5 * J2 * pinvsq * sat->no_unkozai;
        const double temp2 = 0.5 * temp1 * J2 * pinvsq;
        const double temp3 = -0.46875 * J4 * pinvsq * pinvsq * sat->no_unkozai;
        sat->mdot = sat->no_unkozai + 0.5 * temp1 * rteosq * sat->con41
                    + 0.0625 * temp2 * rteosq * (13.0 - 78.0 * cosio2 + 137.0 * cosio4);
        sat->argpdot = -0.5 * temp1 * con42
                       + 0.0625 * temp2 * (7.0 - 114.0 * cosio2 + 395.0 * cosio4)
                       + temp3 * (3.0 - 36.0 * cosio2 + 49.0 * cosio4);
        const double xhdot1 = -temp1 * cosio;
        sat->nodedot = xhdot1 + (0.5 * temp2 * (4.0 - 19.0 * cosio2)
                                 + 2.0 * temp3 * (3.0 - 7.0 * cosio2)) * cosio;
        const double xpidot = sat->argpdot + sat->nodedot;
        sat->omgcof = bstar * cc3 * cos(argpo);
        sat->xmcof = 0.0;
        if (ecco > 1.0e-4) {
            sat->xmcof = -X2O3 * coef * bstar / eeta;
        }
        sat->nodecf = 3.5 * omeosq * xhdot1 * sat->cc1;
        sat->t2cof = 1.5 * sat->cc1;
        /* guard the division for retrograde equatorial orbits */
        if (fabs(cosio + 1.0) > 1.5e-12) {
            sat->xlcof = -0.25 * J3OJ2 * sinio * (3.0 + 5.0 * cosio) / (1.0 + cosio);
        } else {
            sat->xlcof = -0.25 * J3OJ2 * sinio * (3.0 + 5.0 * cosio) / 1.5e-12;
        }
        sat->aycof = -0.5 * J3OJ2 * sinio;
        const double delmotemp = 1.0 + sat->eta * cos(mo);
        sat->delmo = delmotemp * delmotemp * delmotemp;
        sat->sinmao = sin(mo);
        sat->x7thm1 = 7.0 * cosio2 - 1.0;

        /* deep space for periods of 225 min or more [STR3 sec. 10] */
        if (2.0 * PI / sat->no_unkozai >= 225.0) {
            ds_common c;
            sat->deep = 1;
            sat->isimp = 1;
            ds_common_init(epoch, ecco, argpo, 0.0, inclo, nodeo, sat->no_unkozai, sat, &c);
            ds_init(sat, &c, xpidot, eccsq);
        }

        if (sat->isimp != 1) {
            const double cc1sq = sat->cc1 * sat->cc1;
            sat->d2 = 4.0 * ao * tsi * cc1sq;
            const double temp = sat->d2 * tsi * sat->cc1 / 3.0;
            sat->d3 = (17.0 * ao + sfour) * temp;
            sat->d4 = 0.5 * temp * ao * tsi * (221.0 * ao + 31.0 * sfour) * sat->cc1;
            sat->t3cof = sat->d2 + 2.0 * cc1sq;
            sat->t4cof = 0.25 * (3.0 * sat->d3 + sat->cc1 * (12.0 * sat->d2 + 10.0 * cc1sq));
            sat->t5cof = 0.2 * (3.0 * sat->d4 + 12.0 * sat->cc1 * sat->d3 + 6.0 * sat->d2 * sat->d2
                                + 15.0 * cc1sq * (2.0 * sat->d2 + cc1sq));
        }
    }

    double r[3], v[3];
    sat->init_error = tsr_sgp4(sat, 0.0, r, v);
    return sat->init_error;
}

int tsr_sgp4_rv(const tsr_sgp4_sat *sat, double tsince_min, double rv[6])
{
    return tsr_sgp4(sat, tsince_min, rv, rv + 3);
}

int tsr_sgp4_jd_rv(const tsr_sgp4_sat *sat, double jd, double jd_frac, double rv[6])
{
    /* as tsr_sgp4_many_jd: whole and fractional days differenced apart */
    const double tsince = (jd - sat->epoch_jd) * 1440.0 + (jd_frac - sat->epoch_jd_frac) * 1440.0;
    return tsr_sgp4(sat, tsince, rv, rv + 3);
}

int tsr_sgp4_jd_state(tsr_sgp4_sat *sat, double jd, double jd_frac)
{
    return tsr_sgp4_jd_rv(sat, jd, jd_frac, sat->state);
}

int tsr_sgp4_tsince_state(tsr_sgp4_sat *sat, double tsince_min)
{
    return tsr_sgp4(sat, tsince_min, sat->state, sat->state + 3);
}

void tsr_sgp4_times(const tsr_sgp4_sat *sat, const double *tsince_min, long n,
                    double *r_km, double *v_km_s, int *err)
{
    resonance_state rs = {0.0, 0.0, 0.0};
    for (long i = 0; i < n; ++i) {
        err[i] = sgp4_at(sat, tsince_min[i], r_km + 3 * i, v_km_s + 3 * i, &rs);
    }
}

void tsr_sgp4_many_jd(const tsr_sgp4_sat *sats, long nsat, const double *jd,
                      const double *jd_frac, long ntimes, double *r_km,
                      double *v_km_s, int *err)
{
    for (long s = 0; s < nsat; ++s) {
        const tsr_sgp4_sat *sat = sats + s;
        resonance_state rs = {0.0, 0.0, 0.0};
        for (long i = 0; i < ntimes; ++i) {
            /* difference the whole and fractional parts separately to keep
             * sub-microsecond resolution over decades */
            const double tsince = (jd[i] - sat->epoch_jd) * 1440.0
                                  + (jd_frac[i] - sat->epoch_jd_frac) * 1440.0;
            const long k = s * ntimes + i;
            err[k] = sgp4_at(sat, tsince, r_km + 3 * k, v_km_s + 3 * k, &rs);
        }
    }
}

void tsr_sgp4_many_tsince(const tsr_sgp4_sat *sats, long nsat, const double *tsince_min,
                          long ntimes, double *r_km, double *v_km_s, int *err)
{
    for (long s = 0; s < nsat; ++s) {
        const long k = s * ntimes;
        tsr_sgp4_times(sats + s, tsince_min, ntimes, r_km + 3 * k, v_km_s + 3 * k, err + k);
    }
}
