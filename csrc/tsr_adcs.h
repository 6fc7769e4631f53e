/*
 * tsr_adcs.h - one ADCS cycle: estimate, then control, in a single call.
 *
 * Each call: reference vectors (sun from tsr_env, field from IGRF-14) at the
 * given position and time; MEKF propagation with the gyro and updates with
 * the sun sensor and magnetometer (TRIAD starts the filter on the first
 * cycle with both); then the mode's control law: B-dot for detumbling, or
 * quaternion feedback on the wheels toward the mode's target with
 * magnetorquer desaturation. All state lives in the caller's tsr_adcs_state;
 * the call is deterministic and does no I/O.
 */
#ifndef TSR_ADCS_H
#define TSR_ADCS_H

#include "tsr_pointing.h"

/* The types and functions of the cycle are declared in tsr_pointing.h (see
 * the note there): tsr_adcs_params, tsr_adcs_inputs, tsr_adcs_state,
 * tsr_adcs_outputs, tsr_adcs_init and tsr_adcs_step. */

#endif
