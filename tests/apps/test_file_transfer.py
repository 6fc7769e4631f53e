"""The file transfer app sending a file down (command 11) to a ground CFDP
entity, within its per-cycle downlink budget, and what its housekeeping and
events tell the operator (docs/payload.md, CCSDS 727.0-B-5 class 2)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from fsw.apps.file_transfer import FILE_PDU_MSG_ID, FileTransferApp
from fsw.core import AppSpec, Executive, VirtualClock
from fsw.core.app import COMMAND_HEADER
from fsw.core.message import cmd_msg_id
from fsw.protocol import cfdp
from fsw.protocol.cfdp_entity import EntityConfig, Receiver, Sender

FILE_TRANSFER_APID = 0x016  # reserved for the CFDP entity (docs/architecture.md)
PDU, SEND_FILE = 10, 11  # the app's command codes (its module docstring, docs/payload.md)
BUDGET = 300  # octets of PDUs per cycle for this test


class Ground:
    """A ground CFDP entity (ID 2, the app's default peer) beside the spacecraft."""

    def __init__(self, root: Path, refuse: bool = False, budget: int | None = BUDGET,
                 **config: object) -> None:
        self.root = root
        (root / "outgoing").mkdir()
        self.exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
        if budget is not None:  # None: the app's default
            config["downlink_bytes_per_cycle"] = budget
        self.exe.add_app(AppSpec("file_transfer", FileTransferApp, 10.0, {
            "incoming": str(root / "incoming"), "outgoing": str(root / "outgoing"),
            "work_dir": str(root / "cfdp"), "segment_bytes": 100, **config}))
        assert self.exe.boot() == []
        self.app: FileTransferApp = self.exe.apps["file_transfer"]
        self.down = self.exe.bus.create_pipe("test.down", 4096)
        self.exe.bus.subscribe(self.down, FILE_PDU_MSG_ID)
        self.got: dict[str, bytes] = {}
        self.rx = Receiver(EntityConfig(2, ack_timer_s=1.0, nak_timer_s=1.0), root / "ground",
                           lambda name: None if refuse else root / "ground_files" / name,
                           lambda p: self.got.setdefault(p.name, p.read_bytes()))
        self.token = 0
        self.per_cycle: list[int] = []
        self.pdus_down: list[bytes] = []

    def command(self, code: int, body: bytes) -> None:
        self.token += 1
        self.exe.bus.publish(cmd_msg_id(FILE_TRANSFER_APID),
                             COMMAND_HEADER.pack(self.token, code) + body)

    def step(self, lose=lambda pdu: False) -> None:
        self.exe.step()
        t = self.exe.clock.now()
        pdus = [p for _mid, p in self.down.drain()]
        self.per_cycle.append(sum(len(p) for p in pdus))
        self.pdus_down += pdus
        for pdu in pdus:
            if not lose(pdu):
                self.rx.receive(pdu, t)
        for pdu in self.rx.poll(t, 10_000):
            self.command(PDU, pdu)

    def events(self) -> list[str]:
        return [e.text for e in self.exe.events.recent if e.apid == FILE_TRANSFER_APID]


def send_file_command(name: str) -> bytes:
    return name.encode().ljust(48, b"\0")


def test_a_file_goes_down_whole_within_the_per_cycle_budget(tmp_path):
    g = Ground(tmp_path)
    data = random.Random(5).randbytes(2500)
    (tmp_path / "outgoing" / "audit.log").write_bytes(data)
    g.command(SEND_FILE, send_file_command("audit.log"))
    lost = {"n": 0}

    def lose_two_file_data_pdus(pdu: bytes) -> bool:
        # the 3rd and 5th file data PDUs are lost on the way down: NAKed, sent again
        if cfdp.decode_pdu(pdu).__class__ is cfdp.FileData:
            lost["n"] += 1
            return lost["n"] in (3, 5)
        return False

    for _ in range(400):
        g.step(lose_two_file_data_pdus)
        if any(t.startswith("file audit.log sent") for t in g.events()):
            break
    assert g.got == {"audit.log": data}
    assert "file audit.log sent (delivered)" in g.events()
    hk = g.app.housekeeping_values()
    assert (hk["files_sent"], hk["files_received"]) == (1, 0)
    assert not g.app.senders
    assert max(g.per_cycle) <= BUDGET  # docs: at most downlink_bytes_per_cycle per cycle
    assert sum(isinstance(cfdp.decode_pdu(p), cfdp.FileData) for p in g.pdus_down) >= 25 + 2


@pytest.mark.parametrize("name", ["missing.bin", "../keys.json", ".hidden", ""])
def test_only_a_plain_file_in_outgoing_can_be_sent(tmp_path, name):
    g = Ground(tmp_path)
    (tmp_path / "keys.json").write_text("{}")
    (tmp_path / "outgoing" / ".hidden").write_text("x")
    g.command(SEND_FILE, send_file_command(name))
    g.step()
    assert not g.app.senders and g.pdus_down == []
    assert g.app.cmd_error_count == 1
    assert any(f"no file {name!r} to send" in t for t in
               (e.text for e in g.exe.events.recent))


def test_housekeeping_counts_received_files_rejected_pdus_and_open_transactions(tmp_path):
    from fsw.protocol.cfdp_entity import Sender

    g = Ground(tmp_path)
    hk = g.app.housekeeping_values()
    assert hk == {"files_received": 0, "files_sent": 0, "pdus_rejected": 0, "transactions": 0}
    tx = Sender(EntityConfig(2, segment_bytes=100), 1, 1, b"y" * 450, "up.bin", "up.bin")
    g.command(PDU, b"")  # no PDU at all: refused before it reaches the entity
    g.command(PDU, b"\xff" * 3)  # no CFDP header
    for pdu in tx.poll(0.0, 250):  # metadata and the first file data: a transaction opens
        g.command(PDU, pdu)
    g.exe.step()
    hk = g.app.housekeeping_values()
    assert (hk["pdus_rejected"], hk["transactions"]) == (1, 1)
    assert "PDU: empty PDU" in g.events() and g.app.cmd_error_count == 2
    send_up(g, tx)
    assert (tmp_path / "incoming" / "up.bin").read_bytes() == b"y" * 450
    assert "file up.bin received (450 octets)" in g.events()
    hk = g.app.housekeeping_values()
    assert (hk["files_received"], hk["transactions"]) == (1, 0)
    send_up(g, Sender(EntityConfig(2, segment_bytes=100), 1, 2, b"w" * 120, "2.bin", "2.bin"))
    assert g.app.housekeeping_values()["files_received"] == 2
    # 16-bit counters stop at 65535, the 8-bit transaction count at 255
    g.app.files_received = g.app.files_sent = 70_000
    g.app.receiver.transactions = dict.fromkeys(range(300))
    hk = g.app.housekeeping_values()
    assert (hk["files_received"], hk["files_sent"], hk["transactions"]) == (65535, 65535, 255)


def send_up(g: Ground, tx) -> None:
    t = g.exe.clock.now()
    stop = t + 60.0
    while not tx.done and t < stop:
        for pdu in tx.poll(t, 10_000):
            g.command(PDU, pdu)
        g.exe.step()
        t = g.exe.clock.now()
        for _mid, pdu in g.down.drain():
            tx.receive(pdu, t)


def test_two_files_going_down_at_once_share_the_per_cycle_budget(tmp_path):
    g = Ground(tmp_path)
    data = {n: random.Random(n).randbytes(1200) for n in ("a.bin", "b.bin")}
    for n, d in data.items():
        (tmp_path / "outgoing" / n).write_bytes(d)
        g.command(SEND_FILE, send_file_command(n))
    for _ in range(300):
        g.step()
        if g.app.housekeeping_values()["files_sent"] == 2:
            break
    assert g.got == data
    assert g.app.housekeeping_values()["files_sent"] == 2
    assert max(g.per_cycle) <= BUDGET


def test_a_file_going_up_and_one_going_down_share_the_default_1200_octets_a_cycle(tmp_path):
    # docs/apps.md: downlink_bytes_per_cycle, 1200 by default, octets of PDUs the
    # app publishes per cycle, all transfers together: the receiving end's
    # answers to a file coming up take their share first, the sending end
    # fills the rest. File data of 274 octets makes PDUs of 292 (the fixed
    # header, the entity IDs, the sequence number and the 4-octet offset,
    # CCSDS 727.0-B-5 5.1 and 5.3), four to a cycle; in the cycle the file
    # coming up ends, its ACK(EOF) and Finished (33 octets) leave room for
    # three: a fourth would make 1,201.
    g = Ground(tmp_path, budget=None, segment_bytes=274)
    down = random.Random(7).randbytes(6000)
    (tmp_path / "outgoing" / "down.bin").write_bytes(down)
    g.command(SEND_FILE, send_file_command("down.bin"))
    up = Sender(EntityConfig(2, segment_bytes=100), 1, 1, b"u" * 150, "up.bin", "up.bin")
    kinds: list[list[tuple[str, bool, int]]] = []  # per cycle: (PDU, toward the sender, octets)
    seen = 0
    for cycle in range(60):
        if cycle == 2:  # the whole file comes up in one cycle: Metadata, File Data, EOF
            for pdu in up.poll(g.exe.clock.now(), 10_000):
                g.command(PDU, pdu)
        g.step()
        new, seen = g.pdus_down[seen:], len(g.pdus_down)
        pdus = [cfdp.decode_pdu(p) for p in new]
        kinds.append([(type(d).__name__, d.header.toward_sender, len(raw))
                      for d, raw in zip(pdus, new, strict=True)])
        for d, raw in zip(pdus, new, strict=True):
            if d.header.toward_sender:
                up.receive(raw, g.exe.clock.now())
        if g.app.housekeeping_values()["files_sent"] == 1 and up.done:
            break
    assert g.got == {"down.bin": down}
    assert (tmp_path / "incoming" / "up.bin").read_bytes() == b"u" * 150
    assert max(g.per_cycle) <= 1200
    answered = [i for i, k in enumerate(kinds) if any(toward for _n, toward, _o in k)]
    assert answered and answered[0] == 2  # answered in the cycle the file came up
    # while the file going down has file data left, no cycle leaves room for
    # one more of its PDUs, however the receiving end's answers took their share
    last_data = max(i for i, k in enumerate(kinds) if any(n == "FileData" for n, _t, _o in k))
    for i in range(1, last_data):
        assert g.per_cycle[i] + 292 > 1200, (i, kinds[i])
    shared = kinds[2]
    assert [n for n, toward, _o in shared if toward] == ["Ack", "Finished"]
    assert [o for n, toward, o in shared if not toward] == [292] * 3


def test_the_configured_ack_timer_paces_the_repeated_eof(tmp_path):
    # CCSDS 727.0-B-5 4.6.4: with no ACK of its EOF, the sender sends it again
    # each time its ACK timer runs out
    g = Ground(tmp_path, ack_timer_s=0.5)
    (tmp_path / "outgoing" / "f.bin").write_bytes(b"z" * 150)
    g.command(SEND_FILE, send_file_command("f.bin"))
    for _ in range(31):  # three seconds of 10 Hz cycles, everything lost on the way down
        g.step(lambda pdu: True)
    eofs = [p for p in g.pdus_down if isinstance(cfdp.decode_pdu(p), cfdp.Eof)]
    assert 5 <= len(eofs) <= 7


def test_configuration_defaults_the_docs_state(tmp_path, monkeypatch):
    # docs/apps.md, "The file transfer app": entity 1, ground entity 2, file data
    # in segments of 200 octets, 1,200 octets of PDUs a cycle, ACK and NAK timers
    # of 8 s, folders payload/incoming, outgoing and cfdp beside the flight software
    monkeypatch.chdir(tmp_path)
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("file_transfer", FileTransferApp, 10.0))
    assert exe.boot() == []
    down = exe.bus.create_pipe("test.down", 4096)
    exe.bus.subscribe(down, FILE_PDU_MSG_ID)
    (tmp_path / "outgoing").mkdir()
    (tmp_path / "outgoing" / "big.bin").write_bytes(bytes(5000))
    exe.bus.publish(cmd_msg_id(FILE_TRANSFER_APID), COMMAND_HEADER.pack(1, SEND_FILE)
                    + send_file_command("big.bin"))
    per_cycle, pdus = [], []
    for _ in range(100):  # ten seconds, nothing answered
        exe.step()
        got = [p for _mid, p in down.drain()]
        per_cycle.append(sum(len(p) for p in got))
        pdus += [(exe.clock.now(), cfdp.decode_pdu(p)) for p in got]
    headers = {(p.header.source_id, p.header.dest_id) for _t, p in pdus}
    assert headers == {(1, 2)}
    segments = [p for _t, p in pdus if isinstance(p, cfdp.FileData)]
    assert len(segments) == 25 and {len(s.data) for s in segments} == {200}
    assert max(per_cycle) <= 1200 and max(per_cycle) > 1200 - 250
    eof_times = [t for t, p in pdus if isinstance(p, cfdp.Eof)]
    assert len(eof_times) == 2 and eof_times[1] - eof_times[0] == pytest.approx(8.0, abs=0.15)
    # a file sent up lands in payload/incoming; the transfer's state is kept under cfdp/
    from fsw.protocol.cfdp_entity import Sender

    tx = Sender(EntityConfig(2, segment_bytes=100), 1, 1, b"u" * 300, "up.bin", "up.bin")
    t = exe.clock.now()
    while not tx.done and t < 60.0:
        for pdu in tx.poll(t, 10_000):
            exe.bus.publish(cmd_msg_id(FILE_TRANSFER_APID),
                            COMMAND_HEADER.pack(2, PDU) + pdu)
        exe.step()
        t = exe.clock.now()
        for _mid, pdu in down.drain():
            if cfdp.decode_pdu(pdu).header.toward_sender:
                tx.receive(pdu, t)
    assert (tmp_path / "payload" / "incoming" / "up.bin").read_bytes() == b"u" * 300
    assert (tmp_path / "cfdp").is_dir()



