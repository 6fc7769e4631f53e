"""Autonomy in the loop: each way into SAFE happens for real in the SIL, ends in
SAFE with the events that say why, and is left only by the operator's command.

The scenarios are short: they start just before the interesting moment (the
spacecraft already pointing, the eclipse near) and the battery of the
low-battery run is shrunk so its swing takes minutes instead of hours; the
power budget itself (panels, eclipse, loads) is the reference CubeSat's.
"""

from __future__ import annotations

from dataclasses import dataclass

from fsw.apps.eps import EpsApp
from fsw.apps.mode import BEACON, Mode, ModeManagerApp, SafeCause
from fsw.core import EVENT_MSG, Event, cmd_msg_id, encode_command
from fsw.core.executive import load_config
from fsw.protocol import services as sv
from fsw.protocol.pus import PusTc
from fsw.protocol.sdls import SecuritySender
from fsw.protocol.store import ArsnStore
from fsw.protocol.uplink import TcSender, VcConfig
from ground.sim.power import PowerModel
from ground.sim.sil import DEFAULT_FLIGHT_CONFIG, Scenario, SilRun, build_sil
from ground.sim.spacecraft import SpacecraftModel

SET_MODE = ModeManagerApp.COMMANDS[10]


def flight_config(adcs_mode: str = "SUN", contact_timeout_s: float | None = None,
                  **eps: object) -> dict:
    """The reference flight configuration with the ADCS already pointing (and, for a
    contact timeout, the comms app and scheduler wired in)."""
    cfg = load_config(DEFAULT_FLIGHT_CONFIG)
    if contact_timeout_s is not None:
        with_uplink(cfg)
    for app in cfg["apps"]:
        if app["name"] == "adcs":
            app["config"]["initial_mode"] = adcs_mode
        if app["name"] == "eps":
            app["config"].update(eps)
        if app["name"] == "fdir" and contact_timeout_s is not None:
            for monitor in app["config"]["monitors"]:
                if monitor["name"] == "contact_lost":
                    monitor["high"] = contact_timeout_s
    return cfg


@dataclass
class Flight:
    run: SilRun

    def __post_init__(self) -> None:
        bus = self.run.executive.bus
        self.events_pipe = bus.create_pipe("test.events", 8192)
        bus.subscribe(self.events_pipe, EVENT_MSG.msg_id)
        assert self.run.executive.boot() == []
        self.beacons = bus.create_pipe("test.beacons", 1024)
        bus.subscribe(self.beacons, BEACON.msg_id)
        self.events: list[Event] = []

    @property
    def mode(self) -> ModeManagerApp:
        return self.run.executive.apps["mode"]

    def command_mode(self, mode: Mode, request_id: int = 7) -> None:
        self.run.executive.bus.publish(cmd_msg_id(ModeManagerApp.APID),
                                       encode_command(request_id, SET_MODE.code, SET_MODE.args,
                                                      mode=int(mode)))
        self.fly(2.0)

    def fly(self, seconds: float, until=None) -> None:
        self.run.executive.run(seconds, until=until)
        self.events += [Event.decode(p) for _, p in self.events_pipe.drain()]

    def fly_until_safe(self, limit_s: float) -> None:
        self.fly(limit_s, until=lambda: self.mode.mode == Mode.SAFE)
        assert self.mode.mode == Mode.SAFE, f"not SAFE after {limit_s} s"
        self.fly(1.0)

    def texts(self, apid: int) -> list[str]:
        return [e.text for e in self.events if e.apid == apid]

    def assert_safe_entry(self, cause: SafeCause, monitor: str) -> None:
        assert self.mode.cause == cause
        assert any(f"monitor {monitor}:" in t for t in self.texts(0x013)), self.texts(0x013)
        entry = [t for t in self.texts(ModeManagerApp.APID) if "-> SAFE" in t]
        assert entry == [f"mode NOMINAL -> SAFE: autonomous: {cause.name}"] or \
            entry == [f"mode PAYLOAD -> SAFE: autonomous: {cause.name}"]
        # SAFE's entry actions: payload power off, ADCS acquiring the sun, beacon on
        assert self.run.emulators.eps.outputs[0] == 0
        assert any("-> DETUMBLE: commanded" in t for t in self.texts(0x020))
        self.fly(11.0)
        beacons = [BEACON.unpack(p) for _, p in self.beacons.drain()]
        assert beacons and beacons[-1]["mode"] == Mode.SAFE
        assert beacons[-1]["safe_cause"] == cause

    def assert_recovers_on_command(self) -> None:
        self.fly(30.0)
        assert self.mode.mode == Mode.SAFE  # never leaves SAFE by itself
        self.command_mode(Mode.NOMINAL)
        assert self.mode.mode == Mode.NOMINAL
        assert "mode SAFE -> NOMINAL: recovery commanded by the operator" in \
            self.texts(ModeManagerApp.APID)


