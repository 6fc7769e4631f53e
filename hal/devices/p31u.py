"""Driver for the GomSpace NanoPower P31u EPS (I2C 0x02).

Protocol facts (NanoPower P31u manual, as implemented by the public KubOS
`gomspace-p31u-api`):

- The first byte written is the command; every reply starts with the
  command echoed and a status byte (0 = OK). Payloads are packed and
  big-endian, in mV, mA and degrees C.
- 1 PING [1, value] -> [1, status, value]
- 8 GET_HOUSEKEEPING -> [8, status] + eps_hk_t (layout in HK_FORMAT)
- 10 SET_SINGLE_OUTPUT [10, channel, value, delay_s u16] -> [10, status]
- 16 RESET_WDT [16, 0x78] -> [16, status] (ground watchdog kick)
- 4 REBOOT [4, 0x80, 0x07, 0x80, 0x07] (no reply)

GET_HOUSEKEEPING is sent with a type byte 0 (the full eps_hk_t), as public
P31u drivers do. The P31u reports battery voltage, not state of charge: the
driver estimates state of charge from voltage with the open-circuit curve
of a Li-ion cell (`soc_from_cell_v`), which is only meaningful at low current.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from typing import Final

import numpy as np

from hal import CommandRejectedError, DataError, DeviceIdError, HalError
from hal.busio import I2C
from hal.devices.base import Device

__all__ = ["HK_FORMAT", "P31u", "P31uHousekeeping", "soc_from_cell_v"]

CMD_PING: Final = 1
CMD_REBOOT: Final = 4
CMD_GET_HK: Final = 8
CMD_SET_SINGLE_OUTPUT: Final = 10
CMD_RESET_WDT: Final = 16
WDT_MAGIC: Final = 0x78
DEFAULT_ADDRESS: Final = 0x02
N_OUTPUTS: Final = 8  # 6 switchable outputs, BP4 heater, BP4 switch
N_LATCHED: Final = 6

# eps_hk_t, big-endian packed:
# vboost[3] vbatt curin[3] cursun cursys reserved1 curout[6] output[8]
# output_on_delta[8] output_off_delta[8] latchup[6] wdt_i2c_time_left
# wdt_gnd_time_left wdt_csp_pings_left[2] counter_wdt_i2c counter_wdt_gnd
# counter_wdt_csp[2] counter_boot temp[6] boot_cause batt_mode ppt_mode reserved2
HK_FORMAT: Final = ">3HH3HHHH6H8B8H8H6HII2BII2II6hBBBH"
HK_SIZE: Final = struct.calcsize(HK_FORMAT)
# Compiled once: `struct.unpack` with the format string looks it up in
# struct's cache on every call.
_HK: Final = struct.Struct(HK_FORMAT)
_GET_HK: Final = bytes([CMD_GET_HK, 0])

# Open-circuit voltage of one Li-ion cell against state of charge (typical
# curve for NMC cells; an estimate, not a fuel gauge).
_OCV_V = (3.00, 3.45, 3.60, 3.70, 3.80, 3.95, 4.10, 4.20)
_OCV_SOC = (0.00, 0.05, 0.20, 0.40, 0.60, 0.80, 0.95, 1.00)


def _interp(x: float, xs: tuple[float, ...], ys: tuple[float, ...]) -> float:
    """Piecewise-linear y(x) through the table, held at the end values
    (`numpy.interp` for one point, without its per-call cost)."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, x)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def soc_from_cell_v(cell_v: float) -> float:
    """State of charge (0-1) of one Li-ion cell from its voltage."""
    return _interp(float(cell_v), _OCV_V, _OCV_SOC)


def cell_v_from_soc(soc: float) -> float:
    """Inverse of `soc_from_cell_v`."""
    return _interp(float(soc), _OCV_SOC, _OCV_V)


@dataclass(frozen=True)
class P31uHousekeeping:
    """EPS housekeeping in SI units."""

    vbatt_v: float
    cursun_a: float           # current in from the solar panels
    cursys_a: float           # current out of the battery to the system
    curout_a: np.ndarray      # per switchable output (6,)
    outputs_on: tuple[bool, ...]  # 8 output states
    latchups: tuple[int, ...]     # over-current latch-ups per output (6)
    temps_c: np.ndarray       # (6,)
    batt_mode: int            # 0 initial, 1 critical, 2 safe, 3 normal, 4 full
    boot_count: int
    soc: float                # state of charge estimate, 0-1
    wdt_gnd_time_left_s: int = 0  # until the ground watchdog resets the satellite
    wdt_gnd_resets: int = 0   # resets the ground watchdog has caused (counter_wdt_gnd)
    boot_cause: int = 0       # the EPS's own record of why it last booted

    @property
    def net_current_a(self) -> float:
        """Battery current, positive charging."""
        return self.cursun_a - self.cursys_a


