"""B-dot detumbling control (C core): m = -k dB/dt, saturated per axis.

Stickler & Alfriend (1974). The rate of change of the field is taken in the
body frame from successive magnetometer samples, low-pass filtered, and the
commanded dipole is scaled as a whole so that no axis exceeds its limit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fsw.gnc._core import ffi, lib


class BDot:
    """Stateful B-dot controller; one `step` per magnetometer sample."""

    def __init__(self, gain_am2_per_t_s: float, max_dipole_am2: Sequence[float],
                 filter_alpha: float = 1.0) -> None:
        if not 0.0 < filter_alpha <= 1.0:
            raise ValueError("filter_alpha must be in (0, 1]")
        self._p = ffi.new("tsr_bdot_params *")
        self._p.gain_am2_per_t_s = gain_am2_per_t_s
        self._p.max_dipole_am2 = [float(x) for x in max_dipole_am2]
        self._p.filter_alpha = filter_alpha
        self._s = ffi.new("tsr_bdot_state *")
        self._m = ffi.new("double[3]")
        self._b = ffi.new("double[3]")

    @property
    def gain(self) -> float:
        return self._p.gain_am2_per_t_s

    @gain.setter
    def gain(self, value: float) -> None:
        self._p.gain_am2_per_t_s = value

    @property
    def bdot_t_s(self) -> np.ndarray:
        """The filtered field rate, T/s, body frame."""
        return np.array(list(self._s.bdot_t_s))

    def reset(self) -> None:
        """Forget the previous sample (after a sensor outage)."""
        self._s.primed = 0

    def step(self, b_body_t: Sequence[float], dt_s: float) -> np.ndarray:
        """Commanded dipole, A m^2, body frame, for this field sample (tesla)."""
        self._b[0:3] = [float(x) for x in b_body_t]
        if lib.tsr_bdot_step(self._p, self._s, self._b, dt_s, self._m) != 0:
            raise ValueError(f"B-dot step rejected: dt={dt_s} s, field={list(b_body_t)}")
        return np.array(list(self._m))
