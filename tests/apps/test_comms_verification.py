"""PUS service 1 for the stages apps report besides acceptance and completion.

An app (a partner's, through the payload host) may report the start (3) and
progress (5) of a command as well as its acceptance (1) and completion (7);
comms turns each into TM[1,x] (ECSS-E-ST-70-41C 6.1, docs/space-link.md):
successes only where the TC's acknowledge flags ask for them, a failure
always, and only the first failure of a TC; progress reports carry a step ID
(8 bits; the apps' results carry none, so 0). The results are published on
the bus as the payload host publishes a partner's.
"""

from __future__ import annotations

import pytest
from uplink_kit import OPERATOR, Link, Recording, Station, reports

from fsw.apps.comms import CommsApp
from fsw.apps.scheduler import SCHEDULE_REPORT_MSG_ID
from fsw.core import (
    COMMAND_RESULT_MSG,
    PARAMETER_REPORT_MSG,
    AppSpec,
    Executive,
    Severity,
    Store,
    VirtualClock,
)
from fsw.core.ids import COMMS_APID, SAMPLE_APID
from fsw.protocol import Reason
from fsw.protocol import services as sv
from fsw.protocol.keyfile import simulator_key_file
from fsw.protocol.pus import ACK_ACCEPTANCE, ACK_ALL, ACK_COMPLETION


@pytest.fixture
def link(tmp_path) -> Link:
    return Link(tmp_path)


def routed(link: Link, ack: int) -> tuple[int, int]:
    """A TC[8,1] for the sample app, routed but not yet carried out: (request ID, token)."""
    tc = link.ground.set_input(SAMPLE_APID, 1.0)
    tc.ack_flags = ack
    before = set(link.comms.pending)
    link.comms.receive_frame(link.ground.frame(tc.encode(), OPERATOR))
    link.comms.execute()
    (token,) = set(link.comms.pending) - before
    return tc.request_id, token


def result(link: Link, token: int, stage: int, ok: bool, reason: int = 0) -> None:
    link.exe.bus.publish(COMMAND_RESULT_MSG.msg_id, COMMAND_RESULT_MSG.pack(
        request_id=token, apid=SAMPLE_APID, function_code=10, stage=stage, ok=ok,
        reason=reason, time_s=0.0))


def st1(tms, rid: int) -> list[tuple[int, int | None, int | None]]:
    """(subtype, step ID, failure code) of each TM[1,x] on `rid`."""
    out = []
    for tm in tms:
        if tm.service == sv.ST_VERIFICATION:
            r = sv.VerificationReport.decode(tm.subtype, tm.source_data)
            if r.request_id == rid:
                out.append((tm.subtype, r.step, r.code))
    return out


def test_start_and_progress_are_reported_with_step_0_where_the_flags_ask(link: Link):
    rid, token = routed(link, ACK_ALL)
    result(link, token, 3, True)
    result(link, token, 5, True)
    tms = link.send([])
    assert st1(tms, rid) == [(3, None, None), (5, 0, None), (1, None, None), (7, None, None)]
    assert token not in link.comms.pending  # forgotten once complete


def test_start_and_progress_successes_are_not_reported_unasked(link: Link):
    rid, token = routed(link, ACK_ACCEPTANCE | ACK_COMPLETION)
    result(link, token, 3, True)
    result(link, token, 5, True)
    tms = link.send([])
    assert st1(tms, rid) == [(1, None, None), (7, None, None)]


@pytest.mark.parametrize("stage", [3, 5])
def test_a_failed_start_or_step_is_reported_once_whatever_follows(link: Link, stage: int):
    rid, token = routed(link, 0)  # no success asked for: failures all the same
    result(link, token, stage, False, 4)
    result(link, token, stage, False, 5)
    tms = link.send([])
    step = 0 if stage == 5 else None
    assert st1(tms, rid) == [(stage + 1, step, 4)]
    assert token not in link.comms.pending


def test_a_failed_acceptance_ends_the_tc(link: Link):
    rid, token = routed(link, ACK_ALL)
    result(link, token, 1, False, 3)
    link.comms.execute()
    assert token not in link.comms.pending
    tms = link.send([])
    assert st1(tms, rid)[0] == (2, None, 3)