class P31u(Device):
    """GomSpace NanoPower P31u: housekeeping and output switching.

    cells_in_series: battery pack configuration for the state-of-charge
    estimate (2 for the BP4 in 2S2P).
    """

    part = "GomSpace NanoPower P31u"

    def __init__(self, i2c: I2C, address: int = DEFAULT_ADDRESS, *, cells_in_series: int = 2,
                 retries: int = 2, budget_s: float = 0.05) -> None:
        super().__init__(i2c, address, retries=retries, budget_s=budget_s)
        self.cells_in_series = cells_in_series
        try:
            self.ping(0x5A)
        except HalError as exc:
            raise DeviceIdError(f"no P31u answer to PING ({exc.reason})", bus=i2c.name,
                                address=self.address, device=self.part) from exc

    def _command(self, out: bytes, n_payload: int) -> bytes:
        code = out[0]
        with self.bus:
            self._xfer(out)
            reply = self._xfer(b"", 2 + n_payload)
        if reply[0] != code:
            raise self._fail(DataError(
                f"reply echoes command {reply[0]}, sent {code}"))
        if reply[1] != 0:
            raise self._fail(CommandRejectedError(f"command {code} returned status {reply[1]}"))
        return reply[2:]

    def ping(self, value: int = 0x5A) -> None:
        """Ask the EPS to echo `value`; raises if it does not."""
        echo = self._command(bytes([CMD_PING, value]), 1)[0]
        if echo != value:
            raise self._fail(DataError(f"PING echoed 0x{echo:02X}, sent 0x{value:02X}"))

    def housekeeping(self) -> P31uHousekeeping:
        """Read and check the full housekeeping structure."""
        raw = self._command(_GET_HK, HK_SIZE)
        f = _HK.unpack(raw)
        vbatt_mv = f[3]
        cursun, cursys = f[7], f[8]
        curout = np.array(f[10:16], dtype=float) * 1e-3
        outputs = f[16:24]
        latchups = f[40:46]
        wdt_gnd_left, counter_wdt_gnd = f[47], f[51]
        counter_boot = f[54]
        boot_cause = f[61]
        temps = f[55:61]
        batt_mode = f[62]
        problems = []
        for o in outputs:  # a loop: compiled, `any` over a generator is generic calls
            if o != 0 and o != 1:
                problems.append(f"output states {list(outputs)} not 0/1")
                break
        if batt_mode > 4:
            problems.append(f"battery mode {batt_mode} not 0-4")
        if not 2000 <= vbatt_mv <= 4500 * self.cells_in_series:
            problems.append(f"battery voltage {vbatt_mv} mV implausible")
        if min(temps) < -60 or max(temps) > 150:
            problems.append(f"temperatures {list(temps)} out of range")
        if problems:
            raise self._fail(DataError("housekeeping rejected: " + "; ".join(problems)))
        vbatt_v = vbatt_mv * 1e-3
        return P31uHousekeeping(
            vbatt_v=vbatt_v, cursun_a=cursun * 1e-3, cursys_a=cursys * 1e-3, curout_a=curout,
            outputs_on=tuple(bool(o) for o in outputs), latchups=tuple(latchups),
            temps_c=np.array(temps, dtype=float), batt_mode=batt_mode, boot_count=counter_boot,
            soc=soc_from_cell_v(vbatt_v / self.cells_in_series),
            wdt_gnd_time_left_s=wdt_gnd_left, wdt_gnd_resets=counter_wdt_gnd,
            boot_cause=boot_cause)

    def set_output(self, channel: int, on: bool, delay_s: int = 0) -> None:
        """Switch output `channel` (0-7) on or off after `delay_s` seconds.
        Switching a latched-off output on again clears the latch."""
        if not 0 <= channel < N_OUTPUTS or not 0 <= delay_s <= 0xFFFF:
            raise ValueError("channel 0-7, delay 0-65535 s")
        self._command(struct.pack(">BBBH", CMD_SET_SINGLE_OUTPUT, channel, int(on), delay_s), 0)

    def reset_ground_watchdog(self) -> None:
        """Kick the EPS ground watchdog (it power-cycles the satellite if not kicked)."""
        self._command(bytes([CMD_RESET_WDT, WDT_MAGIC]), 0)

    def kick_watchdog(self) -> None:
        """The hardware watchdog seen by the flight software's health app."""
        self.reset_ground_watchdog()
