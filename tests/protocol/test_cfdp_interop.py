"""Whole class 2 transactions against cfdp-py's handlers, both ways, with lost PDUs.

Our sending entity delivers a file to cfdppy's DestHandler (which NAKs what
was lost and finishes), and cfdppy's SourceHandler delivers one to our
receiving entity: the two implementations agree on the procedure, not only
on the octets.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

cfdppy = pytest.importorskip("cfdppy")
from cfdppy import (  # noqa: E402
    CfdpUserBase,
    IndicationConfig,
    LocalEntityConfig,
    PutRequest,
    RemoteEntityConfig,
    RemoteEntityConfigTable,
)
from cfdppy.handler.dest import DestHandler  # noqa: E402
from cfdppy.handler.source import SourceHandler  # noqa: E402
from cfdppy.mib import CheckTimerProvider, DefaultFaultHandlerBase  # noqa: E402
from spacepackets.cfdp import ChecksumType, PduFactory, TransmissionMode  # noqa: E402
from spacepackets.countdown import Countdown  # noqa: E402
from spacepackets.seqcount import SeqCountProvider  # noqa: E402
from spacepackets.util import UnsignedByteField  # noqa: E402

from fsw.protocol.cfdp_entity import EntityConfig, Receiver, Sender  # noqa: E402

OURS, THEIRS = 2, 1
# the peer's own internals call its deprecated PduHolder.base; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:spacepackets")


class User(CfdpUserBase):
    def __init__(self):
        super().__init__()
        self.finished = []

    def transaction_finished_indication(self, params):
        self.finished.append(params.finished_params)

    def transaction_indication(self, *a, **k): pass
    def eof_sent_indication(self, *a, **k): pass
    def metadata_recv_indication(self, *a, **k): pass
    def file_segment_recv_indication(self, *a, **k): pass
    def report_indication(self, *a, **k): pass
    def suspended_indication(self, *a, **k): pass
    def resumed_indication(self, *a, **k): pass
    def fault_indication(self, *a, **k): pass
    def abandoned_indication(self, *a, **k): pass
    def eof_recv_indication(self, *a, **k): pass


class Faults(DefaultFaultHandlerBase):
    def notice_of_suspension_cb(self, *a, **k): pass
    def notice_of_cancellation_cb(self, *a, **k): pass
    def abandoned_cb(self, *a, **k): pass
    def ignore_cb(self, *a, **k): pass


class Timers(CheckTimerProvider):
    def provide_check_timer(self, *a, **k):
        return Countdown(timedelta(seconds=0.05))


def cfdppy_entity(local: int, remote: int):
    cfg = LocalEntityConfig(UnsignedByteField(local, 2), IndicationConfig(), Faults())
    remote_cfg = RemoteEntityConfig(
        entity_id=UnsignedByteField(remote, 2), max_file_segment_len=200, max_packet_len=1024,
        closure_requested=True, crc_on_transmission=True,
        default_transmission_mode=TransmissionMode.ACKNOWLEDGED, crc_type=ChecksumType.MODULAR,
        positive_ack_timer_interval_seconds=0.05, positive_ack_timer_expiration_limit=50,
        nak_timer_interval_seconds=0.05, nak_timer_expiration_limit=50)
    return cfg, RemoteEntityConfigTable([remote_cfg])


def test_our_sender_to_cfdppy_destination_with_lost_file_data(tmp_path):
    data = random.Random(1).randbytes(5000)
    target = tmp_path / "received.bin"
    user = User()
    cfg, table = cfdppy_entity(THEIRS, OURS)
    dest = DestHandler(cfg, user, table, Timers())
    tx = Sender(EntityConfig(OURS, segment_bytes=200, ack_timer_s=0.2), THEIRS, 7, data,
                "source.bin", str(target))
    rng = random.Random(5)
    t = 0.0
    lost = 0
    replies: list[bytes] = []

    def drain() -> None:  # cfdppy wants its PDUs taken before it runs again
        while dest.packets_ready:
            replies.append(bytes(dest.get_next_packet().pack()))

    for _ in range(4000):
        for raw in tx.poll(t, 4000):
            if raw[0] & 0x10 and rng.random() < 0.2:  # drop file data PDUs only
                lost += 1
                continue
            dest.state_machine(PduFactory.from_raw(raw))
            drain()
        dest.state_machine()
        drain()
        for raw in replies:
            tx.receive(raw, t)
        replies.clear()
        if tx.done:
            break
        t += 0.01
    assert lost > 0
    assert tx.done and tx.delivered
    assert target.read_bytes() == data
    assert user.finished and user.finished[-1].file_status.name == "FILE_RETAINED"


def test_cfdppy_source_to_our_receiver(tmp_path):
    data = random.Random(2).randbytes(7000)
    (tmp_path / "src.bin").write_bytes(data)
    user = User()
    cfg, table = cfdppy_entity(THEIRS, OURS)
    source = SourceHandler(cfg, user, table, Timers(), SeqCountProvider(16))
    got = []
    rx = Receiver(EntityConfig(OURS, ack_timer_s=0.2, nak_timer_s=0.2), tmp_path / "work",
                  lambda name: tmp_path / "out" / name, got.append)
    assert source.put_request(PutRequest(UnsignedByteField(OURS, 2), tmp_path / "src.bin",
                                         Path("copy.bin"), TransmissionMode.ACKNOWLEDGED, True))
    rng = random.Random(3)
    t = 0.0
    for _ in range(4000):
        source.state_machine()
        while source.packets_ready:
            raw = bytes(source.get_next_packet().pack())
            if raw[0] & 0x10 and rng.random() < 0.2:
                continue
            rx.receive(raw, t)
        for raw in rx.poll(t, 4000):
            source.state_machine(PduFactory.from_raw(raw))
            while source.packets_ready:
                rx.receive(bytes(source.get_next_packet().pack()), t)
        if user.finished:
            break
        t += 0.01
    assert got and got[0].read_bytes() == data
    assert user.finished and user.finished[-1].delivery_code.name == "DATA_COMPLETE"
