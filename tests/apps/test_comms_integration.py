"""Ground to flight and back: TCs built and protected by the same fsw.protocol
code the ground uses go through the comms app into the target apps, and the
verification, event, housekeeping and parameter TM comes back down in TM
frames that the ground side decodes."""

from __future__ import annotations

import json
import struct

import pytest
from uplink_kit import reports

from fsw.apps.comms import LINK_FAILURE_BASE, CommsApp
from fsw.apps.sample import SampleApp
from fsw.apps.scheduler import SchedulerApp
from fsw.core import AppSpec, Executive, Store, VirtualClock
from fsw.core.ids import COMMS_APID, SAMPLE_APID, SCHEDULER_APID
from fsw.core.wiring import Wiring
from fsw.protocol import Reason
from fsw.protocol import services as sv
from fsw.protocol.crc import crc16
from fsw.protocol.cuc import CucTime
from fsw.protocol.keyfile import load_key_file
from fsw.protocol.pus import PusTc, PusTm
from fsw.protocol.sdls import SecuritySender
from fsw.protocol.store import ArsnStore
from fsw.protocol.tm import Clcw, TmReceiver
from fsw.protocol.uplink import TcSender, VcConfig

SCID = 0x2AB
OPERATOR, PARTNER_A = 1, 10
PARTNER_APID = 0x100
FRAME_LEN = 256


class PartnerApp(SampleApp):
    """A partner's payload app: the sample app on an APID allocated to partner A."""

    NAME = "partner"
    APID = PARTNER_APID


KEYS = {
    "version": 2,
    "kek": bytes(range(32)).hex(),
    "key_holders": [
        {"name": "operator", "spi": OPERATOR, "key": "a1" * 32,
         "rights": {"apids": "all", "vcids": [0], "maps": "all", "farm_control": "all",
                    "whole_schedule": True, "key_management": True}},
        {"name": "uni-a", "spi": PARTNER_A, "key": "b2" * 32,
         "rights": {"apids": [PARTNER_APID, PARTNER_APID + 1], "vcids": [1], "maps": [0],
                    "farm_control": [1], "whole_schedule": False, "key_management": False}},
    ],
}


class Ground:
    """The ground side: builds frames, keeps N(S) per VC, decodes the downlink."""

    def __init__(self, key_file) -> None:
        sas = load_key_file(key_file).sas
        self.vc_of = {sa.spi: min(sa.rights.vcids) for sa in sas}
        vcs = {0: VcConfig(0), 1: VcConfig(1)}
        self.tx = TcSender(SCID, vcs, {sa.spi: SecuritySender(sa, ArsnStore(":memory:"))
                                       for sa in sas})
        self.rx = TmReceiver(SCID, FRAME_LEN)
        self.ns = {0: 0, 1: 0}
        self.seq = 0

    def tc(self, apid: int, service: int, subtype: int, data: bytes = b"") -> PusTc:
        self.seq += 1
        return PusTc(apid, service, subtype, data, seq_count=self.seq, source_id=7)

    def frame(self, tc: PusTc, spi: int, vc: int | None = None) -> bytes:
        """An AD frame on the key holder's own VC (or `vc`)."""
        vc = self.vc_of[spi] if vc is None else vc
        raw = self.tx.frame(vc, self.ns[vc], tc.encode(), spi=spi)
        self.ns[vc] = (self.ns[vc] + 1) & 0xFF
        return raw

    def downlink(self, frames: list[bytes]) -> list[PusTm]:
        out = []
        for f in frames:
            assert len(f) == FRAME_LEN
            out += [PusTm.decode(p) for _vc, p in self.rx.add(f)]
        return out


@pytest.fixture
def system(tmp_path):
    return boot_system(tmp_path, KEYS)


def boot_system(tmp_path, keys: dict):
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps(keys))
    clock = VirtualClock()
    exe = Executive(clock, rate_groups_hz=(10.0, 1.0), housekeeping_hz=1.0,
                    store=Store(tmp_path / "store.db"),
                    wiring=Wiring(housekeeping=("comms", "sample", "partner", "scheduler"),
                                  scheduler_releases_to="comms"))
    exe.add_app(AppSpec("comms", CommsApp, 10.0,
                        {"scid": SCID, "key_file": str(key_file),
                         "arsn_db": str(tmp_path / "arsn.db"), "tm_frame_len": FRAME_LEN}))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.add_app(AppSpec("partner", PartnerApp, 10.0))
    exe.add_app(AppSpec("scheduler", SchedulerApp, 10.0))
    assert exe.boot() == []
    return exe, Ground(key_file)


def last_comms_event(exe: Executive) -> str:
    """The comms app's latest event text (the executive's own events, such as
    an overrun on a loaded machine, may come after it)."""
    return [e.text for e in exe.events.recent if e.apid == COMMS_APID][-1]


def run(exe: Executive, steps: int = 3) -> None:
    for _ in range(steps):
        exe.step()


def exchange(exe, ground, frames, steps=3) -> list[PusTm]:
    comms = exe.apps["comms"]
    for f in frames:
        comms.receive_frame(f)
    run(exe, steps)
    return ground.downlink(comms.take_frames())


def test_ping_is_answered_with_verification(system):
    exe, ground = system
    tc = ground.tc(SAMPLE_APID, 17, 1)
    tms = exchange(exe, ground, [ground.frame(tc, OPERATOR)])
    assert reports(tms, tc.request_id) == [(1, None), (7, None)]
    [pong] = [t for t in tms if (t.service, t.subtype) == (17, 2)]
    assert pong.apid == SAMPLE_APID and pong.dest_id == 7


