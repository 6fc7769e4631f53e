"""The mode manager on its own collaborators: a store file, a stand-in contact
counter and the sample app as the target of its entry sequences. Expected
texts, codes and fields are docs/autonomy.md's."""

from __future__ import annotations

from typing import Any

import pytest

from fsw.apps.mode import BEACON, Mode, ModeManagerApp, SafeCause
from fsw.apps.sample import SampleApp
from fsw.core import (
    COMMAND_RESULT_MSG,
    EVENT_MSG,
    App,
    AppSpec,
    CommandError,
    Event,
    Executive,
    Field,
    Reason,
    Store,
    VirtualClock,
)
from fsw.core.boot import ResetCause

NOOP = [{"app": "sample", "command": "noop"}]


class Radio(App):
    """Counts accepted frames in its housekeeping, as the comms app does."""

    NAME = "radio"
    APID = 0x0E6
    HK_FIELDS = (Field("frames_accepted", "I"),)

    def __init__(self, ctx: Any, config: Any = None) -> None:
        super().__init__(ctx, config)
        self.frames = 0

    def housekeeping_values(self) -> dict:
        return {"frames_accepted": self.frames}


class Rig:
    def __init__(self, store_path, **config: object) -> None:
        self.exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), store=Store(store_path))
        self.exe.add_app(AppSpec("sample", SampleApp, 1.0))
        self.exe.add_app(AppSpec("radio", Radio, 1.0))
        cfg = {"entry": {"SAFE": NOOP, "NOMINAL": NOOP, "PAYLOAD": NOOP},
               "contact": {"source": "radio"}, "beacon_period_s": 5.0, **config}
        self.exe.add_app(AppSpec("mode", ModeManagerApp, 1.0, cfg))
        bus = self.exe.bus
        self.pipes = {"events": bus.create_pipe("test.events", 512)}
        bus.subscribe(self.pipes["events"], EVENT_MSG.msg_id)
        assert self.exe.boot() == []
        for name, msg_id in (("beacons", BEACON.msg_id), ("results", COMMAND_RESULT_MSG.msg_id)):
            self.pipes[name] = bus.create_pipe(f"test.{name}", 512)
            bus.subscribe(self.pipes[name], msg_id)
        self.mode: ModeManagerApp = self.exe.apps["mode"]
        self.texts: list[str] = []
        self.beacons: list[dict] = []
        self.results: list[dict] = []

    def run(self, seconds: float) -> None:
        self.exe.run(seconds)
        self.texts += [e.text for e in map(Event.decode, (p for _, p in
                                                          self.pipes["events"].drain()))
                       if e.apid == ModeManagerApp.APID]
        self.beacons += [BEACON.unpack(p) for _, p in self.pipes["beacons"].drain()]
        self.results += [COMMAND_RESULT_MSG.unpack(p) for _, p in self.pipes["results"].drain()]

    def entry_ids(self) -> list[int]:
        """Request IDs of the entry steps the sample app completed, in order."""
        return [r["request_id"] for r in self.results
                if r["apid"] == SampleApp.APID and r["stage"] == 7 and r["ok"]]


def test_the_beacon_goes_out_every_period_in_safe_only(tmp_path):
    rig = Rig(tmp_path / "store.db")
    rig.run(12.0)
    assert rig.beacons == []  # NOMINAL: no beacon
    rig.mode.enter_safe(int(SafeCause.LOW_BATTERY))
    rig.run(11.5)
    # at once on entry, then every beacon_period_s (5 s)
    assert len(rig.beacons) == 3
    last = rig.beacons[-1]
    assert (last["mode"], last["safe_cause"]) == (Mode.SAFE, SafeCause.LOW_BATTERY) == (0, 1)
    assert last["boot_count"] == 1 and last["reset_cause"] == ResetCause.FIRST_BOOT
    # the last beacon went out at 22 s: no frame since boot
    assert last["s_since_contact"] == pytest.approx(22.0, abs=1.0)


def test_time_since_contact_restarts_when_the_frame_counter_moves(tmp_path):
    rig = Rig(tmp_path / "store.db")
    rig.run(30.0)
    assert rig.mode.housekeeping_values()["s_since_contact"] == pytest.approx(30.0, abs=1.5)
    rig.exe.apps["radio"].frames = 3
    rig.run(5.0)
    assert rig.mode.housekeeping_values()["s_since_contact"] < 5.5
    rig.run(10.0)  # the counter stands still again: 15 s since it moved, give or
    # take the cycle or two its housekeeping takes to arrive
    assert 12.5 <= rig.mode.housekeeping_values()["s_since_contact"] <= 15.0


