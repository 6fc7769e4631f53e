"""Rigid spacecraft with reaction wheels and magnetorquers (C core, RK4).

The simulator's truth model. State and parameters live in C structs owned
by the `RigidBody` object; one `step` is one C call. See csrc/tsr_dynamics.h
for the equations (Markley & Crassidis 2014, sec. 3.3.5).

Frames: `q_body_eci` is scalar-first Hamilton, the attitude of the body
relative to ECI (v_body = A(q) v_eci); body rates are rad/s in the body frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from fsw.gnc._core import ffi, lib
from fsw.gnc._ffi import consecutive_doubles
from hal._compiled import mypyc_attr

MAX_WHEELS: Final[int] = lib.TSR_MAX_WHEELS
_BODY_STEP: Final = lib.tsr_body_step  # looked up in the library once, called every step

# The state the simulator reads and the inputs it writes every step, in one
# struct call each instead of a cffi conversion per array (the same doubles).
_STATE: Final = consecutive_doubles(
    "tsr_body_state", [("q_body_eci", 4), ("w_body_rad_s", 3), ("wheel_speed_rad_s", 4)])[0]
_INPUTS: Final = consecutive_doubles(
    "tsr_body_inputs", [("wheel_torque_cmd_nm", 4), ("mtq_dipole_am2", 3), ("b_eci_t", 3),
                        ("ext_torque_body_nm", 3)])[0]


class DynamicsError(ValueError):
    """Bad parameters, or a step that failed (non-finite state, bad dt)."""


# Interpreted when this module is compiled: a scenario carries its wheels to
# worker processes (a compiled frozen class cannot be unpickled), and an int
# given for a float stays as given.
@mypyc_attr(native_class=False)
@dataclass(frozen=True)
class Wheel:
    """One reaction wheel: spin axis in the body frame and its limits."""

    axis_body: Sequence[float]
    inertia_kgm2: float = 1.5e-5
    max_torque_nm: float = 2e-3
    max_speed_rad_s: float = 628.0


class RigidBody:
    """Attitude dynamics of one spacecraft, integrated by the C core."""

    def __init__(self, inertia_kgm2: np.ndarray | Sequence[Sequence[float]],
                 wheels: Sequence[Wheel] = ()) -> None:
        inertia = np.asarray(inertia_kgm2, dtype=float)
        if inertia.shape != (3, 3) or not np.allclose(inertia, inertia.T):
            raise DynamicsError("inertia must be a symmetric 3x3 matrix, kg m^2")
        if len(wheels) > MAX_WHEELS:
            raise DynamicsError(f"at most {MAX_WHEELS} wheels")
        self._p = ffi.new("tsr_body_params *")
        self._s = ffi.new("tsr_body_state *")
        self._u = ffi.new("tsr_body_inputs *")
        self._s_bytes = ffi.buffer(self._s)
        self._u_bytes = ffi.buffer(self._u)
        self._p.inertia_kgm2 = list(inertia.ravel())
        self._p.n_wheels = len(wheels)
        for i, w in enumerate(wheels):
            axis = np.asarray(w.axis_body, dtype=float)
            axis = axis / np.linalg.norm(axis)
            self._p.wheel_axis_body[3 * i:3 * i + 3] = list(axis)
            self._p.wheel_inertia_kgm2[i] = w.inertia_kgm2
            self._p.wheel_max_torque_nm[i] = w.max_torque_nm
            self._p.wheel_max_speed_rad_s[i] = w.max_speed_rad_s
        if lib.tsr_body_params_init(self._p) != 0:
            raise DynamicsError("inertia is singular or a wheel is ill-defined")
        self.n_wheels = len(wheels)
        self._s.q_body_eci = [1.0, 0.0, 0.0, 0.0]

    # -- state -------------------------------------------------------------
    @property
    def t_s(self) -> float:
        return self._s.t_s

    @property
    def q_body_eci(self) -> np.ndarray:
        return np.array(list(self._s.q_body_eci))

    @q_body_eci.setter
    def q_body_eci(self, q: Sequence[float] | np.ndarray) -> None:
        v = np.asarray(q, dtype=float)
        self._s.q_body_eci = list(v / np.linalg.norm(v))

    @property
    def w_body_rad_s(self) -> np.ndarray:
        return np.array(list(self._s.w_body_rad_s))

    @w_body_rad_s.setter
    def w_body_rad_s(self, w: Sequence[float] | np.ndarray) -> None:
        self._s.w_body_rad_s = [float(x) for x in w]

    @property
    def wheel_speed_rad_s(self) -> np.ndarray:
        return np.array(list(self._s.wheel_speed_rad_s)[: self.n_wheels])

    def state_tuples(self) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
        """(q_body_eci, w_body_rad_s, wheel_speed_rad_s) as plain tuples, without
        numpy: the form a simulator reads every step."""
        state = _STATE.unpack_from(self._s_bytes)
        return state[0:4], state[4:7], state[7:7 + self.n_wheels]

    def to_body(self, v_eci: Sequence[float]) -> np.ndarray:
        """Express an ECI vector in the body frame at the current attitude."""
        v = ffi.new("double[3]", [float(x) for x in v_eci])
        lib.tsr_quat_apply_inverse(self._s.q_body_eci, v, v)
        return np.array(list(v))

    def momentum_eci_nms(self) -> np.ndarray:
        """Total angular momentum of body and wheels, ECI, N m s."""
        out = ffi.new("double[3]")
        lib.tsr_body_momentum(self._p, self._s, out)
        return np.array(list(out))

    def kinetic_energy_j(self) -> float:
        return lib.tsr_body_kinetic_energy(self._p, self._s)

    # -- integration ---------------------------------------------------------
    def step(self, dt_s: float, *, b_eci_t: Sequence[float],
             mtq_dipole_am2: Sequence[float] = (0.0, 0.0, 0.0),
             wheel_torque_nm: Sequence[float] = (),
             ext_torque_body_nm: Sequence[float] = (0.0, 0.0, 0.0), substeps: int = 1) -> None:
        """Advance by dt_s with inputs held over the step (field in ECI, tesla)."""
        u = self._u
        # Tuples: compiled, their items are read natively (a tuple given is
        # taken as it is, a list copied once).
        # Any: compiled, the items go to the struct call as the objects they
        # are, not unboxed and boxed again.
        t: tuple[Any, ...] = tuple(wheel_torque_nm)
        m: tuple[Any, ...] = tuple(mtq_dipole_am2)
        b: tuple[Any, ...] = tuple(b_eci_t)
        e: tuple[Any, ...] = tuple(ext_torque_body_nm)
        if len(t) < MAX_WHEELS:
            t = t + (0.0,) * (MAX_WHEELS - len(t))
        if MAX_WHEELS == 4 and len(t) == 4 and len(m) == 3 and len(b) == 3 and len(e) == 3:
            _INPUTS.pack_into(self._u_bytes, 0, t[0], t[1], t[2], t[3], m[0], m[1], m[2],
                              b[0], b[1], b[2], e[0], e[1], e[2])
        else:  # cffi's own conversion, with its checks, for any other shape
            u.b_eci_t = list(b_eci_t)
            u.mtq_dipole_am2 = list(mtq_dipole_am2)
            u.ext_torque_body_nm = list(ext_torque_body_nm)
            u.wheel_torque_cmd_nm = list(t)
        if _BODY_STEP(self._p, self._s, u, dt_s, substeps) != 0:
            raise DynamicsError(f"step of {dt_s} s failed: bad step or non-finite state")
