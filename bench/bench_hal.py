"""HAL overhead: per register transaction through the sim backend, and one
ADCS sensor sweep, each side by side with a peer in the same run.

Peers:
- "direct emulator": the same bytes handed straight to the same register
  emulator (`emulator.i2c_transfer`), no bus object and no driver. The gap
  is exactly what the HAL adds in simulation.
- "smbus2 i2c_msg": building the two smbus2 messages of one register read,
  which the linux backend does before its ioctl; a flight-side reference for
  what a transaction costs in Python before it reaches the kernel.
- For the sweep, "direct emulator replay": the recorded bytes of one sweep
  replayed straight into the emulators.

Run: python -m bench hal
"""

from __future__ import annotations

import time

from bench.common import compare


def _per_call_us(fn, n: int, repeat: int = 7) -> float:
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - t0) / n * 1e6)
    best.sort()
    return best[len(best) // 2]


def _rig():
    from hal.config import REFERENCE, build
    from hal.sim.reference import reference_sim

    buses, emus = reference_sim(seed=1)
    hw = build(REFERENCE, sim_buses=buses)
    emus.advance(0.0)
    emus.magnetometer.set_field([20e-6, -5e-6, 30e-6])
    emus.gyro.set_rate([0.01, 0.02, -0.03])
    emus.sun.set_sun([0.6, 0.0, 0.8], 1.0)
    return buses, emus, hw


def sweep(devices) -> None:
    """One ADCS sensor sweep: every attitude sensor read once."""
    devices["magnetometer"].read_field_t()
    devices["gyro"].read_rate_rad_s()
    devices["sun_sensors"].read()
    devices["wheels"].speeds_rad_s()


def main() -> None:
    from smbus2 import i2c_msg

    buses, emus, hw = _rig()
    i2c = buses["i2c0"]
    mag_emu = emus.magnetometer
    status = b"\xb4"
    n = 50_000

    hal_ns = 1e3 * _per_call_us(lambda: i2c.transfer(0x20, status, 1), n)
    direct_ns = 1e3 * _per_call_us(lambda: mag_emu.i2c_transfer(status, 1), n)
    compare("I2C register read via sim bus", "ns/txn", hal_ns,
            "direct emulator", direct_ns, higher_is_better=False)

    mag = hw.devices["magnetometer"]
    drv_ns = 1e3 * _per_call_us(lambda: mag._xfer(status, 1), n)
    compare("I2C register read via driver (retries, health)", "ns/txn", drv_ns,
            "direct emulator", direct_ns, higher_is_better=False)

    msg_ns = 1e3 * _per_call_us(lambda: (i2c_msg.write(0x20, status), i2c_msg.read(0x20, 1)), n)
    compare("I2C register read via sim bus", "ns/txn", hal_ns,
            "smbus2 i2c_msg build", msg_ns, higher_is_better=False)

    print(f"  HAL overhead per transaction: {hal_ns - direct_ns:.0f} ns (bus), "
          f"{drv_ns - direct_ns:.0f} ns (bus + driver); whole transaction "
          f"{drv_ns / 1e3:.2f} us against the 5 us aim")

    # Sensor sweep, and the same bytes replayed straight into the emulators.
    record = []
    orig = type(i2c)._transfer

    def spy(self, address, out, n_in):
        record.append((self._targets[address], bytes(out), n_in))
        return orig(self, address, out, n_in)

    type(i2c)._transfer = spy
    try:
        sweep(hw.devices)
    finally:
        type(i2c)._transfer = orig
    spi = buses["spi0"]
    gyro_frames = [(spi.target(0), b"\xe7" + bytes(7))]  # STATUS + OUT burst
    can = buses["can0"]
    from hal.busio import CanMessage

    wheel_frames = [CanMessage(0x200 + w.node, b"\x02") for w in emus.wheels]

    def replay():
        for target, out, n_in in record:
            target.i2c_transfer(out, n_in)
        for target, tx in gyro_frames:
            target.spi_exchange(tx)
        for msg in wheel_frames:
            for node in can.nodes:
                node.can_receive(msg)

    m = 3000
    sweep_us = _per_call_us(lambda: sweep(hw.devices), m)
    replay_us = _per_call_us(replay, m)
    txns = len(record) + len(gyro_frames) + 2 * len(wheel_frames)
    compare(f"ADCS sensor sweep ({txns} transactions)", "us", sweep_us,
            "direct emulator replay", replay_us, higher_is_better=False)


if __name__ == "__main__":
    main()