def test_a_failed_completion_ends_the_tc(link: Link):
    rid, token = routed(link, ACK_ALL)
    result(link, token, 1, True)
    result(link, token, 7, False, 5)
    link.comms.execute()
    assert token not in link.comms.pending
    assert st1(link.send([]), rid)[:2] == [(1, None, None), (8, None, 5)]


def test_a_tc_of_several_commands_ends_when_the_last_completes_even_failed(link: Link):
    # TC[20,3] setting two parameters: one bus command each, one TC to report on
    tc = link.ground.tc(SAMPLE_APID, sv.ST_PARAMETERS, sv.PARAM_SET,
                        sv.encode_values([(0, 1.0), (0, 2.0)]))
    before = set(link.comms.pending)
    link.comms.receive_frame(link.ground.frame(tc.encode(), OPERATOR))
    link.comms.execute()
    (token,) = set(link.comms.pending) - before
    result(link, token, 7, True)
    link.comms.execute()
    assert token in link.comms.pending  # one of two done
    result(link, token, 7, False, 5)
    link.comms.execute()
    assert token not in link.comms.pending
    assert st1(link.send([]), tc.request_id)[:1] == [(8, None, 5)]


def test_an_unforeseen_failure_in_a_handler_fails_that_tc_and_comms_goes_on(link: Link,
                                                                            monkeypatch):
    # the comms app's promise: an unforeseen exception fails that one TC, never the app
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(link.comms.services, "handle", broken)
    tc = link.ground.tc(COMMS_APID, 17, 1)
    tms = link.send([link.ground.frame(tc.encode(), OPERATOR)])
    # failure code HANDLER_FAILED (89) among the link's reasons (0x100 up)
    assert st1(tms, tc.request_id) == [(2, None, 0x100 + 89)]
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert "handling TC[17,1] failed: RuntimeError: boom" in texts
    assert f"TC rejected: TC[17,1] to {COMMS_APID:#x}: RuntimeError" in texts
    monkeypatch.undo()
    link.operator_still_commands()


def test_a_damaged_message_on_the_bus_is_rejected_alone(link: Link):
    # a schedule summary shorter than its 4-octet header
    link.exe.bus.publish(SCHEDULE_REPORT_MSG_ID, b"\x01")
    link.exe.step()
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert any(t.startswith("handling TC[0,0] failed: error: ") for t in texts), texts
    assert any(t.startswith("TC rejected: error: ") for t in texts), texts
    assert link.comms.tcs_rejected == 1
    assert link.comms.rejected_by_reason[Reason.HANDLER_FAILED] == 1
    link.operator_still_commands()


def test_housekeeping_carries_the_first_vcs_farm_state(link: Link):
    # farm_vr: V(R) of the lowest TC virtual channel (the operator's, VC 0);
    # farm_lockout: its FARM-1 in Lockout (CCSDS 232.1-B-2)
    g = link.ground
    hk = link.comms.housekeeping_values()
    assert (hk["farm_vr"], hk["farm_lockout"]) == (0, False)
    for value in (1.0, 2.0, 3.0):
        link.send([g.frame(g.set_input(SAMPLE_APID, value).encode(), OPERATOR)])
    hk = link.comms.housekeeping_values()
    assert (hk["farm_vr"], hk["farm_lockout"]) == (3, False)
    link.send([g.tx.frame(0, 100, g.set_input(SAMPLE_APID, 4.0).encode(), spi=OPERATOR)])
    hk = link.comms.housekeeping_values()
    assert (hk["farm_vr"], hk["farm_lockout"]) == (3, True)


def test_a_parameter_report_nobody_on_the_ground_asked_for_goes_to_destination_0(link: Link):
    # docs/space-link.md: reports nobody asked for go to destination 0
    link.exe.bus.publish(PARAMETER_REPORT_MSG.msg_id, PARAMETER_REPORT_MSG.pack(
        request_id=0, apid=SAMPLE_APID, index=0, value=2.5))
    tms = [tm for tm in link.send([]) if (tm.service, tm.subtype) == (20, 2)]
    assert [(tm.apid, tm.dest_id, sv.decode_values(tm.source_data)) for tm in tms] == [
        (SAMPLE_APID, 0, [(0, 2.5)])]
    assert not [e for e in link.exe.events.recent if "failed" in e.text]


