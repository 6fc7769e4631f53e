"""Device configuration: the same TOML builds the same drivers on any backend."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

import hal
from hal.config import REFERENCE, build, build_buses, load_config, register_backend
from hal.devices.ads1115 import ADS1115, CoarseSunSensors
from hal.devices.gps import GpsReceiver
from hal.devices.imtq import IMTQ
from hal.devices.l3gd20h import L3GD20H
from hal.devices.p31u import P31u
from hal.devices.radio import UhfRadio
from hal.devices.rm3100 import RM3100
from hal.devices.wheel import ReactionWheels
from hal.sim import SimI2C
from hal.sim.reference import reference_sim
from hal.sim.uart import PtyHost, SimUART

EXPECTED = {"magnetometer": RM3100, "magnetorquer": IMTQ, "gyro": L3GD20H,
            "sun_adc_a": ADS1115, "sun_adc_b": ADS1115, "sun_sensors": CoarseSunSensors,
            "wheels": ReactionWheels, "eps": P31u, "gps": GpsReceiver, "radio": UhfRadio}


def test_reference_configuration_builds_every_device_in_sim_and_they_work():
    buses, emus = reference_sim(seed=4, realistic=False)
    hw = build(REFERENCE, sim_buses=buses)
    assert {n: type(d) for n, d in hw.devices.items()} == EXPECTED
    emus.gps.set_fix(5.0, 6.0, 500e3)
    emus.advance(0.0)
    emus.magnetometer.set_field([20e-6, 0, -30e-6])
    emus.gyro.set_rate([0.01, -0.02, 0.03])
    emus.sun.set_sun([0.0, 0.6, 0.8], 1.0)
    for i, w in enumerate(emus.wheels):
        w.set_speed(10.0 * i)
    emus.advance(0.5)
    d = hw.devices
    assert np.allclose(d["magnetometer"].read_field_t(), [20e-6, 0, -30e-6], atol=1e-8)
    assert np.allclose(d["gyro"].read_rate_rad_s(), [0.01, -0.02, 0.03], atol=2e-4)
    assert np.allclose(d["sun_sensors"].read().sun_body, [0, 0.6, 0.8], atol=1e-3)
    assert np.allclose(d["wheels"].speeds_rad_s(), [0, 10, 20, 30])
    d["wheels"].set_torques([1e-4, 0, 0, -1e-4])
    assert emus.wheels[3].commanded_torque_nm == pytest.approx(-1e-4)
    d["magnetorquer"].start_dipole([0.1, 0, 0], 1.0)
    assert emus.magnetorquer.dipole_now_am2[0] == pytest.approx(0.1)
    assert d["eps"].housekeeping().vbatt_v > 7.0
    assert d["gps"].poll().valid
    d["radio"].send(b"beacon")
    assert len(emus.radio.air_tx) == 1
    health = hw.health()
    assert set(health) == set(EXPECTED)
    assert health["magnetometer"]["transactions"] > 0
    assert len(health["wheels"]) == 4


def test_only_the_backend_changes_between_sim_and_linux():
    sim_cfg = load_config(REFERENCE)
    channel = f"cfg-{uuid.uuid4().hex}"
    from hal.sim.gps import GpsEmulator
    from hal.sim.radio import UhfRadioEmulator

    with PtyHost(GpsEmulator()) as gps_host, PtyHost(UhfRadioEmulator()) as radio_host:
        lin_cfg = sim_cfg.with_backend(
            "linux", buses=["can0", "gps_uart", "radio_uart"],
            can0={"interface": "virtual", "channel": channel},
            gps_uart={"url": gps_host.port}, radio_uart={"url": radio_host.port})
        # Same devices, drivers, addresses and options: only buses differ.
        assert lin_cfg.devices == sim_cfg.devices
        changed = {n for n in sim_cfg.buses if sim_cfg.buses[n] != lin_cfg.buses[n]}
        assert changed == {"can0", "gps_uart", "radio_uart"}
        buses, _ = reference_sim()
        sim_hw = build(sim_cfg, sim_buses=buses)
        lin_buses, _ = reference_sim()
        keep = {n: lin_buses[n] for n in ("i2c0", "spi0")}
        lin_hw = build(lin_cfg, sim_buses=keep)
        try:
            assert ({n: type(d) for n, d in lin_hw.devices.items()}
                    == {n: type(d) for n, d in sim_hw.devices.items()} == EXPECTED)
            assert type(lin_hw.buses["can0"]).__name__ == "LinuxCAN"
            assert type(lin_hw.buses["gps_uart"]).__name__ == "SerialUART"
        finally:
            for name in ("can0", "gps_uart", "radio_uart"):
                lin_hw.buses[name].deinit()


def test_linux_i2c_without_the_adapter_names_the_device_path():
    cfg = load_config(REFERENCE).with_backend(
        "linux", buses=["i2c0"], i2c0={"device": "/dev/i2c-57"})
    with pytest.raises(hal.ConfigError) as info:
        build_buses(cfg)
    assert "/dev/i2c-57" in str(info.value) and "i2c0" in str(info.value)


def test_a_registered_backend_is_built_for_the_buses_that_name_it():
    cfg = load_config(REFERENCE).with_backend("custom", buses=["i2c0"])
    with pytest.raises(hal.ConfigError) as info:
        build_buses(cfg)
    assert "no 'custom' backend for i2c" in str(info.value)
    made = []

    def custom_i2c(spec):
        bus = SimI2C(spec.name)  # stands for another kind of adapter in this test
        made.append(bus)
        return bus

    register_backend("i2c", "custom", custom_i2c)
    try:
        buses = build_buses(cfg, sim_buses={k: v for k, v in reference_sim()[0].items()
                                            if k != "i2c0"})
        assert buses["i2c0"] is made[0]
    finally:
        from hal.config import _BACKENDS

        del _BACKENDS[("i2c", "custom")]


def test_the_tunnel_backend_registers_itself_and_needs_its_bench_link():
    cfg = load_config(REFERENCE).with_backend("tunnel", buses=["i2c0"])
    with pytest.raises(hal.ConfigError, match="a tunnel bus needs port = URL"):
        build_buses(cfg)


@pytest.mark.parametrize(("toml", "words"), [
    ('[buses.x]\nkind = "usb"\nbackend = "sim"', "kind 'usb'"),
    ('[devices.m]\ndriver = "rm9999"', "driver 'rm9999' unknown"),
    ('[buses.i]\nkind = "i2c"\nbackend = "sim"\n[devices.m]\ndriver = "rm3100"\nbus = "j"',
     "bus 'j' is not declared"),
    ('[buses.u]\nkind = "uart"\nbackend = "sim"\n[devices.m]\ndriver = "rm3100"\nbus = "u"',
     "needs a bus of kind"),
    ('[buses.i]\nkind = "i2c"\nbackend = "sim"\n[devices.m]\ndriver = "rm3100"\nbus = "i"\n'
     'cycle_cuont = 100', "cycle_cuont"),
    ("[buses.i\n", "config"),
    ('[busses.i]\nkind = "i2c"', "unknown top-level"),
])
def test_configuration_mistakes_are_config_errors_with_the_place(toml, words):
    with pytest.raises(hal.ConfigError) as info:
        load_config(toml)
    assert words in str(info.value)


def test_absent_device_at_build_is_a_device_id_error():
    buses, _ = reference_sim()
    buses["i2c0"].detach(0x20)
    with pytest.raises(hal.DeviceIdError) as info:
        build(REFERENCE, sim_buses=buses)
    assert "RM3100" in str(info.value)


def test_a_device_with_its_own_backend_gets_its_own_bus():
    """A mixed bench: the GPS stays on a real port while its bus table is tunnelled."""
    text = REFERENCE.read_text().replace('driver = "gps_nmea"',
                                         'driver = "gps_nmea"\nbackend = "linux"')
    cfg = load_config(text)
    assert cfg.devices["gps"].backend == "linux"
    made = []
    register_backend("uart", "custom", lambda spec: made.append(spec) or SimUART(spec.name))
    try:
        buses = build_buses(cfg.with_backend("custom", buses=["gps_uart"],
                                             gps_uart={"url": "loop://"}),
                            sim_buses=reference_sim()[0])
    finally:
        from hal.config import _BACKENDS

        del _BACKENDS[("uart", "custom")]
    assert buses["gps_uart"] is not buses["gps_uart@linux"]
    assert buses["gps_uart@linux"].url == "loop://"
    assert [spec.name for spec in made] == ["gps_uart"]
    with pytest.raises(hal.ConfigError, match="backend 3 needs a bus"):
        load_config(text.replace('backend = "linux"', "backend = 3"))