def test_the_pdus_go_down_under_the_name_the_wiring_uses(tmp_path):
    # docs/payload.md and the reference configuration downlink them as `FilePdu`
    g = Ground(tmp_path)
    assert g.exe.bus.names()[FILE_PDU_MSG_ID] == "FilePdu"


@pytest.mark.parametrize("config, seconds, naks", [({"nak_timer_s": 0.5}, 3.0, (6, 8)),
                                                   ({}, 8.5, (2, 2))])  # default 8 s
def test_the_nak_timer_paces_the_repeated_nak(tmp_path, config, seconds, naks):
    # CCSDS 727.0-B-5 4.6.4.3: a receiver still missing data NAKs it again each
    # time its NAK timer runs out; here the ground never sends the segment again
    from fsw.protocol.cfdp_entity import Sender

    g = Ground(tmp_path, **config)
    tx = Sender(EntityConfig(2, segment_bytes=100), 1, 1, b"n" * 450, "n.bin", "n.bin")
    sent = tx.poll(0.0, 10_000)
    data_pdus = [p for p in sent if isinstance(cfdp.decode_pdu(p), cfdp.FileData)]
    for pdu in sent:
        if pdu is not data_pdus[1]:
            g.command(PDU, pdu)
    for _ in range(round(seconds * 10) + 1):
        g.exe.step()
        g.pdus_down += [p for _mid, p in g.down.drain()]
    count = sum(isinstance(cfdp.decode_pdu(p), cfdp.Nak) for p in g.pdus_down)
    assert naks[0] <= count <= naks[1]


def test_configured_entity_ids_address_the_pdus(tmp_path):
    g = Ground(tmp_path, entity_id=5, ground_entity_id=9)
    (tmp_path / "outgoing" / "f.bin").write_bytes(b"q" * 100)
    g.command(SEND_FILE, send_file_command("f.bin"))
    g.step(lambda pdu: True)
    assert g.pdus_down
    assert {(cfdp.decode_pdu(p).header.source_id, cfdp.decode_pdu(p).header.dest_id)
            for p in g.pdus_down} == {(5, 9)}


def test_a_file_the_ground_refuses_is_reported_not_delivered(tmp_path):
    # CCSDS 727.0-B-5: the receiving filestore's refusal comes back in the
    # Finished PDU (condition FILESTORE_REJECTION), which ends the transfer
    g = Ground(tmp_path, refuse=True)
    (tmp_path / "outgoing" / "f.bin").write_bytes(b"r" * 300)
    g.command(SEND_FILE, send_file_command("f.bin"))
    for _ in range(200):
        g.step()
        if not g.app.senders:
            break
    assert "file f.bin sent (not delivered)" in g.events()
    assert g.got == {} and g.app.housekeeping_values()["files_sent"] == 1