def test_perform_function_reaches_the_app_and_verifies(system):
    exe, ground = system
    tc = ground.tc(SAMPLE_APID, 8, 1, sv.PerformFunction(10, struct.pack(">f", 3.0)).encode())
    tms = exchange(exe, ground, [ground.frame(tc, OPERATOR)])
    assert exe.apps["sample"].latest_input == 3.0
    assert reports(tms, tc.request_id) == [(1, None), (7, None)]
    # out of range: the app refuses it at acceptance with its reason code
    bad = ground.tc(SAMPLE_APID, 8, 1, sv.PerformFunction(10, struct.pack(">f", 5e7)).encode())
    tms = exchange(exe, ground, [ground.frame(bad, OPERATOR)])
    assert reports(tms, bad.request_id) == [(2, 3)]  # core Reason.BAD_ARGUMENT
    assert exe.apps["sample"].latest_input == 3.0


def test_partner_commands_only_its_own_apids(system):
    exe, ground = system
    own = ground.tc(PARTNER_APID, 8, 1, sv.PerformFunction(10, struct.pack(">f", 1.5)).encode())
    other = ground.tc(SAMPLE_APID, 8, 1, sv.PerformFunction(10, struct.pack(">f", 9.0)).encode())
    tms = exchange(exe, ground, [ground.frame(own, PARTNER_A), ground.frame(other, PARTNER_A)])
    assert exe.apps["partner"].latest_input == 1.5
    assert exe.apps["sample"].latest_input == 0.0
    assert reports(tms, own.request_id) == [(1, None), (7, None)]
    assert reports(tms, other.request_id) == [(2, LINK_FAILURE_BASE + Reason.NOT_AUTHORISED)]
    assert exe.apps["comms"].rejected_by_reason[Reason.NOT_AUTHORISED] == 1
    events = [t for t in tms if t.service == 5 and t.apid == COMMS_APID]
    assert any(b"uni-a may not command" in sv.EventReport.decode(e.subtype, e.source_data).aux
               for e in events)


def test_rejected_frames_are_counted_reported_and_change_nothing(system):
    exe, ground = system
    comms = exe.apps["comms"]
    tc = ground.tc(SAMPLE_APID, 8, 1, sv.PerformFunction(10, struct.pack(">f", 2.0)).encode())
    good = ground.frame(tc, OPERATOR)
    tampered = bytearray(good)
    tampered[20] ^= 0x40
    tampered[-2:] = crc16(bytes(tampered[:-2])).to_bytes(2, "big")
    tms = exchange(exe, ground, [bytes(tampered), good[:-1] + b"\0", good, good])
    assert exe.apps["sample"].latest_input == 2.0  # executed once
    assert comms.frames_accepted == 1 and comms.frames_rejected == 3
    assert comms.rejected_by_reason[Reason.BAD_MAC] == 1
    assert comms.rejected_by_reason[Reason.BAD_FECF] == 1
    # the same frame again is what a COP-1 retransmission looks like
    assert comms.rejected_by_reason[Reason.FARM_DUPLICATE] == 1
    texts = [sv.EventReport.decode(t.subtype, t.source_data).aux for t in tms
             if t.service == 5 and t.apid == COMMS_APID]
    # summarised: frames refused on arrival and in the cycle, counted by reason
    summaries = [t for t in texts if b"TC frames rejected" in t]
    assert sum(int(t.split()[0]) for t in summaries) == 3 and len(summaries) <= 2
    assert any(b"bad_mac 1" in t and b"bad_fecf 1" in t for t in summaries)
    assert any(b"farm_duplicate" in t for t in texts)


def test_parameters_set_and_reported(system):
    exe, ground = system
    set_tc = ground.tc(SAMPLE_APID, 20, 3, sv.encode_values([(0, 2.5)]))
    get_tc = ground.tc(SAMPLE_APID, 20, 1, sv.encode_ids([0]))
    tms = exchange(exe, ground, [ground.frame(set_tc, OPERATOR)])
    assert exe.apps["sample"].params["gain"] == 2.5
    assert reports(tms, set_tc.request_id) == [(1, None), (7, None)]
    tms = exchange(exe, ground, [ground.frame(get_tc, OPERATOR)])
    [rep] = [t for t in tms if (t.service, t.subtype) == (20, 2)]
    assert rep.apid == SAMPLE_APID and sv.decode_values(rep.source_data) == [(0, 2.5)]
    out_of_range = ground.tc(SAMPLE_APID, 20, 3, sv.encode_values([(0, 1000.0)]))
    tms = exchange(exe, ground, [ground.frame(out_of_range, OPERATOR)])
    assert reports(tms, out_of_range.request_id)[-1] == (8, 3)
    assert exe.apps["sample"].params["gain"] == 2.5