def test_a_burst_of_rejections_names_the_most_frequent_reason_first(link: Link):
    g = link.ground
    first = g.frame(g.set_input(SAMPLE_APID, 1.0).encode(), OPERATOR)
    link.comms.process_frames([first])
    damaged = first[:-1] + bytes([first[-1] ^ 0xFF])  # its frame error control is wrong
    link.comms.process_frames([damaged, damaged, first])  # and a duplicate
    texts = [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]
    assert any(t.startswith("3 TC frames rejected (bad_fecf 2, farm_duplicate 1); last: ")
               for t in texts), texts
    # the reason seen most often, not the highest code
    assert link.comms.housekeeping_values()["last_reject_reason"] == Reason.BAD_FECF


def test_an_event_goes_down_with_its_text_as_raised_and_no_padding(link: Link):
    # TM[5,x]: the event ID, then the text as raised (docs/space-link.md ST5)
    link.exe.context.events.raise_event(SAMPLE_APID, 7, Severity.MEDIUM, "valve X")
    tms = [tm for tm in link.send([]) if tm.service == 5 and tm.apid == SAMPLE_APID]
    reports = [sv.EventReport.decode(tm.subtype, tm.source_data) for tm in tms]
    assert (3, 7, b"valve X") in [(r.subtype, r.event_id, r.aux) for r in reports]


def test_only_the_apps_the_wiring_names_have_their_events_sent_down(tmp_path):
    # [wiring] events = { from = [...] } (docs/autonomy.md): the named apps' events
    # go down, the others' stay on board
    from uplink_kit import FRAME_LEN, SCID, Recording, UniA

    from fsw.apps.comms import CommsApp
    from fsw.core import AppSpec, Executive, Store, VirtualClock
    from fsw.core.wiring import Wiring
    from fsw.protocol.keyfile import simulator_key_file

    key_file = tmp_path / "keys.json"
    simulator_key_file(key_file)
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,), store=Store(tmp_path / "store.db"),
                    wiring=Wiring(events_from=("sample",)))
    exe.add_app(AppSpec("comms", CommsApp, 10.0, {"scid": SCID, "key_file": str(key_file),
                                                  "tm_frame_len": FRAME_LEN}))
    exe.add_app(AppSpec("sample", Recording, 10.0))
    exe.add_app(AppSpec("uni_a", UniA, 10.0))
    assert exe.boot() == []
    events = exe.context.events
    events.raise_event(SAMPLE_APID, 7, Severity.MEDIUM, "from the sample app")
    events.raise_event(UniA.APID, 7, Severity.MEDIUM, "from uni-a")
    exe.step()
    frames = exe.apps["comms"].take_frames()
    downlinked = b"".join(frames)
    assert b"from the sample app" in downlinked and b"from uni-a" not in downlinked
    assert exe.apps["comms"].state.name == "RUNNING"


def test_a_burst_of_rejections_names_at_most_four_reasons(link: Link):
    # the event stays within its 120 octets: the four most frequent reasons
    from fsw.protocol.crc import crc16

    g = link.ground
    first = g.frame(g.set_input(SAMPLE_APID, 1.0).encode(), OPERATOR)
    link.comms.process_frames([first])

    def resealed(frame: bytearray) -> bytes:
        frame[-2:] = crc16(bytes(frame[:-2])).to_bytes(2, "big")
        return bytes(frame)

    good = bytearray(g.frame(g.set_input(SAMPLE_APID, 2.0).encode(), OPERATOR))
    wrong_scid, unknown_vc, bad_mac = bytearray(good), bytearray(good), bytearray(good)
    wrong_scid[1] ^= 0x01
    unknown_vc[2] |= 0xFC  # VCID 63
    bad_mac[12] ^= 0x01
    bad_fecf = bytes(good[:-1]) + bytes([good[-1] ^ 0xFF])
    link.comms.process_frames([resealed(wrong_scid), resealed(unknown_vc), resealed(bad_mac),
                               bad_fecf, first])
    texts = [e.text for e in link.exe.events.recent
             if e.apid == COMMS_APID and e.text.startswith("5 TC frames rejected (")]
    assert len(texts) == 1, texts
    reasons = texts[0].split("(", 1)[1].split(")", 1)[0].split(", ")
    assert len(reasons) == 4 and all(r.endswith(" 1") for r in reasons), reasons