def pointing_scenario(**kw: object) -> Scenario:
    return Scenario(w0_body_deg_s=(0.0, 0.0, 0.0), raan_deg=101.0, mean_anomaly_deg=300.0,
                    sensor_noise=False, **kw)


def test_low_battery_in_eclipse_safes_then_recovers_after_sunrise():
    # Payload on in an eclipse-heavy noon-midnight orbit, 160 s before sunrise:
    # the battery drains in the dark until FDIR safes the spacecraft.
    capacity_ah = 0.1
    power = PowerModel(capacity_ah=capacity_ah, soc=0.34,
                       output_loads_a={0: 0.3, 1: 0.15, 2: 0.15})
    scenario = Scenario(w0_body_deg_s=(0.0, 0.0, 0.0), raan_deg=101.0, mean_anomaly_deg=80.0,
                        model=SpacecraftModel(power=power))
    flight = Flight(build_sil(scenario, flight_config(capacity_ah=capacity_ah)))
    flight.command_mode(Mode.PAYLOAD)
    assert flight.run.emulators.eps.outputs[0] == 1  # payload powered
    flight.fly_until_safe(120.0)
    assert flight.run.simulator.lit_fraction == 0.0  # it happened in the eclipse
    flight.assert_safe_entry(SafeCause.LOW_BATTERY, "low_battery")
    assert any("output payload shed" in t for t in flight.texts(EpsApp.APID))
    # The sun comes back and recharges the battery; SAFE holds until commanded.
    eps = flight.run.executive.apps["eps"]
    flight.fly(600.0, until=lambda: eps.soc > 0.4)
    assert flight.run.simulator.lit_fraction == 1.0 and eps.soc > 0.4
    assert abs(eps.soc - flight.run.emulators.eps.soc) < 0.02  # the estimate follows the truth
    flight.assert_recovers_on_command()
    flight.fly(20.0)
    assert flight.mode.mode == Mode.NOMINAL


def test_stuck_wheel_safes_and_recovers_on_command():
    flight = Flight(build_sil(pointing_scenario(), flight_config()))
    flight.fly(3.0)
    flight.run.emulators.wheels[1].inject_fault("stuck")
    flight.fly_until_safe(120.0)
    flight.assert_safe_entry(SafeCause.WHEEL_FAILED, "wheel_failed")
    assert any(t.startswith("wheel 2 failed") for t in flight.texts(0x020))
    flight.assert_recovers_on_command()
    assert flight.run.executive.apps["adcs"].wheels_failed == 0b10  # until the operator clears it


def test_dead_magnetometer_safes_and_recovers_on_command():
    flight = Flight(build_sil(pointing_scenario(), flight_config()))
    flight.fly(3.0)
    flight.run.emulators.magnetometer.inject_fault("timeout")
    flight.fly_until_safe(30.0)
    flight.assert_safe_entry(SafeCause.SENSOR_FAILED, "magnetometer_dead")
    flight.run.emulators.magnetometer.clear_faults()
    flight.assert_recovers_on_command()