def test_time_tagged_tc_released_at_its_time(system):
    exe, ground = system
    inner = ground.tc(PARTNER_APID, 8, 1, sv.PerformFunction(10, struct.pack(">f", 4.0)).encode())
    release = exe.clock.now() + 2.0
    ins = ground.tc(SCHEDULER_APID, 11, 4,
                    sv.encode_insert([sv.ScheduledTc(CucTime.from_seconds(release), inner)]))
    # partner A may schedule TCs for its own APIDs
    tms = exchange(exe, ground, [ground.frame(ins, PARTNER_A)])
    assert reports(tms, ins.request_id) == [(1, None), (7, None)]
    assert len(exe.apps["scheduler"].activities) == 1
    run(exe, 10)  # 1 s later: not yet
    assert exe.apps["partner"].latest_input == 0.0
    run(exe, 15)
    tms = ground.downlink(exe.apps["comms"].take_frames())
    assert exe.apps["partner"].latest_input == 4.0
    assert reports(tms, inner.request_id) == [(1, None), (7, None)]
    assert not exe.apps["scheduler"].activities
    # but not TCs for someone else's APID
    foreign = ground.tc(SAMPLE_APID, 17, 1)
    ins2 = ground.tc(SCHEDULER_APID, 11, 4, sv.encode_insert(
        [sv.ScheduledTc(CucTime.from_seconds(exe.clock.now() + 5), foreign)]))
    tms = exchange(exe, ground, [ground.frame(ins2, PARTNER_A)])
    assert reports(tms, ins2.request_id) == [(2, LINK_FAILURE_BASE + Reason.NOT_AUTHORISED)]
    assert not exe.apps["scheduler"].activities


def test_schedule_delete_disable_and_reset(system):
    exe, ground = system
    t = exe.clock.now() + 1.0
    acts = [sv.ScheduledTc(CucTime.from_seconds(t), ground.tc(SAMPLE_APID, 17, 1))
            for _ in range(3)]
    tms = exchange(exe, ground, [ground.frame(ground.tc(SCHEDULER_APID, 11, 4,
                                                        sv.encode_insert(acts)), OPERATOR)])
    sched = exe.apps["scheduler"]
    assert len(sched.activities) == 3
    delete = ground.tc(SCHEDULER_APID, 11, 5, sv.encode_delete([sv.ActivityId.of(acts[0].tc)]))
    disable = ground.tc(SCHEDULER_APID, 11, 2)
    tms = exchange(exe, ground, [ground.frame(delete, OPERATOR), ground.frame(disable, OPERATOR)])
    assert reports(tms, delete.request_id) == [(1, None), (7, None)]
    assert len(sched.activities) == 2 and not sched.enabled
    run(exe, 20)
    assert len(sched.activities) == 2  # disabled: nothing released
    missing = ground.tc(SCHEDULER_APID, 11, 5, sv.encode_delete([sv.ActivityId.of(acts[0].tc)]))
    tms = exchange(exe, ground, [ground.frame(missing, OPERATOR)])
    assert reports(tms, missing.request_id)[-1] == (8, 3)
    tms = exchange(exe, ground, [ground.frame(ground.tc(SCHEDULER_APID, 11, 3), OPERATOR)])
    assert not sched.activities


def test_housekeeping_reports_and_one_shot(system):
    exe, ground = system
    run(exe, 12)
    tms = ground.downlink(exe.apps["comms"].take_frames())
    hk = [sv.HkReport.decode(t.source_data) for t in tms if (t.service, t.subtype) == (3, 25)]
    sids = {h.sid for h in hk}
    assert {SAMPLE_APID, COMMS_APID, SCHEDULER_APID} <= sids
    # The layout as docs/apps.md states it, read with struct, not the app's own
    # MessageType: the standard counters (u16 x3) then cycles u32, gain f32,
    # enabled bool, output count i16, big-endian.
    sample = [struct.unpack(">HHHIf?h", h.values) for h in hk if h.sid == SAMPLE_APID]
    cycles = [v[3] for v in sample]
    assert cycles == sorted(cycles) and 0 < cycles[-1] <= exe.apps["sample"].cycles
    assert {v[:3] + v[4:] for v in sample} == {(0, 0, 0, 1.0, True, 0)}  # default gain 1.0
    disable = ground.tc(COMMS_APID, 3, 6, sv.encode_ids([SAMPLE_APID]))
    exchange(exe, ground, [ground.frame(disable, OPERATOR)])
    run(exe, 12)
    tms = ground.downlink(exe.apps["comms"].take_frames())
    assert SAMPLE_APID not in {sv.HkReport.decode(t.source_data).sid for t in tms
                               if (t.service, t.subtype) == (3, 25)}
    one = ground.tc(COMMS_APID, 3, 27, sv.encode_ids([SAMPLE_APID]))
    tms = exchange(exe, ground, [ground.frame(one, OPERATOR)], steps=12)
    assert [sv.HkReport.decode(t.source_data).sid for t in tms
            if (t.service, t.subtype) == (3, 25)].count(SAMPLE_APID) == 1
    # one shot: nothing more from the still disabled structure
    run(exe, 25)
    tms = ground.downlink(exe.apps["comms"].take_frames())
    assert SAMPLE_APID not in {sv.HkReport.decode(t.source_data).sid for t in tms
                               if (t.service, t.subtype) == (3, 25)}


def test_clcw_in_downlink_tracks_farm(system):
    exe, ground = system
    frames = [ground.frame(ground.tc(SAMPLE_APID, 17, 1), OPERATOR) for _ in range(3)]
    exchange(exe, ground, frames)
    comms = exe.apps["comms"]
    ground.downlink([comms.idle_frame()])
    assert ground.rx.last_clcw == Clcw(vcid=0, report_value=3)
    # a frame out of sequence asks for retransmission, reported in the CLCW
    ground.ns[0] = 5
    exchange(exe, ground, [ground.frame(ground.tc(SAMPLE_APID, 17, 1), OPERATOR)])
    ground.downlink([comms.idle_frame()])
    assert ground.rx.last_clcw.retransmit and ground.rx.last_clcw.report_value == 3
    assert comms.rejected_by_reason[Reason.FARM_OUT_OF_WINDOW] == 1


