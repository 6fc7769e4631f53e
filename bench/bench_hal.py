"""HAL overhead: per register transaction through the sim backend, and one
ADCS sensor sweep, each against the same work done without the HAL.

There is no peer library that does the same job (a register transaction
with a simulated device behind a bus object): the figure here is what the
HAL adds, against the floor of the same bytes handed straight to the same
register emulator (`emulator.i2c_transfer`), with no bus object and no
driver. The sweep's floor is the recorded bytes of one sweep replayed
straight into the emulators. Ratios under 1 are the HAL's cost.

(An earlier version compared with building the two smbus2 messages of one
read; that is not the same job, and is withdrawn.)

Run: python -m bench hal
"""

from __future__ import annotations

from bench.common import heading, note, paired, report


def _loop(fn, n: int):
    def run() -> None:
        for _ in range(n):
            fn()
    return run


def rig():
    """The reference spacecraft's sim buses, emulators (with a field, rate and sun
    set) and hardware built on them."""
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


def sweep_replay(buses, emus, devices):
    """Record one sweep's I2C transactions; return a function that replays the
    sweep's bytes straight into the emulators, and the sweep's transaction count."""
    i2c = buses["i2c0"]
    record = []
    targets = dict(i2c._targets)

    class Spy:
        """Stands in for an emulator while one sweep is recorded (attached
        through the bus's own `attach`: the sim bus answers a target that is
        not an `I2CTarget` through its `i2c_transfer`, which records the bytes)."""

        def __init__(self, target) -> None:
            self.target = target

        def i2c_transfer(self, out: bytes, n_in: int) -> bytes:
            record.append((self.target, bytes(out), n_in))
            return self.target.i2c_transfer(out, n_in)

    for address, target in targets.items():
        i2c.detach(address)
        i2c.attach(address, Spy(target))
    try:
        sweep(devices)
    finally:
        for address, target in targets.items():
            i2c.detach(address)
            i2c.attach(address, target)
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

    return replay, len(record) + len(gyro_frames) + 2 * len(wheel_frames)


def main() -> None:
    heading()
    buses, emus, hw = rig()
    i2c = buses["i2c0"]
    mag_emu = emus.magnetometer
    status = b"\xb4"
    n = 50_000

    direct = _loop(lambda: mag_emu.i2c_transfer(status, 1), n)
    bus = report("I2C register read (RM3100 STATUS) through the sim bus",
                 paired(_loop(lambda: i2c.transfer(0x20, status, 1), n), direct, items=n),
                 "direct emulator call", unit="ns/txn", per_item_scale=1e9)
    mag = hw.devices["magnetometer"]
    drv = report("the same through the driver (retries, health counters)",
                 paired(_loop(lambda: mag._xfer(status, 1), n), direct, items=n),
                 "direct emulator call", unit="ns/txn", per_item_scale=1e9)
    note(f"HAL overhead per transaction: "
         f"{(bus.tessera.per_item - bus.peer.per_item) * 1e9:.0f} ns (bus), "
         f"{(drv.tessera.per_item - drv.peer.per_item) * 1e9:.0f} ns (bus + driver); "
         f"whole transaction {drv.tessera.per_item * 1e6:.2f} us against the 5 us aim")

    # Sensor sweep, and the same bytes replayed straight into the emulators.
    replay, txns = sweep_replay(buses, emus, hw.devices)
    m = 3000
    report(f"ADCS sensor sweep ({txns} transactions)",
           paired(_loop(lambda: sweep(hw.devices), m), _loop(replay, m), items=m),
           "direct emulator replay", unit="us/sweep", per_item_scale=1e6)


if __name__ == "__main__":
    main()
