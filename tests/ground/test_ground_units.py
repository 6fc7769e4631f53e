"""Verification stages, limits and gaps, the console's help and completion, and a fleet's
records kept apart by spacecraft."""

from __future__ import annotations

import io
import itertools
import struct

from hypothesis import given
from hypothesis import strategies as st

from fsw.protocol.cuc import CucTime
from fsw.protocol.pus import PusTm
from ground.console import Console
from ground.keys import load_holder
from ground.session import Session, SpacecraftConfig
from ground.telemetry import Limit, TelemetryDecoder
from ground.verification import FINAL, TcRecord, VerificationTracker

ORDER = ("pending", "accepted", "started", "completed")


@given(st.lists(st.tuples(st.integers(1, 8), st.sampled_from([None, 3, 0x143])), max_size=12))
def test_verification_only_moves_forward_and_failure_is_final(reports):
    changes = []
    tracker = VerificationTracker({3: "BAD_ARGUMENT", 0x143: "NOT_AUTHORISED"}, changes.append)
    rec = tracker.sent(TcRecord(42, "x", 0.0))
    seen = ["pending"]
    for subtype, code in reports:
        tracker.report(subtype, 42, code)
        seen.append(rec.status)
    failed_at = next((i for i, s in enumerate(seen) if s == "failed"), None)
    if failed_at is not None:
        assert set(seen[failed_at:]) == {"failed"} and "failed:" in rec.reason
    ok = [s for s in seen if s in ORDER]
    assert ok == sorted(ok, key=ORDER.index)
    assert tracker.report(1, 43, None) is None  # not ours


def test_a_silent_tc_times_out_and_a_time_tagged_one_counts_from_its_release():
    tracker = VerificationTracker()
    now = tracker.sent(TcRecord(1, "now", sent_time=100.0, timeout_s=10.0))
    later = tracker.sent(TcRecord(2, "later", sent_time=100.0, timeout_s=10.0, release_s=500.0))
    assert tracker.check_timeouts(now=105.0, onboard_s=200.0) == []
    assert tracker.check_timeouts(now=111.0, onboard_s=200.0) == [now]
    assert later.status == "pending" and tracker.check_timeouts(now=999, onboard_s=505.0) == []
    assert tracker.check_timeouts(now=999, onboard_s=511.0) == [later]
    assert {now.status, later.status} <= set(FINAL)


def hk(dictionary, sid: int, seq: int, *, onboard_s: int = 0, **values) -> bytes:
    pkt = dictionary.packets[sid]
    flat = [values.get(f.name, 0) for f in pkt.fields]
    return PusTm(sid, 3, 25, struct.pack(">H", sid) + struct.pack(pkt.struct_format, *flat),
                 seq_count=seq, time=CucTime(onboard_s)).encode()


def test_limit_transitions_are_reported_once_each_and_gaps_counted(dictionary):
    dec = TelemetryDecoder(dictionary)
    seen = []
    for seq, counts in enumerate([0, 15000, 16000, 31000, 0, 0]):
        out = dec.decode(hk(dictionary, 0x30, seq, output_cnt=counts))
        seen += [(t.old, t.new) for t in out.limits]
    assert seen == [(Limit.OK, Limit.WARNING), (Limit.WARNING, Limit.CRITICAL),
                    (Limit.CRITICAL, Limit.OK)]
    out = dec.decode(hk(dictionary, 0x30, 9))  # 6, 7, 8 never arrived
    assert out.gap == 3 and dec.lost_packets == 3
    assert dec.decode(hk(dictionary, 0x30, 10)).gap == 0


def console_for(tmp_path, dictionary, role="operator"):
    from fsw.protocol.keyfile import simulator_key_file
    from ground.archive import SqliteArchive
    keys = tmp_path / "keys.json"
    simulator_key_file(keys)
    session = Session(dictionary, load_holder(keys, role), SqliteArchive(tmp_path / "a.db"),
                      [SpacecraftConfig("sc1", 0x2AB, "tcp://127.0.0.1:9"),
                       SpacecraftConfig("sc2", 0x2AC, "tcp://127.0.0.1:9")], tmp_path / "s")
    out = io.StringIO()
    return Console(session, stdin=io.StringIO(), stdout=out), out


def test_console_completion_and_help_come_from_the_dictionary(tmp_path, dictionary):
    console, out = console_for(tmp_path, dictionary, role="uni-a")
    assert "sample.set_input" in console.completenames("sample.se")
    assert console.completedefault("va", "sample.set_input va", 17, 19) == ["value="]
    assert "adcs.bdot_gain" in console.completedefault("adcs.b", "set adcs.b", 4, 10)
    console.onecmd("help adcs.set_mode")
    text = out.getvalue()
    assert "one of IDLE, DETUMBLE, SUN" in text and "[not allowed for this role]" in text
    console.onecmd("adcs.set_mode sun")
    assert "refused: role uni-a may not command adcs" in out.getvalue()
    console.onecmd("sc sc2")
    assert console.current == "sc2" and "sc2" in console.prompt
    console.onecmd("sc sc9")
    assert "refused: no spacecraft named 'sc9'" in out.getvalue()


def test_stored_telemetry_played_back_later_does_not_replace_the_newest_value(tmp_path,
                                                                              dictionary):
    console, _ = console_for(tmp_path, dictionary)
    sc = console.session.spacecraft("sc1")
    with sc.lock:  # live at 200 s, then a stored packet of 100 s on the same channel
        sc.process_packet(hk(dictionary, 0x30, 1, onboard_s=200, output_cnt=500))
        sc.process_packet(hk(dictionary, 0x30, 2, onboard_s=100, output_cnt=-700))
    newest = sc.latest["sample.hk.output_cnt"]
    assert (newest.time_s, newest.eng) == (200.0, 5.0)
    history = console.session.archive.samples(0x2AB, "sample.hk.output_cnt", 0, 300)
    assert sorted((t, e) for t, _, e in history) == [(100.0, -7.0), (200.0, 5.0)]