def test_frames_queued_before_a_tc_carry_the_clcw_current_when_sent(system):
    """Frames built while nobody listened (between passes) report the FARM as
    it is when they go down: a stale N(R) would make the ground's FOP-1 see an
    acknowledgement go backwards (CCSDS 232.1-B) and give up the AD service."""
    exe, ground = system
    comms = exe.apps["comms"]
    run(exe, 25)  # TM frames pile up on board; the FARM of VC 0 is at N(R) 0
    assert len(comms.downlink.frames) >= 2
    frames = [ground.frame(ground.tc(SAMPLE_APID, 17, 1), OPERATOR) for _ in range(2)]
    for f in frames:
        comms.receive_frame(f)
    exe.step()
    sent = comms.take_frames()
    vc0 = [Clcw.decode(f[-6:-2]) for f in sent if Clcw.decode(f[-6:-2]).vcid == 0]
    assert vc0 and {c.report_value for c in vc0} == {2}
    for f in sent:  # the FECF still covers the new OCF
        assert crc16(f) == 0


def test_unknown_service_and_malformed_tc_are_refused(system):
    exe, ground = system
    unknown = ground.tc(SAMPLE_APID, 99, 1)
    short = ground.tc(SAMPLE_APID, 8, 1)  # no function ID
    no_app = ground.tc(0x555, 8, 1, b"\x00")
    tms = exchange(exe, ground, [ground.frame(tc, OPERATOR) for tc in (unknown, short, no_app)])
    assert reports(tms, unknown.request_id) == [(2, LINK_FAILURE_BASE + Reason.UNKNOWN_SERVICE)]
    assert reports(tms, short.request_id) == [(2, LINK_FAILURE_BASE + Reason.BAD_APP_DATA)]
    assert reports(tms, no_app.request_id) == [(10, LINK_FAILURE_BASE + Reason.NO_SUCH_TARGET)]


def test_event_reports_can_be_disabled_and_enabled(system):
    exe, ground = system

    def noop_events() -> list[sv.EventReport]:
        tc = ground.tc(SAMPLE_APID, 8, 1, sv.PerformFunction(0).encode())  # NOOP
        tms = exchange(exe, ground, [ground.frame(tc, OPERATOR)])
        assert reports(tms, tc.request_id) == [(1, None), (7, None)]
        evs = [sv.EventReport.decode(t.subtype, t.source_data) for t in tms
               if t.service == 5 and t.apid == SAMPLE_APID]
        return [e for e in evs if e.event_id == 3]  # the no-op event

    run(exe, 2)
    exe.apps["comms"].take_frames()  # boot events out of the way
    [ev] = noop_events()
    assert ev.subtype == sv.EV_INFO and ev.event_id == 3 and b"no-op" in ev.aux
    exchange(exe, ground, [ground.frame(ground.tc(SAMPLE_APID, 5, 6, sv.encode_ids([3])),
                                        OPERATOR)])
    assert noop_events() == []
    exchange(exe, ground, [ground.frame(ground.tc(SAMPLE_APID, 5, 5, sv.encode_ids([3])),
                                        OPERATOR)])
    assert len(noop_events()) == 1


def test_connection_test(system):
    exe, ground = system
    ok = ground.tc(SAMPLE_APID, 17, 3, sv.encode_connection_test(SCHEDULER_APID))
    nobody = ground.tc(SAMPLE_APID, 17, 3, sv.encode_connection_test(0x3FF))
    tms = exchange(exe, ground, [ground.frame(ok, OPERATOR), ground.frame(nobody, OPERATOR)])
    [rep] = [t for t in tms if (t.service, t.subtype) == (17, 4)]
    assert sv.decode_connection_test(rep.source_data) == SCHEDULER_APID
    assert reports(tms, nobody.request_id) == [(2, LINK_FAILURE_BASE + Reason.NO_SUCH_TARGET)]


# ECSS-E-ST-70-41C 7.4.3.1: the TC's acknowledgement flags ask for reports of
# successful acceptance (bit 3, the least significant in ECSS numbering),
# start (bit 2), progress (bit 1) and completion (bit 0); the same values as
# FSFW's ecss::AckField. Failure reports are always sent.
ACK_ACCEPTANCE, ACK_START, ACK_PROGRESS, ACK_COMPLETION = 0b0001, 0b0010, 0b0100, 0b1000


def tc_with_flags(ground: Ground, apid: int, service: int, subtype: int, data: bytes,
                  flags: int) -> PusTc:
    ground.seq += 1
    return PusTc(apid, service, subtype, data, seq_count=ground.seq, source_id=7,
                 ack_flags=flags)


