"""What the comms app tells the operator about the uplink: rejected frames
counted one by one, key changes and COP-1 directives announced, the TCs it
carries out itself counted, and the replies to a partner's commands charged
to that partner's TM allocation (docs/space-link.md, docs/partners.md)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from uplink_kit import OPERATOR, UNI_A, UNI_A_APID, Link, reports

from fsw.core.ids import COMMS_APID, SAMPLE_APID, SCHEDULER_APID
from fsw.protocol import Reason
from fsw.protocol import services as sv
from fsw.protocol.cuc import CucTime
from fsw.protocol.keyfile import load_key_file
from fsw.protocol.sdls import MANAGEMENT_MAP, build_rekey
from fsw.protocol.tc import UNLOCK


@pytest.fixture
def link(tmp_path) -> Link:
    return Link(tmp_path)


def comms_events(link: Link) -> list[str]:
    return [e.text for e in link.exe.events.recent if e.apid == COMMS_APID]


def test_each_rejected_frame_of_a_burst_is_counted_and_the_good_ones_still_run(link: Link):
    g = link.ground
    first = g.frame(g.set_input(SAMPLE_APID, 1.0).encode(), OPERATOR)
    link.comms.process_frames([first])
    good = g.set_input(SAMPLE_APID, 2.0)
    # the same frame twice more (replays), then a new one, in one burst
    link.comms.process_frames([first, first, g.frame(good.encode(), OPERATOR)])
    tms = link.send([])
    assert link.comms.frames_rejected == 2
    assert link.app("sample").inputs == [1.0, 2.0]
    assert reports(tms, good.request_id) == [(1, None), (7, None)]
    # "N TC frames rejected (reason count, ...); last: <the last one's reason and text>"
    assert any(re.fullmatch(r"2 TC frames rejected \(\w+ 2\); last: \w+: .+", t)
               for t in comms_events(link))


def test_a_rekey_and_a_cop_directive_are_announced(link: Link):
    g = link.ground
    kek = load_key_file(link.key_file).kek
    assert kek is not None
    new_key = bytes(range(100, 132))
    pdu = build_rekey(kek, UNI_A, 1, new_key)
    link.send([g.tx.frame(0, g.ns[0], pdu, map_id=MANAGEMENT_MAP, spi=OPERATOR)])
    g.ns[0] += 1
    # the event names the SA the new key came over (the operator's, SPI 1)
    assert "SA rekeyed via SPI 1" in comms_events(link)
    g.tx.senders[UNI_A].rekeyed(new_key, 1)  # uni-a's directive now needs the new key
    link.send([g.control(UNLOCK, UNI_A, vc=1)])
    assert "COP-1 control by uni-a on VC 1" in comms_events(link)
    assert not any("HANDLER" in t or "rejected" in t for t in comms_events(link))


def test_tcs_carried_out_by_comms_itself_are_counted(link: Link):
    g = link.ground
    before = link.comms.housekeeping_values()["tcs_routed"]
    # PUS 3: disable then enable the sample app's housekeeping, both done by comms
    tcs = [g.tc(COMMS_APID, 3, sv.HK_DISABLE, sv.encode_ids([SAMPLE_APID])),
           g.tc(COMMS_APID, 3, sv.HK_ENABLE, sv.encode_ids([SAMPLE_APID]))]
    tms = link.send([g.frame(tc.encode(), OPERATOR) for tc in tcs])
    assert all(reports(tms, tc.request_id) == [(1, None), (7, None)] for tc in tcs)
    assert link.comms.housekeeping_values()["tcs_routed"] == before + 2


def tight_allocation(link: Link, octets: int) -> None:
    sa = link.comms.rx.security.sas[UNI_A]
    sa.rights = replace(sa.rights, quotas=replace(sa.rights.quotas, tm_bytes_per_cycle=octets))


def partner_replies(link: Link, tms) -> int:
    return sum(len(t.encode()) for t in tms if t.dest_id == 7 and t.apid in (
        UNI_A_APID, SCHEDULER_APID))


def test_reports_on_a_partners_commands_count_against_its_allocation(link: Link):
    g = link.ground
    quota = 300  # octets per cycle; 16 commands' acceptance and completion need more
    tight_allocation(link, quota)
    tcs = [g.set_input(UNI_A_APID, float(i)) for i in range(16)]
    link.comms.receive_frame(g.frame(b"".join(tc.encode() for tc in tcs), UNI_A))
    link.exe.step()  # comms routes them
    link.exe.step()  # the app carries them out, comms reports
    tms = g.downlink(link.comms.take_frames())
    assert link.app("uni_a").inputs == [float(i) for i in range(16)]
    assert 0 < partner_replies(link, tms) <= quota
    assert link.comms.tm_withheld > 0


def test_schedule_summaries_for_a_partner_count_against_its_allocation(link: Link):
    g = link.ground
    t = CucTime.from_seconds(link.exe.clock.now() + 600.0)
    acts = [sv.ScheduledTc(t, g.set_input(UNI_A_APID, float(i))) for i in range(8)]
    link.send([g.frame(g.tc(SCHEDULER_APID, 11, 4, sv.encode_insert(acts)).encode(), UNI_A)])
    quota = 300
    tight_allocation(link, quota)
    asks = [g.tc(SCHEDULER_APID, 11, sv.SCHED_SUMMARY_REQ) for _ in range(8)]
    link.comms.receive_frame(g.frame(b"".join(a.encode() for a in asks), UNI_A))
    link.exe.step()
    link.exe.step()
    tms = g.downlink(link.comms.take_frames())
    assert any((tm.service, tm.subtype) == (11, sv.SCHED_SUMMARY_REPORT) for tm in tms)
    assert 0 < partner_replies(link, tms) <= quota
    assert link.comms.tm_withheld > 0


def test_a_frame_refused_on_arrival_is_reported_with_its_reason(link: Link):
    g = link.ground
    damaged = bytearray(g.frame(g.set_input(SAMPLE_APID, 1.0).encode(), OPERATOR))
    damaged[-1] ^= 0xFF  # the FECF no longer matches (CCSDS 232.0-B 4.1.4)
    link.send([bytes(damaged)])
    assert any(t.startswith("1 TC frames rejected (bad_fecf 1); last: bad_fecf")
               for t in comms_events(link))


def test_a_partner_filling_its_uplink_queue_cannot_crowd_out_the_operator(link: Link):
    g = link.ground
    for i in range(20):  # four more than a holder queue takes per cycle (docs/space-link.md)
        link.comms.receive_frame(g.frame(g.set_input(UNI_A_APID, float(i)).encode(), UNI_A))
    link.operator_still_commands()
    assert link.comms.rejected_by_reason[Reason.QUEUE_FULL] == 4
    assert any(t.endswith("last: uplink queue of SPI 10 full: frame dropped")
               for t in comms_events(link))

