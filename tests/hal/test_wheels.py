"""Reaction wheel driver against its CAN emulator (sim CAN and python-can's
virtual bus)."""

from __future__ import annotations

import struct
import threading
import uuid

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hal
from hal.busio import CanMessage, Match
from hal.devices.wheel import ReactionWheel, ReactionWheels
from hal.linux import LinuxCAN
from hal.sim.can import SimCAN
from hal.sim.wheel import ReactionWheelEmulator


def rig(n=4, **kw):
    can = SimCAN("can0")
    emus = [ReactionWheelEmulator(i + 1, **kw) for i in range(n)]
    for e in emus:
        can.attach(e)
    wheels = ReactionWheels([ReactionWheel(can, i + 1) for i in range(n)])
    return can, emus, wheels


@given(st.lists(st.floats(-3e-3, 3e-3, allow_nan=False), min_size=4, max_size=4))
def test_commanded_torque_reaches_each_wheel_clipped_at_the_limit(torques):
    _, emus, wheels = rig()
    wheels.set_torques(torques)
    for emu, tau in zip(emus, torques, strict=True):
        expect = min(max(tau, -1e-3), 1e-3)
        assert emu.commanded_torque_nm == pytest.approx(expect, abs=0.5e-7 + 1e-15)


def test_speed_telemetry_and_speed_limit():
    _, emus, wheels = rig()
    for i, e in enumerate(emus):
        e.set_speed(100.0 * (i + 1) - 250.0)
    assert np.allclose(wheels.speeds_rad_s(), [-150.0, -50.0, 50.0, 150.0], atol=1e-3)
    emus[0].set_speed(700.0)
    wheels.set_torques([5e-4, 0, 0, 0])
    assert emus[0].commanded_torque_nm == 0.0  # at the speed limit, no spin-up
    wheels.set_torques([-5e-4, 0, 0, 0])
    assert emus[0].commanded_torque_nm == pytest.approx(-5e-4)
    speed, applied = wheels.wheels[0].read_telemetry()
    assert speed == pytest.approx(700.0) and applied == pytest.approx(-5e-4)
    assert wheels.wheels[0].last_status & 0x02


def test_dead_wheel_is_reported_but_others_still_commanded():
    _, emus, wheels = rig()
    emus[2].inject_fault("nack")
    with pytest.raises(hal.BusTimeoutError) as info:
        wheels.set_torques([1e-4, 2e-4, 3e-4, 4e-4])
    assert "0x03" in str(info.value) and "can0" in str(info.value)
    assert emus[3].commanded_torque_nm == pytest.approx(4e-4)
    speeds = wheels.speeds_rad_s()
    assert np.isnan(speeds[2]) and not np.isnan(speeds[3])
    h = wheels.health[2]
    assert h.errors["timeout"] >= 2 and h.retries >= 1


def test_no_node_on_the_network_is_a_nack():
    can = SimCAN("can0")
    with pytest.raises(hal.NackError):
        ReactionWheel(can, 1).set_torque(1e-4)


def test_brownout_drops_torque_until_commanded_again():
    _, emus, wheels = rig(1)
    wheels.set_torques([5e-4])
    emus[0].inject_fault("brownout", duration_s=0.1)
    assert emus[0].commanded_torque_nm == 0.0
    emus[0].advance(0.2)
    assert emus[0].commanded_torque_nm == 0.0  # the reset lost the command
    wheels.set_torques([5e-4])
    assert emus[0].commanded_torque_nm == pytest.approx(5e-4)


def test_refused_and_malformed_replies_are_typed_errors():
    can = SimCAN("can0")
    wheel = ReactionWheel(can, 5)

    class Liar:
        alive = True

        def __init__(self, reply):
            self.reply = reply

        def can_receive(self, msg):
            return [CanMessage(0x285, self.reply)]

    liar = Liar(b"\x01\x80")
    can.attach(liar)
    with pytest.raises(hal.CommandRejectedError):
        wheel.set_torque(1e-4)
    liar.reply = b"\x02\x00\x01"
    with pytest.raises(hal.DataError) as info:
        wheel.read_telemetry()
    assert "expected 8" in str(info.value)


