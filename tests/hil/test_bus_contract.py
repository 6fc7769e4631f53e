"""One contract for every HAL backend (after python-sgp4's shared test mixin):
the same transactions give the same bytes and the same errors whether the
emulators sit in this process (`sim`) or at the far end of a bench link over
a real pty (`tunnel`). Expected register values come from the datasheets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from hal import NackError
from hal.devices.gps import GpsReceiver
from hal.devices.wheel import ReactionWheel
from hal.tunnel.messages import pack_tick
from hal.tunnel.protocol import MsgType

RM3100_REVID = (0x36, 0x22)      # PNI RM3100 datasheet: REVID register reads 0x22
L3GD20H_WHO_AM_I = (0x0F, 0xD7)  # ST L3GD20H datasheet table 17: WHO_AM_I = 0xD7
# hal/reference.toml wiring; the P31u at 0x02 sits in the range a scan skips
# (0x00-0x07 are reserved by the I2C specification, UM10204 sec. 3.1.12).
REFERENCE_I2C = [0x10, 0x20, 0x48, 0x49]


@dataclass
class Rig:
    buses: dict[str, Any]
    emulators: Any
    advance: Callable[[float], None]


class BusContract:
    """Subclasses provide the `rig` fixture."""

    def test_i2c_register_read(self, rig: Rig) -> None:
        reg, value = RM3100_REVID
        assert rig.buses["i2c0"].transfer(0x20, bytes([reg]), 1) == bytes([value])

    def test_i2c_empty_address_nacks_with_its_location(self, rig: Rig) -> None:
        with pytest.raises(NackError) as err:
            rig.buses["i2c0"].transfer(0x55, b"\x00", 1)
        assert (err.value.bus, err.value.address) == ("i2c0", 0x55)

    def test_i2c_scan_finds_the_reference_parts(self, rig: Rig) -> None:
        assert rig.buses["i2c0"].scan() == REFERENCE_I2C

    def test_spi_register_read_and_empty_chip_select(self, rig: Rig) -> None:
        reg, value = L3GD20H_WHO_AM_I
        spi = rig.buses["spi0"]
        assert spi.transfer(0, bytes([0x80 | reg]), 1) == bytes([value])
        assert spi.transfer(3, bytes([0x80 | reg]), 2) == b"\xff\xff"

    def test_can_command_and_reply(self, rig: Rig) -> None:
        rig.emulators.wheels[1].set_speed(123.456)
        wheel = ReactionWheel(rig.buses["can0"], 2)
        assert wheel.read_speed_rad_s() == pytest.approx(123.456, abs=1e-3)

    def test_uart_bytes_paced_in_bench_time(self, rig: Rig) -> None:
        gps = GpsReceiver(rig.buses["gps_uart"])
        rig.emulators.gps.set_fix(52.0, 4.0, 500e3)
        fixes = []
        for t in (1.0, 2.0, 3.0, 4.0):
            rig.advance(t)
            fix = gps.poll()
            if fix is not None:
                fixes.append(fix)
        assert fixes and all(-90.0 <= f.lat_deg <= 90.0 for f in fixes if f.lat_deg)


    def test_a_failed_write_raises_at_the_latest_at_the_next_transaction(self, rig: Rig
                                                                           ) -> None:
        """The HAL contract for writes that return no data (docs/hal.md): a
        backend may post them, but a failure reaches the driver no later than
        its next transaction with that part, as the error the write met, and
        the part is not addressed further until then."""
        i2c = rig.buses["i2c0"]
        torquer = rig.emulators.magnetorquer
        torquer.inject_fault("nack")
        with pytest.raises(NackError) as err:
            i2c.writeto(0x10, b"\x03")        # iMTQ CANCEL: may be posted
            i2c.transfer(0x10, b"", 2)        # the reply read: raises by now at the latest
        assert (err.value.bus, err.value.address) == ("i2c0", 0x10)
        reg, value = RM3100_REVID              # another part is not affected
        assert i2c.transfer(0x20, bytes([reg]), 1) == bytes([value])
        torquer.clear_faults()
        i2c.writeto(0x10, b"\x03")
        assert i2c.transfer(0x10, b"", 2) == b"\x03\x00"  # echo of CANCEL, accepted


class TestSimBackend(BusContract):
    @pytest.fixture
    def rig(self) -> Rig:
        from hal.sim.reference import reference_sim

        buses, emus = reference_sim(seed=3)
        return Rig(buses, emus, emus.advance)


class TestTunnelBackend(BusContract):
    @pytest.fixture
    def rig(self, thread_bench) -> Rig:
        import hal.config
        from hal.tunnel import close_links, open_link

        url = str(thread_bench.link_path)
        link = open_link(url)
        link.hello()
        cfg = hal.config.load_config(hal.config.REFERENCE)
        cfg = cfg.with_backend("tunnel", **{name: {"port": url} for name in cfg.buses})
        buses = hal.config.build_buses(cfg)
        world = thread_bench.world

        def advance(t_s: float) -> None:
            link.request(MsgType.TICK, pack_tick(world.t_s, t_s))

        yield Rig(buses, world.emulators, advance)
        close_links()
