"""What the comms app downlinks as the flight configuration's `[wiring]` says
(docs/autonomy.md, "Wiring"): each named housekeeping source, an app's or a
registered message's by its name, enabled from the start (PUS ST[03] report
25, structure ID = the APID); a named source with no sender is reported; and
with `partner_apps`, each partner app's telemetry from the moment the payload
host registers its ids, ranked by the `partner_apps` priority in the
store-and-forward queue."""

from __future__ import annotations

import json

from fsw.apps.comms import CommsApp
from fsw.apps.sample import SampleApp
from fsw.apps.scheduler import RELEASED_TC_MSG_ID, SCHEDULE_REPORT_MSG_ID
from fsw.core import AppSpec, Executive, Severity, Store, VirtualClock
from fsw.core.ids import COMMS_APID, SAMPLE_APID
from fsw.core.message import tm_msg_id
from fsw.core.wiring import Wiring
from fsw.protocol.pus import PusTm
from tests.apps.test_comms_integration import FRAME_LEN, KEYS, SCID, Ground

CHIRP_APID = 0x0F0  # an APID no flight app holds
UNI_A_APID, UNI_B_APID = 0x100, 0x110  # partners' allocations (fsw/core/ids.py)


class Chirper(SampleApp):
    """An app with a variable-length telemetry message of its own, named "Chirp"."""

    NAME = "chirper"
    APID = 0x0F1

    def init(self) -> None:
        super().init()
        self.bus.register_variable(tm_msg_id(CHIRP_APID), "Chirp")

    def execute(self) -> None:
        super().execute()
        self.bus.publish(tm_msg_id(CHIRP_APID), b"chirp")


def boot(tmp_path, housekeeping, priority=None, **comms: object) -> Executive:
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,), store=Store(tmp_path / "store.db"),
                    wiring=Wiring(housekeeping=housekeeping, priority=priority or {}))
    exe.add_app(AppSpec("comms", CommsApp, 10.0,
                        {"scid": SCID, "key_file": str(tmp_path / "keys.json"),
                         "arsn_db": str(tmp_path / "arsn.db"), "tm_frame_len": FRAME_LEN,
                         **comms}))
    exe.add_app(AppSpec("sample", SampleApp, 10.0))
    exe.add_app(AppSpec("chirper", Chirper, 10.0))
    assert exe.boot() == []
    return exe


def downlinked(exe: Executive, tmp_path) -> list[PusTm]:
    return Ground(tmp_path / "keys.json").downlink(exe.apps["comms"].take_frames())


def hk_reports(tms: list[PusTm]) -> list[tuple[int, bytes]]:
    """(structure ID, the source's payload) of every ST[03] report 25 (the
    structure ID: an unsigned 16-bit integer ahead of the values)."""
    return [(int.from_bytes(t.source_data[:2], "big"), t.source_data[2:]) for t in tms
            if (t.service, t.subtype) == (3, 25)]


def test_comms_registers_the_released_tc_and_summary_messages_under_their_names(tmp_path):
    # the names a wiring may use for them, with or without the scheduler on board
    (tmp_path / "keys.json").write_text(json.dumps(KEYS))
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0,))
    exe.add_app(AppSpec("comms", CommsApp, 10.0, {"key_file": str(tmp_path / "keys.json")}))
    assert exe.boot() == []
    names = exe.bus.names()
    assert names[RELEASED_TC_MSG_ID] == "released TCs"
    assert names[SCHEDULE_REPORT_MSG_ID] == "schedule summaries"


def test_a_message_named_in_the_wiring_is_downlinked_as_housekeeping(tmp_path):
    exe = boot(tmp_path, ("Chirp",))
    exe.run(0.5)
    reports = hk_reports(downlinked(exe, tmp_path))
    assert reports and set(reports) == {(CHIRP_APID, b"chirp")}


def test_a_named_source_without_a_sender_is_reported_once_at_start(tmp_path):
    exe = boot(tmp_path, ("sample", "uni_a"))
    texts = [e.text for e in exe.events.recent if e.apid == COMMS_APID]
    assert texts.count("wired housekeeping uni_a has no sender: not downlinked") == 1
    assert not any("sample" in t for t in texts)


def test_partner_telemetry_is_downlinked_from_its_registration_first_by_its_rank(tmp_path):
    exe = boot(tmp_path, ("sample", "partner_apps"),
               {"partner_apps": 250, "events_high": 220, "housekeeping": 50},
               store_and_forward=True)
    exe.run(0.5)
    downlinked(exe, tmp_path)  # what boot made
    bus = exe.bus
    # as the payload host does when it installs an app: its ids, then its telemetry
    bus.register_variable(tm_msg_id(UNI_A_APID), "uni_a telemetry")
    exe.step()
    bus.register_variable(tm_msg_id(UNI_B_APID), "uni_b telemetry")
    exe.step()
    exe.events.raise_event(SAMPLE_APID, 77, Severity.HIGH, "battery hot")
    bus.publish(tm_msg_id(UNI_A_APID), b"a1")
    bus.publish(tm_msg_id(UNI_B_APID), b"b1")
    exe.run(1.0)  # the sample app's housekeeping too
    tms = downlinked(exe, tmp_path)
    kinds = [(t.service, t.subtype) for t in tms]
    reports = hk_reports(tms)
    assert reports[:2] in ([(UNI_A_APID, b"a1"), (UNI_B_APID, b"b1")],
                           [(UNI_B_APID, b"b1"), (UNI_A_APID, b"a1")])
    assert kinds[:2] == [(3, 25), (3, 25)]  # ahead of the HIGH event (220) and the rest
    assert kinds[2] == (5, 4)
    assert [r for r in reports if r[0] >= UNI_A_APID] == reports[:2]  # each exactly once
    assert any(sid == SAMPLE_APID for sid, _ in reports[2:])