@pytest.mark.parametrize("flags", [0b0000, 0b1000, 0b0001, 0b1001, 0b0110, 0b1111])
def test_success_reports_only_where_the_tc_asks(system, flags):
    exe, ground = system
    want = [(1, None)] if flags & ACK_ACCEPTANCE else []
    want += [(7, None)] if flags & ACK_COMPLETION else []
    # routed to an app (PUS 8 perform function) and handled by comms itself (PUS 17)
    to_app = tc_with_flags(ground, SAMPLE_APID, 8, 1,
                           sv.PerformFunction(10, struct.pack(">f", 2.0)).encode(), flags)
    direct = tc_with_flags(ground, SAMPLE_APID, 17, 1, b"", flags)
    tms = exchange(exe, ground, [ground.frame(to_app, OPERATOR), ground.frame(direct, OPERATOR)])
    assert exe.apps["sample"].latest_input == 2.0
    assert reports(tms, to_app.request_id) == want
    assert reports(tms, direct.request_id) == want
    assert [(t.service, t.subtype) for t in tms if t.service == 17] == [(17, 2)]


def test_failures_are_reported_whatever_the_flags(system):
    exe, ground = system
    # the sample app refuses to switch its output to the state it is already in
    refused = tc_with_flags(ground, SAMPLE_APID, 8, 1, sv.PerformFunction(11, b"\x01").encode(),
                            0b0000)
    unknown = tc_with_flags(ground, 0x7E, 8, 1, sv.PerformFunction(1, b"").encode(),
                            0b0000)  # no such application
    tms = exchange(exe, ground, [ground.frame(refused, OPERATOR), ground.frame(unknown, OPERATOR)])
    # completion failure (8), reason NOT_ALLOWED_NOW (5, docs/apps.md)
    assert reports(tms, refused.request_id) == [(8, 5)]
    # routing failure (10), reason NO_SUCH_TARGET offset by the link-failure base
    assert reports(tms, unknown.request_id) == [(10, LINK_FAILURE_BASE + Reason.NO_SUCH_TARGET)]


def hk_sids(tms: list[PusTm]) -> list[int]:
    return [sv.HkReport.decode(t.source_data).sid for t in tms
            if (t.service, t.subtype) == (3, 25)]


def test_housekeeping_structures_deleted_created_and_enabled(system):
    """PUS 3: delete (3,3), create (3,1, disabled until enabled), enable (3,5)."""
    exe, ground = system
    delete = ground.tc(COMMS_APID, 3, 3, sv.encode_ids([SAMPLE_APID]))
    tms = exchange(exe, ground, [ground.frame(delete, OPERATOR)], steps=12)
    assert reports(tms, delete.request_id) == [(1, None), (7, None)]
    run(exe, 12)
    assert SAMPLE_APID not in hk_sids(ground.downlink(exe.apps["comms"].take_frames()))
    # what is deleted can be neither deleted nor enabled again
    for subtype in (3, 5):
        again = ground.tc(COMMS_APID, 3, subtype, sv.encode_ids([SAMPLE_APID]))
        tms = exchange(exe, ground, [ground.frame(again, OPERATOR)])
        assert reports(tms, again.request_id) == [(2, LINK_FAILURE_BASE + Reason.BAD_ARGUMENT)]
    create = ground.tc(COMMS_APID, 3, 1, sv.HkStructure(SAMPLE_APID, 1000).encode())
    tms = exchange(exe, ground, [ground.frame(create, OPERATOR)], steps=12)
    assert reports(tms, create.request_id) == [(1, None), (7, None)]
    run(exe, 12)
    assert SAMPLE_APID not in hk_sids(ground.downlink(exe.apps["comms"].take_frames()))
    enable = ground.tc(COMMS_APID, 3, 5, sv.encode_ids([SAMPLE_APID]))
    exchange(exe, ground, [ground.frame(enable, OPERATOR)])
    run(exe, 21)
    assert hk_sids(ground.downlink(exe.apps["comms"].take_frames())).count(SAMPLE_APID) >= 2
    # a structure of chosen parameters, or of an app that does not exist, is refused
    picked = ground.tc(COMMS_APID, 3, 1, sv.HkStructure(SAMPLE_APID, 1000, [1, 2]).encode())
    ghost = ground.tc(COMMS_APID, 3, 1, sv.HkStructure(0x7E, 1000).encode())
    tms = exchange(exe, ground, [ground.frame(picked, OPERATOR), ground.frame(ghost, OPERATOR)])
    assert reports(tms, picked.request_id) == [(2, LINK_FAILURE_BASE + Reason.BAD_ARGUMENT)]
    assert reports(tms, ghost.request_id) == [(2, LINK_FAILURE_BASE + Reason.NO_SUCH_TARGET)]


def test_a_time_tagged_tc_whose_time_has_passed_is_refused(system):
    exe, ground = system
    run(exe, 30)  # three seconds of mission time
    past = sv.ScheduledTc(CucTime.from_seconds(1.0), ground.tc(SAMPLE_APID, 17, 1))
    insert = ground.tc(SCHEDULER_APID, 11, 4, sv.encode_insert([past]))
    tms = exchange(exe, ground, [ground.frame(insert, OPERATOR)])
    assert reports(tms, insert.request_id) == [(2, LINK_FAILURE_BASE + Reason.BAD_TIME)]
    assert not exe.apps["scheduler"].activities


def test_parameter_requests_that_cannot_be_met_are_refused_with_the_reason(system):
    exe, ground = system
    as_bytes = ground.tc(SAMPLE_APID, 20, 3, sv.encode_values([(0, b"\x01\x02")]))
    nothing = ground.tc(SAMPLE_APID, 20, 1, sv.encode_ids([]))
    tms = exchange(exe, ground, [ground.frame(as_bytes, OPERATOR),
                                 ground.frame(nothing, OPERATOR)])
    assert reports(tms, as_bytes.request_id) == [(2, LINK_FAILURE_BASE + Reason.BAD_ARGUMENT)]
    assert reports(tms, nothing.request_id) == [(2, LINK_FAILURE_BASE + Reason.BAD_APP_DATA)]
    texts = [e.text for e in exe.events.recent]
    assert any(t.endswith("parameters are numbers") for t in texts)
    assert any(t.endswith("no parameters named") for t in texts)
    assert exe.apps["sample"].params["gain"] == 1.0