def test_tm_carries_the_time_it_was_made_and_housekeeping_counts_every_packet(link: Link):
    # TM time: CUC seconds since the executive clock's epoch (docs/space-link.md)
    g = link.ground
    for _ in range(5):
        link.exe.step()  # 0.5 s at 10 Hz
    made_s = link.exe.clock.now()
    ping = g.tc(COMMS_APID, 17, 1)
    link.comms.receive_frame(g.frame(ping.encode(), OPERATOR))
    link.comms.execute()
    tms = link.ground.downlink(link.comms.take_frames())
    pong = [tm for tm in tms if (tm.service, tm.subtype) == (17, 2)]
    assert len(pong) == 1 and 0.0 < made_s < 1.0
    assert pong[0].time.seconds == pytest.approx(made_s, abs=1 / 65536)
    assert link.comms.housekeeping_values()["tm_packets"] == len(tms)


def test_a_holders_tm_quota_is_the_most_it_gets_not_one_octet_less(link: Link):
    from dataclasses import replace

    from uplink_kit import UNI_A, UNI_A_APID

    g = link.ground
    sa = link.comms.rx.security.sas[UNI_A]

    def replies_to_a_ping() -> list:
        tc = g.tc(UNI_A_APID, 17, 1)
        tms = link.send([g.frame(tc.encode(), UNI_A)], steps=1)
        return [tm for tm in tms if tm.dest_id == 7 and tm.apid == UNI_A_APID]

    first = replies_to_a_ping()
    exact = sum(len(tm.encode()) for tm in first)
    sa.rights = replace(sa.rights, quotas=replace(sa.rights.quotas, tm_bytes_per_cycle=exact))
    assert len(replies_to_a_ping()) == len(first) and link.comms.tm_withheld == 0
    sa.rights = replace(sa.rights, quotas=replace(sa.rights.quotas,
                                                  tm_bytes_per_cycle=exact - 1))
    assert len(replies_to_a_ping()) == len(first) - 1 and link.comms.tm_withheld == 1


def test_a_failure_reported_without_a_reason_goes_down_with_code_0(link: Link):
    rid, token = routed(link, 0)
    result(link, token, 7, False, 0)
    assert st1(link.send([]), rid)[:1] == [(8, None, 0)]


class Slow(Recording):
    """An app that carries out its commands every 5 s, with room for all of them."""

    NAME = "slow"
    APID = 0x0F2  # an APID no flight app holds
    COMMAND_PIPE_DEPTH = 512


def test_comms_follows_256_routed_tcs_at_once_and_forgets_the_oldest(tmp_path):
    # docs/space-link.md: at most 256 TCs routed to apps are followed at once; the
    # 257th makes comms forget the oldest, whose reports then never come
    key_file = tmp_path / "keys.json"
    simulator_key_file(key_file)
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 0.2), store=Store(tmp_path / "s.db"))
    exe.add_app(AppSpec("comms", CommsApp, 10.0, {"key_file": str(key_file)}))
    exe.add_app(AppSpec("slow", Slow, 0.2))
    assert exe.boot() == []
    exe.step()  # every rate group's first cycle: the slow app's next is 5 s on
    ground = Station(key_file)
    comms = exe.apps["comms"]
    rids = []
    while len(rids) < 257:  # 10 a cycle: the operator's 100 TCs a second
        for _ in range(min(10, 257 - len(rids))):
            tc = ground.set_input(Slow.APID, float(len(rids)))
            rids.append(tc.request_id)
            comms.receive_frame(ground.frame(tc.encode(), OPERATOR))
        exe.step()
    assert exe.clock.now() < 4.0 and exe.apps["slow"].inputs == []
    tms = []
    while exe.clock.now() < 5.5:
        exe.step()
        tms += ground.downlink(comms.take_frames())
    assert exe.apps["slow"].inputs[:3] == [0.0, 1.0, 2.0]
    assert reports(tms, rids[0]) == []
    assert reports(tms, rids[1]) == reports(tms, rids[2]) == [(1, None), (7, None)]