def test_a_fleet_keeps_each_spacecraft_apart(tmp_path, dictionary):
    console, _ = console_for(tmp_path, dictionary)
    s = console.session
    a, b = s.spacecraft("sc1"), s.spacecraft("sc2")
    with a.lock:
        a.process_packet(hk(dictionary, 0x30, 1, output_cnt=500))
    with b.lock:
        b.process_packet(hk(dictionary, 0x30, 1, output_cnt=-700))
    assert a.latest["sample.hk.output_cnt"].eng == 5.0
    assert b.latest["sample.hk.output_cnt"].eng == -7.0
    assert [e for _, _, e in s.archive.samples(0x2AC, "sample.hk.output_cnt", -1, 1)] == [-7.0]
    assert sorted(s.archive.spacecraft()) == [0x2AB, 0x2AC]


def test_a_fleet_flies_each_spacecraft_with_its_own_scid_keys_port_and_passes(tmp_path):
    import json

    from fsw.protocol.keyfile import load_key_file
    from ground.sim.fleet import Fleet, default_fleet

    fleet = Fleet(default_fleet(2), tmp_path, compress_gaps=True)
    try:
        doc = json.loads(fleet.write_manifest().read_text())
        a, b = doc["spacecraft"]
        assert (a["scid"], b["scid"]) == (0x2AB, 0x2AC) and a["url"] != b["url"]
        keys_a = load_key_file(a["key_file"]).by_name("operator").key
        keys_b = load_key_file(b["key_file"]).by_name("operator").key
        assert keys_a != keys_b
        assert a["passes_s"] and b["passes_s"] and a["passes_s"] != b["passes_s"]
        assert all(0 <= aos < los for aos, los in a["passes_s"])
        again = fleet.write_manifest(dictionary="dictionary.json")  # one whole file, rewritten
        assert json.loads(again.read_text())["dictionary"] == "dictionary.json"
        assert [p.name for p in again.parent.iterdir() if p.name.startswith("fleet")] == \
            ["fleet.json"]
        # Per station: the stations' passes make up the network's (each inside one of its
        # intervals, and each network interval opens with some station's AOS).
        stations = a["station_passes_s"]
        assert set(stations) == {"Svalbard", "Kiruna", "Troll", "Fairbanks"}
        merged = fleet.craft[0].passes
        for spans in fleet.craft[0].station_passes.values():
            assert all(any(m0 <= s0 < s1 <= m1 for m0, m1 in merged) for s0, s1 in spans)
        aos_all = {s0 for spans in fleet.craft[0].station_passes.values() for s0, _ in spans}
        assert all(m0 in aos_all for m0, _ in merged)
        assert all(0 <= aos < los for spans in stations.values() for aos, los in spans)
        comms = [f.run.executive.apps["comms"] for f in fleet.craft]
        assert [c.scid for c in comms] == [0x2AB, 0x2AC]
        fleet.step()
        assert all(not f.radio.in_pass for f in fleet.craft if not f.in_pass(0.0))
    finally:
        fleet.close()


def test_console_sends_a_critical_command_only_after_yes(tmp_path, dictionary):
    console, out = console_for(tmp_path, dictionary)
    console.stdin.write("no\nyes\n\n")
    console.stdin.seek(0)
    console.onecmd("eps.set_output 2 0")  # answered "no"
    assert "eps.set_output is declared critical by its flight app" in out.getvalue()
    assert "not sent: eps.set_output is sent only after 'yes'" in out.getvalue()
    console.onecmd("eps.set_output 2 0")  # "yes": on to the link, which is down here
    assert "refused: sc1: no CLCW from the spacecraft yet" in out.getvalue()
    console.onecmd("at 100 eps.set_output 2 1")  # a time-tagged one asks too: ""
    assert out.getvalue().count("not sent:") == 2
    asked = out.getvalue().count("is declared critical")
    console.onecmd("eps.set_output 9 0")  # refused by the ground's checks: no question
    console.onecmd("sample.set_input 1.0")  # not critical: no question
    assert out.getvalue().count("is declared critical") == asked == 3
    (tmp_path / "b").mkdir()
    uni_a, out = console_for(tmp_path / "b", dictionary, role="uni-a")
    uni_a.onecmd("eps.set_output 2 0")  # not its app: refused before any question
    assert "refused: role uni-a may not command eps" in out.getvalue()
    assert "is declared critical" not in out.getvalue()


def test_partner_apps_of_two_simulated_spacecraft_never_share_a_user_id(tmp_path):
    # the sandbox separates apps by user id; spacecraft flown on one machine
    from ground.sim.fleet import SpacecraftSpec, default_fleet, flight_config_for

    def host(spec: SpacecraftSpec) -> dict:
        config = flight_config_for(spec, tmp_path / "keys.json", tmp_path)
        return next(a["config"] for a in config["apps"] if a["name"] == "payload_host")

    fleet = default_fleet(3)
    firsts = sorted(host(spec)["base_uid"] for spec in fleet)
    assert len(set(firsts)) == 3
    assert all(b - a >= 64 for a, b in itertools.pairwise(firsts))  # 64 apps each
    assert all(u >= 61000 for u in firsts)  # above the ids a system hands out