def test_a_damaged_packet_is_refused_by_its_request_id(system):
    exe, ground = system
    tc = ground.tc(SAMPLE_APID, 17, 1)
    raw = bytearray(tc.encode())
    raw[-1] ^= 0xFF  # the packet error control no longer matches
    frame = ground.tx.frame(0, ground.ns[0], bytes(raw), spi=OPERATOR)
    ground.ns[0] += 1
    tms = exchange(exe, ground, [frame])
    # the request ID is the packet's first four octets (ECSS-E-ST-70-41C 5.4.11)
    assert int.from_bytes(raw[:4], "big") == tc.request_id
    [(subtype, code)] = reports(tms, tc.request_id)
    assert subtype == 2 and code
    # its source ID cannot be trusted from a damaged packet: docs/space-link.md
    # sends the report to destination 0
    [report] = [t for t in tms if t.service == 1]
    assert report.dest_id == 0 and tc.source_id != 0
    assert not any((t.service, t.subtype) == (17, 2) for t in tms)


def test_a_packet_that_is_no_pus_tc_gets_a_report_only_if_its_apid_is_real(system):
    # ECSS-E-ST-70-41C 5.4.11: the request ID is the packet ID and sequence
    # control, the first four octets of the primary header (CCSDS 133.0-B-2
    # 4.1.3); APID 0x7FF is the idle packet, which no TC comes from. Two
    # octets of data are too few for a PUS TC secondary header.
    exe, ground = system
    comms = exe.apps["comms"]
    short = bytes.fromhex("1830c0070001") + b"\x00\x00"  # TC, APID 0x030, seq 7
    idle = bytes.fromhex("1fffc0080001") + b"\x00\x00"
    tms = []
    for packet in (short, idle):
        tms += exchange(exe, ground, [ground.tx.frame(0, ground.ns[0], packet, spi=OPERATOR)])
        ground.ns[0] += 1
    failures = [(tm.apid, sv.VerificationReport.decode(tm.subtype, tm.source_data).request_id)
                for tm in tms if (tm.service, tm.subtype) == (1, 2)]
    assert failures == [(SAMPLE_APID, 0x1830C007)]
    assert comms.tcs_rejected == 2 and comms.rejected_by_reason == {Reason.TRUNCATED: 2}
    texts = [e.text for e in exe.events.recent if e.apid == COMMS_APID]
    assert texts[-2:] == ["TC rejected: truncated: 8 octets is too short for a PUS packet"] * 2


def test_each_key_holder_disables_events_within_its_own_quota(tmp_path):
    # docs/space-link.md: each holder's disabled entries count against its
    # own event_table_entries quota
    holders = [dict(h) for h in KEYS["key_holders"]]
    holders[1]["quotas"] = {"event_table_entries": 2}
    exe, ground = boot_system(tmp_path, {**KEYS, "key_holders": holders})

    def send(who, subtype, ids):
        tc = ground.tc(PARTNER_APID, 5, subtype, sv.encode_ids(ids))
        return reports(exchange(exe, ground, [ground.frame(tc, who)]), tc.request_id)

    ok = [(1, None), (7, None)]
    assert send(OPERATOR, 6, [20, 21, 22]) == ok  # the operator's count for itself
    assert send(PARTNER_A, 6, [30, 31]) == ok
    assert send(PARTNER_A, 6, [30, 20]) == ok  # already disabled: no new entry
    assert send(PARTNER_A, 6, [32]) == [(2, LINK_FAILURE_BASE + Reason.QUOTA_EXCEEDED)]
    assert last_comms_event(exe).endswith("uni-a: more than 2 disabled event IDs")
    assert send(PARTNER_A, 5, [31, 40]) == ok  # one entry freed; 40 was never disabled
    assert send(PARTNER_A, 6, [32]) == ok
    services = exe.apps["comms"].services
    assert [services.event_enabled(PARTNER_APID, e) for e in (20, 30, 31, 32, 40)] == [
        False, False, True, False, True]


def test_one_parameter_tc_names_at_most_8_parameters(system):
    # docs/space-link.md: ST20 takes at most 8 parameters per TC
    exe, ground = system
    eight = ground.tc(SAMPLE_APID, 20, 1, sv.encode_ids([0] * 8))
    nine = ground.tc(SAMPLE_APID, 20, 1, sv.encode_ids([0] * 9))
    tms = exchange(exe, ground, [ground.frame(eight, OPERATOR), ground.frame(nine, OPERATOR)])
    assert reports(tms, eight.request_id) == [(1, None), (7, None)]
    assert len([t for t in tms if (t.service, t.subtype) == (20, 2)]) == 8
    assert reports(tms, nine.request_id) == [(2, LINK_FAILURE_BASE + Reason.BAD_ARGUMENT)]
    assert "at most 8 parameters in one TC" in [e.text for e in exe.events.recent][-1]


