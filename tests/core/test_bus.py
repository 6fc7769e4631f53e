"""Software bus: delivery, bounded pipes, counted drops, and bad publishes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from fsw.core import (
    DuplicateMessageError,
    Field,
    MalformedMessageIdError,
    MessageSizeError,
    MessageType,
    SoftwareBus,
    UnknownMessageError,
    cmd_msg_id,
    tm_msg_id,
)

MAG = MessageType("Mag", tm_msg_id(0x20), [Field("b_body_t", "3f", "T")])
GYRO = MessageType("Gyro", tm_msg_id(0x21), [Field("w_body_rad_s", "3f", "rad/s")])


def make_bus():
    bus = SoftwareBus()
    bus.register(MAG)
    bus.register(GYRO)
    return bus


def test_each_subscriber_gets_each_message_in_order():
    bus = make_bus()
    a, b = bus.create_pipe("a", 8), bus.create_pipe("b", 8)
    bus.subscribe(a, MAG.msg_id)
    bus.subscribe(b, MAG.msg_id)
    bus.subscribe(b, GYRO.msg_id)
    m1, m2 = MAG.pack(b_body_t=(1, 2, 3)), MAG.pack(b_body_t=(4, 5, 6))
    g = GYRO.pack(w_body_rad_s=(0.1, 0, 0))
    bus.publish(MAG.msg_id, m1)
    bus.publish(GYRO.msg_id, g)
    bus.publish(MAG.msg_id, m2)
    assert a.drain() == [(MAG.msg_id, m1), (MAG.msg_id, m2)]
    assert b.drain() == [(MAG.msg_id, m1), (GYRO.msg_id, g), (MAG.msg_id, m2)]
    assert a.get() is None


def test_full_pipe_drops_are_counted_and_reported_once():
    bus = make_bus()
    slow, fast = bus.create_pipe("slow", 3), bus.create_pipe("fast", 100)
    bus.subscribe(slow, MAG.msg_id)
    bus.subscribe(fast, MAG.msg_id)
    for i in range(10):
        bus.publish(MAG.msg_id, MAG.pack(b_body_t=(i, 0, 0)))
    assert len(slow) == 3 and slow.dropped == 7
    assert len(fast) == 10 and fast.dropped == 0
    # The oldest messages are kept: the subscriber sees a gap, not reordering.
    assert [MAG.unpack(p)["b_body_t"][0] for _, p in slow.drain()] == [0, 1, 2]
    assert bus.new_drops() == [(slow, 7)]
    assert bus.new_drops() == []
    assert slow.last_dropped_msg_id == MAG.msg_id


def test_wrong_size_names_the_message_and_delivers_nothing():
    bus = make_bus()
    pipe = bus.create_pipe("p", 4)
    bus.subscribe(pipe, MAG.msg_id)
    with pytest.raises(MessageSizeError, match=r"0x0820 \(Mag\) takes 12 bytes, got 11"):
        bus.publish(MAG.msg_id, bytes(11))
    with pytest.raises(MessageSizeError, match="not bytes"):
        bus.publish(MAG.msg_id, "x" * 12)
    assert len(pipe) == 0


def test_unknown_and_malformed_ids_are_distinguished():
    bus = make_bus()
    with pytest.raises(UnknownMessageError, match="0x0830"):
        bus.publish(tm_msg_id(0x30), b"")
    with pytest.raises(MalformedMessageIdError):
        bus.publish(0xFFFF, b"")
    with pytest.raises(MalformedMessageIdError):
        bus.publish("mag", b"")
    with pytest.raises(UnknownMessageError):
        bus.subscribe(bus.create_pipe("p"), tm_msg_id(0x31))


def test_bus_keeps_working_after_bad_publishes():
    bus = make_bus()
    pipe = bus.create_pipe("p", 4)
    bus.subscribe(pipe, MAG.msg_id)
    for bad in (b"", bytes(13)):
        with pytest.raises(MessageSizeError):
            bus.publish(MAG.msg_id, bad)
    good = MAG.pack(b_body_t=(1, 1, 1))
    bus.publish(MAG.msg_id, good)
    assert pipe.drain() == [(MAG.msg_id, good)]


def test_bytearray_payload_is_copied():
    bus = make_bus()
    pipe = bus.create_pipe("p", 4)
    bus.subscribe(pipe, MAG.msg_id)
    buf = bytearray(MAG.pack(b_body_t=(1, 2, 3)))
    bus.publish(MAG.msg_id, buf)
    buf[0] ^= 0xFF
    assert MAG.unpack(pipe.get()[1])["b_body_t"] == (1, 2, 3)


def test_variable_length_ids_are_bounded():
    bus = SoftwareBus()
    bus.register_variable(cmd_msg_id(0x40), "cmds", max_size=16)
    bus.publish(cmd_msg_id(0x40), bytes(16))
    with pytest.raises(MessageSizeError, match="at most 16"):
        bus.publish(cmd_msg_id(0x40), bytes(17))


def test_the_bus_names_every_registered_id():
    """What a dictionary or a downlink table reads: each id with the name it
    was registered under, fixed-layout and variable-length alike (TM of
    APID 0x20 is 0x0820, commands to APID 0x40 are 0x1840 in the cFS
    convention: packet type and secondary header flag over the APID). The
    answer is a copy: changing it renames nothing on the bus."""
    bus = make_bus()
    bus.register_variable(cmd_msg_id(0x40), "cmds", max_size=16)
    names = bus.names()
    assert names == {0x0820: "Mag", 0x0821: "Gyro", 0x1840: "cmds"}
    names[0x0820] = "renamed"
    assert bus.names()[0x0820] == "Mag"


def test_registering_a_clashing_type_fails():
    bus = make_bus()
    bus.register(MAG)  # the same type again is harmless
    with pytest.raises(DuplicateMessageError, match="0x0820"):
        bus.register(MessageType("Other", MAG.msg_id, [Field("x", "B")]))


def test_clashes_name_both_sides():
    bus = make_bus()
    bus.register_variable(cmd_msg_id(0x20), "mag commands", max_size=64)
    bus.register_variable(cmd_msg_id(0x20), "mag commands", max_size=64)  # harmless again
    with pytest.raises(DuplicateMessageError) as err:
        bus.register_variable(cmd_msg_id(0x20), "mag commands", max_size=65)
    assert str(err.value) == ("message id 0x1820 (mag commands) is already "
                              "a variable-length message")
    with pytest.raises(DuplicateMessageError) as err:
        bus.register(MessageType("Late", cmd_msg_id(0x20), [Field("x", "B")]))
    assert str(err.value) == "message id 0x1820 (Late) is already a variable-length message"
    with pytest.raises(DuplicateMessageError) as err:
        bus.register_variable(MAG.msg_id, "mag file")
    assert str(err.value) == "message id 0x0820 (mag file) is already Mag"


def test_pipe_refusals_say_what_is_wrong():
    bus = make_bus()
    with pytest.raises(ValueError) as err:
        bus.create_pipe("shallow", 0)
    assert str(err.value) == "pipe 'shallow': depth must be at least 1"
    bus.create_pipe("a", 1)
    with pytest.raises(ValueError) as err:
        bus.create_pipe("a", 4)
    assert str(err.value) == "a pipe named 'a' already exists"
    with pytest.raises(UnknownMessageError) as err:
        bus.subscribe(bus.pipes["a"], tm_msg_id(0x30))
    assert str(err.value) == ("pipe 'a' subscribed to message id 0x0830, "
                              "which is not registered")


def test_a_pipe_drains_in_batches_oldest_first():
    bus = make_bus()
    pipe = bus.create_pipe("p", 8)
    bus.subscribe(pipe, MAG.msg_id)
    sent = [MAG.pack(b_body_t=(i, 0, 0)) for i in range(5)]
    for m in sent:
        bus.publish(MAG.msg_id, m)
    assert pipe.last_dropped_msg_id == 0  # nothing dropped yet
    assert [p for _, p in pipe.drain(2)] == sent[:2]
    assert [p for _, p in pipe.drain(3)] == sent[2:]  # exactly what is left
    assert pipe.drain(3) == [] and len(pipe) == 0


class BusMachine(RuleBasedStateMachine):
    """Whatever is published, each pipe holds at most its depth, keeps FIFO
    order, and delivered + dropped equals what was published to it."""

    def __init__(self):
        super().__init__()
        self.bus = make_bus()
        self.pipes = [self.bus.create_pipe(f"p{d}", d) for d in (1, 2, 5)]
        for p in self.pipes:
            self.bus.subscribe(p, MAG.msg_id)
        self.published = 0
        self.taken = {p.name: [] for p in self.pipes}
        self.next_value = 0

    @rule(n=st.integers(1, 7))
    def publish(self, n):
        for _ in range(n):
            self.bus.publish(MAG.msg_id, MAG.pack(b_body_t=(self.next_value, 0, 0)))
            self.next_value += 1
            self.published += 1

    @rule(i=st.integers(0, 2), limit=st.none() | st.integers(0, 3))
    def drain(self, i, limit):
        pipe = self.pipes[i]
        self.taken[pipe.name] += [MAG.unpack(p)["b_body_t"][0] for _, p in pipe.drain(limit)]

    @invariant()
    def bounded_and_accounted(self):
        for p in self.pipes:
            assert len(p) <= p.depth
            assert len(self.taken[p.name]) + len(p) + p.dropped == self.published
            seq = self.taken[p.name]
            assert seq == sorted(seq)


TestBusMachine = BusMachine.TestCase
TestBusMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


# Half the ids are registered and half the payloads have a registered size,
# so the delivery path is exercised as often as the rejections.
any_msg_id = st.sampled_from([MAG.msg_id, GYRO.msg_id]) | st.integers(0, 0xFFFF)
any_payload = st.binary(min_size=12, max_size=12) | st.binary(max_size=40)


@given(any_msg_id, any_payload)
def test_publish_delivers_exactly_the_valid_messages(msg_id, payload):
    from fsw.core import BusError

    bus = make_bus()
    pipe = bus.create_pipe("all", 4)
    bus.subscribe(pipe, MAG.msg_id)
    bus.subscribe(pipe, GYRO.msg_id)
    valid = msg_id in (MAG.msg_id, GYRO.msg_id) and len(payload) == 12
    try:
        bus.publish(msg_id, payload)
    except BusError:
        assert not valid
        assert len(pipe) == 0
        return
    assert valid
    assert pipe.drain() == [(msg_id, payload)]