def test_every_entry_sends_its_sequence_with_the_transition_number(tmp_path):
    rig = Rig(tmp_path / "store.db")
    rig.run(1.0)
    rig.mode.set_mode(int(Mode.PAYLOAD))
    rig.mode.request_mode(int(Mode.NOMINAL))
    rig.mode.enter_safe(int(SafeCause.CONTACT_LOST))
    rig.mode.set_mode(int(Mode.NOMINAL))
    rig.run(2.0)
    # boot entry 0x0D000000, then 0x0D000000 | the transition's number
    assert rig.entry_ids() == [0x0D000000, 0x0D000001, 0x0D000002, 0x0D000003, 0x0D000004]
    assert rig.mode.housekeeping_values()["transitions"] == 4
    assert rig.texts[-4:] == [
        "mode NOMINAL -> PAYLOAD: commanded by the operator",
        "mode PAYLOAD -> NOMINAL: requested by a partner",
        "mode NOMINAL -> SAFE: autonomous: CONTACT_LOST",
        "mode SAFE -> NOMINAL: recovery commanded by the operator"]
    assert "boot 1 (FIRST_BOOT) into NOMINAL" in rig.texts


def test_safe_is_entered_once_and_keeps_its_first_cause(tmp_path):
    rig = Rig(tmp_path / "store.db")
    rig.mode.enter_safe(int(SafeCause.WHEEL_FAILED))
    with pytest.raises(CommandError, match=r"^already SAFE \(WHEEL_FAILED\)$") as refused:
        rig.mode.enter_safe(int(SafeCause.LOW_BATTERY))
    assert refused.value.reason == Reason.NOT_ALLOWED_NOW
    assert rig.mode.cause == SafeCause.WHEEL_FAILED
    with pytest.raises(CommandError, match=r"^already in SAFE$") as again:
        rig.mode.set_mode(int(Mode.SAFE))
    assert again.value.reason == Reason.NOT_ALLOWED_NOW
    rig.mode.set_mode(int(Mode.NOMINAL))
    assert rig.mode.housekeeping_values()["safe_cause"] == SafeCause.NONE == 0


def test_partner_transitions_are_configurable(tmp_path):
    rig = Rig(tmp_path / "store.db", partner_transitions=[["NOMINAL", "SAFE"]])
    with pytest.raises(CommandError, match=r"^NOMINAL -> PAYLOAD is not allowed$") as refused:
        rig.mode.request_mode(int(Mode.PAYLOAD))
    assert refused.value.reason == Reason.NOT_ALLOWED_NOW  # PUS failure code 5
    rig.mode.request_mode(int(Mode.SAFE))
    assert rig.mode.mode == Mode.SAFE and rig.mode.cause == SafeCause.NONE
    rig.run(1.0)
    assert "transition NOMINAL -> PAYLOAD is not allowed" in rig.texts


def test_operator_transitions_are_configurable_and_initial_mode_is_taken(tmp_path):
    rig = Rig(tmp_path / "store.db", initial_mode="safe",
              transitions=[["SAFE", "PAYLOAD"], ["PAYLOAD", "SAFE"]])
    assert rig.mode.mode == Mode.SAFE
    with pytest.raises(CommandError, match=r"^SAFE -> NOMINAL is not allowed$"):
        rig.mode.set_mode(int(Mode.NOMINAL))
    rig.mode.set_mode(int(Mode.PAYLOAD))
    assert rig.mode.mode == Mode.PAYLOAD


@pytest.mark.parametrize("config, problem", [
    ({"transitions": [["SAFE", "ORBIT"]]},
     "mode: transitions must be pairs of mode names (SAFE, NOMINAL, PAYLOAD)"),
    ({"partner_transitions": [["NOMINAL"]]}, "mode: partner_transitions must be pairs"),
    ({"entry": {"LAUNCH": []}}, "mode: entry has unknown modes ['LAUNCH']"),
    ({"contact": {"source": "radio", "field": "frames"}},
     "mode: contact source radio.frames is not an app housekeeping field"),
])
def test_bad_configuration_is_refused_with_its_reason(tmp_path, config, problem):
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), store=Store(tmp_path / "s.db"))
    exe.add_app(AppSpec("radio", Radio, 1.0))
    exe.add_app(AppSpec("mode", ModeManagerApp, 1.0, config))
    assert exe.boot() == ["mode"]
    assert any(problem in e.text for e in exe.events.recent), [e.text for e in exe.events.recent]


def test_a_contact_source_that_is_not_running_degrades_and_says_so(tmp_path):
    exe = Executive(VirtualClock(), rate_groups_hz=(1.0,), store=Store(tmp_path / "s.db"))
    exe.add_app(AppSpec("mode", ModeManagerApp, 1.0, {"contact": {"source": "comms"}}))
    assert exe.boot() == []
    exe.run(3.0)
    assert "contact source comms not running: no contact can be seen" in [
        e.text for e in exe.events.recent]
    assert exe.apps["mode"].s_since_contact == pytest.approx(3.0, abs=1.0)