@settings(max_examples=200)
@given(st.binary(max_size=8))
def test_fuzzed_replies_raise_only_hal_errors(reply):
    can = SimCAN("can0")
    wheel = ReactionWheel(can, 5)

    class Node:
        alive = True

        def can_receive(self, msg):
            return [CanMessage(0x285, reply)]

    can.attach(Node())
    try:
        speed, torque = wheel.read_telemetry()
    except hal.HalError as exc:
        assert exc.reason
    else:
        assert abs(speed) < 2.2e6 and abs(torque) < 3.3e-3


def test_wheel_over_python_can_virtual_bus():
    channel = f"wheels-{uuid.uuid4().hex}"
    flight = LinuxCAN("can0", interface="virtual", channel=channel)
    bench = LinuxCAN("bench", interface="virtual", channel=channel)
    emu = ReactionWheelEmulator(2)
    emu.set_speed(123.456)
    stop = threading.Event()

    def serve():
        lst = bench.listen(timeout=0.05)
        while not stop.is_set():
            msg = lst.receive()
            if msg is not None:
                for reply in emu.can_receive(msg):
                    bench.send(reply)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        wheel = ReactionWheel(flight, 2, reply_timeout_s=2.0)
        wheel.set_torque(-2.5e-4)
        assert emu.commanded_torque_nm == pytest.approx(-2.5e-4)
        assert wheel.read_speed_rad_s() == pytest.approx(123.456)
    finally:
        stop.set()
        t.join(2)
        flight.deinit()
        bench.deinit()


def test_torque_wire_encoding():
    can = SimCAN("can0")
    seen = []

    class Spy:
        alive = True

        def can_receive(self, msg):
            seen.append(msg)
            return [CanMessage(0x281, b"\x01\x00")]

    can.attach(Spy())
    ReactionWheel(can, 1).set_torque(1.2345e-4)
    assert seen[0].id == 0x201
    assert seen[0].data[0] == 1
    assert struct.unpack("<h", seen[0].data[1:])[0] in (1234, 1235)  # 1e-7 N m counts


def test_each_reply_reaches_only_the_listener_for_its_wheel():
    can, emus, wheels = rig()
    spy = can.listen(timeout=0.0)  # no filter: sees every reply on the bus
    emus[2].set_speed(12.345)
    assert wheels.wheels[2].read_speed_rad_s() == pytest.approx(12.345, abs=1e-3)
    assert all(not w._listener.queue for w in wheels.wheels)  # nothing stale left for others
    replies = [spy.receive(), spy.receive()]
    assert replies[0].id == 0x283 and replies[1] is None
    spy.deinit()
    wheels.set_torques([1e-4] * 4)  # a listener gone is no longer offered frames
    assert not spy.queue


def test_frames_already_on_the_bus_arrive_before_a_later_reply():
    can, _, _ = rig(1)
    listener = can.listen([Match(0x281)], timeout=0.0)
    can.inject(CanMessage(0x281, bytes([0x02, 0x00]) + struct.pack("<ih", 5, 0)))
    can.send(CanMessage(0x201, bytes([0x02])))
    first, second = listener.receive(), listener.receive()
    assert struct.unpack("<i", first.data[2:6])[0] == 5  # the injected frame, then the reply
    assert second.data[:2] == bytes([0x02, 0x00]) and second is not first


def test_a_listener_for_an_identifier_no_standard_frame_has_hears_none_of_them():
    can, _, wheels = rig(1)
    never = can.listen([Match(0x1000)], timeout=0.0)  # beyond 11 bits, not extended
    hears = can.listen([Match(0x1000, extended=True)], timeout=0.0)
    wheels.set_torques([1e-4])
    can.inject(CanMessage(0x1000, b"\x01", extended=True))
    assert hears.receive() == CanMessage(0x1000, b"\x01", extended=True)
    assert never.receive() is None


def test_reported_torque_saturates_at_the_int16_wire_range():
    _, _, wheels = rig(1, max_torque_nm=1.0)
    wheels.set_torques([0.01])  # 100,000 counts of 1e-7 N m: beyond int16
    _, torque_nm = wheels.wheels[0].read_telemetry()
    assert torque_nm == pytest.approx(32767e-7)
    wheels.set_torques([-0.01])
    assert wheels.wheels[0].read_telemetry()[1] == pytest.approx(-32768e-7)