def test_partner_may_only_make_the_allowed_transitions():
    flight = Flight(build_sil(pointing_scenario(), flight_config()))
    request = ModeManagerApp.COMMANDS[11]
    bus = flight.run.executive.bus
    bus.publish(cmd_msg_id(ModeManagerApp.APID),
                encode_command(1, request.code, request.args, mode=int(Mode.PAYLOAD)))
    flight.fly(2.0)
    assert flight.mode.mode == Mode.PAYLOAD
    assert flight.run.emulators.eps.outputs[0] == 1
    bus.publish(cmd_msg_id(ModeManagerApp.APID),
                encode_command(2, request.code, request.args, mode=int(Mode.SAFE)))
    flight.fly(2.0)
    assert flight.mode.mode == Mode.PAYLOAD
    assert "transition PAYLOAD -> SAFE is not allowed" in flight.texts(ModeManagerApp.APID)


def with_uplink(cfg: dict) -> None:
    """Add the comms app and the scheduler, wired as in flight: housekeeping and
    released TCs to comms, contact followed by the mode manager, comms watched.
    (The reference configuration flies both already: they are replaced, ahead of the
    other apps, by this test's set-up.)"""
    cfg["apps"] = [a for a in cfg["apps"] if a["name"] not in ("comms", "scheduler")]
    cfg["apps"][:0] = [
        {"name": "comms", "class": "fsw.apps.comms:CommsApp", "rate_hz": 10,
         "config": {"key_file": "keys.json", "store_and_forward": True}},
        {"name": "scheduler", "class": "fsw.apps.scheduler:SchedulerApp", "rate_hz": 10}]
    cfg["wiring"]["scheduler_releases_to"] = "comms"
    cfg["wiring"]["housekeeping"] += [n for n in ("comms", "scheduler")
                                      if n not in cfg["wiring"]["housekeeping"]]
    for app in cfg["apps"]:
        if app["name"] == "mode":
            app["config"]["contact"] = {"source": "comms", "field": "frames_accepted"}
        if app["name"] == "fdir":
            app["config"]["heartbeats"]["apps"] += ["comms", "scheduler"]
            app["config"]["heartbeats"]["critical"] += ["comms"]


class Operator:
    """The ground: the bus operator's key, TC frames on VC 0, through the comms app."""

    def __init__(self, run: SilRun) -> None:
        keys = run.keys
        assert keys is not None
        self.sa = keys.by_name("operator")
        self.vc = min(self.sa.rights.vcids)
        self.tx = TcSender(run.executive.apps["comms"].scid, {self.vc: VcConfig(self.vc)},
                           {self.sa.spi: SecuritySender(self.sa, ArsnStore(":memory:"))})
        self.ns = 0
        self.seq = 0
        self.comms = run.executive.apps["comms"]

    def send(self, apid: int, service: int, subtype: int, data: bytes = b"") -> None:
        self.seq += 1
        tc = PusTc(apid, service, subtype, data, seq_count=self.seq, source_id=1)
        self.comms.receive_frame(self.tx.frame(self.vc, self.ns, tc.encode(), spi=self.sa.spi))
        self.ns = (self.ns + 1) & 0xFF


def test_loss_of_contact_safes_and_an_uplinked_command_recovers():
    flight = Flight(build_sil(pointing_scenario(), flight_config(contact_timeout_s=120.0)))
    ground = Operator(flight.run)
    ground.send(ModeManagerApp.APID, 17, 1)  # a pass: are you alive?
    flight.fly(5.0)
    assert flight.run.executive.apps["comms"].frames_accepted == 1
    assert flight.mode.s_since_contact < 5.0
    flight.fly_until_safe(200.0)
    assert 120.0 < flight.run.clock.now() < 130.0  # 120 s after the last accepted frame
    flight.assert_safe_entry(SafeCause.CONTACT_LOST, "contact_lost")
    # The next pass: the operator's SET_MODE, uplinked, authenticated, routed.
    ground.send(ModeManagerApp.APID, 8, 1,
                sv.PerformFunction(SET_MODE.code, bytes([Mode.NOMINAL])).encode())
    flight.fly(3.0)
    assert flight.mode.mode == Mode.NOMINAL
    assert flight.mode.s_since_contact < 5.0
    assert "mode SAFE -> NOMINAL: recovery commanded by the operator" in \
        flight.texts(ModeManagerApp.APID)