def test_refusals_of_st3_and_st11_requests_say_why(system):
    exe, ground = system
    run(exe, 30)
    refused = [
        (ground.tc(SCHEDULER_APID, 11, 4, sv.encode_insert(
            [sv.ScheduledTc(CucTime.from_seconds(1.0), ground.tc(SAMPLE_APID, 17, 1))])),
         "bad_time: release time already passed"),
        (ground.tc(COMMS_APID, 3, 1, sv.HkStructure(SAMPLE_APID, 1000, [1, 2]).encode()),
         "bad_argument: structures are whole app housekeeping messages"),
        (ground.tc(COMMS_APID, 3, 1, sv.HkStructure(0x7E, 1000).encode()),
         "no_such_target: no housekeeping from 0x7e"),
        (ground.tc(COMMS_APID, 3, 5, sv.encode_ids([0x7E])),
         "bad_argument: no structure 126"),
    ]
    for tc, why in refused:
        exchange(exe, ground, [ground.frame(tc, OPERATOR)])
        assert last_comms_event(exe) == (
            f"TC rejected: TC[{tc.service},{tc.subtype}] to {tc.apid:#x}: {why}")


def test_reports_go_to_the_tcs_source_and_every_carried_out_tc_is_counted(system):
    # ECSS-E-ST-70-41C 7.4.4: a report's destination ID is the source ID of
    # the TC it answers (the ground kit sends as source 7)
    exe, ground = system
    comms = exe.apps["comms"]
    before = comms.housekeeping_values()["tcs_routed"]
    ping = ground.tc(SAMPLE_APID, 17, 1)
    fn = ground.tc(SAMPLE_APID, 8, 1, sv.PerformFunction(10, struct.pack(">f", 1.0)).encode())
    ghost = ground.tc(0x7E, 8, 1, sv.PerformFunction(10, struct.pack(">f", 1.0)).encode())
    tms = exchange(exe, ground, [ground.frame(tc, OPERATOR) for tc in (ping, fn, ghost)])
    mine = [t for t in tms if t.service in (1, 17)]
    assert {t.dest_id for t in mine} == {7} and len(mine) >= 5
    assert comms.housekeeping_values()["tcs_routed"] == before + 2
    assert reports(tms, ghost.request_id)[0][0] in (2, 10)
    assert last_comms_event(exe).endswith("no application process 0x7e")


def test_a_deleted_structure_forgets_its_pending_one_shot(system):
    # PUS ST[03]: a structure created again starts disabled, whatever was
    # asked of the one deleted before it
    exe, ground = system
    run(exe, 12)
    exe.apps["comms"].take_frames()
    one_shot = ground.tc(COMMS_APID, 3, 27, sv.encode_ids([SAMPLE_APID]))
    delete = ground.tc(COMMS_APID, 3, 3, sv.encode_ids([SAMPLE_APID]))
    create = ground.tc(COMMS_APID, 3, 1, sv.HkStructure(SAMPLE_APID, 1000).encode())
    tms = exchange(exe, ground, [ground.frame(tc, OPERATOR) for tc in (one_shot, delete, create)],
                   steps=1)
    assert all(reports(tms, tc.request_id) == [(1, None), (7, None)]
               for tc in (one_shot, delete, create))
    run(exe, 25)
    assert SAMPLE_APID not in hk_sids(ground.downlink(exe.apps["comms"].take_frames()))


def test_ping_answers_with_an_empty_pong_and_a_connection_test_names_the_missing_apid(system):
    exe, ground = system
    ping = ground.tc(SAMPLE_APID, 17, 1)
    nobody = ground.tc(SAMPLE_APID, 17, 3, sv.encode_connection_test(0x3FF))
    tms = exchange(exe, ground, [ground.frame(ping, OPERATOR), ground.frame(nobody, OPERATOR)])
    [pong] = [t for t in tms if (t.service, t.subtype) == (17, 2)]
    assert pong.source_data == b""  # ECSS-E-ST-70-41C 6.17.5: TM[17,2] has no data
    assert last_comms_event(exe).endswith("no_such_target: no application process 0x3ff")


def test_a_tc_tagged_for_the_on_board_time_itself_is_taken_and_runs_at_once(system):
    # docs/space-link.md: only a release time already passed is refused
    exe, ground = system
    assert exe.clock.now() == 0.0
    ping = ground.tc(SAMPLE_APID, 17, 1)
    ins = ground.tc(SCHEDULER_APID, 11, 4,
                    sv.encode_insert([sv.ScheduledTc(CucTime.from_seconds(0.0), ping)]))
    tms = exchange(exe, ground, [ground.frame(ins, OPERATOR)], steps=4)
    assert reports(tms, ins.request_id) == [(1, None), (7, None)]
    assert reports(tms, ping.request_id) == [(1, None), (7, None)]


def test_parameter_ids_span_16_bits_and_an_unknown_one_fails_at_completion(system):
    # docs/space-link.md: a parameter ID is an index in the app's PARAMETERS,
    # carried as an unsigned 16-bit field; 0x8000 is no parameter of the sample app
    exe, ground = system
    get = ground.tc(SAMPLE_APID, 20, 1, sv.encode_ids([0x8000]))
    put = ground.tc(SAMPLE_APID, 20, 3, sv.encode_values([(0x8000, 1.0)]))
    tms = exchange(exe, ground, [ground.frame(get, OPERATOR), ground.frame(put, OPERATOR)])
    assert reports(tms, get.request_id) == reports(tms, put.request_id) == [
        (1, None), (8, 3)]  # accepted, then completion failed with the app's BAD_ARGUMENT (3)
    assert [e.text for e in exe.events.recent if e.apid == SAMPLE_APID][-2:] == [
        "REPORT_PARAMETER failed: no parameter 32768", "SET_PARAMETER failed: no parameter 32768"]


def test_released_tcs_spend_no_rate_and_need_their_owner_still_on_board(tmp_path):
    # docs/space-link.md: a TC is counted against its sender's tcs_per_s when
    # it arrives (an insert is one TC); released TCs are authorised against
    # their owner at release, and an owner no longer in the key file gets a
    # failure report
    holders = [dict(h) for h in KEYS["key_holders"]]
    holders[1]["quotas"] = {"tcs_per_s": 1}
    exe, ground = boot_system(tmp_path, {**KEYS, "key_holders": holders})
    pings = [ground.tc(PARTNER_APID, 17, 1) for _ in range(3)]
    ins = ground.tc(SCHEDULER_APID, 11, 4, sv.encode_insert(
        [sv.ScheduledTc(CucTime.from_seconds(1.0), p) for p in pings]))
    tms = exchange(exe, ground, [ground.frame(ins, PARTNER_A)])
    assert reports(tms, ins.request_id) == [(1, None), (7, None)]
    run(exe, 10)
    tms = ground.downlink(exe.apps["comms"].take_frames())
    assert [reports(tms, p.request_id) for p in pings] == [[(1, None), (7, None)]] * 3
    # uni-a's activities outlive its key: a new key file without uni-a, then a reboot
    later = [ground.tc(PARTNER_APID, 17, 1) for _ in range(2)]
    ins = ground.tc(SCHEDULER_APID, 11, 4, sv.encode_insert(
        [sv.ScheduledTc(CucTime.from_seconds(2.0), p) for p in later]))
    exchange(exe, ground, [ground.frame(ins, PARTNER_A)])
    exe.context.store.close()
    exe, _ = boot_system(tmp_path, {**KEYS, "key_holders": holders[:1]})
    run(exe, 25)
    tms = ground.downlink(exe.apps["comms"].take_frames())
    assert [reports(tms, p.request_id) for p in later] == [
        [(2, LINK_FAILURE_BASE + Reason.NOT_AUTHORISED)]] * 2
    assert any(e.text.endswith("released TC of SPI 10, which is no longer an operational "
                               "key holder") for e in exe.events.recent)


def test_reports_on_a_holders_requests_are_charged_to_its_tm_quota(tmp_path):
    # docs/space-link.md: tm_bytes_per_cycle bounds the TM (verification
    # reports and replies) generated in reply to a holder's TCs in one comms
    # cycle; the rest is withheld and counted. 64 octets hold two reports.
    holders = [dict(h) for h in KEYS["key_holders"]]
    holders[1]["quotas"] = {"tm_bytes_per_cycle": 64}
    exe, ground = boot_system(tmp_path, {**KEYS, "key_holders": holders})
    comms = exe.apps["comms"]
    # four parameter requests (8 verification reports and 4 parameter reports),
    # then four schedule summary requests (8 reports and 4 summaries)
    for requests, made in (
            ([ground.tc(PARTNER_APID, 20, 1, sv.encode_ids([0])) for _ in range(4)], 12),
            ([ground.tc(SCHEDULER_APID, 11, 17) for _ in range(4)], 12)):
        withheld = comms.housekeeping_values()["tm_withheld"]
        tms = exchange(exe, ground, [ground.frame(tc, PARTNER_A) for tc in requests])
        got = sum(len(reports(tms, tc.request_id)) for tc in requests) + len(
            [t for t in tms if (t.service, t.subtype) in ((11, 13), (20, 2))])
        assert 0 < got < made
        assert comms.housekeeping_values()["tm_withheld"] - withheld == made - got
    # the operator's requests are not held back by uni-a's quota
    withheld = comms.housekeeping_values()["tm_withheld"]
    mine = [ground.tc(PARTNER_APID, 20, 1, sv.encode_ids([0])) for _ in range(4)]
    tms = exchange(exe, ground, [ground.frame(tc, OPERATOR) for tc in mine])
    assert [reports(tms, tc.request_id) for tc in mine] == [[(1, None), (7, None)]] * 4
    assert comms.housekeeping_values()["tm_withheld"] == withheld


def test_packets_of_one_app_are_counted_in_sequence_and_reports_nobody_asked_for_go_to_0(
        system):
    # CCSDS 133.0-B-2 4.1.3.4.2: the packet sequence count runs per APID;
    # ECSS-E-ST-70-41C 7.4.3.1: the message type counter runs per message type.
    # docs/space-link.md: housekeeping, which no TC asked for, goes to destination 0.
    exe, ground = system
    run(exe, 45)
    tms = ground.downlink(exe.apps["comms"].take_frames())
    sample = [t for t in tms if t.apid == SAMPLE_APID]  # its event and its housekeeping
    seqs = [t.seq_count for t in sample]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    hk = [t for t in sample if (t.service, t.subtype) == (3, 25)]
    assert len(hk) >= 3 and len(hk) < len(sample)
    counters = [t.msg_counter for t in hk]
    assert counters == list(range(counters[0], counters[0] + len(counters)))
    assert {t.dest_id for t in sample} == {0}
    # each APID counts on its own: comms' reports do not advance the sample app's count
    comms = [t.seq_count for t in tms if t.apid == COMMS_APID]
    assert comms == list(range(comms[0], comms[0] + len(comms)))
